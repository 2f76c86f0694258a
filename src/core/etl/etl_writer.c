/*
 * etl_writer.c — the .etl file writer (see etl_writer.h for the contract
 * and spec/etl-file.md for every byte written here).
 *
 *   thread A ──(no lock)──► lane A's buffer ─┐
 *   thread B ──(no lock)──► lane B's buffer ─┼─full─► full queue ──► flush thread ──► file
 *   threads without a lane ──lock──► shared ─┘   ▲                     │
 *                                                └──── free list ◄─────┘
 *
 * Lanes. The first time a thread writes, it gets a lane of its own (while
 * there are fewer than buffer_count - 2 of them; later threads share one
 * buffer under `lock`, the original design). A lane's current buffer is
 * filled by its owner thread only, so appending an event takes no lock and
 * no atomic read-modify-write: the owner formats the record above `fill`
 * and then publishes the new fill level with one release store. Its
 * timestamp is read by the owner, from a monotonic clock, so timestamps
 * never decrease within a buffer (spec/etl-file.md) — a lane buffer holds
 * one thread's events; readers that want one time line merge buffers by
 * timestamp, as they do for ETW's per-processor buffers. The owner takes
 * `lock` only when its buffer is full (seal it into the queue, take a free
 * one, or wait for one: back-pressure, never a drop). A thread finds its
 * lane through a small thread-local cache keyed by the writer's serial
 * number (unique per open, so a stale entry never matches a new writer);
 * on a miss it looks the lane up under `lock` by the thread's token, so a
 * thread keeps one lane per writer and its events stay in order. Tokens
 * are addresses of thread-local storage: a thread that exited leaves its
 * lane to the next thread given the same address, which is harmless (the
 * dead thread writes nothing more) and keeps lanes from leaking. Buffer
 * count limits lanes because each one holds a buffer while it fills, and
 * two must stay in circulation (the shared buffer, and one moving between
 * the full queue and the free list) so every writer keeps making progress.
 *
 * File layout: buffer i lives at offset i * BufferSize. Buffer 0 holds the
 * logfile header and nothing else (real files do the same, and etl-parser
 * skips events in buffer 0). Event buffers get their file slot when they
 * are first written, by the one thread doing I/O at a time (the `io`
 * mutex), so the file never has holes and BuffersWritten is simply the
 * next free slot. A thread's buffers get slots in the order it filled
 * them: it seals one into the queue before taking the next, and the flush
 * thread empties the queue before it looks at current buffers, in the same
 * hold of `lock` (flush_pending), so each thread's events are in order in
 * the file.
 *
 * Crash safety: the flush thread writes the partly filled current buffers
 * (every lane's and the shared one) in place every flush interval, then
 * they keep filling in memory. Each write stores the data first and the
 * 0x48-byte buffer header last, and buffer 0's BuffersWritten is rewritten
 * only after that, so whatever a SIGKILL interrupts, a reader that trusts
 * buffer 0 and each buffer's SavedOffset sees only complete records. The
 * partial write reads bytes below the fill level loaded (acquire) under
 * `lock`, while the owner only appends above it, so it needs no copy and
 * does not race with it; a buffer sealed meanwhile is written again, whole,
 * after the partial write (both under `io`) and only then recycled.
 *
 * Locks: `lock` guards the buffer lists, the lane table, each lane's
 * buffer pointer (changed by its owner under `lock`, read by the owner
 * without it), the shared buffer and the counters other than the lanes'
 * own; `io` serializes file writes and slot numbering and is never taken
 * while holding `lock`.
 */
#include "etl_writer.h"

#include "byteorder.h"
#include "cacheline.h"
#include "clock.h"
#include "file.h"
#include "portable.h"
#include "stack.h"
#include "thread.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- fixed values (spec/etl-file.md) --------------------------------------- */

#define SYSTEM_TRACE_HEADER_SIZE 0x20u
#define LOGFILE_HEADER_SIZE 0x118u
#define SYSTEM_TRACE_MARKER64 0xC0020002u
#define HOOK_LOGFILE_HEADER 0x0000u
#define HOOK_EXTRA_RECORD 0x0050u
#define EXTRA_RECORD_SIZE 0x50u
#define EVENT_HEADER_TYPE64 0xC013u
#define EVENT_FLAG_EXTENDED_INFO 0x0001u
#define BUFFER_STATE 3u
#define BUFFER_FLAG_NORMAL 0x20u
#define BUFFER_FLAG_FIRST_OR_LAST 0x21u
#define BUFFER_TYPE_GENERIC 0u
#define BUFFER_TYPE_HEADER 4u
#define EXT_RELATED_ACTIVITYID 0x0001u
#define EXT_STACK_TRACE64 0x0006u
#define EXT_EVENT_SCHEMA_TL 0x000Bu
#define EXT_PROV_TRAITS 0x000Cu
#define EXT_ITEM_HEADER_SIZE 8u
#define MAX_RECORD_SIZE 0xFFFFu /* EVENT_HEADER.Size is 16 bits */

static size_t align8(size_t n)
{
    return (n + 7u) & ~(size_t)7u;
}


/* ---- state ------------------------------------------------------------------ */

/* A buffer's fill level and record count in one word, so that a reader of
 * both (the flush thread) sees a pair that belongs together. */
#define FILL_USED(f) ((uint32_t)(f))
#define FILL_EVENTS(f) ((uint32_t)((f) >> 32))
#define FILL(used, events) ((uint64_t)(used) | ((uint64_t)(events) << 32))

/*
 * Memory written by one thread and read by another gets cache lines of its
 * own: a lane (its owner stores to it on every event, the flush thread
 * reads it), each buffer's state (the writer stores `fill` per event, the
 * flush thread its slot and flush marks) and the buffer memory (page
 * aligned). Sharing a line with unrelated data, such as the interpreter's
 * thread state on the heap, makes every event pay for the line moving
 * between cores.
 */
#define CACHE_LINE TLD_CACHE_LINE

typedef struct etl_buffer {
    _Alignas(CACHE_LINE)
    uint8_t *mem;            /* buffer_size bytes; stale bytes beyond the fill level
                              * (the file gets 0xFF there: write_sealed fills the
                              * tail, write_partial writes `filler`) */
    /* FILL(used, events): bytes filled (header included) and records. Set by
     * the one thread appending (a lane's owner, or any thread under `lock`
     * for the shared buffer) with a release store after the record bytes. */
    atomic_uint_least64_t fill;
    /* Below: touched only by the thread holding `io`. */
    int64_t slot;            /* file index, -1 until first written */
    uint32_t flushed_used;   /* `used` as last written to the file */
    uint32_t flushed_events; /* `events` as last written to the file */
} etl_buffer;

/* One thread's place to write (see the header comment). */
typedef struct etl_lane {
    _Alignas(CACHE_LINE)
    const void *token;       /* the owner thread's token (under `lock`) */
    etl_buffer *buf;         /* NULL until its first event; see "Locks" */
    /* Events stored through this lane: written by the owner only (load +
     * store, no read-modify-write), read by get_stats. */
    atomic_uint_least64_t accepted;
    /* Owner only: its OS thread id (set when the thread takes the lane)
     * and the last timestamp it stored (timestamps never go back within a
     * buffer, even if two TSC reads in a row did). */
    uint32_t thread_id;
    uint64_t last_ticks;
} etl_lane;

struct etl_writer {
    _Alignas(CACHE_LINE)
    tld_file_handle file;
    uint32_t buffer_size;
    uint16_t logger_id;
    uint32_t flush_interval_ms;
    uint64_t serial;          /* unique per open: keys the thread-local lane cache */
    uint32_t process_id;      /* writers do not outlive fork(): sessions end in the child */
    int prefetch_for_store;   /* the CPU has a prefetch-for-write instruction */
    uint8_t *filler;          /* buffer_size bytes of 0xFF */

    tld_mutex lock;
    tld_cond work;            /* flush thread: a buffer filled, or closing */
    tld_cond space;           /* writers: a buffer came back to the free list */
    etl_buffer *bufs;
    uint32_t buffer_count, buffers_allocated;
    etl_buffer *cur;          /* the shared buffer; NULL until the first event after a seal */
    etl_buffer **full;        /* ring of sealed buffers, fill order */
    uint32_t full_head, full_count;
    etl_buffer **free_list;   /* ring of free buffers, oldest first (put_free/take_free) */
    uint32_t free_head, free_count;
    uint32_t wake_threshold;  /* full buffers that wake the flush thread (seal) */
    etl_lane *lanes;          /* max_lanes entries, lane_count in use */
    uint32_t lane_count, max_lanes;
    etl_buffer **snapshot;    /* flush_pending's list of current buffers (under `io`) */
    uint64_t *snapshot_fill;
    uint64_t events_accepted; /* through the shared buffer */
    uint64_t shared_last_ticks; /* the shared buffer's latest timestamp */
    uint64_t events_too_large;
    int closing;

    tld_mutex io;
    uint8_t *header0;         /* buffer 0 image, header0_used bytes meaningful */
    uint32_t header0_used;
    int64_t next_slot;        /* = BuffersWritten */
    /* Read by get_stats without `io`. */
    atomic_uint_least64_t buffers_written;
    atomic_uint_least64_t events_lost_io;
    atomic_int write_error;

    tld_thread thread;
    int thread_started;
};

/* ---- file output ------------------------------------------------------------ */

/* Writes all of buf at off; 0 or errno. */
static int pwrite_all(tld_file_handle f, const uint8_t *buf, size_t len, uint64_t off)
{
    return -tld_file_write_at(f, buf, len, off);
}

static void note_write_error(etl_writer *w, int err)
{
    int expected = 0;
    atomic_compare_exchange_strong(&w->write_error, &expected, err);
}

/* ---- layout ----------------------------------------------------------------- */

static void fill_buffer_header(uint8_t *h, const etl_writer *w, uint32_t used, uint64_t timestamp,
                               uint64_t sequence, uint16_t flag, uint16_t type)
{
    memset(h, 0, ETL_WRITER_BUFFER_HEADER_SIZE);
    store_le32(h + 0x00, w->buffer_size);
    store_le32(h + 0x04, used);             /* SavedOffset */
    store_le32(h + 0x08, used);             /* CurrentOffset */
    store_le32(h + 0x0C, 0);                /* ReferenceCount */
    store_le64(h + 0x10, timestamp);
    store_le64(h + 0x18, sequence);
    store_le64(h + 0x20, 0);                /* ClockType/Frequency */
    store_le16(h + 0x28, 0);                /* ProcessorIndex */
    store_le16(h + 0x2A, w->logger_id);
    store_le32(h + 0x2C, BUFFER_STATE);
    store_le32(h + 0x30, used);             /* Offset (filled bytes) */
    store_le16(h + 0x34, flag);
    store_le16(h + 0x36, type);
}

/* UTF-8 to NUL-terminated UTF-16LE. Malformed bytes become U+FFFD. Writes
 * at most `cap` bytes when out != NULL; returns the bytes needed. */
static size_t utf8_to_utf16le(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    const unsigned char *p = (const unsigned char *)s;
    for (;;) {
        uint32_t cp;
        unsigned c = *p;
        int extra;
        if (c == 0) {
            cp = 0;
            extra = 0;
        } else if (c < 0x80) {
            cp = c;
            extra = 0;
        } else if ((c & 0xE0) == 0xC0) {
            cp = c & 0x1F;
            extra = 1;
        } else if ((c & 0xF0) == 0xE0) {
            cp = c & 0x0F;
            extra = 2;
        } else if ((c & 0xF8) == 0xF0) {
            cp = c & 0x07;
            extra = 3;
        } else {
            cp = 0xFFFD;
            extra = -1;
        }
        p++;
        for (int i = 0; i < extra; i++) {
            if ((*p & 0xC0) != 0x80) {
                cp = 0xFFFD;
                break;
            }
            cp = (cp << 6) | (*p++ & 0x3F);
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            cp = 0xFFFD;
        uint16_t units[2];
        int nunits = 1;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            units[0] = (uint16_t)(0xD800 + (cp >> 10));
            units[1] = (uint16_t)(0xDC00 + (cp & 0x3FF));
            nunits = 2;
        } else {
            units[0] = (uint16_t)cp;
        }
        for (int i = 0; i < nunits; i++) {
            if (out != NULL && n + 2 <= cap)
                store_le16(out + n, units[i]);
            n += 2;
        }
        if (c == 0)
            return n;
    }
}

static void store_system_trace_header(uint8_t *p, uint16_t size, uint16_t hook, uint64_t ticks)
{
    store_le32(p + 0x00, SYSTEM_TRACE_MARKER64);
    store_le16(p + 0x04, size);
    store_le16(p + 0x06, hook);
    store_le32(p + 0x08, tld_thread_id());
    store_le32(p + 0x0C, tld_process_id());
    store_le64(p + 0x10, ticks);            /* SystemTime */
    store_le32(p + 0x18, 0);                /* KernelTime */
    store_le32(p + 0x1C, 0);                /* UserTime */
}

