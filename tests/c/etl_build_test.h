/*
 * etl_build_test.h — test-only builder of .etl files in the layouts
 * Windows writes (../shared/spec/etl-file.md, etw-kernel-events.md), for
 * the reader's tests and fuzzing seeds: buffer 0 with the logfile header
 * (clock type, frequency, pointer size, LogFileMode, an older logger's
 * SavedOffset of 0), per-CPU buffers filled with records, compressed
 * buffers (Plain LZ77 through lz77_compress_test.h, each as long on disk as
 * its compressed bytes, as relogged files are), and the records themselves:
 * kernel records with SYSTEM, compact and PERFINFO headers and
 * EVENT_HEADER events with extended items.
 *
 * Header-only (static functions): include it once per test program.
 */
#ifndef TLD_ETL_BUILD_TEST_H
#define TLD_ETL_BUILD_TEST_H

#include "byteorder.h"
#include "etl_format.h"
#include "lz77_compress_test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EB_START_CLOCK 5000000ull
#define EB_START_FT 133000000000000000ull /* 2022-06-18T04:26:40Z */

typedef struct eb_options {
    uint32_t buffer_size;
    uint32_t clock_type;       /* ReservedFlags */
    uint64_t perf_freq;
    uint32_t cpu_mhz;
    uint32_t pointer_size;     /* 8, or 4 for the 32-bit logfile header */
    uint32_t log_file_mode;
    int compress;              /* buffers after buffer 0 are compressed */
    int saved_offset_zero;     /* an older logger: SavedOffset 0 in every buffer */
    uint32_t buffer0_size;     /* buffer 0's own size (0: buffer_size) */
    int not_stopped;           /* no flush marker on the last buffer */
    uint64_t start_clock;      /* 0: EB_START_CLOCK */
} eb_options;

typedef struct eb_file {
    eb_options o;
    uint8_t *data;             /* the file */
    size_t len, cap;
    uint8_t *buf;              /* the buffer being filled (buffer_size bytes) */
    uint32_t off;
    uint32_t count;            /* buffers written */
    uint16_t cpu;
    size_t last_at;            /* file offset of the last buffer written */
} eb_file;

static void eb_append(eb_file *f, const uint8_t *p, size_t n)
{
    while (f->len + n > f->cap) {
        f->cap = f->cap ? f->cap * 2 : 65536;
        f->data = realloc(f->data, f->cap);
    }
    memcpy(f->data + f->len, p, n);
    f->len += n;
}

static void eb_begin(eb_file *f)
{
    memset(f->buf, 0xFF, f->o.buffer_size);
    memset(f->buf, 0, ETL_BUFFER_HEADER_SIZE);
    f->off = ETL_BUFFER_HEADER_SIZE;
}

/* Writes the buffer being filled to the file (compressed when asked). */
static void eb_flush(eb_file *f, uint16_t extra_flags)
{
    uint8_t *b = f->buf;
    uint32_t used = f->off;
    int first = f->count == 0;
    uint32_t own = first && f->o.buffer0_size ? f->o.buffer0_size : f->o.buffer_size;
    store_le32(b + ETL_BUFFER_SIZE_OFFSET, own);
    store_le32(b + ETL_BUFFER_SAVED_OFFSET, f->o.saved_offset_zero ? 0 : used);
    store_le32(b + ETL_BUFFER_CURRENT_OFFSET, used);
    store_le64(b + ETL_BUFFER_TIMESTAMP_OFFSET, first ? 0 : EB_START_CLOCK + 1000000u * f->count);
    store_le64(b + ETL_BUFFER_SEQUENCE_OFFSET, f->count);
    store_le16(b + ETL_BUFFER_PROCESSOR_OFFSET, f->cpu);
    store_le16(b + ETL_BUFFER_LOGGER_OFFSET, 40);
    store_le32(b + ETL_BUFFER_STATE_OFFSET, 3);
    store_le32(b + ETL_BUFFER_FILLED_OFFSET, used);
    store_le16(b + ETL_BUFFER_FLAG_OFFSET, (uint16_t)(ETL_BUFFER_FLAG_PROC_INDEX | extra_flags));
    store_le16(b + ETL_BUFFER_TYPE_OFFSET, first ? ETL_BUFFER_TYPE_HEADER : ETL_BUFFER_TYPE_GENERIC);
    f->last_at = f->len;
    if (!first && f->o.compress) {
        size_t zn;
        uint8_t *z = lz77_compress_test(b + ETL_BUFFER_HEADER_SIZE, used - ETL_BUFFER_HEADER_SIZE, 0, &zn);
        store_le32(b + ETL_BUFFER_SIZE_OFFSET, (uint32_t)(ETL_BUFFER_HEADER_SIZE + zn));
        store_le16(b + ETL_BUFFER_FLAG_OFFSET, (uint16_t)(load_le16(b + ETL_BUFFER_FLAG_OFFSET) | ETL_BUFFER_FLAG_COMPRESSED));
        eb_append(f, b, ETL_BUFFER_HEADER_SIZE);
        eb_append(f, z, zn);
        free(z);
    } else {
        if (own < f->o.buffer_size && used > own)
            own = used; /* cannot happen with sane options */
        eb_append(f, b, own);
    }
    f->count++;
}

