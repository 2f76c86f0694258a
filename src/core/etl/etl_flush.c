/*
 * etl_flush.c — the .etl writer's file output: the flush thread, sealed
 * and partly filled buffers written in place, and buffer 0's counters
 * rewritten after each write (the crash-safety order is described in
 * etl_writer_internal.h).
 */
#include "etl_writer_internal.h"

#include "clock.h"
#include "etl_records.h"

#include <string.h>

void etl_note_write_error(etl_writer *w, int err)
{
    int expected = 0;
    atomic_compare_exchange_strong(&w->write_error, &expected, err);
    expected = 0;
    atomic_compare_exchange_strong(&w->stop_reason, &expected, err);
}

/* A new slot for a buffer, unless the file is at its size limit (then
 * recording stops). Caller holds `io`. */
static int take_slot(etl_writer *w, etl_buffer *b)
{
    if (w->max_slots != 0 && (uint64_t)w->next_slot >= w->max_slots) {
        int expected = 0;
        atomic_compare_exchange_strong(&w->stop_reason, &expected, TLD_E_SIZE_LIMIT);
        return TLD_E_SIZE_LIMIT;
    }
    b->slot = w->next_slot++;
    return 0;
}

uint64_t etl_events_lost(etl_writer *w)
{
    tld_mutex_lock(&w->lock);
    uint64_t lost = w->events_too_large;
    tld_mutex_unlock(&w->lock);
    return lost + atomic_load(&w->events_lost_io) + atomic_load(&w->events_lost_limit) +
           atomic_load(&w->events_refused);
}

/* Gives back the slot of a buffer whose first write failed (nothing later
 * has a slot yet), and cuts off whatever part of it reached the file: a
 * buffer without its header would read as damage. Caller holds `io`. */
static void abandon_slot(etl_writer *w, etl_buffer *b)
{
    w->next_slot--;
    tld_file_truncate(w->file, etl_slot_offset(w, b->slot));
    b->slot = -1;
}

/* After writing a buffer's bytes from `used`'s point of view: on success
 * the events up to `events` are in the file; on failure recording stops,
 * a fresh slot is given back, and (`lose`) the events not yet in the file
 * are counted as lost. Caller holds `io`. */
static int finish_write(etl_writer *w, etl_buffer *b, int fresh, uint32_t used, uint32_t events, int err, int lose)
{
    if (err != 0) {
        etl_note_write_error(w, err);
        if (lose)
            atomic_fetch_add(&w->events_lost_io, events - b->flushed_events);
        if (fresh)
            abandon_slot(w, b);
        return err;
    }
    atomic_fetch_add(&w->events_in_file, events - b->flushed_events);
    b->flushed_used = used;
    b->flushed_events = events;
    return 0;
}

/* Writes a sealed buffer (no writer touches it any more) completely.
 * Returns 0 or -errno; on failure its unwritten events count as lost.
 * Caller holds `io`, not `lock`. */
static int write_sealed(etl_writer *w, etl_buffer *b)
{
    uint64_t fill = atomic_load_explicit(&b->fill, memory_order_acquire);
    uint32_t used = FILL_USED(fill), events = FILL_EVENTS(fill);
    int fresh = b->slot < 0;
    if (fresh && take_slot(w, b) != 0) {
        atomic_fetch_add(&w->events_lost_limit, events);
        return 0; /* dropped: not a write error */
    }
    uint32_t from = fresh ? ETL_BUFFER_HEADER_SIZE : b->flushed_used;
    etl_fill_buffer_header(b->mem, w->buffer_size, w->logger_id, used, tld_clock_ticks(), (uint64_t)b->slot,
                           ETL_BUFFER_FLAG_NORMAL, ETL_BUFFER_TYPE_GENERIC);
    uint64_t off = etl_slot_offset(w, b->slot);
    /* Records and padding (0xFF) in one write, the header after them: a
     * reader trusts a slot only once its header and buffer 0's
     * BuffersWritten say so. */
    memset(b->mem + used, 0xFF, w->buffer_size - used);
    int err = tld_file_write_at(w->file, b->mem + from, w->buffer_size - from, off + from);
    if (err == 0)
        err = tld_file_write_at(w->file, b->mem, ETL_BUFFER_HEADER_SIZE, off);
    return finish_write(w, b, fresh, used, events, err, 1);
}

/* Writes the filled part of the current buffer in place; writers may keep
 * appending above `used` meanwhile. On failure nothing is lost yet: the
 * events stay in memory for the next try. Caller holds `io`. */
static int write_partial(etl_writer *w, etl_buffer *b, uint32_t used, uint32_t events)
{
    int fresh = b->slot < 0;
    if (fresh && take_slot(w, b) != 0)
        return 0; /* its events are dropped when it is sealed */
    uint64_t off = etl_slot_offset(w, b->slot);
    uint32_t from = fresh ? ETL_BUFFER_HEADER_SIZE : b->flushed_used;
    int err = tld_file_write_at(w->file, b->mem + from, used - from, off + from);
    if (err == 0 && fresh)
        err = tld_file_write_at(w->file, w->filler, w->buffer_size - used, off + used);
    if (err == 0) {
        uint8_t h[ETL_BUFFER_HEADER_SIZE];
        etl_fill_buffer_header(h, w->buffer_size, w->logger_id, used, tld_clock_ticks(), (uint64_t)b->slot,
                               ETL_BUFFER_FLAG_NORMAL, ETL_BUFFER_TYPE_GENERIC);
        err = tld_file_write_at(w->file, h, sizeof h, off);
    }
    return finish_write(w, b, fresh, used, events, err, 0);
}

/* Fixes up buffer 0's counters and writes its filled part. PerfFreq is
 * rewritten too: a TSC's measured rate improves as the session runs. */
int etl_rewrite_header_buffer(etl_writer *w)
{
    uint64_t lost = etl_events_lost(w);
    etl_update_header_buffer(w->header0, tld_clock_filetime_now(), tld_clock_frequency(), (uint32_t)w->next_slot,
                             lost > UINT32_MAX ? UINT32_MAX : (uint32_t)lost);
    int err = tld_file_write_at(w->file, w->header0, w->header0_used, 0);
    if (err != 0)
        etl_note_write_error(w, err);
    else
        atomic_store(&w->buffers_written, (uint64_t)w->next_slot);
    return err;
}

int etl_flush_pending(etl_writer *w, int partial)
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
            int err0 = etl_rewrite_header_buffer(w);
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
            if (FILL_USED(fill) == ETL_BUFFER_HEADER_SIZE || FILL_USED(fill) == b->flushed_used)
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
            int err = etl_rewrite_header_buffer(w);
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
    return etl_flush_pending(w, 1);
}

/* The flush thread: full buffers as soon as they fill, the partial buffer
 * every flush interval. */
void etl_flush_thread_main(void *arg)
{
    etl_writer *w = arg;
    uint64_t next_partial = tld_monotonic_ms() + w->flush_interval_ms;
    tld_mutex_lock(&w->lock);
    while (!w->closing) {
        if (w->full_count == 0)
            tld_cond_wait_until(&w->work, &w->lock, next_partial);
        if (w->closing)
            break;
        int due = tld_monotonic_ms() >= next_partial;
        tld_mutex_unlock(&w->lock);
        etl_flush_pending(w, due);
        if (due)
            next_partial = tld_monotonic_ms() + w->flush_interval_ms;
        tld_mutex_lock(&w->lock);
    }
    tld_mutex_unlock(&w->lock);
}

