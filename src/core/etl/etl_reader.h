/*
 * etl_reader.h — walks an .etl file (Event Trace Log) held in memory and
 * hands out its event records one by one, in timestamp order, with their
 * header fields, extended data items and user data. Layout: ../../shared/spec/etl-file.md
 * (a file is a sequence of fixed-size buffers, each a 0x48-byte header then
 * 8-byte-aligned records; buffer 0 carries the logfile header).
 *
 *     etl_reader r;
 *     etl_event ev;
 *     if (etl_reader_open(&r, data, len) == 0) {
 *         int rc;
 *         while ((rc = etl_reader_next(&r, &ev)) != 0) {
 *             if (rc < 0) { fprintf(stderr, "%s\n", etl_reader_message(&r)); continue; }
 *             ... use ev (its pointers point into `data`) ...
 *         }
 *         etl_reader_close(&r);
 *     }
 *
 * Order: the records of one buffer are in time order (ETW's per-processor
 * buffers, and ours, one per writer thread or shared under a lock), but
 * buffers interleave in time. Like Windows' readers, this one merges them:
 * events come out by timestamp, ties in buffer order, each buffer's records
 * in their file order (a k-way merge with one cursor per buffer, so a file
 * whose buffers are out of order inside still comes out whole).
 *
 * Every length in the file is treated as hostile: nothing is read outside
 * [data, data + len), every loop makes progress, and damage is reported as
 * an error for the record or buffer concerned, after which the walk goes on.
 * The reader allocates one array, a cursor per buffer (32 bytes per buffer
 * of at least 256 bytes), in etl_reader_open(); it is freed when the walk
 * ends or by etl_reader_close(). It never copies payloads. It does not decode TraceLogging fields; tl_decoder.h does.
 */
#ifndef TLD_ETL_READER_H
#define TLD_ETL_READER_H

#include <stddef.h>
#include <stdint.h>

#include "tracelogging/tld.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reader errors (negative, beyond the TLD_E_* range of tld.h). */
enum {
    ETL_E_NOT_ETL = -64,    /* first buffer header unusable: not an .etl file */
    ETL_E_DAMAGED = -65,    /* a record or buffer is damaged; the walk continues */
    ETL_E_TRUNCATED = -66,  /* the file ends inside a buffer or a record */
    ETL_E_IO = -67,         /* etl_load_file: open/read failed (errno kept) */
};

#define ETL_BUFFER_HEADER_SIZE 0x48u
#define ETL_MIN_BUFFER_SIZE 0x100u
#define ETL_MAX_BUFFER_SIZE (64u * 1024u * 1024u)
#define ETL_MAX_EXT_ITEMS 16u

/* EVENT_HEADER_EXTENDED_DATA_ITEM types the reader recognises. */
enum {
    ETL_EXT_RELATED_ACTIVITYID = 0x0001,
    ETL_EXT_SID = 0x0002,
    ETL_EXT_TS_ID = 0x0003,
    ETL_EXT_INSTANCE_INFO = 0x0004,
    ETL_EXT_STACK_TRACE32 = 0x0005,
    ETL_EXT_STACK_TRACE64 = 0x0006,
    ETL_EXT_EVENT_SCHEMA_TL = 0x000B,
    ETL_EXT_PROV_TRAITS = 0x000C,
};

/* EVENT_HEADER.Flags bits used here. */
enum {
    ETL_EVENT_FLAG_EXTENDED_INFO = 0x0001,
    ETL_EVENT_FLAG_STRING_ONLY = 0x0004,
    ETL_EVENT_FLAG_32_BIT_HEADER = 0x0020,
    ETL_EVENT_FLAG_64_BIT_HEADER = 0x0040,
};

/* What buffer 0 says about the whole trace (TRACE_LOGFILE_HEADER). */
typedef struct etl_logfile_header {
    int present;                /* 0 when buffer 0 held no usable logfile header */
    uint32_t buffer_size;       /* as the buffer headers say (the stride used) */
    uint32_t version;
    uint32_t provider_version;  /* Windows build number */
    uint32_t number_of_processors;
    uint64_t end_time;          /* FILETIME */
    uint32_t timer_resolution;
    uint32_t maximum_file_size;
    uint32_t log_file_mode;
    uint32_t buffers_written;
    uint32_t start_buffers;
    uint32_t pointer_size;      /* 4 or 8 (anything else is reported as 8) */
    uint32_t events_lost;
    uint32_t cpu_speed_mhz;
    uint64_t boot_time;         /* FILETIME */
    uint64_t perf_freq;         /* clock ticks per second */
    uint64_t start_time;        /* FILETIME at session start */
    uint32_t clock_type;        /* ReservedFlags: 1 QPC, 2 system time, 3 CPU cycles */
    uint32_t buffers_lost;
    uint64_t start_clock;       /* SystemTime of the header's SYSTEM_TRACE_HEADER */
    /* UTF-16LE names, not NUL-terminated, pointing into the file (NULL/0 when absent). */
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
    ETL_KIND_CLASSIC = 2,       /* EVENT_TRACE_HEADER (0xC00A/0xC014): MOF-style events */
};