/*
 * Builds buffer 0 in w->header0: buffer header, SYSTEM_TRACE_HEADER +
 * TRACE_LOGFILE_HEADER + names, and the extra 0x50-byte system record.
 * Returns TLD_E_INVALID_ARG when the names do not fit in one buffer.
 */
static int build_header0(etl_writer *w, const char *logger_name, const char *path)
{
    size_t logger_bytes = utf8_to_utf16le(logger_name, NULL, 0);
    size_t path_bytes = utf8_to_utf16le(path, NULL, 0);
    size_t rec = SYSTEM_TRACE_HEADER_SIZE + LOGFILE_HEADER_SIZE + logger_bytes + path_bytes;
    size_t used = ETL_WRITER_BUFFER_HEADER_SIZE + align8(rec) + EXTRA_RECORD_SIZE;
    if (rec > 0xFFFF || used > w->buffer_size)
        return TLD_E_INVALID_ARG;

    uint8_t *b = w->header0;
    memset(b, 0xFF, w->buffer_size);
    uint64_t start_ticks = tld_clock_ticks();
    uint64_t start_filetime = tld_clock_filetime_now();

    fill_buffer_header(b, w, (uint32_t)used, 0, 0, BUFFER_FLAG_FIRST_OR_LAST, BUFFER_TYPE_HEADER);

    uint8_t *r = b + ETL_WRITER_BUFFER_HEADER_SIZE;
    memset(r, 0, align8(rec));
    store_system_trace_header(r, (uint16_t)rec, HOOK_LOGFILE_HEADER, start_ticks);

    uint8_t *h = r + SYSTEM_TRACE_HEADER_SIZE;
    store_le32(h + 0x00, w->buffer_size);
    h[0x04] = 0x0a; h[0x05] = 0x00; h[0x06] = 0x01; h[0x07] = 0x05; /* Version */
    store_le32(h + 0x08, 19041);                        /* ProviderVersion: a Windows build */
    store_le32(h + 0x0C, tld_processor_count());
    store_le64(h + 0x10, start_filetime);               /* EndTime, fixed up on flush */
    store_le32(h + 0x18, 156250);                       /* TimerResolution */
    store_le32(h + 0x1C, 0);                            /* MaximumFileSize */
    store_le32(h + 0x20, 1);                            /* LogFileMode: sequential */
    store_le32(h + 0x24, 1);                            /* BuffersWritten, fixed up */
    store_le32(h + 0x28, 1);                            /* StartBuffers */
    store_le32(h + 0x2C, 8);                            /* PointerSize */
    store_le32(h + 0x30, 0);                            /* EventsLost, fixed up */
    store_le32(h + 0x34, tld_cpu_speed_mhz());          /* CpuSpeedInMHz (never 0) */
    /* 0x38..0x48 LoggerName/LogFileName slots: 0. 0x48: TIME_ZONE_INFORMATION
     * for UTC: Bias 0, StandardName "UTC", all dates and biases 0. */
    static const char utc[] = "UTC";
    for (size_t i = 0; i < 3; i++) {
        store_le16(h + 0x48 + 4 + 2 * i, (uint16_t)utc[i]);        /* StandardName */
        store_le16(h + 0x48 + 4 + 64 + 16 + 4 + 2 * i, (uint16_t)utc[i]); /* DaylightName */
    }
    store_le64(h + 0xF8, tld_clock_boot_filetime());    /* BootTime */
    store_le64(h + 0x100, tld_clock_frequency());       /* PerfFreq */
    store_le64(h + 0x108, start_filetime);              /* StartTime */
    store_le32(h + 0x110, 1);                           /* ReservedFlags: QPC clock */
    store_le32(h + 0x114, 0);                           /* BuffersLost */
    uint8_t *names = h + LOGFILE_HEADER_SIZE;
    utf8_to_utf16le(logger_name, names, logger_bytes);
    utf8_to_utf16le(path, names + logger_bytes, path_bytes);

    /* The undocumented 0x50-byte record real files carry: header, 48 zero bytes. */
    uint8_t *x = r + align8(rec);
    memset(x, 0, EXTRA_RECORD_SIZE);
    store_system_trace_header(x, EXTRA_RECORD_SIZE, HOOK_EXTRA_RECORD, start_ticks);

    w->header0_used = (uint32_t)used;
    return TLD_OK;
}

static size_t ext_item_size(size_t data_len)
{
    return align8(EXT_ITEM_HEADER_SIZE + data_len);
}

size_t etl_record_size(const etl_writer_event *ev)
{
    size_t n = ETL_WRITER_EVENT_HEADER_SIZE;
    if (ev->traits_len)
        n += ext_item_size(ev->traits_len);
    if (ev->meta_len)
        n += ext_item_size(ev->meta_len);
    if (ev->stack_len)
        n += ext_item_size(8 * (1 + ev->stack_len));
    if (ev->related_activity_id)
        n += ext_item_size(16);
    return n + ev->data_len;
}

/* Writes one extended item at p; returns the bytes used. The caller has
 * checked that everything fits in 16 bits. */
static size_t put_ext_item(uint8_t *p, uint16_t type, int more, const void *data, size_t len)
{
    size_t size = ext_item_size(len);
    store_le16(p + 0, (uint16_t)size);
    store_le16(p + 2, type);
    store_le16(p + 4, more ? 1 : 0);        /* Linkage: another item follows */
    store_le16(p + 6, (uint16_t)len);
    memcpy(p + EXT_ITEM_HEADER_SIZE, data, len);
    memset(p + EXT_ITEM_HEADER_SIZE + len, 0, size - EXT_ITEM_HEADER_SIZE - len);
    return size;
}

