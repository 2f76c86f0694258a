/*
 * call_batch.c — packing and unpacking calls and returns (call_batch.h).
 *
 * Writer and reader keep the same state (the batch's stack of open calls,
 * the last line per open call) and update it by the same rules, so what the
 * writer leaves out the reader can put back.
 */
#include "call_batch.h"

#include <string.h>

/* ---- the events ------------------------------------------------------------------ */

const tld_guid tld_python_provider_id = {{
    0x40, 0x06, 0xa1, 0x99, 0x0d, 0x32, 0x37, 0x4b, 0x9e, 0x26, 0xc3, 0x11, 0xd8, 0x6d, 0xa7, 0xab,
}};

int tld_call_event_schema(tld_event_builder *b, enum tld_call_event which)
{
    tld_event_descriptor d;
    switch (which) {
    case TLD_CALL_EVENT_PUSH:
        d = tld_event_descriptor_default(TLD_LEVEL_VERBOSE, TLD_PYTHON_KEYWORD_PUSH);
        tld_builder_reset(b, "PythonFunctionPush", 18, &d, 0);
        tld_builder_add_pointer(b, "FunctionID", 10, NULL, 0, 0);
        tld_builder_add_pointer(b, "Caller", 6, NULL, 0, 0);
        return tld_builder_add_uint64(b, "CallerLine", 10, 0, 0, 0);
    case TLD_CALL_EVENT_POP:
        d = tld_event_descriptor_default(TLD_LEVEL_VERBOSE, TLD_PYTHON_KEYWORD_POP);
        tld_builder_reset(b, "PythonFunctionPop", 17, &d, 0);
        return tld_builder_add_pointer(b, "FunctionID", 10, NULL, 0, 0);
    case TLD_CALL_EVENT_BATCH:
        d = tld_event_descriptor_default(TLD_LEVEL_VERBOSE, TLD_PYTHON_KEYWORD_PUSH | TLD_PYTHON_KEYWORD_POP);
        tld_builder_reset(b, "PythonCallBatch", 15, &d, 0);
        tld_builder_add_uint32(b, "ThreadID", 8, 0, 0, 0);
        tld_builder_add_uint64(b, "BaseTime", 8, 0, 0, 0);
        tld_builder_add_uint32(b, "Count", 5, 0, 0, 0);
        tld_builder_add_uint32(b, "Checksum", 8, 0, 0, 0);
        return tld_builder_add_binary(b, "Records", 7, NULL, 0, 0, 0);
    }
    return TLD_E_INVALID_ARG;
}

uint32_t tld_call_batch_checksum(const uint8_t *data, size_t len)
{
    /* Sums stay below 2^32 for 5552 bytes between reductions (zlib's NMAX). */
    uint32_t a = 1, b = 0;
    while (len > 0) {
        size_t n = len < 5552 ? len : 5552;
        len -= n;
        while (n--) {
            a += *data++;
            b += a;
        }
        a %= 65521u;
        b %= 65521u;
    }
    return (b << 16) | a;
}

/* ---- shared state rules ---------------------------------------------------------- */

typedef struct batch_state {
    uint32_t *depth, *overflow;
    uint64_t *outer_line;
    tld_call_batch_frame *stack;
} batch_state;

/* The function a call with no explicit caller was made from, or -1 when
 * the batch cannot know it (open calls beyond its stack). */
static int implicit_caller(const batch_state *s, uint64_t *out)
{
    if (*s->overflow > 0)
        return -1;
    *out = *s->depth > 0 ? s->stack[*s->depth - 1].function_id : 0;
    return 0;
}

/* Where the previous line of a call from the current frame is kept (NULL:
 * nowhere, the previous line is 0). */
static uint64_t *line_slot(const batch_state *s)
{
    if (*s->overflow > 0)
        return NULL;
    return *s->depth > 0 ? &s->stack[*s->depth - 1].last_line : s->outer_line;
}

static void open_call(const batch_state *s, uint64_t function_id)
{
    if (*s->overflow == 0 && *s->depth < TLD_CALL_BATCH_MAX_DEPTH)
        s->stack[(*s->depth)++] = (tld_call_batch_frame){function_id, 0};
    else
        (*s->overflow)++;
}

/* ---- writing ---------------------------------------------------------------------- */

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static batch_state writer_state(tld_call_batch *b)
{
    return (batch_state){&b->depth, &b->overflow, &b->outer_line, b->stack};
}

void tld_call_batch_init(tld_call_batch *b, uint8_t *buf, size_t cap)
{
    b->data = buf;
    b->cap = cap;
    tld_call_batch_reset(b);
}

void tld_call_batch_reset(tld_call_batch *b)
{
    b->len = 0;
    b->records = 0;
    b->depth = 0;
    b->overflow = 0;
    b->outer_line = 0;
    b->base_ticks = 0;
    b->last_ticks = 0;
}