/* Starts a file: buffer 0 with the logfile header record (names "Ses" and
 * "f.etl") and the 0x50-byte companion record real files carry. */
static void eb_init(eb_file *f, const eb_options *o)
{
    memset(f, 0, sizeof *f);
    f->o = *o;
    if (!f->o.buffer_size)
        f->o.buffer_size = 4096;
    if (!f->o.pointer_size)
        f->o.pointer_size = 8;
    if (!f->o.start_clock)
        f->o.start_clock = EB_START_CLOCK;
    f->buf = malloc(f->o.buffer_size);
    eb_begin(f);
    uint8_t *r = f->buf + ETL_BUFFER_HEADER_SIZE;
    static const uint8_t names[] = {'S', 0, 'e', 0, 's', 0, 0, 0, 'f', 0, '.', 0, 'e', 0, 't', 0, 'l', 0, 0, 0};
    uint32_t shift = f->o.pointer_size == 4 ? ETL_LOGFILE_SHIFT32 : 0;
    uint32_t size = ETL_SYSTEM_TRACE_HEADER_SIZE + ETL_LOGFILE_HEADER_SIZE - shift + sizeof names;
    memset(r, 0, size);
    store_le32(r, (f->o.pointer_size == 4 ? ETL_SYSTEM_MARKER32_TYPE : ETL_SYSTEM_MARKER64_TYPE) | 2u);
    store_le16(r + ETL_SYS_SIZE, (uint16_t)size);
    store_le16(r + ETL_SYS_HOOK, ETL_HOOK_LOGFILE_HEADER);
    store_le64(r + ETL_SYS_TIMESTAMP, f->o.start_clock);
    uint8_t *t = r + ETL_SYSTEM_TRACE_HEADER_SIZE;
    store_le32(t + ETL_LOGFILE_BUFFER_SIZE, f->o.buffer_size);
    t[4] = 10; t[5] = 0; t[6] = 1; t[7] = 5;
    store_le32(t + ETL_LOGFILE_PROVIDER_VERSION, 7601);
    store_le32(t + ETL_LOGFILE_PROCESSORS, 4);
    store_le64(t + ETL_LOGFILE_END_TIME, f->o.not_stopped ? EB_START_FT : EB_START_FT + 36000000000ull);
    store_le32(t + ETL_LOGFILE_TIMER_RESOLUTION, 156250);
    store_le32(t + ETL_LOGFILE_MODE, f->o.log_file_mode ? f->o.log_file_mode : ETL_LOG_FILE_MODE_SEQUENTIAL);
    store_le32(t + ETL_LOGFILE_START_BUFFERS, 1);
    store_le32(t + ETL_LOGFILE_POINTER_SIZE, f->o.pointer_size);
    store_le32(t + ETL_LOGFILE_CPU_SPEED, f->o.cpu_mhz);
    store_le64(t + ETL_LOGFILE_BOOT_TIME - shift, EB_START_FT - 864000000000ull);
    store_le64(t + ETL_LOGFILE_PERF_FREQ - shift, f->o.perf_freq);
    store_le64(t + ETL_LOGFILE_START_TIME - shift, EB_START_FT);
    store_le32(t + ETL_LOGFILE_CLOCK_TYPE - shift, f->o.clock_type);
    memcpy(t + ETL_LOGFILE_HEADER_SIZE - shift, names, sizeof names);
    f->off += (size + 7) & ~7u;
    uint8_t *x = f->buf + f->off;
    memset(x, 0, ETL_EXTRA_RECORD_SIZE);
    store_le32(x, ETL_SYSTEM_MARKER64_TYPE | 2u);
    store_le16(x + ETL_SYS_SIZE, ETL_EXTRA_RECORD_SIZE);
    store_le16(x + ETL_SYS_HOOK, ETL_HOOK_EXTRA_RECORD);
    store_le64(x + ETL_SYS_TIMESTAMP, f->o.start_clock);
    f->off += ETL_EXTRA_RECORD_SIZE;
    eb_flush(f, ETL_BUFFER_FLAG_FLUSH_MARKER);
    eb_begin(f);
}

/* Starts a new buffer (of processor `cpu`). */
static void eb_new_buffer(eb_file *f, uint16_t cpu)
{
    if (f->off > ETL_BUFFER_HEADER_SIZE)
        eb_flush(f, 0);
    eb_begin(f);
    f->cpu = cpu;
}

/* Appends a record (padded to 8), starting a new buffer when it does not fit. */
static void eb_add(eb_file *f, const uint8_t *rec, size_t size)
{
    size_t padded = (size + 7) & ~(size_t)7;
    if (f->off + padded > f->o.buffer_size)
        eb_new_buffer(f, f->cpu);
    memcpy(f->buf + f->off, rec, size);
    memset(f->buf + f->off + size, 0, padded - size);
    f->off += (uint32_t)padded;
}

