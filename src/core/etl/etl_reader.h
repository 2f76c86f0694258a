/*
 * etl_reader.h — walks an .etl file (Event Trace Log) and hands out its
 * records one by one, in timestamp order, with their header fields,
 * extended data items and payload. Reads what Windows writes (per-CPU
 * buffers, compressed relogged files, older loggers, kernel records) and
 * what our writer writes. Layout: ../shared/spec/etl-file.md and
 * ../shared/spec/etw-kernel-events.md; constants: etl_format.h.
 *
 *     etl_reader r;
 *     etl_event ev;
 *     if (etl_reader_open_path(&r, "trace.etl", ETL_READ_SYSTEM_RECORDS) == 0) {
 *         int rc;
 *         while ((rc = etl_reader_next(&r, &ev)) != TLD_E_END) {
 *             if (rc < 0) { fprintf(stderr, "%s\n", etl_reader_message(&r)); continue; }
 *             ... use ev (its pointers are valid until the next call) ...
 *         }
 *     }
 *     etl_reader_close(&r);
 *
 * Streaming. A file opened by path is never held whole: buffers are walked
 * by their own BufferSize (compressed buffers are shorter on disk), each
 * remembered as a 32-byte cursor, and their contents are read (and, when
 * compressed, decompressed) on demand into a bounded pool of buffers that
 * evicts the least recently used. Memory is the pool (64 MiB by default)
 * plus 32 bytes per buffer that still holds records, whatever the file
 * size. A file in memory (etl_reader_open_memory) is read in place; only
 * its compressed buffers go through the pool.
 *
 * Order: the records of one buffer are in time order (ETW's per-processor
 * buffers, and ours, one per writer thread or shared under a lock), but
 * buffers interleave in time. Like Windows' readers, this one merges them:
 * records come out by timestamp, ties in buffer order, each buffer's
 * records in their file order (a k-way merge with one cursor per buffer,
 * so a file whose buffers are out of order inside still comes out whole).
 * Every buffer is entered (its header checked, its first record found)
 * before the first record comes out.
 *
 * Every length in the file is treated as hostile: nothing is read outside
 * the file, every loop makes progress, and damage is reported as an error
 * for the record or buffer concerned, after which the walk goes on. Damage
 * means real damage: a SavedOffset of 0 (older loggers), a last buffer
 * followed by zero padding, or a compressed file's variable buffer sizes
 * are not damage. It does not decode TraceLogging fields (tl_decoder.h) or
 * kernel payloads (etl_kernel.h).
 */
#ifndef TLD_ETL_READER_H
#define TLD_ETL_READER_H

#include <stddef.h>
#include <stdint.h>

#include "tracelogging/tld.h"

#include "etl_format.h"
#include "tracelogging/tld_errors.h"
#include "file_read.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes a buffer may occupy: the reader's bounds (Windows uses 4 KiB..16 MiB
 * uncompressed; compressed buffers are smaller on disk). */
#define ETL_MIN_BUFFER_SIZE 0x100u
#define ETL_MAX_BUFFER_SIZE (64u * 1024u * 1024u)
#define ETL_MAX_EXT_ITEMS 16u
#define ETL_NAME_BYTES 1024u      /* logfile header names kept (UTF-16LE bytes) */
/* A buffer count beyond which the cursors would outgrow the memory bound
 * (128 MiB of cursors): the rest of the file is reported, not read. */
#define ETL_MAX_CURSORS (4u * 1024u * 1024u)
/* Default bytes of buffer contents held at once (etl_reader_set_pool_size). */
#define ETL_DEFAULT_POOL_BYTES (64u * 1024u * 1024u)
/* thread_id / process_id of records that do not carry them (PERFINFO headers). */
#define ETL_ID_NONE 0xFFFFFFFFu

/* Options of etl_reader_open_path() / etl_reader_open_memory(). */
enum {
    /* Hand out kernel (system, compact and PERFINFO) records too, as
     * ETL_KIND_SYSTEM; without it they are stepped over and counted.
     * Records of the EventTrace group (the logfile header and its
     * companions: the file's own bookkeeping) are counted, never handed out. */
    ETL_READ_SYSTEM_RECORDS = 0x1,
    /* Read a file in memory through the pool by windows, as a file opened
     * by path is read (for tests and fuzzing of that path). */
    ETL_READ_THROUGH_POOL = 0x100,
};