/* The header varint; the first record fixes the batch's BaseTime. */
static void put_header(tld_call_batch *b, uint64_t ticks, unsigned flags)
{
    if (b->records == 0)
        b->base_ticks = b->last_ticks = ticks;
    if (ticks < b->last_ticks)
        ticks = b->last_ticks;
    uint64_t delta = ticks - b->last_ticks;
    b->last_ticks = ticks;
    b->records++;
    /* A delta too large for the shift would lose its top bits: such gaps
     * (centuries of ticks) are clamped. */
    if (delta > (UINT64_MAX >> TLD_CALL_FLAG_BITS))
        delta = UINT64_MAX >> TLD_CALL_FLAG_BITS;
    b->len += put_varint(b->data + b->len, (delta << TLD_CALL_FLAG_BITS) | flags);
}

void tld_call_batch_add_call(tld_call_batch *b, uint64_t ticks, uint64_t function_id, uint64_t caller,
                             uint64_t caller_line)
{
    batch_state s = writer_state(b);
    uint64_t implied;
    unsigned flags = 0;
    if (implicit_caller(&s, &implied) != 0 || implied != caller)
        flags |= TLD_CALL_FLAG_EXPLICIT;
    uint64_t *slot = line_slot(&s);
    uint64_t previous = slot ? *slot : 0;
    if (caller_line != previous)
        flags |= TLD_CALL_FLAG_LINE;
    put_header(b, ticks, flags);
    b->len += put_varint(b->data + b->len, function_id);
    if (flags & TLD_CALL_FLAG_EXPLICIT)
        b->len += put_varint(b->data + b->len, caller);
    if (flags & TLD_CALL_FLAG_LINE)
        b->len += put_varint(b->data + b->len, zigzag((int64_t)(caller_line - previous)));
    if (slot)
        *slot = caller_line;
    open_call(&s, function_id);
}

void tld_call_batch_add_return(tld_call_batch *b, uint64_t ticks, uint64_t function_id)
{
    unsigned flags = TLD_CALL_FLAG_RETURN;
    if (b->overflow > 0) {
        b->overflow--;
        flags |= TLD_CALL_FLAG_EXPLICIT;
    } else if (b->depth > 0 && b->stack[b->depth - 1].function_id == function_id) {
        b->depth--;
    } else {
        flags |= TLD_CALL_FLAG_EXPLICIT; /* opened before this batch */
    }
    put_header(b, ticks, flags);
    if (flags & TLD_CALL_FLAG_EXPLICIT)
        b->len += put_varint(b->data + b->len, function_id);
}

/* ---- reading ---------------------------------------------------------------------- */

static int get_varint(tld_call_batch_reader *r, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end)
            return TLD_E_DAMAGED;
        uint8_t byte = *r->p++;
        if (shift == 63 && byte > 1)
            return TLD_E_DAMAGED; /* more than 64 bits */
        v |= (uint64_t)(byte & 0x7F) << shift;
        if (!(byte & 0x80)) {
            *out = v;
            return 0;
        }
    }
    return TLD_E_DAMAGED;
}

void tld_call_batch_reader_init(tld_call_batch_reader *r, const uint8_t *data, size_t len, uint64_t base_ticks)
{
    r->p = data;
    r->end = data + len;
    r->ticks = base_ticks;
    r->depth = 0;
    r->overflow = 0;
    r->outer_line = 0;
}

int tld_call_batch_next(tld_call_batch_reader *r, tld_call_record *out)
{
    if (r->p >= r->end)
        return TLD_E_END;
    batch_state s = {&r->depth, &r->overflow, &r->outer_line, r->stack};
    uint64_t header;
    if (get_varint(r, &header) != 0)
        return TLD_E_DAMAGED;
    unsigned flags = (unsigned)(header & ((1u << TLD_CALL_FLAG_BITS) - 1));
    uint64_t delta = header >> TLD_CALL_FLAG_BITS;
    if (delta > UINT64_MAX - r->ticks)
        return TLD_E_DAMAGED;
    r->ticks += delta;
    memset(out, 0, sizeof *out);
    out->ticks = r->ticks;
    if (flags & TLD_CALL_FLAG_RETURN) {
        if (flags & TLD_CALL_FLAG_LINE)
            return TLD_E_DAMAGED; /* reserved for returns */
        out->is_return = 1;
        if (flags & TLD_CALL_FLAG_EXPLICIT) {
            if (get_varint(r, &out->function_id) != 0)
                return TLD_E_DAMAGED;
            if (r->overflow > 0)
                r->overflow--;
            return 0;
        }
        if (r->overflow > 0 || r->depth == 0)
            return TLD_E_DAMAGED;
        out->function_id = r->stack[--r->depth].function_id;
        return 0;
    }
    if (get_varint(r, &out->function_id) != 0)
        return TLD_E_DAMAGED;
    if (flags & TLD_CALL_FLAG_EXPLICIT) {
        if (get_varint(r, &out->caller) != 0)
            return TLD_E_DAMAGED;
    } else if (implicit_caller(&s, &out->caller) != 0) {
        return TLD_E_DAMAGED;
    }
    uint64_t *slot = line_slot(&s);
    uint64_t line = slot ? *slot : 0;
    if (flags & TLD_CALL_FLAG_LINE) {
        uint64_t z;
        if (get_varint(r, &z) != 0)
            return TLD_E_DAMAGED;
        int64_t d = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
        line += (uint64_t)d;
    }
    out->caller_line = line;
    if (slot)
        *slot = line;
    open_call(&s, out->function_id);
    return 0;
}