/* One event record. Pointers point into the reader's data. */
typedef struct etl_event {
    int kind;                   /* enum etl_event_kind */
    uint32_t buffer_index;      /* where the record is, for messages */
    uint32_t offset;            /* offset of the record inside its buffer */
    uint16_t size;              /* record size before padding */
    uint16_t header_type;       /* u16 at offset 2, e.g. 0xC013 */
    uint16_t flags;             /* EVENT_HEADER.Flags (0 for classic events) */
    uint16_t event_property;
    uint32_t thread_id;
    uint32_t process_id;
    uint64_t timestamp;         /* raw clock value from the record */
    uint64_t filetime;          /* timestamp converted to FILETIME (UTC) */
    tld_guid provider_id;       /* classic events: the event class GUID */
    tld_event_descriptor descriptor; /* classic: opcode = class type, level, version */
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
    uint32_t pointer_size;      /* 4 or 8: event flags, else the file's PointerSize */
} etl_event;

/* One buffer's place in the merge: the next event record to hand out. */
typedef struct etl_cursor {
    uint64_t timestamp;         /* of the record at `offset`: the merge key */
    size_t buffer;              /* buffer index */
    uint32_t offset;            /* an event record whose framing was checked */
    uint32_t end;               /* end of records in the buffer */
    uint32_t partial;           /* the buffer is cut short by the end of the file */
} etl_cursor;

typedef struct etl_reader {
    const uint8_t *data;
    size_t len;
    uint32_t buffer_size;
    size_t buffer_count;        /* buffers that start inside the file (the last may be partial) */
    etl_logfile_header header;
    /* Walk position. Buffers are entered in file order (next_buffer), each
     * moved to its first event record (`entering`) and put in a binary
     * min-heap keyed by (timestamp, buffer); every event handed out is the
     * heap's top, whose cursor then moves on in place (`advance_top`). */
    size_t next_buffer;         /* next buffer to enter */
    int entering;               /* `enter` is a buffer being moved to its first event */
    int advance_top;            /* heap[0] was handed out and must move on */
    etl_cursor enter;
    etl_cursor *heap;           /* buffer_count entries (malloc'd by open, freed at the end or by close) */
    size_t heap_count;
    int done;
    int truncation_reported;    /* a cut-short file is reported once */
    /* Counters. */
    uint64_t events;            /* event records returned */
    uint64_t system_records;    /* system/other records stepped over */
    uint64_t damaged_records;   /* records reported as damaged */
    uint64_t damaged_buffers;   /* buffers (or buffer tails) given up on */
    uint64_t errors;            /* errors returned by etl_reader_next() */
    char message[256];          /* the last error, as a sentence */
} etl_reader;

/*
 * Prepares to walk data[0..len). Reads BufferSize from the first buffer
 * header (it must be a multiple of 8 within ETL_MIN_BUFFER_SIZE ..
 * ETL_MAX_BUFFER_SIZE) and the logfile header from buffer 0. Returns 0, or
 * ETL_E_NOT_ETL (with a message) when the first buffer header is unusable.
 * A damaged logfile header is not fatal: header.present stays 0 and
 * timestamps are then passed through unconverted. `data` must stay valid
 * while the reader and the events it returned are used. Returns
 * TLD_E_NO_MEMORY when the cursors cannot be allocated. Whatever it
 * returns, etl_reader_close() may be called (and must be, unless the walk
 * ran to its end, to free the cursors).
 */
int etl_reader_open(etl_reader *r, const uint8_t *data, size_t len);

/* Frees the cursors; the reader then reports the end. The header stays
 * readable. Safe to call more than once. */
void etl_reader_close(etl_reader *r);

/*
 * Moves to the next event record (the earliest left: see "Order" above).
 * Returns 1 with *ev filled, 0 at the end,
 * or a negative ETL_E_* code when damage was found (etl_reader_message()
 * says where and what). After an error the walk can continue: call
 * etl_reader_next() again. System records are stepped over and counted.
 * Damage in a buffer is reported when the walk reaches it in that buffer:
 * before the first event when it is in a buffer's header or before its
 * first event record, else after the buffer's last good event was handed
 * out. A damaged record ends its buffer's cursor (or, when only its
 * contents are damaged, is skipped); other buffers go on.
 */
int etl_reader_next(etl_reader *r, etl_event *ev);

/* The logfile header (header.present says whether it was found). */
const etl_logfile_header *etl_reader_header(const etl_reader *r);

/* The last error as a sentence ("" when none). */
const char *etl_reader_message(const etl_reader *r);

/* Converts a raw record timestamp to FILETIME using the logfile header:
 * StartTime + (ts - StartClock) * 10^7 / PerfFreq, or ts itself for clock
 * type 2 (system time) or when the header is missing. Saturates instead of
 * overflowing. */
uint64_t etl_reader_filetime(const etl_reader *r, uint64_t timestamp);

/* Loads a whole file into a malloc'd buffer (free with etl_free_file()).
 * Returns 0, TLD_E_NO_MEMORY, or ETL_E_IO with errno set. */
int etl_load_file(const char *path, uint8_t **data, size_t *len);
void etl_free_file(uint8_t *data);

/* Sentence for an ETL_E_* code (falls back to tld_strerror()). */
const char *etl_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif
