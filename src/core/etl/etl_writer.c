/*
 * etl_writer.c — the .etl writer's write path: lanes, buffers, open and
 * close (design in etl_writer_internal.h; file output in etl_flush.c;
 * record bytes in etl_records.c).
 */
#include "etl_writer_internal.h"

#include "byteorder.h"
#include "clock.h"
#include "cpu.h"
#include "etl_records.h"
#include "portable.h"
#include "stack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What etl_writer_write() and etl_writer_write_prepared() store: an event to
 * format, or a prepared head plus data. */
typedef struct record_source {
    const etl_writer_event *ev;           /* NULL for a prepared record */
    const etl_prepared_record *prepared;
    const uint8_t *data;
    size_t data_len;
    uint64_t ticks;                       /* the event's time; 0: now */
} record_source;

static size_t source_size(const record_source *src)
{
    return src->ev != NULL ? etl_record_size(src->ev) : src->prepared->head_len + src->data_len;
}

/* memcpy for n a multiple of 8 and about a hundred bytes, the size of a
 * record head: inline word moves beat a call into the library on the
 * hottest path of instrumented mode. */
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
 * store that opens a line must first take it from there; between cores far
 * apart (other chiplets, or vCPUs the hypervisor moves) that costs hundreds
 * of nanoseconds per line. Asking for the lines a few records ahead, for
 * writing, overlaps those transfers with the work in between
 * (docs/design.md, "Writer memory").
 */
#define PREFETCH_AHEAD 2048u
#define PREFETCH_SPAN 192u  /* about one Push record: three lines */

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
        etl_format_record(p, size, src->ev, timestamp);
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
        memset(p + size, 0, etl_align8(size) - size);
}

static int allocate_buffer(etl_writer *w)
{
    etl_buffer *b = &w->bufs[w->buffers_allocated];
    b->mem = tld_calloc_aligned(1, w->buffer_size, ETL_PAGE_SIZE);
    if (b->mem == NULL)
        return TLD_E_NO_MEMORY;
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
    atomic_store_explicit(&b->fill, FILL(ETL_BUFFER_HEADER_SIZE, 0), memory_order_relaxed);
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
 * CPU, paid by the writer. */
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
 * costs a call per access. 128 bytes of the static TLS surplus glibc keeps
 * for such modules. */
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
    uint64_t ticks = src->ticks ? src->ticks : tld_clock_ticks();
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
    int stopped = atomic_load_explicit(&w->stop_reason, memory_order_relaxed);
    if (TLD_UNLIKELY(stopped != 0)) {
        atomic_fetch_add_explicit(&w->events_refused, 1, memory_order_relaxed);
        return stopped;
    }
    size_t size = source_size(src);
    size_t room = etl_align8(size);
    if (TLD_UNLIKELY(size > ETL_MAX_RECORD_SIZE || room > w->buffer_size - ETL_BUFFER_HEADER_SIZE)) {
        tld_mutex_lock(&w->lock);
        w->events_too_large++;
        tld_mutex_unlock(&w->lock);
        return -EMSGSIZE;
    }
    /* Read first: the counter takes tens of cycles, which the lane lookup
     * below can overlap; an event that then waits for a buffer keeps the
     * time it was written at. */
    uint64_t ticks = src->ticks ? src->ticks : tld_clock_ticks();
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
    record_source src = {.ev = ev, .ticks = ev->timestamp};
    return write_record(w, &src);
}

int etl_writer_write_prepared(etl_writer *w, const etl_prepared_record *r, const void *data, size_t data_len,
                              uint64_t ticks)
{
    record_source src = {.prepared = r, .data = data, .data_len = data_len, .ticks = ticks};
    return write_record(w, &src);
}

/* ---- open / close --------------------------------------------------------------- */

static void set_error(char *err, size_t errlen, const char *fmt, const char *a, const char *b)
{
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, fmt, a, b);
}

/* Frees what the writer allocated, but not its locks (etl_writer_abandon). */
static void free_memory(etl_writer *w)
{
    if (w->bufs != NULL)
        for (uint32_t i = 0; i < w->buffers_allocated; i++)
            tld_free_aligned(w->bufs[i].mem);
    tld_free_aligned(w->bufs);
    tld_free_aligned(w->lanes);
    tld_free_aligned(w->snapshot);
    tld_free_aligned(w->snapshot_fill);
    tld_free_aligned(w->full);
    tld_free_aligned(w->free_list);
    tld_free_aligned(w->header0);
    tld_free_aligned(w->filler);
    tld_free_aligned(w);
}

static void free_writer(etl_writer *w)
{
    tld_mutex_destroy(&w->lock);
    tld_mutex_destroy(&w->io);
    tld_cond_destroy(&w->work);
    tld_cond_destroy(&w->space);
    free_memory(w);
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
    w->prefetch_for_store = tld_cpu_can_prefetch_for_store();
    w->max_lanes = w->buffer_count - 2;
    w->max_slots = cfg->max_file_size / bs;
    if (cfg->max_file_size != 0 && w->max_slots < 2)
        w->max_slots = 2; /* buffer 0 and one buffer of events */
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
    w->header0 = tld_calloc_aligned(1, bs, ETL_PAGE_SIZE);
    w->filler = tld_calloc_aligned(1, bs, ETL_PAGE_SIZE);
    /* Two buffers up front, so writers always make progress. */
    if (w->bufs == NULL || w->full == NULL || w->free_list == NULL || w->lanes == NULL ||
        w->snapshot == NULL || w->snapshot_fill == NULL || w->header0 == NULL ||
        w->filler == NULL || allocate_buffer(w) != TLD_OK || allocate_buffer(w) != TLD_OK) {
        free_writer(w);
        return TLD_E_NO_MEMORY;
    }
    memset(w->filler, 0xFF, bs);

    const char *logger = cfg->logger_name ? cfg->logger_name : "tld-session";
    if (etl_build_header_buffer(w->header0, bs, w->logger_id, logger, cfg->path, &w->header0_used) != TLD_OK) {
        set_error(err, errlen, "trace file path '%s' or logger name '%s' is too long for the first buffer; use a larger buffer size",
                  cfg->path, logger);
        free_writer(w);
        return TLD_E_INVALID_ARG;
    }

    int e = tld_file_create_private(&w->file, cfg->path, err, errlen);
    if (e != 0) {
        free_writer(w);
        return e;
    }
    e = tld_file_write_at(w->file, w->header0, bs, 0);
    if (e != 0) {
        set_error(err, errlen, "cannot write trace file '%s': %s", cfg->path, tld_strerror(e));
        tld_file_close(w->file);
        free_writer(w);
        return e;
    }
    atomic_store(&w->buffers_written, 1);
    e = tld_thread_start(&w->thread, etl_flush_thread_main, w);
    if (e != 0) {
        set_error(err, errlen, "cannot start the flush thread for '%s': %s", cfg->path, tld_strerror(e));
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
    /* Read the settled counts before `accepted`'s complement: an event is
     * pending until a flush moves it to in_file or to a lost count. */
    uint64_t in_file = atomic_load(&w->events_in_file);
    uint64_t lost_io = atomic_load(&w->events_lost_io);
    uint64_t lost_limit = atomic_load(&w->events_lost_limit);
    uint64_t refused = atomic_load(&w->events_refused);
    uint64_t settled = in_file + lost_io + lost_limit;
    st->events_written = in_file;
    st->events_pending = accepted > settled ? accepted - settled : 0;
    st->events_lost = too_large + lost_io + lost_limit + refused;
    st->events_too_large = too_large;
    st->buffers_written = atomic_load(&w->buffers_written);
    st->write_error = atomic_load(&w->write_error);
    st->stop_reason = atomic_load(&w->stop_reason);
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
    etl_flush_pending(w, 0);

    /* The last buffer carries flag 0x21, as in real files. */
    tld_mutex_lock(&w->io);
    if (w->next_slot > 1) {
        uint8_t flag[2];
        store_le16(flag, ETL_BUFFER_FLAG_FIRST_OR_LAST);
        int err = tld_file_write_at(w->file, flag, 2, etl_slot_offset(w, w->next_slot - 1) + ETL_BUFFER_FLAG_OFFSET);
        if (err != 0)
            etl_note_write_error(w, err);
    }
    etl_rewrite_header_buffer(w);
    tld_mutex_unlock(&w->io);
    int close_err = tld_file_close(w->file);
    if (close_err != 0)
        etl_note_write_error(w, close_err);

    etl_writer_stats local;
    etl_writer_get_stats(w, st ? st : &local);
    int rc = atomic_load(&w->write_error);
    free_writer(w);
    return rc;
}

void etl_writer_abandon(etl_writer *w)
{
    if (w == NULL)
        return;
    tld_file_abandon(w->file);
    /* Not free_writer(): destroying a mutex or condition variable another
     * process's threads were using can block forever. */
    free_memory(w);
}

int etl_writer_file_identity(const etl_writer *w, uint64_t *dev, uint64_t *ino)
{
    return tld_file_identity(w->file, dev, ino);
}
