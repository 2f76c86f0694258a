/*
 * etl_writer_internal.h — the .etl writer's state, shared by its two
 * halves: etl_writer.c (the write path: lanes, buffers, open and close) and
 * etl_flush.c (the flush thread and file output). The contract is in
 * etl_writer.h, the bytes in etl_records.h.
 *
 *   thread A ──(no lock)──► lane A's buffer ─┐
 *   thread B ──(no lock)──► lane B's buffer ─┼─full─► full queue ──► flush thread ──► file
 *   threads without a lane ──lock──► shared ─┘   ▲                     │
 *                                                └──── free list ◄─────┘
 *
 * Lanes. The first time a thread writes, it gets a lane of its own (while
 * there are fewer than buffer_count - 2 of them; later threads share one
 * buffer under `lock`). A lane's current buffer is
 * filled by its owner thread only, so appending an event takes no lock and
 * no atomic read-modify-write: the owner formats the record above `fill`
 * and then publishes the new fill level with one release store. Its
 * timestamp is read by the owner, from a monotonic clock, so timestamps
 * never decrease within a buffer — a lane buffer holds
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
#ifndef TLD_ETL_WRITER_INTERNAL_H
#define TLD_ETL_WRITER_INTERNAL_H

#include "etl_writer.h"

#include "file.h"
#include "memory.h"
#include "thread.h"

#include <stdatomic.h>
#include <stdint.h>

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
#define ETL_PAGE_SIZE 4096u

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
    tld_file file;
    uint32_t buffer_size;
    uint16_t logger_id;
    uint32_t flush_interval_ms;
    uint64_t serial;          /* unique per open: keys the thread-local lane cache */
    uint32_t process_id;      /* writers do not outlive fork(): sessions end in the child */
    int prefetch_for_store;   /* the CPU has a prefetch-for-write instruction */
    uint8_t *filler;          /* buffer_size bytes of 0xFF */
    uint64_t max_slots;       /* buffers the file may hold (size limit), 0: no limit */
    /* 0 while recording; once the file cannot take more (a write failed, or
     * the size limit was reached), the reason (-errno or TLD_E_SIZE_LIMIT):
     * from then on events are counted as lost instead of stored. */
    atomic_int stop_reason;

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
    atomic_uint_least64_t events_in_file;     /* stored in the file (never decreases) */
    atomic_uint_least64_t events_lost_io;     /* accepted, then lost to a failed write */
    atomic_uint_least64_t events_lost_limit;  /* accepted, then dropped at the size limit */
    atomic_uint_least64_t events_refused;     /* offered after recording stopped */
    atomic_int write_error;

    tld_thread thread;
    int thread_started;
};

/* ---- buffer lists (caller holds `lock`) -------------------------------------- */

static inline void push_full(etl_writer *w, etl_buffer *b)
{
    w->full[(w->full_head + w->full_count) % w->buffer_count] = b;
    w->full_count++;
}

static inline etl_buffer *pop_full(etl_writer *w)
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
static inline void put_free(etl_writer *w, etl_buffer *b)
{
    w->free_list[(w->free_head + w->free_count) % w->buffer_count] = b;
    w->free_count++;
}

/* ---- the flush half (etl_flush.c) ------------------------------------------------ */

/* Writes every sealed buffer, then (when `partial`) the current ones,
 * rewriting buffer 0 after each. Returns 0 or the first -errno. */
int etl_flush_pending(etl_writer *w, int partial);

/* Writes buffer 0 with the current counters (caller holds `io`). */
int etl_rewrite_header_buffer(etl_writer *w);

/* Records the first write error, which also stops recording. */
void etl_note_write_error(etl_writer *w, int err);

/* Events lost so far, for every reason. */
uint64_t etl_events_lost(etl_writer *w);

/* The flush thread's body (arg: the writer). */
void etl_flush_thread_main(void *arg);

static inline uint64_t etl_slot_offset(const etl_writer *w, int64_t slot)
{
    return (uint64_t)slot * w->buffer_size;
}

#endif