/* Formats the record (`size` from etl_record_size) at p, zero-padded to 8. */
static void format_record(uint8_t *p, size_t size, const etl_writer_event *ev, uint64_t timestamp)
{
    int items = (ev->traits_len != 0) + (ev->meta_len != 0) + (ev->stack_len != 0) +
                (ev->related_activity_id != NULL);
    store_le16(p + 0x00, (uint16_t)size);
    store_le16(p + 0x02, EVENT_HEADER_TYPE64);
    store_le16(p + 0x04, items ? EVENT_FLAG_EXTENDED_INFO : 0);
    store_le16(p + 0x06, 0);                /* EventProperty */
    store_le32(p + 0x08, ev->thread_id);
    store_le32(p + 0x0C, ev->process_id);
    store_le64(p + 0x10, timestamp);
    memcpy(p + 0x18, ev->provider_id->bytes_le, 16);
    tld_event_descriptor_pack(ev->desc, p + 0x28);
    store_le32(p + 0x38, 0);                /* KernelTime */
    store_le32(p + 0x3C, 0);                /* UserTime */
    if (ev->activity_id)
        memcpy(p + 0x40, ev->activity_id->bytes_le, 16);
    else
        memset(p + 0x40, 0, 16);

    uint8_t *q = p + ETL_WRITER_EVENT_HEADER_SIZE;
    if (ev->traits_len)
        q += put_ext_item(q, EXT_PROV_TRAITS, --items > 0, ev->traits, ev->traits_len);
    if (ev->meta_len)
        q += put_ext_item(q, EXT_EVENT_SCHEMA_TL, --items > 0, ev->meta, ev->meta_len);
    if (ev->stack_len) {
        size_t len = 8 * (1 + ev->stack_len);
        store_le16(q + 0, (uint16_t)ext_item_size(len));
        store_le16(q + 2, EXT_STACK_TRACE64);
        store_le16(q + 4, --items > 0);
        store_le16(q + 6, (uint16_t)len);
        store_le64(q + 8, 0);               /* MatchId */
        for (size_t i = 0; i < ev->stack_len; i++)
            store_le64(q + 16 + 8 * i, ev->stack[i]);
        q += ext_item_size(len);
    }
    if (ev->related_activity_id)
        q += put_ext_item(q, EXT_RELATED_ACTIVITYID, --items > 0, ev->related_activity_id->bytes_le, 16);
    if (ev->data_len)
        memcpy(q, ev->data, ev->data_len);
    memset(p + size, 0, align8(size) - size);
}

/* ---- prepared records ------------------------------------------------------- */

struct etl_prepared_record {
    size_t head_len;  /* event header + extended items, a multiple of 8 */
    uint8_t head[];
};

etl_prepared_record *etl_prepared_record_create(const etl_writer_event *ev)
{
    etl_writer_event e = *ev;
    e.data = NULL;
    e.data_len = 0;
    e.stack = NULL;
    e.stack_len = 0;
    e.process_id = 0;
    e.thread_id = 0;
    size_t head_len = etl_record_size(&e); /* header and items: multiples of 8 */
    if (head_len > MAX_RECORD_SIZE)
        return NULL;
    etl_prepared_record *r = tld_calloc_lines(1, sizeof *r + head_len);
    if (r == NULL)
        return NULL;
    r->head_len = head_len;
    format_record(r->head, head_len, &e, 0);
    return r;
}

void etl_prepared_record_free(etl_prepared_record *r)
{
    tld_free_lines(r);
}

/* What etl_writer_write() and etl_writer_write_prepared() store: an event to
 * format, or a prepared head plus data. */
typedef struct record_source {
    const etl_writer_event *ev;           /* NULL for a prepared record */
    const etl_prepared_record *prepared;
    const uint8_t *data;
    size_t data_len;
} record_source;

static size_t source_size(const record_source *src)
{
    return src->ev != NULL ? etl_record_size(src->ev) : src->prepared->head_len + src->data_len;
}

/* memcpy for n a multiple of 8 and about a hundred bytes, the size of a
 * record head: inline word moves beat a call into the library here, where
 * every nanosecond of a Push or Pop event counts. */
static inline void copy_words(uint8_t *dst, const uint8_t *src, size_t n)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        uint64_t a, b;
        memcpy(&a, src + i, 8);
        memcpy(&b, src + i + 8, 8);
        memcpy(dst + i, &a, 8);
        memcpy(dst + i + 8, &b, 8);
    }
    if (i < n) {
        uint64_t a;
        memcpy(&a, src + i, 8);
        memcpy(dst + i, &a, 8);
    }
}

/*
 * Buffer memory is recycled right after the flush thread has read it for
 * the file, so its lines sit in the flush thread's core's cache, and each
 * store that opens a line must first take it from there. Between cores far
 * apart (other chiplets; the hypervisor moves our vCPUs) that costs a few
 * hundred nanoseconds per line, and the writing thread ran up to 3x slower
 * for seconds at a time in our benchmarks. Asking for the lines a few
 * records ahead, for writing, overlaps those transfers with the work in
 * between; measured, it removed the slow stretches and costs nothing
 * otherwise.
 */
#define PREFETCH_AHEAD 2048u
#define PREFETCH_SPAN 192u  /* about one Push record: three lines */

static int cpu_can_prefetch_for_store(void)
{
#if TLD_HAVE_X86_64
    unsigned r[4];
    if (!tld_cpuid(0x80000001u, r))
        return 0;
    return (r[2] >> 8) & 1; /* ECX bit 8, PRFCHW: PREFETCHW */
#elif defined(__aarch64__) || defined(_M_ARM64)
    return 1; /* PRFM PSTL1KEEP */
#else
    return 0;
#endif
}

/* copy_words() for data the caller has just stored, typically as 8-byte
 * values: 16-byte loads spanning two such stores would stall (the CPU
 * cannot forward two stores into one load), so this moves exactly 8 bytes
 * at a time; the empty asm keeps the compiler from merging the moves. */
static inline void copy_fresh_words(uint8_t *dst, const uint8_t *src, size_t n)
{
    for (size_t i = 0; i < n; i += 8) {
        uint64_t a;
        memcpy(&a, src + i, 8);
        TLD_OPAQUE_U64(a);
        memcpy(dst + i, &a, 8);
    }
}

/* Stores the record at p (`size` from source_size, zero-padded to 8); a
 * prepared record gets the writing thread's id, the writer's process id
 * and the timestamp stamped into its copied header. */
static inline void emit_record(const etl_writer *w, uint8_t *p, size_t size, const record_source *src,
                               uint64_t timestamp, uint32_t thread_id)
{
    if (src->ev != NULL) {
        format_record(p, size, src->ev, timestamp);
        return;
    }
    const etl_prepared_record *r = src->prepared;
    copy_words(p, r->head, r->head_len);
    store_le16(p + 0x00, (uint16_t)size);
    store_le32(p + 0x08, thread_id);
    store_le32(p + 0x0C, w->process_id);
    store_le64(p + 0x10, timestamp);
    if (src->data_len % 8 == 0 && src->data_len <= 64)
        copy_fresh_words(p + r->head_len, src->data, src->data_len);
    else
        memcpy(p + r->head_len, src->data, src->data_len);
    if (size & 7) /* padding: most prepared events have none, so skip the call */
        memset(p + size, 0, align8(size) - size);
}

/* ---- buffer lists (caller holds `lock`) -------------------------------------- */

static void push_full(etl_writer *w, etl_buffer *b)
{
    w->full[(w->full_head + w->full_count) % w->buffer_count] = b;
    w->full_count++;
}

static etl_buffer *pop_full(etl_writer *w)
{
    etl_buffer *b = w->full[w->full_head];
    w->full_head = (w->full_head + 1) % w->buffer_count;
    w->full_count--;
    return b;
}

/*
 * Free buffers are reused oldest first. The flush thread has just read the
 * newest one (its lines sit in that thread's core's cache); the oldest has
 * had more time to leave it, so the writer's stores less often wait for
 * another core to give lines up. Caller holds `lock`.
 */
static void put_free(etl_writer *w, etl_buffer *b)
{
    w->free_list[(w->free_head + w->free_count) % w->buffer_count] = b;
    w->free_count++;
}

static int allocate_buffer(etl_writer *w)
{
    etl_buffer *b = &w->bufs[w->buffers_allocated];
    void *mem = tld_aligned_alloc(4096, w->buffer_size);
    if (mem == NULL)
        return TLD_E_NO_MEMORY;
    b->mem = mem;
    put_free(w, b);
    w->buffers_allocated++;
    return TLD_OK;
}

/* A fresh buffer to fill, or NULL when all are in use. */
static etl_buffer *take_free(etl_writer *w)
{
    if (w->free_count == 0 && w->buffers_allocated < w->buffer_count)
        allocate_buffer(w); /* on failure, wait for one to come back */
    if (w->free_count == 0)
        return NULL;
    etl_buffer *b = w->free_list[w->free_head];
    w->free_head = (w->free_head + 1) % w->buffer_count;
    w->free_count--;
    atomic_store_explicit(&b->fill, FILL(ETL_WRITER_BUFFER_HEADER_SIZE, 0), memory_order_relaxed);
    b->slot = -1;
    b->flushed_used = 0;
    b->flushed_events = 0;
    return b;
}

/* Puts a filled buffer in the full queue. Caller holds `lock`.
 *
 * The flush thread is woken once a quarter of the buffers wait for it (or
 * by wait_for_free(), or by its flush interval), not for each one: waking
 * a sleeping thread is a system call and, on a VM, an interrupt to another
 * CPU, which with 64 KiB buffers cost the writers ~10 ns per event. */
static void seal(etl_writer *w, etl_buffer *b)
{
    push_full(w, b);
    if (w->full_count >= w->wake_threshold)
        tld_cond_signal(&w->work);
}

/* A buffer to fill: a free one, or, when every buffer waits for the disk,
 * the first one the flush thread gives back (back-pressure). Caller holds
 * `lock`, which the wait releases. */
static etl_buffer *wait_for_free(etl_writer *w)
{
    etl_buffer *fresh;
    while ((fresh = take_free(w)) == NULL) {
        tld_cond_signal(&w->work); /* below seal()'s threshold, it may be asleep */
        tld_cond_wait(&w->space, &w->lock);
    }
    return fresh;
}

/* ---- lanes --------------------------------------------------------------------- */

/* Writers opened so far, for their serial numbers. */
static atomic_uint_least64_t writer_serials;

#define LANE_CACHE_SIZE 8 /* writers a thread can alternate between without a lookup */

typedef struct lane_cache_entry {
    uint64_t serial;          /* 0: empty */
    etl_lane *lane;           /* NULL: this thread writes through the shared buffer */
} lane_cache_entry;

/* Initial-exec TLS, like tld_my_reader (read_guard.h): read on every event,
 * and the default model for a dlopen()ed module (the Python extension)
 * costs a call per access, ~1 ns of a ~24 ns Push/Pop. 128 bytes of the
 * static TLS surplus glibc keeps for such modules. */
static TLD_TLS_FAST lane_cache_entry lane_cache[LANE_CACHE_SIZE];

/* The calling thread's lane in `w`, creating it when there is room, or NULL
 * for the shared buffer. Slow path of lane_of_this_thread(). */
static etl_lane *find_lane(etl_writer *w, lane_cache_entry *entry)
{
    const void *token = lane_cache; /* this thread's storage: unique among live threads */
    tld_mutex_lock(&w->lock);
    etl_lane *lane = NULL;
    for (uint32_t i = 0; i < w->lane_count && lane == NULL; i++)
        if (w->lanes[i].token == token)
            lane = &w->lanes[i];
    if (lane == NULL && w->lane_count < w->max_lanes) {
        lane = &w->lanes[w->lane_count++];
        lane->token = token;
        /* This thread may have written through the shared buffer before
         * (its cache entry was evicted): seal that buffer now, so its
         * earlier events get an earlier file slot than its lane's. */
        if (w->cur != NULL && FILL_EVENTS(atomic_load_explicit(&w->cur->fill, memory_order_relaxed)) > 0) {
            seal(w, w->cur);
            w->cur = NULL;
        }
    }
    if (lane != NULL) {
        lane->thread_id = tld_thread_id(); /* also when a new thread inherits a dead one's lane */
        lane->last_ticks = 0;
    }
    tld_mutex_unlock(&w->lock);
    entry->serial = w->serial;
    entry->lane = lane;
    return lane;
}

static inline etl_lane *lane_of_this_thread(etl_writer *w)
{
    lane_cache_entry *entry = &lane_cache[w->serial % LANE_CACHE_SIZE];
    if (entry->serial == w->serial)
        return entry->lane;
    return find_lane(w, entry);
}

/* ---- writing events ------------------------------------------------------------ */

/* The shared buffer, for threads without a lane: the record is stored
 * under `lock`, which is also where its timestamp is read, so file order
 * is time order within that buffer. */
static int write_shared(etl_writer *w, const record_source *src, size_t size, size_t room)
{
    uint32_t thread_id = src->ev != NULL ? 0 : tld_thread_id();
    tld_mutex_lock(&w->lock);
    etl_buffer *b;
    uint64_t fill;
    for (;;) {
        b = w->cur;
        fill = b != NULL ? atomic_load_explicit(&b->fill, memory_order_relaxed) : 0;
        if (b != NULL && FILL_USED(fill) + room <= w->buffer_size)
            break;
        if (b != NULL) {
            seal(w, b);
            w->cur = NULL;
        }
        w->cur = take_free(w);
        if (w->cur == NULL) { /* every buffer waits for the disk; another thread may refill cur meanwhile */
            tld_cond_signal(&w->work);
            tld_cond_wait(&w->space, &w->lock);
        }
    }
    /* A TSC read may run ahead of the lock acquisition before it: never
     * store a time earlier than the previous record's. */
    uint64_t ticks = tld_clock_ticks();
    if (ticks < w->shared_last_ticks)
        ticks = w->shared_last_ticks;
    w->shared_last_ticks = ticks;
    emit_record(w, b->mem + FILL_USED(fill), size, src, ticks, thread_id);
    atomic_store_explicit(&b->fill, fill + FILL(room, 1), memory_order_release);
    w->events_accepted++;
    tld_mutex_unlock(&w->lock);
    return 0;
}

