/*
 * etl_writer.h — writes one .etl file (Event Trace Log, the format of
 * Windows' ETW log files; layout in docs/etl-format.md): buffer 0 with the
 * logfile header, then fixed-size buffers of TraceLogging event records.
 *
 * A writer belongs to one session. Any number of threads may call
 * etl_writer_write() at once. Each thread gets a buffer of its own (a
 * "lane", while the buffer count allows; later threads share one buffer
 * under the writer's lock) and appends its events there without taking a
 * lock; its timestamps come from a monotonic clock read by that thread, so
 * timestamps never decrease within a buffer and each thread's events are
 * in order in the file. Events of different threads are in different
 * buffers, each in time order; a reader merges buffers by timestamp for
 * one time line, as with ETW's per-processor buffers. Full buffers go to a
 * queue that a background thread writes to the file; it also flushes the
 * partly filled current buffers every flush interval, in place, and
 * rewrites buffer 0's counters after each flush, so a process killed at
 * any moment leaves a file readable up to its last flush.
 *
 * Nothing is dropped for speed: when every buffer is waiting for the disk,
 * writers wait. Events are dropped only when they cannot be stored: larger
 * than a buffer, or the file cannot take more. The first failed write (e.g.
 * a full disk) or reaching the size limit stops recording: the file keeps
 * every buffer written before and stays readable, and later events are
 * counted as lost. Losses are in the header's EventsLost and in the stats.
 */
#ifndef TLD_ETL_WRITER_H
#define TLD_ETL_WRITER_H

#include "tracelogging/tld.h"

#include <stddef.h>
#include <stdint.h>

#define ETL_WRITER_MIN_BUFFER_SIZE 4096u
#define ETL_WRITER_MAX_BUFFER_SIZE (16u * 1024u * 1024u)

typedef struct etl_writer etl_writer;

typedef struct etl_writer_config {
    const char *path;          /* created or truncated as file.h describes (mode 0600) */
    const char *logger_name;   /* UTF-8, recorded in the header; NULL: "tld-session" */
    uint32_t buffer_size;      /* multiple of 1024 in [ETL_WRITER_MIN_BUFFER_SIZE, ETL_WRITER_MAX_BUFFER_SIZE] */
    uint32_t buffer_count;     /* in-memory buffers, >= 2 (allocated as needed) */
    uint32_t flush_interval_ms;/* > 0: how often the partial buffer reaches the file */
    uint16_t logger_id;        /* small number written in every buffer header */
    uint64_t max_file_size;    /* bytes; 0: no limit. Rounded down to whole buffers
                                  (at least buffer 0 and one more). */
} etl_writer_config;

/* One event to record. All pointers are borrowed for the call. */
typedef struct etl_writer_event {
    const tld_guid *provider_id;
    const tld_event_descriptor *desc;
    const uint8_t *traits;                 /* PROV_TRAITS item, may be empty */
    size_t traits_len;
    const uint8_t *meta;                   /* EVENT_SCHEMA_TL item, may be empty */
    size_t meta_len;
    const uint8_t *data;                   /* user data */
    size_t data_len;
    const tld_guid *activity_id;           /* NULL: all zero */
    const tld_guid *related_activity_id;   /* NULL: no RELATED_ACTIVITYID item */
    const uint64_t *stack;                 /* return addresses, innermost first */
    size_t stack_len;                      /* 0: no STACK_TRACE64 item */
    uint32_t process_id;
    uint32_t thread_id;
    uint64_t timestamp;                    /* 0: now (see etl_writer_write_prepared) */
} etl_writer_event;

/* Counts never decrease, except events_pending: an accepted event is
 * pending until its buffer reaches the file (events_written) or is lost. */
typedef struct etl_writer_stats {
    uint64_t events_written;   /* events stored in the file */
    uint64_t events_pending;   /* accepted, in memory, not in the file yet */
    uint64_t events_lost;      /* too large, lost to write errors, beyond the size limit,
                                  or offered after recording stopped */
    uint64_t events_too_large; /* part of events_lost */
    uint64_t buffers_written;  /* buffers in the file, buffer 0 included */
    int write_error;           /* first -errno from writing the file, 0 if none */
    int stop_reason;           /* 0 while recording; else why it stopped early
                                  (-errno of a failed write, or TLD_E_SIZE_LIMIT) */
} etl_writer_stats;

/*
 * Creates the file, writes buffer 0 and starts the flush thread. On failure
 * returns a TLD_E_* code (bad configuration, no memory) or -errno (the
 * file could not be created or written), writes a sentence
 * saying what failed into err[errlen] (when err != NULL) and leaves no file
 * handle or thread behind (the file may have been created).
 */
int etl_writer_open(etl_writer **out, const etl_writer_config *cfg, char *err, size_t errlen);

/*
 * Records one event. Thread-safe. Returns 0 when the event is in a buffer,
 * the stop reason when recording has stopped (a write failed, or the size
 * limit was reached: the event is counted as lost), or -EMSGSIZE when the record would not fit in one buffer
 * or in ETW's 16-bit record size; that event is counted as lost. May wait
 * while every buffer is waiting for the disk. Must not be called
 * concurrently with or after etl_writer_close().
 */
int etl_writer_write(etl_writer *w, const etl_writer_event *ev);

/*
 * A record prepared once for events whose provider, descriptor, traits,
 * metadata and activity ids never change: the event header and extended
 * items are formatted in advance (from `ev`; its data, stack and ids are
 * ignored), and etl_writer_write_prepared() copies them, stamps time,
 * thread and process, and appends the data. Belongs to no writer; any
 * number of threads may use one at once. NULL when out of memory or when
 * the head alone exceeds a record's 16-bit size.
 */
typedef struct etl_prepared_record etl_prepared_record;
etl_prepared_record *etl_prepared_record_create(const etl_writer_event *ev);
void etl_prepared_record_free(etl_prepared_record *r);

/* etl_writer_write() for a prepared record with this event's data, at
 * `ticks` (0: now). A time earlier than the last one stored in the same
 * buffer is stored as that one: records of a buffer stay in time order. */
int etl_writer_write_prepared(etl_writer *w, const etl_prepared_record *r, const void *data, size_t data_len,
                              uint64_t ticks);

/* Size in bytes of the record etl_writer_write() would store for `ev`,
 * before 8-byte alignment. */
size_t etl_record_size(const etl_writer_event *ev);

/*
 * Writes every full buffer and the partly filled current one to the file
 * and rewrites buffer 0, now, from the calling thread. Thread-safe.
 * Returns 0 or -errno of a failed write.
 */
int etl_writer_flush(etl_writer *w);

/* Current counters. Thread-safe. */
void etl_writer_get_stats(etl_writer *w, etl_writer_stats *st);

/*
 * Stops the flush thread, writes everything still in memory, marks the last
 * buffer, rewrites buffer 0, closes the file and frees the writer. `st` may
 * be NULL. Returns 0 or the first -errno met while writing the file (events
 * lost to it are in st->events_lost). No etl_writer_write() may be running
 * or start during or after this call.
 */
int etl_writer_close(etl_writer *w, etl_writer_stats *st);

/*
 * Releases a writer inherited from the parent process across fork(): frees
 * its memory without writing, flushing, locking or joining anything (the
 * parent still owns the file, the flush thread and the locks).
 */
void etl_writer_abandon(etl_writer *w);

/* The device and inode of the file being written (to tell whether another
 * writer already owns a path). Returns 0 or -errno. */
int etl_writer_file_identity(const etl_writer *w, uint64_t *dev, uint64_t *ino);

#endif