/* What buffer 0 says about the whole trace (TRACE_LOGFILE_HEADER). */
typedef struct etl_logfile_header {
    int present;                /* 0 when buffer 0 held no usable logfile header */
    uint32_t buffer_size;       /* BufferSize: the size of an uncompressed buffer */
    uint32_t version;
    uint32_t provider_version;  /* Windows build number */
    uint32_t number_of_processors;
    uint64_t end_time;          /* FILETIME */
    uint32_t timer_resolution;
    uint32_t maximum_file_size;
    uint32_t log_file_mode;     /* ETL_MODE_* (ETL_LOG_FILE_MODE_COMPRESSED: relogged, compressed buffers) */
    uint32_t buffers_written;
    uint32_t start_buffers;
    uint32_t pointer_size;      /* 4 or 8 (anything else is reported as 8) */
    uint32_t events_lost;
    uint32_t cpu_speed_mhz;
    uint64_t boot_time;         /* FILETIME */
    uint64_t perf_freq;         /* clock ticks per second */
    uint64_t start_time;        /* FILETIME at session start */
    uint32_t clock_type;        /* ReservedFlags: ETL_CLOCK_TYPE_QPC, _SYSTEM_TIME, _CPU_CYCLES */
    uint32_t buffers_lost;
    uint64_t start_clock;       /* SystemTime of the header's SYSTEM_TRACE_HEADER */
    /* UTF-16LE names, not NUL-terminated, held by the reader (at most
     * ETL_NAME_BYTES each; NULL/0 when absent). */
    const uint8_t *logger_name;
    size_t logger_name_bytes;
    const uint8_t *logfile_name;
    size_t logfile_name_bytes;
} etl_logfile_header;

typedef struct etl_ext_item {
    uint16_t type;
    uint16_t size;              /* data bytes */
    const uint8_t *data;
} etl_ext_item;

enum etl_event_kind {
    ETL_KIND_EVENT_HEADER = 1,  /* EVENT_HEADER (0xC012/0xC013): manifest, TraceLogging, ... */
    ETL_KIND_CLASSIC = 2,       /* EVENT_TRACE_HEADER / instance header: MOF-style events */
    ETL_KIND_SYSTEM = 3,        /* kernel record: system, compact or PERFINFO header */
    ETL_KIND_MESSAGE = 4,       /* WPP message (TraceMessage) */
};

/* One record. Pointers are valid until the next etl_reader_next() or
 * etl_reader_close() call (for an uncompressed buffer of a file in memory,
 * as long as the memory). */
typedef struct etl_event {
    int kind;                   /* enum etl_event_kind */
    uint32_t buffer_index;      /* where the record is, for messages (buffers in file order) */
    uint32_t offset;            /* offset of the record inside its (expanded) buffer */
    uint16_t size;              /* record size before padding */
    uint16_t header_type;       /* u16 at offset 2, e.g. 0xC013 */
    uint16_t flags;             /* EVENT_HEADER.Flags; message: OptionFlags; else 0 */
    uint16_t event_property;
    uint32_t thread_id;         /* ETL_ID_NONE when the record has none */
    uint32_t process_id;        /* ETL_ID_NONE when the record has none */
    uint64_t timestamp;         /* raw clock value from the record */
    uint64_t filetime;          /* timestamp converted to FILETIME (UTC) */
    tld_guid provider_id;       /* classic/system: the event class GUID (zero when unknown) */
    tld_event_descriptor descriptor; /* classic/system: opcode = type, version; message: id */
    uint16_t hook_id;           /* system records: group << 8 | opcode */
    uint32_t kernel_time;
    uint32_t user_time;
    tld_guid activity_id;       /* all zero when absent */
    int has_related_activity_id;
    tld_guid related_activity_id;
    /* TraceLogging items (NULL/0 when absent). */
    const uint8_t *prov_traits;
    size_t prov_traits_len;
    const uint8_t *event_schema;
    size_t event_schema_len;
    /* Stack (STACK_TRACE64 or STACK_TRACE32 item): `stack_count` addresses of
     * `stack_addr_size` bytes (8 or 4) at `stack`, innermost first. */
    int has_stack;
    uint64_t stack_match_id;
    const uint8_t *stack;
    uint32_t stack_count;
    uint32_t stack_addr_size;
    /* Every extended item, in file order (the first ETL_MAX_EXT_ITEMS). */
    uint32_t ext_count;
    uint32_t ext_dropped;       /* items beyond ETL_MAX_EXT_ITEMS */
    etl_ext_item ext[ETL_MAX_EXT_ITEMS];
    const uint8_t *user_data;
    size_t user_data_len;
    uint32_t pointer_size;      /* 4 or 8: header type or event flags, else the file's PointerSize */
} etl_event;