static int write_record(etl_writer *w, const record_source *src)
{
    size_t size = source_size(src);
    size_t room = align8(size);
    if (TLD_UNLIKELY(size > MAX_RECORD_SIZE || room > w->buffer_size - ETL_WRITER_BUFFER_HEADER_SIZE)) {
        tld_mutex_lock(&w->lock);
        w->events_too_large++;
        tld_mutex_unlock(&w->lock);
        return EMSGSIZE;
    }
    /* Read first: the counter takes tens of cycles, which the lane lookup
     * below can overlap; an event that then waits for a buffer keeps the
     * time it was written at. */
    uint64_t ticks = tld_clock_ticks();
    etl_lane *lane = lane_of_this_thread(w);
    if (TLD_UNLIKELY(lane == NULL))
        return write_shared(w, src, size, room);

    /* Only this thread changes lane->buf and appends to it (header comment). */
    etl_buffer *b = lane->buf;
    uint64_t fill = b != NULL ? atomic_load_explicit(&b->fill, memory_order_relaxed) : 0;
    if (TLD_UNLIKELY(b == NULL || FILL_USED(fill) + room > w->buffer_size)) {
        tld_mutex_lock(&w->lock);
        lane->buf = NULL; /* the flush thread must not see b once it is queued */
        if (b != NULL)
            seal(w, b);
        b = wait_for_free(w);
        lane->buf = b;
        tld_mutex_unlock(&w->lock);
        fill = atomic_load_explicit(&b->fill, memory_order_relaxed);
    }
    if (TLD_UNLIKELY(ticks < lane->last_ticks))
        ticks = lane->last_ticks;
    lane->last_ticks = ticks;
    uint8_t *at = b->mem + FILL_USED(fill);
    if (w->prefetch_for_store && FILL_USED(fill) + room + PREFETCH_AHEAD + PREFETCH_SPAN <= w->buffer_size)
        tld_prefetch_for_store(at + room + PREFETCH_AHEAD);
    emit_record(w, at, size, src, ticks, lane->thread_id);
    /* Release: the flush thread that loads this fill level (acquire) sees
     * the record bytes below it. */
    atomic_store_explicit(&b->fill, fill + FILL(room, 1), memory_order_release);
    atomic_store_explicit(&lane->accepted, atomic_load_explicit(&lane->accepted, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    return 0;
}

int etl_writer_write(etl_writer *w, const etl_writer_event *ev)
{
    record_source src = {.ev = ev};
    return write_record(w, &src);
}

int etl_writer_write_prepared(etl_writer *w, const etl_prepared_record *r, const void *data, size_t data_len)
{
    record_source src = {.prepared = r, .data = data, .data_len = data_len};
    return write_record(w, &src);
}

/* ---- flushing (caller holds `io`, not `lock`) --------------------------------- */

static uint64_t slot_offset(const etl_writer *w, int64_t slot)
{
    return (uint64_t)slot * w->buffer_size;
}

/* Writes a sealed buffer (no writer touches it any more) completely.
 * Returns 0 or errno; on failure its unwritten events count as lost. */
static int write_sealed(etl_writer *w, etl_buffer *b)
{
    uint64_t fill = atomic_load_explicit(&b->fill, memory_order_acquire);
    uint32_t used = FILL_USED(fill), events = FILL_EVENTS(fill);
    int fresh = b->slot < 0;
    if (fresh)
        b->slot = w->next_slot++;
    uint32_t from = fresh ? ETL_WRITER_BUFFER_HEADER_SIZE : b->flushed_used;
    fill_buffer_header(b->mem, w, used, tld_clock_ticks(), (uint64_t)b->slot,
                       BUFFER_FLAG_NORMAL, BUFFER_TYPE_GENERIC);
    uint64_t off = slot_offset(w, b->slot);
    /* One write for records and padding (0xFF), as before buffers were
     * recycled without clearing: a SIGKILL between two writes left a slot
     * the reader reported as cut short. */
    memset(b->mem + used, 0xFF, w->buffer_size - used);
    int err = pwrite_all(w->file, b->mem + from, w->buffer_size - from, off + from);
    if (err == 0)
        err = pwrite_all(w->file, b->mem, ETL_WRITER_BUFFER_HEADER_SIZE, off);
    if (err != 0) {
        note_write_error(w, err);
        atomic_fetch_add(&w->events_lost_io, events - b->flushed_events);
        if (fresh)
            w->next_slot--; /* nothing later has a slot yet: reuse it */
        return err;
    }
    b->flushed_used = used;
    b->flushed_events = events;
    return 0;
}

/* Writes the filled part of the current buffer in place; writers may keep
 * appending above `used` meanwhile. */
static int write_partial(etl_writer *w, etl_buffer *b, uint32_t used, uint32_t events)
{
    int fresh = b->slot < 0;
    if (fresh)
        b->slot = w->next_slot++;
    uint64_t off = slot_offset(w, b->slot);
    uint32_t from = fresh ? ETL_WRITER_BUFFER_HEADER_SIZE : b->flushed_used;
    int err = pwrite_all(w->file, b->mem + from, used - from, off + from);
    if (err == 0 && fresh)
        err = pwrite_all(w->file, w->filler, w->buffer_size - used, off + used);
    if (err == 0) {
        uint8_t h[ETL_WRITER_BUFFER_HEADER_SIZE];
        fill_buffer_header(h, w, used, tld_clock_ticks(), (uint64_t)b->slot,
                           BUFFER_FLAG_NORMAL, BUFFER_TYPE_GENERIC);
        err = pwrite_all(w->file, h, sizeof h, off);
    }
    if (err != 0) {
        /* Nothing is lost yet: the events stay in memory for the next try. */
        note_write_error(w, err);
        if (fresh) {
            w->next_slot--;
            b->slot = -1;
        }
        return err;
    }
    b->flushed_used = used;
    b->flushed_events = events;
    return 0;
}

/* Fixes up buffer 0's counters and writes its filled part. */
static int rewrite_header0(etl_writer *w)
{
    uint8_t *h = w->header0 + ETL_WRITER_BUFFER_HEADER_SIZE + SYSTEM_TRACE_HEADER_SIZE;
    tld_mutex_lock(&w->lock);
    uint64_t lost = w->events_too_large;
    tld_mutex_unlock(&w->lock);
    lost += atomic_load(&w->events_lost_io);
    store_le64(h + 0x10, tld_clock_filetime_now());                       /* EndTime */
    store_le64(h + 0x100, tld_clock_frequency());                          /* PerfFreq: a TSC's improves */
    store_le32(h + 0x24, (uint32_t)w->next_slot);                          /* BuffersWritten */
    store_le32(h + 0x30, lost > UINT32_MAX ? UINT32_MAX : (uint32_t)lost); /* EventsLost */
    int err = pwrite_all(w->file, w->header0, w->header0_used, 0);
    if (err != 0)
        note_write_error(w, err);
    else
        atomic_store(&w->buffers_written, (uint64_t)w->next_slot);
    return err;
}

/* Writes every sealed buffer, then (when `partial`) the current one,
 * rewriting buffer 0 after each. Returns 0 or the first errno. */
static int flush_pending(etl_writer *w, int partial)
{
    int rc = 0;
    tld_mutex_lock(&w->io);
    for (;;) {
        tld_mutex_lock(&w->lock);
        if (w->full_count > 0) {
            etl_buffer *b = pop_full(w);
            tld_mutex_unlock(&w->lock);
            int err = write_sealed(w, b);
            /* Buffer 0 after every buffer: a crash leaves at most one
             * written buffer that BuffersWritten does not count yet. Also
             * after a failed one, to record EventsLost as soon as we can
             * (buffer 0 overwrites blocks that already exist). */
            int err0 = rewrite_header0(w);
            if (rc == 0)
                rc = err ? err : err0;
            /* Not cleared: the next writer overwrites it, and only the
             * unused tail is set to 0xFF (write_sealed). Clearing all of
             * it here would leave every line modified in this thread's
             * cache, for the writer's core to fetch from ours. */
            tld_mutex_lock(&w->lock);
            put_free(w, b);
            tld_cond_broadcast(&w->space);
            tld_mutex_unlock(&w->lock);
            continue;
        }
        /* Only once the queue is empty, in the same hold of `lock`, so
         * slots stay in each thread's fill order (header comment). */
        uint32_t n = 0;
        for (uint32_t i = 0; partial && i <= w->lane_count; i++) {
            etl_buffer *b = i < w->lane_count ? w->lanes[i].buf : w->cur;
            if (b == NULL)
                continue;
            /* Acquire: the records below this level are complete. */
            uint64_t fill = atomic_load_explicit(&b->fill, memory_order_acquire);
            if (FILL_USED(fill) == ETL_WRITER_BUFFER_HEADER_SIZE || FILL_USED(fill) == b->flushed_used)
                continue;
            w->snapshot[n] = b;
            w->snapshot_fill[n++] = fill;
        }
        tld_mutex_unlock(&w->lock);
        /* A buffer in the snapshot may be sealed meanwhile; it is recycled
         * only after write_sealed, which needs `io`, which we hold. */
        int wrote = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t fill = w->snapshot_fill[i];
            int err = write_partial(w, w->snapshot[i], FILL_USED(fill), FILL_EVENTS(fill));
            wrote |= err == 0;
            if (rc == 0)
                rc = err;
        }
        /* Once for all of them: until then BuffersWritten does not count
         * the new slots, and rewritten old ones were complete at every step. */
        if (wrote) {
            int err = rewrite_header0(w);
            if (rc == 0)
                rc = err;
        }
        break;
    }
    tld_mutex_unlock(&w->io);
    return rc;
}

int etl_writer_flush(etl_writer *w)
{
    return flush_pending(w, 1);
}

/* The flush thread: full buffers as soon as they fill, the partial buffer
 * every flush interval. */
static void flush_thread_main(void *arg)
{
    etl_writer *w = arg;
    uint64_t next_partial = tld_monotonic_ms() + w->flush_interval_ms;
    tld_mutex_lock(&w->lock);
    while (!w->closing) {
        uint64_t now = tld_monotonic_ms();
        if (w->full_count == 0 && now < next_partial)
            tld_cond_wait_ms(&w->work, &w->lock, (uint32_t)(next_partial - now));
        if (w->closing)
            break;
        int due = tld_monotonic_ms() >= next_partial;
        tld_mutex_unlock(&w->lock);
        flush_pending(w, due);
        if (due)
            next_partial = tld_monotonic_ms() + w->flush_interval_ms;
        tld_mutex_lock(&w->lock);
    }
    tld_mutex_unlock(&w->lock);
}

/* ---- open / close --------------------------------------------------------------- */

static void set_error(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, fmt, a, b);
}

