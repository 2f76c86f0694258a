/*
 * call_batch.h — the compact form of instrumented calls and returns: the
 * records of one thread packed into the `Records` field of a
 * PythonCallBatch event (docs/events.md), and unpacked again into the
 * PythonFunctionPush/Pop events they stand for.
 *
 * A batch holds the records of one thread in time order. Each record starts
 * with a varint `(ticks since the previous record << 3) | flags`; the first
 * record's ticks count from the batch's BaseTime. Varints are unsigned
 * LEB128 (7 bits per byte, low bits first, at most 10 bytes).
 *
 *   call   flags bit0 = 0
 *          varint FunctionID
 *          bit1: varint Caller follows; else Caller is the function on top
 *                of the batch's own stack of open calls (0 when empty)
 *          bit2: zigzag varint (CallerLine - previous line) follows; else
 *                CallerLine equals the previous line. "Previous line" is
 *                the line of the last call made from the same open call in
 *                this batch (its caller frame), else 0.
 *   return flags bit0 = 1
 *          bit1: varint FunctionID follows (a call opened before this
 *                batch); else the function returning is the top of the
 *                batch's stack of open calls, which it leaves.
 *
 * So a batch decodes on its own: a lost or damaged batch costs its own
 * records and nothing else. Flags bit 3 and up are zero (reserved).
 */
#ifndef TLD_CALL_BATCH_H
#define TLD_CALL_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "tracelogging/tld.h"

enum {
    TLD_CALL_FLAG_RETURN = 1,
    TLD_CALL_FLAG_EXPLICIT = 2, /* call: Caller follows; return: FunctionID follows */
    TLD_CALL_FLAG_LINE = 4,     /* call: a line delta follows */
    TLD_CALL_FLAG_BITS = 3,
};

/* Most bytes one record takes: header, FunctionID, Caller, line. */
#define TLD_CALL_RECORD_MAX 40

/* Deepest stack of open calls a batch tracks; deeper calls are written
 * with an explicit caller and returns with an explicit id. */
#define TLD_CALL_BATCH_MAX_DEPTH 256

/* ---- the events ------------------------------------------------------------------ */

/* Provider "Python" (etwtrace): 99a10640-320d-4b37-9e26-c311d86da7ab, a
 * fixed id (not derived from the name), in wire order. */
extern const tld_guid tld_python_provider_id;

/* Keywords of provider "Python" for calls and returns (docs/events.md). */
#define TLD_PYTHON_KEYWORD_PUSH 0x1000u
#define TLD_PYTHON_KEYWORD_POP 0x2000u

enum tld_call_event {
    TLD_CALL_EVENT_PUSH,  /* PythonFunctionPush: FunctionID, Caller (pointers), CallerLine (u64) */
    TLD_CALL_EVENT_POP,   /* PythonFunctionPop: FunctionID */
    TLD_CALL_EVENT_BATCH, /* PythonCallBatch: ThreadID (u32), BaseTime (u64), Count (u32),
                             Checksum (u32), Records (binary) */
};

/* Resets `b` to one of the three events with its fields (values zero): the
 * one definition the writer (etwtrace) and the decoder's expansion of
 * batches share. Returns 0 or a code of tld_errors.h. */
int tld_call_event_schema(tld_event_builder *b, enum tld_call_event which);

/* Bytes of a PythonCallBatch's data before the records: ThreadID,
 * BaseTime, Count, Checksum, and the Records' u16 length. */
#define TLD_CALL_BATCH_HEAD_BYTES 22u

/* The Checksum field: Adler-32 (RFC 1950) of the Records bytes, so that
 * damage a varint stream would not show is still found. */
uint32_t tld_call_batch_checksum(const uint8_t *data, size_t len);

/* ---- writing ------------------------------------------------------------------- */

typedef struct tld_call_batch_frame {
    uint64_t function_id;
    uint64_t last_line;   /* line of the last call made from this frame */
} tld_call_batch_frame;

/* One thread's batch being filled. */
typedef struct tld_call_batch {
    uint8_t *data;        /* the Records bytes */
    size_t len, cap;
    uint64_t base_ticks;  /* time of the first record */
    uint64_t last_ticks;  /* time of the last record */
    uint32_t records;
    uint32_t depth;       /* open calls of this batch (capped at MAX_DEPTH) */
    uint32_t overflow;    /* open calls beyond MAX_DEPTH */
    uint64_t outer_line;  /* previous line for calls made with no open call in the batch */
    tld_call_batch_frame stack[TLD_CALL_BATCH_MAX_DEPTH];
} tld_call_batch;

/* Prepares `b` to fill `buf` (cap bytes, at least TLD_CALL_RECORD_MAX). */
void tld_call_batch_init(tld_call_batch *b, uint8_t *buf, size_t cap);

/* Empties the batch (after its bytes were written out). */
void tld_call_batch_reset(tld_call_batch *b);

/* Room for one more record of any kind. */
static inline int tld_call_batch_has_room(const tld_call_batch *b)
{
    return b->cap - b->len >= TLD_CALL_RECORD_MAX;
}

/* Appends a call / a return at `ticks` (never earlier than the previous
 * record: a smaller value is stored as the previous one). The caller
 * checks tld_call_batch_has_room() first. */
void tld_call_batch_add_call(tld_call_batch *b, uint64_t ticks, uint64_t function_id, uint64_t caller,
                             uint64_t caller_line);
void tld_call_batch_add_return(tld_call_batch *b, uint64_t ticks, uint64_t function_id);

/* ---- reading ------------------------------------------------------------------- */

typedef struct tld_call_record {
    int is_return;
    uint64_t ticks;
    uint64_t function_id;
    uint64_t caller;       /* calls only */
    uint64_t caller_line;  /* calls only */
} tld_call_record;

typedef struct tld_call_batch_reader {
    const uint8_t *p, *end;
    uint64_t ticks;
    uint32_t depth, overflow;
    uint64_t outer_line;
    tld_call_batch_frame stack[TLD_CALL_BATCH_MAX_DEPTH];
} tld_call_batch_reader;

/* Starts reading `len` Records bytes of a batch whose BaseTime is
 * `base_ticks`. */
void tld_call_batch_reader_init(tld_call_batch_reader *r, const uint8_t *data, size_t len, uint64_t base_ticks);

/* The next record: 0 with *out filled, TLD_E_END after the last one, or
 * TLD_E_DAMAGED (a varint runs past the end or is too long, reserved flags
 * are set, or a return finds no call to close); reading cannot go on after
 * damage. */
int tld_call_batch_next(tld_call_batch_reader *r, tld_call_record *out);

#endif