/* One buffer's place in the merge (32 bytes). */
#define ETL_CURSOR_SIZE_MASK 0x0FFFFFFFu  /* `disk`: bytes the buffer occupies on disk */
#define ETL_CURSOR_COMPRESSED 0x80000000u /* its records are Plain LZ77 */
#define ETL_CURSOR_PARTIAL 0x40000000u    /* the file ends inside it */
#define ETL_CURSOR_CUT 0x20000000u        /* `end` was cut to the data that decoded; reported */
#define ETL_CURSOR_END_UNKNOWN 0x10000000u /* compressed, no usable expanded size: ends where the data ends */
typedef struct etl_cursor {
    uint64_t timestamp;         /* of the record at `offset`: the merge key */
    uint64_t file_offset;       /* where the buffer starts in the file */
    uint32_t offset;            /* a record whose framing was checked */
    uint32_t end;               /* end of records in the (expanded) buffer */
    uint32_t buffer;            /* buffer index, file order */
    uint32_t disk;              /* bytes on disk | ETL_CURSOR_* flags */
} etl_cursor;

/* Part of a buffer in memory: bytes [start, end) of the (expanded) buffer,
 * the byte at offset `start` at p. */
typedef struct etl_view {
    const uint8_t *p;
    uint32_t start, end;
} etl_view;

/* One buffer's contents (or a window of them) held in the pool. */
typedef struct etl_slot {
    uint8_t *mem;
    size_t cap;
    uint32_t start;             /* the buffer offset of mem[0] (a window of an uncompressed buffer) */
    uint32_t len;               /* end of the bytes held, in buffer offsets */
    uint32_t buffer;            /* UINT32_MAX when free */
    int32_t prev, next;         /* the use list, most recent first */
} etl_slot;

typedef struct etl_reader {
    /* The source: memory (data/len) or a file read by offset. */
    const uint8_t *data;
    uint64_t len;
    tld_read_file file;
    int from_file;
    unsigned options;           /* ETL_READ_* */
    uint32_t buffer_size;       /* the logfile's BufferSize (buffer 0's own when no header) */
    size_t buffer_count;        /* buffers found so far (all of them once the first record came out) */
    etl_logfile_header header;
    uint16_t logger_id;         /* buffer 0's LoggerId */
    uint16_t buffer0_flags;
    int not_stopped;            /* etl_reader_not_stopped() */
    /* Scan: buffers are entered in file order, each moved to its first
     * record (`entering`, `enter`) and put in a binary min-heap keyed by
     * (timestamp, buffer); every record handed out is the heap's top,
     * whose cursor then moves on in place (`advance_top`). */
    uint64_t next_pos;          /* file offset of the next buffer to enter */
    int scan_done;
    int entering;
    int advance_top;
    etl_cursor enter;
    etl_cursor *heap;
    size_t heap_count;
    size_t heap_cap;
    int done;
    int finish_stage;           /* reports made after the last record */
    int truncation_reported;
    int resynced;               /* bytes were skipped to find a buffer header */
    uint32_t cut_buffer;        /* the last buffer, when the file ends inside it: */
    uint32_t cut_bytes;         /*   bytes of it present */
    uint32_t cut_size;          /*   its BufferSize (0: not cut) */
    /* Pool of buffer contents (etl_reader_set_pool_size). */
    size_t pool_bytes;
    size_t pool_used;           /* bytes allocated to slots */
    int thrashing;              /* most records need a read: windows are small */
    uint32_t period_records;    /* records and loads of the current period */
    uint64_t period_loads;
    etl_slot *slots;
    uint32_t slot_count;
    int32_t *slot_table;        /* buffer index -> slot, open addressing */
    uint32_t table_mask;
    int32_t lru_head, lru_tail; /* most and least recently used slots */
    uint32_t slots_used;        /* slots handed out at least once */
    etl_view last_view;         /* the part of a buffer the last record came from */
    uint32_t memo_buffer;       /* the last buffer looked up, and its slot */
    uint32_t memo_slot;
    /* Scratch for headers, prefixes and compressed input. */
    uint8_t *scratch;
    size_t scratch_cap;
    uint8_t *zin;
    size_t zin_cap;
    /* The logfile header's names (copied out of buffer 0). */
    uint8_t logger_name[ETL_NAME_BYTES];
    uint8_t logfile_name[ETL_NAME_BYTES];
    /* Counters. */
    uint64_t events;            /* event, classic and message records handed out */
    uint64_t system_records;    /* kernel records met (handed out or stepped over) */
    uint64_t system_handed_out; /* of those, handed out (ETL_READ_SYSTEM_RECORDS) */
    uint64_t other_records;     /* records of other header types, stepped over */
    uint64_t damaged_records;   /* records reported as damaged */
    uint64_t damaged_buffers;   /* buffers (or buffer tails) given up on */
    uint64_t compressed_buffers;
    uint64_t buffer_loads;      /* buffer contents read (or decompressed) into the pool */
    uint64_t errors;            /* errors returned by etl_reader_next() */
    char message[320];          /* the last error, as a sentence */
} etl_reader;