static void free_writer(etl_writer *w)
{
    if (w->bufs != NULL)
        for (uint32_t i = 0; i < w->buffers_allocated; i++)
            tld_aligned_free(w->bufs[i].mem);
    tld_free_lines(w->bufs);
    tld_free_lines(w->lanes);
    tld_free_lines(w->snapshot);
    tld_free_lines(w->snapshot_fill);
    tld_free_lines(w->full);
    tld_free_lines(w->free_list);
    tld_free_lines(w->header0);
    tld_free_lines(w->filler);
    tld_mutex_destroy(&w->lock);
    tld_mutex_destroy(&w->io);
    tld_cond_destroy(&w->work);
    tld_cond_destroy(&w->space);
    tld_free_lines(w);
}

int etl_writer_open(etl_writer **out, const etl_writer_config *cfg, char *err, size_t errlen)
{
    if (out == NULL || cfg == NULL || cfg->path == NULL) {
        set_error(err, errlen, "%s%s", "no output path given for the trace file", "");
        return TLD_E_INVALID_ARG;
    }
    *out = NULL;
    uint32_t bs = cfg->buffer_size;
    if (bs < ETL_WRITER_MIN_BUFFER_SIZE || bs > ETL_WRITER_MAX_BUFFER_SIZE || bs % 1024 != 0) {
        set_error(err, errlen, "%s%s",
                  "buffer size must be a multiple of 1024 bytes between 4 KiB and 16 MiB", "");
        return TLD_E_INVALID_ARG;
    }
    if (cfg->buffer_count < 2 || cfg->flush_interval_ms == 0) {
        set_error(err, errlen, "%s%s", "a trace needs at least 2 buffers and a flush interval above 0", "");
        return TLD_E_INVALID_ARG;
    }
    etl_writer *w = tld_calloc_aligned(1, sizeof *w, CACHE_LINE);
    if (w == NULL)
        return TLD_E_NO_MEMORY;
    w->file = TLD_FILE_NONE;
    w->buffer_size = bs;
    w->buffer_count = cfg->buffer_count;
    w->logger_id = cfg->logger_id;
    w->flush_interval_ms = cfg->flush_interval_ms;
    w->next_slot = 1;
    w->serial = 1 + atomic_fetch_add_explicit(&writer_serials, 1, memory_order_relaxed);
    w->process_id = tld_process_id();
    w->prefetch_for_store = cpu_can_prefetch_for_store();
    w->max_lanes = w->buffer_count - 2;
    w->wake_threshold = w->buffer_count / 4 ? w->buffer_count / 4 : 1;
    tld_mutex_init(&w->lock);
    tld_mutex_init(&w->io);
    tld_cond_init(&w->work);
    tld_cond_init(&w->space);

    w->bufs = tld_calloc_aligned(w->buffer_count, sizeof *w->bufs, CACHE_LINE);
    w->full = tld_calloc_aligned(w->buffer_count, sizeof *w->full, CACHE_LINE);
    w->free_list = tld_calloc_aligned(w->buffer_count, sizeof *w->free_list, CACHE_LINE);
    w->lanes = tld_calloc_aligned(w->max_lanes + 1, sizeof *w->lanes, CACHE_LINE);
    w->snapshot = tld_calloc_aligned(w->max_lanes + 1, sizeof *w->snapshot, CACHE_LINE);
    w->snapshot_fill = tld_calloc_aligned(w->max_lanes + 1, sizeof *w->snapshot_fill, CACHE_LINE);
    w->header0 = tld_calloc_aligned(1, bs, 4096);
    w->filler = tld_calloc_aligned(1, bs, 4096);
    /* Two buffers up front, so writers always make progress. */
    if (w->bufs == NULL || w->full == NULL || w->free_list == NULL || w->lanes == NULL ||
        w->snapshot == NULL || w->snapshot_fill == NULL || w->header0 == NULL ||
        w->filler == NULL || allocate_buffer(w) != TLD_OK || allocate_buffer(w) != TLD_OK) {
        free_writer(w);
        return TLD_E_NO_MEMORY;
    }
    memset(w->filler, 0xFF, bs);

    const char *logger = cfg->logger_name ? cfg->logger_name : "tld-session";
    if (build_header0(w, logger, cfg->path) != TLD_OK) {
        set_error(err, errlen, "trace file path '%s' or logger name '%s' is too long for the first buffer; use a larger buffer size",
                  cfg->path, logger);
        free_writer(w);
        return TLD_E_INVALID_ARG;
    }

    int e = -tld_file_create(&w->file, cfg->path);
    if (e != 0) {
        set_error(err, errlen, "cannot create trace file '%s': %s", cfg->path, strerror(e));
        free_writer(w);
        return e;
    }
    e = pwrite_all(w->file, w->header0, bs, 0);
    if (e != 0) {
        set_error(err, errlen, "cannot write trace file '%s': %s", cfg->path, strerror(e));
        tld_file_close(w->file);
        free_writer(w);
        return e;
    }
    atomic_store(&w->buffers_written, 1);
    e = -tld_thread_start(&w->thread, flush_thread_main, w);
    if (e != 0) {
        set_error(err, errlen, "cannot start the flush thread for '%s': %s", cfg->path, strerror(e));
        tld_file_close(w->file);
        free_writer(w);
        return e;
    }
    w->thread_started = 1;
    *out = w;
    return 0;
}