/* Ends the file: the last buffer with the flush marker (unless
 * not_stopped), BuffersWritten in the header. Frees the work buffer. */
static void eb_finish(eb_file *f)
{
    if (f->off > ETL_BUFFER_HEADER_SIZE)
        eb_flush(f, f->o.not_stopped ? 0 : ETL_BUFFER_FLAG_FLUSH_MARKER);
    else if (!f->o.not_stopped && f->count > 1)
        store_le16(f->data + f->last_at + ETL_BUFFER_FLAG_OFFSET,
                   (uint16_t)(load_le16(f->data + f->last_at + ETL_BUFFER_FLAG_OFFSET) | ETL_BUFFER_FLAG_FLUSH_MARKER));
    store_le32(f->data + ETL_BUFFER_HEADER_SIZE + ETL_SYSTEM_TRACE_HEADER_SIZE + ETL_LOGFILE_BUFFERS_WRITTEN, f->count);
    free(f->buf);
    f->buf = NULL;
}

/* ---- records ------------------------------------------------------------------ */

/* A kernel record with a SYSTEM_TRACE_HEADER (64-bit, or 32-bit when
 * ptr32). Returns its size. */
static size_t eb_system(uint8_t *rec, uint16_t hook, uint8_t version, uint32_t tid, uint32_t pid, uint64_t ts,
                        const uint8_t *payload, size_t n, int ptr32)
{
    size_t size = ETL_SYSTEM_TRACE_HEADER_SIZE + n;
    memset(rec, 0, ETL_SYSTEM_TRACE_HEADER_SIZE);
    store_le32(rec, (ptr32 ? ETL_SYSTEM_MARKER32_TYPE : ETL_SYSTEM_MARKER64_TYPE) | version);
    store_le16(rec + ETL_SYS_SIZE, (uint16_t)size);
    store_le16(rec + ETL_SYS_HOOK, hook);
    store_le32(rec + ETL_SYS_THREAD, tid);
    store_le32(rec + ETL_SYS_PROCESS, pid);
    store_le64(rec + ETL_SYS_TIMESTAMP, ts);
    memcpy(rec + ETL_SYSTEM_TRACE_HEADER_SIZE, payload, n);
    return size;
}

/* The same with a compact header (no kernel/user times). */
static size_t eb_compact(uint8_t *rec, uint16_t hook, uint8_t version, uint32_t tid, uint32_t pid, uint64_t ts,
                         const uint8_t *payload, size_t n)
{
    size_t size = ETL_COMPACT_HEADER_SIZE + n;
    store_le32(rec, 0xC0040000u | version);
    store_le16(rec + ETL_SYS_SIZE, (uint16_t)size);
    store_le16(rec + ETL_SYS_HOOK, hook);
    store_le32(rec + ETL_SYS_THREAD, tid);
    store_le32(rec + ETL_SYS_PROCESS, pid);
    store_le64(rec + ETL_SYS_TIMESTAMP, ts);
    memcpy(rec + ETL_COMPACT_HEADER_SIZE, payload, n);
    return size;
}

/* A PERFINFO record (no thread or process id in the header). */
static size_t eb_perfinfo(uint8_t *rec, uint16_t hook, uint8_t version, uint64_t ts, const uint8_t *payload,
                          size_t n, int ptr32)
{
    size_t size = ETL_PERFINFO_HEADER_SIZE + n;
    store_le32(rec, (ptr32 ? 0xC0100000u : 0xC0110000u) | version);
    store_le16(rec + ETL_SYS_SIZE, (uint16_t)size);
    store_le16(rec + ETL_SYS_HOOK, hook);
    store_le64(rec + ETL_PERFINFO_TIMESTAMP, ts);
    memcpy(rec + ETL_PERFINFO_HEADER_SIZE, payload, n);
    return size;
}

/* Little payload writer. */
typedef struct eb_pay {
    uint8_t b[2048];
    size_t n;
} eb_pay;

static void pay_u8(eb_pay *p, uint8_t v) { p->b[p->n++] = v; }
static void pay_u16(eb_pay *p, uint16_t v) { store_le16(p->b + p->n, v); p->n += 2; }
static void pay_u32(eb_pay *p, uint32_t v) { store_le32(p->b + p->n, v); p->n += 4; }
static void pay_u64(eb_pay *p, uint64_t v) { store_le64(p->b + p->n, v); p->n += 8; }
static void pay_ptr(eb_pay *p, uint64_t v, int ptr32) { if (ptr32) pay_u32(p, (uint32_t)v); else pay_u64(p, v); }
static void pay_bytes(eb_pay *p, const void *s, size_t n) { memcpy(p->b + p->n, s, n); p->n += n; }
/* An ASCII string as UTF-16LE with its NUL. */
static void pay_wstr(eb_pay *p, const char *s)
{
    for (; *s; s++)
        pay_u16(p, (uint8_t)*s);
    pay_u16(p, 0);
}

#endif