/*
 * Opens `path` and reads its logfile header; the records are read as the
 * walk goes. Returns 0, -errno when the file cannot be opened or read,
 * TLD_E_NOT_REGULAR_FILE for a device, pipe or directory,
 * TLD_E_FILE_TOO_LARGE, TLD_E_NOT_ETL when the first buffer header
 * is unusable, or TLD_E_NO_MEMORY; etl_reader_message() says which. A
 * damaged logfile header is not fatal: header.present stays 0 and
 * timestamps are then passed through unconverted. A walk that reached
 * TLD_E_END has released everything (file, pool, cursors); otherwise
 * call etl_reader_close() (always safe, also after a failed open).
 */
int etl_reader_open_path(etl_reader *r, const char *path, unsigned options);

/* The same for a file in memory (data[0..len) must stay valid while the
 * reader is used). */
int etl_reader_open_memory(etl_reader *r, const uint8_t *data, size_t len, unsigned options);

/* etl_reader_open_memory(r, data, len, 0). */
int etl_reader_open(etl_reader *r, const uint8_t *data, size_t len);

/* Bytes of buffer contents the pool may hold (default
 * ETL_DEFAULT_POOL_BYTES; at least two buffers are always allowed). Call
 * before the first etl_reader_next(). */
void etl_reader_set_pool_size(etl_reader *r, size_t bytes);

/* Frees everything and closes the file; the reader then reports the end.
 * The header stays readable. Safe to call more than once, and after a
 * failed open. */
void etl_reader_close(etl_reader *r);

/*
 * Moves to the next record (the earliest left: see "Order" above).
 * Returns 0 with *ev filled, TLD_E_END at the end, or a negative code when
 * something was found wrong (etl_reader_message() says where and what):
 * TLD_E_DAMAGED, TLD_E_TRUNCATED, TLD_E_TOO_MANY_BUFFERS,
 * TLD_E_NOT_STOPPED (once, at the end), -errno for a failed read.
 * After an error the walk goes on: call etl_reader_next() again. Damage in
 * a buffer is reported when the walk reaches it in that buffer: before the
 * first record when it is in a buffer's header or before its first record,
 * else after the buffer's last good record was handed out. A damaged
 * record ends its buffer's cursor (or, when only its contents are damaged,
 * is skipped); other buffers go on.
 */
int etl_reader_next(etl_reader *r, etl_event *ev);

/* The logfile header (header.present says whether it was found). */
const etl_logfile_header *etl_reader_header(const etl_reader *r);

/* The last error as a sentence ("" when none). */
const char *etl_reader_message(const etl_reader *r);

/*
 * 1 when the file looks like one whose session was never stopped (the
 * writing process was killed, or the machine stopped): the logfile header
 * and buffer 0 carry the flush-marker convention of a stopped session but
 * the last buffer lacks it (or, with no event buffer, the header was never
 * rewritten). *last_flush (optional) is then the header's EndTime, the
 * time of the last flush: events after it are missing. Known from open.
 */
int etl_reader_not_stopped(const etl_reader *r, uint64_t *last_flush);

/* Converts a raw record timestamp to FILETIME using the logfile header:
 * StartTime + (ts - StartClock) * 10^7 / frequency, with the frequency of
 * the clock type (PerfFreq for QPC, CpuSpeedInMHz for CPU cycles), or ts
 * itself for system time or when the header is missing. Saturates instead
 * of overflowing. */
uint64_t etl_reader_filetime(const etl_reader *r, uint64_t timestamp);

/* Loads a whole file into a malloc'd buffer (free with etl_free_file()):
 * for tests and small files; the reader itself streams. Returns 0,
 * TLD_E_NO_MEMORY or -errno. */
int etl_load_file(const char *path, uint8_t **data, size_t *len);
void etl_free_file(uint8_t *data);

#ifdef __cplusplus
}
#endif

#endif