void etl_writer_get_stats(etl_writer *w, etl_writer_stats *st)
{
    tld_mutex_lock(&w->lock);
    uint64_t accepted = w->events_accepted;
    for (uint32_t i = 0; i < w->lane_count; i++)
        accepted += atomic_load_explicit(&w->lanes[i].accepted, memory_order_relaxed);
    uint64_t too_large = w->events_too_large;
    tld_mutex_unlock(&w->lock);
    uint64_t lost_io = atomic_load(&w->events_lost_io);
    st->events_written = accepted - lost_io;
    st->events_lost = too_large + lost_io;
    st->events_too_large = too_large;
    st->buffers_written = atomic_load(&w->buffers_written);
    st->write_error = atomic_load(&w->write_error);
}

int etl_writer_close(etl_writer *w, etl_writer_stats *st)
{
    if (w == NULL)
        return 0;
    tld_mutex_lock(&w->lock);
    w->closing = 1;
    tld_cond_signal(&w->work);
    tld_mutex_unlock(&w->lock);
    if (w->thread_started)
        tld_thread_join(&w->thread);

    /* No writer runs any more (contract): every lane's buffer and the
     * shared one go to the queue, each thread's in its fill order. */
    tld_mutex_lock(&w->lock);
    for (uint32_t i = 0; i <= w->lane_count; i++) {
        etl_buffer **cur = i < w->lane_count ? &w->lanes[i].buf : &w->cur;
        etl_buffer *b = *cur;
        *cur = NULL;
        if (b == NULL)
            continue;
        if (FILL_EVENTS(atomic_load_explicit(&b->fill, memory_order_relaxed)) > 0)
            push_full(w, b);
        else
            put_free(w, b);
    }
    tld_mutex_unlock(&w->lock);
    flush_pending(w, 0);

    /* The last buffer carries flag 0x21, as in real files. */
    tld_mutex_lock(&w->io);
    if (w->next_slot > 1) {
        uint8_t flag[2];
        store_le16(flag, BUFFER_FLAG_FIRST_OR_LAST);
        int err = pwrite_all(w->file, flag, 2, slot_offset(w, w->next_slot - 1) + 0x34);
        if (err != 0)
            note_write_error(w, err);
    }
    rewrite_header0(w);
    tld_mutex_unlock(&w->io);
    int closed = tld_file_close(w->file);
    if (closed != 0)
        note_write_error(w, -closed);

    etl_writer_stats local;
    etl_writer_get_stats(w, st ? st : &local);
    int rc = atomic_load(&w->write_error);
    free_writer(w);
    return rc;
}

int etl_writer_file_identity(const etl_writer *w, uint64_t *dev, uint64_t *ino)
{
    return tld_file_identity(w->file, dev, ino);
}
