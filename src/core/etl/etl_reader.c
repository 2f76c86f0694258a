/*
 * etl_reader.c — the .etl walker declared in etl_reader.h.
 *
 * Shape of the walk:
 *
 *     file:    | buffer 0 | buffer 1 | ... | buffer N-1 (maybe cut short) |
 *     buffer:  | 0x48 header | record | record | ... | 0xFF filler |
 *                             ^0x48                 ^SavedOffset
 *     record:  kind decided by the u16 at offset 2 (0xC0 flags + header type),
 *              size at offset 0 (EVENT_HEADER, classic) or 4 (system headers),
 *              next record at the size rounded up to 8.
 *
 * Damage policy: when a record's framing is wrong (bad type, size too small,
 * size past SavedOffset) nothing after it in that buffer can be trusted, so
 * the rest of the buffer is given up and the walk resumes at the next
 * buffer. When only a record's contents are wrong (an extended item running
 * past the record) its size is still good, so only that record is skipped.
 * Either way etl_reader_next() returns a negative code once, with a message
 * naming the buffer and offset, and the next call continues.
 *
 * Order: a k-way merge of the buffers by timestamp (etl_reader.h, "Order").
 *
 *     buffers, in file order ──enter + advance──► heap of cursors (min: timestamp, buffer)
 *                                                   │ top: hand out its record,
 *                                                   └─ advance it in place, sift down
 *
 * A cursor always rests on an event record whose framing has been checked
 * (advance() steps over system records and stops at damage), so the key
 * is read from a record known to be whole. Every buffer is entered before
 * the first event comes out, in file order, so damage in buffer headers is
 * reported in file order, first; damage further into a buffer is reported
 * when that buffer's cursor reaches it, and ends the cursor. One cursor per
 * buffer at most: memory is O(buffers), work O(records * log(buffers)).
 */
#include "etl_reader.h"

#include "byteorder.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* TRACE_HEADER types (low byte of the u16 at record offset 2). */
enum {
    HT_SYSTEM32 = 0x01, HT_SYSTEM64 = 0x02, HT_COMPACT32 = 0x03, HT_COMPACT64 = 0x04,
    HT_FULL_HEADER32 = 0x0A, HT_INSTANCE32 = 0x0B, HT_TIMED = 0x0C, HT_ERROR = 0x0D,
    HT_WNODE_HEADER = 0x0E, HT_MESSAGE = 0x0F, HT_PERFINFO32 = 0x10, HT_PERFINFO64 = 0x11,
    HT_EVENT_HEADER32 = 0x12, HT_EVENT_HEADER64 = 0x13, HT_FULL_HEADER64 = 0x14,
    HT_INSTANCE64 = 0x15,
};

#define EVENT_HEADER_SIZE 0x50u
#define CLASSIC_HEADER_SIZE 0x30u
#define SYSTEM_HEADER_SIZE 0x20u
#define BUFFER_FLAG_COMPRESSED 0x0040u
#define LOGFILE_HEADER_SIZE64 0x118u

static int fail(etl_reader *r, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    r->errors++;
    return code;
}

/* Reports that the file was cut short; later checks do not repeat it. */
static int truncated(etl_reader *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->message, sizeof r->message, fmt, ap);
    va_end(ap);
    r->errors++;
    r->truncation_reported = 1;
    return ETL_E_TRUNCATED;
}

static inline uint32_t align8(uint32_t v)
{
    return (v + 7u) & ~7u;
}

/* ---- timestamps --------------------------------------------------------- */

/* floor(a * m / d) for d > 0, saturating at UINT64_MAX. */
static uint64_t muldiv_sat(uint64_t a, uint64_t m, uint64_t d)
{
    uint64_t q = a / d, rem = a % d;
    if (q > UINT64_MAX / m)
        return UINT64_MAX;
    uint64_t hi = q * m;
    uint64_t lo;
    if (rem <= UINT64_MAX / m)
        lo = rem * m / d;
    else /* only for clocks above ~1.8 THz; a last-digit error is acceptable */
        lo = (uint64_t)((long double)rem * (long double)m / (long double)d);
    return hi > UINT64_MAX - lo ? UINT64_MAX : hi + lo;
}

uint64_t etl_reader_filetime(const etl_reader *r, uint64_t ts)
{
    const etl_logfile_header *h = &r->header;
    if (!h->present || h->clock_type == 2)
        return ts; /* clock type 2: the record already holds a FILETIME */
    uint64_t freq = h->perf_freq;
    if (h->clock_type == 3 && h->cpu_speed_mhz)
        freq = (uint64_t)h->cpu_speed_mhz * 1000000u; /* CPU cycle counter */
    if (freq == 0)
        return h->start_time;
    if (ts >= h->start_clock) {
        uint64_t add = muldiv_sat(ts - h->start_clock, 10000000u, freq);
        return h->start_time > UINT64_MAX - add ? UINT64_MAX : h->start_time + add;
    }
    /* Events may carry a clock value slightly before the session's start. */
    uint64_t sub = muldiv_sat(h->start_clock - ts, 10000000u, freq);
    return h->start_time > sub ? h->start_time - sub : 0;
}

/* ---- logfile header ----------------------------------------------------- */

/* Finds a NUL-terminated UTF-16LE string at p[0..n); returns its byte
 * length without the NUL, or n (rounded down to even) when unterminated. */
static size_t utf16_strlen(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i + 1 < n) {
        if (p[i] == 0 && p[i + 1] == 0)
            return i;
        i += 2;
    }
    return n & ~(size_t)1;
}

/* Parses the SYSTEM_TRACE_HEADER + TRACE_LOGFILE_HEADER record that opens
 * buffer 0. `avail` bytes of the buffer are present in the file. */
static void parse_logfile_header(etl_reader *r, const uint8_t *buf, size_t avail)
{
    etl_logfile_header *h = &r->header;
    size_t saved = load_le32(buf + 4);
    size_t end = saved < avail ? saved : avail;
    size_t at = ETL_BUFFER_HEADER_SIZE;
    if (end < at + SYSTEM_HEADER_SIZE)
        return;
    const uint8_t *rec = buf + at;
    uint16_t type = load_le16(rec + 2);
    if ((type & 0xC000) != 0xC000 || ((type & 0xFF) != HT_SYSTEM32 && (type & 0xFF) != HT_SYSTEM64))
        return;
    size_t size = load_le16(rec + 4);
    if (size > end - at)
        size = end - at;
    /* The 32-bit form of the logfile header has 4-byte name pointers: the
     * fields after them sit 8 bytes earlier. */
    if (size < SYSTEM_HEADER_SIZE + 0x30)
        return;
    const uint8_t *t = rec + SYSTEM_HEADER_SIZE;
    size_t tlen = size - SYSTEM_HEADER_SIZE;
    uint32_t psize = load_le32(t + 0x2C);
    size_t shift = psize == 4 ? 8 : 0;
    size_t hsize = LOGFILE_HEADER_SIZE64 - shift;
    if (tlen < hsize)
        return;
    h->buffer_size = r->buffer_size;
    h->version = load_le32(t + 0x04);
    h->provider_version = load_le32(t + 0x08);
    h->number_of_processors = load_le32(t + 0x0C);
    h->end_time = load_le64(t + 0x10);
    h->timer_resolution = load_le32(t + 0x18);
    h->maximum_file_size = load_le32(t + 0x1C);
    h->log_file_mode = load_le32(t + 0x20);
    h->buffers_written = load_le32(t + 0x24);
    h->start_buffers = load_le32(t + 0x28);
    h->pointer_size = psize == 4 ? 4 : 8;
    h->events_lost = load_le32(t + 0x30);
    h->cpu_speed_mhz = load_le32(t + 0x34);
    h->boot_time = load_le64(t + 0xF8 - shift);
    h->perf_freq = load_le64(t + 0x100 - shift);
    h->start_time = load_le64(t + 0x108 - shift);
    h->clock_type = load_le32(t + 0x110 - shift);
    h->buffers_lost = load_le32(t + 0x114 - shift);
    h->start_clock = load_le64(rec + 0x10);
    const uint8_t *names = t + hsize;
    size_t left = tlen - hsize;
    size_t n1 = utf16_strlen(names, left);
    h->logger_name = names;
    h->logger_name_bytes = n1;
    if (n1 + 2 <= left) {
        const uint8_t *n2p = names + n1 + 2;
        h->logfile_name = n2p;
        h->logfile_name_bytes = utf16_strlen(n2p, left - n1 - 2);
    }
    h->present = 1;
}

int etl_reader_open(etl_reader *r, const uint8_t *data, size_t len)
{
    memset(r, 0, sizeof *r);
    r->data = data;
    r->len = len;
    if (!data || len < ETL_BUFFER_HEADER_SIZE) {
        r->done = 1;
        return fail(r, ETL_E_NOT_ETL, "not an .etl file: %zu bytes is shorter than one 72-byte buffer header", len);
    }
    uint32_t bs = load_le32(data);
    if (bs < ETL_MIN_BUFFER_SIZE || bs > ETL_MAX_BUFFER_SIZE || (bs & 7u)) {
        r->done = 1;
        return fail(r, ETL_E_NOT_ETL,
                    "not an .etl file: first buffer header says BufferSize %u (expected a multiple of 8 "
                    "between %u and %u)", bs, ETL_MIN_BUFFER_SIZE, ETL_MAX_BUFFER_SIZE);
    }
    r->buffer_size = bs;
    r->buffer_count = len / bs + (len % bs ? 1 : 0);
    parse_logfile_header(r, data, len < bs ? len : bs);
    r->header.buffer_size = bs;
    if (!r->header.present)
        r->header.pointer_size = 8;
    if (r->buffer_count > SIZE_MAX / sizeof *r->heap ||
        (r->heap = malloc(r->buffer_count * sizeof *r->heap)) == NULL) {
        r->done = 1;
        return fail(r, TLD_E_NO_MEMORY, "out of memory for the cursors of %zu buffers", r->buffer_count);
    }
    return 0;
}

void etl_reader_close(etl_reader *r)
{
    free(r->heap);
    r->heap = NULL;
    r->heap_count = 0;
    r->entering = 0;
    r->advance_top = 0;
    r->done = 1;
}

const etl_logfile_header *etl_reader_header(const etl_reader *r)
{
    return &r->header;
}

const char *etl_reader_message(const etl_reader *r)
{
    return r->message;
}

/* ---- records ------------------------------------------------------------ */

/* Counts the rest of a buffer given up on after a framing error (the
 * caller drops its cursor). */
static int damaged_buffer(etl_reader *r, int code)
{
    r->damaged_records++;
    r->damaged_buffers++;
    return code;
}

/* Reads the extended items and user data of an EVENT_HEADER record whose
 * size has been checked against its buffer. */
static int parse_event_header(etl_reader *r, const uint8_t *p, uint32_t size, etl_event *ev, size_t b,
                              uint32_t off)
{
    ev->kind = ETL_KIND_EVENT_HEADER;
    ev->flags = load_le16(p + 4);
    ev->event_property = load_le16(p + 6);
    ev->thread_id = load_le32(p + 8);
    ev->process_id = load_le32(p + 12);
    ev->timestamp = load_le64(p + 16);
    memcpy(ev->provider_id.bytes_le, p + 24, 16);
    ev->descriptor.id = load_le16(p + 40);
    ev->descriptor.version = p[42];
    ev->descriptor.channel = p[43];
    ev->descriptor.level = p[44];
    ev->descriptor.opcode = p[45];
    ev->descriptor.task = load_le16(p + 46);
    ev->descriptor.keyword = load_le64(p + 48);
    ev->kernel_time = load_le32(p + 56);
    ev->user_time = load_le32(p + 60);
    memcpy(ev->activity_id.bytes_le, p + 64, 16);
    if (ev->flags & ETL_EVENT_FLAG_32_BIT_HEADER)
        ev->pointer_size = 4;
    else if (ev->flags & ETL_EVENT_FLAG_64_BIT_HEADER)
        ev->pointer_size = 8;

    uint32_t at = EVENT_HEADER_SIZE;
    if (ev->flags & ETL_EVENT_FLAG_EXTENDED_INFO) {
        for (;;) {
            if (size - at < 8)
                return fail(r, ETL_E_DAMAGED,
                            "buffer %zu, offset 0x%x: event record of %u bytes ends inside the header of "
                            "its extended data item at record offset 0x%x; event skipped", b, off, size, at);
            const uint8_t *q = p + at;
            uint16_t isz = load_le16(q), type = load_le16(q + 2), link = load_le16(q + 4), dsz = load_le16(q + 6);
            if (isz < 8)
                return fail(r, ETL_E_DAMAGED,
                            "buffer %zu, offset 0x%x: extended data item (type 0x%04x) at record offset 0x%x "
                            "claims %u bytes, less than its 8-byte header; event skipped", b, off, type, at, isz);
            if (isz > size - at)
                return fail(r, ETL_E_DAMAGED,
                            "buffer %zu, offset 0x%x: extended data item (type 0x%04x, %u bytes) at record "
                            "offset 0x%x runs past the end of the %u-byte record; event skipped",
                            b, off, type, isz, at, size);
            if (dsz > isz - 8)
                return fail(r, ETL_E_DAMAGED,
                            "buffer %zu, offset 0x%x: extended data item (type 0x%04x) says DataSize %u but "
                            "holds only %u bytes; event skipped", b, off, type, dsz, isz - 8);
            const uint8_t *d = q + 8;
            if (ev->ext_count < ETL_MAX_EXT_ITEMS) {
                etl_ext_item *it = &ev->ext[ev->ext_count++];
                it->type = type;
                it->size = dsz;
                it->data = d;
            } else {
                ev->ext_dropped++;
            }
            switch (type) {
            case ETL_EXT_RELATED_ACTIVITYID:
                if (dsz >= 16) {
                    ev->has_related_activity_id = 1;
                    memcpy(ev->related_activity_id.bytes_le, d, 16);
                }
                break;
            case ETL_EXT_PROV_TRAITS:
                ev->prov_traits = d;
                ev->prov_traits_len = dsz;
                break;
            case ETL_EXT_EVENT_SCHEMA_TL:
                ev->event_schema = d;
                ev->event_schema_len = dsz;
                break;
            case ETL_EXT_STACK_TRACE64:
            case ETL_EXT_STACK_TRACE32:
                if (dsz >= 8) {
                    ev->has_stack = 1;
                    ev->stack_match_id = load_le64(d);
                    ev->stack = d + 8;
                    ev->stack_addr_size = type == ETL_EXT_STACK_TRACE64 ? 8 : 4;
                    ev->stack_count = (uint32_t)(dsz - 8) / ev->stack_addr_size;
                }
                break;
            default:
                break;
            }
            at += isz; /* isz >= 8: the loop always moves forward */
            if (!(link & 1))
                break;
        }
    }
    ev->user_data = p + at;
    ev->user_data_len = size - at;
    return 1;
}

/* EVENT_TRACE_HEADER: the classic (MOF / TraceEvent-style) event. */
static int parse_classic(const uint8_t *p, uint32_t size, etl_event *ev)
{
    ev->kind = ETL_KIND_CLASSIC;
    ev->descriptor.opcode = p[4];
    ev->descriptor.level = p[5];
    ev->descriptor.version = (uint8_t)load_le16(p + 6);
    ev->thread_id = load_le32(p + 8);
    ev->process_id = load_le32(p + 12);
    ev->timestamp = load_le64(p + 16);
    memcpy(ev->provider_id.bytes_le, p + 24, 16);
    ev->kernel_time = load_le32(p + 40);
    ev->user_time = load_le32(p + 44);
    ev->user_data = p + CLASSIC_HEADER_SIZE;
    ev->user_data_len = size - CLASSIC_HEADER_SIZE;
    return 1;
}

/* Enters buffer r->next_buffer: checks its header and, when its records
 * can be walked, sets r->enter on the first (r->entering). Returns 0, or an
 * error (the buffer skipped, or, for a SavedOffset replaced by the filled
 * offset, walked all the same). */
static int enter_buffer(etl_reader *r)
{
    size_t b = r->next_buffer++;
    size_t base = b * (size_t)r->buffer_size;
    size_t avail = r->len - base < r->buffer_size ? r->len - base : r->buffer_size;
    const uint8_t *buf = r->data + base;
    if (avail < ETL_BUFFER_HEADER_SIZE) {
        r->damaged_buffers++;
        return truncated(r,
                    "buffer %zu: the file ends inside its header (%zu of %u bytes present); the file was cut short",
                    b, avail, r->buffer_size);
    }
    uint32_t own = load_le32(buf);
    if (own != r->buffer_size) {
        r->damaged_buffers++;
        return fail(r, ETL_E_DAMAGED,
                    "buffer %zu (file offset 0x%zx): header says BufferSize %u but the file uses %u; buffer skipped",
                    b, base, own, r->buffer_size);
    }
    uint16_t bflag = load_le16(buf + 0x34);
    if (bflag & BUFFER_FLAG_COMPRESSED) {
        r->damaged_buffers++;
        return fail(r, ETL_E_DAMAGED, "buffer %zu: compressed buffers are not supported; buffer skipped", b);
    }
    uint32_t saved = load_le32(buf + 4);
    int rc = 0;
    if (saved < ETL_BUFFER_HEADER_SIZE || saved > r->buffer_size) {
        /* The filled-bytes field at 0x30 normally repeats SavedOffset. */
        uint32_t filled = load_le32(buf + 0x30);
        if (filled < ETL_BUFFER_HEADER_SIZE || filled > r->buffer_size) {
            r->damaged_buffers++;
            return fail(r, ETL_E_DAMAGED,
                        "buffer %zu: SavedOffset 0x%x is outside 0x48..BufferSize (0x%x); buffer skipped",
                        b, saved, r->buffer_size);
        }
        rc = fail(r, ETL_E_DAMAGED,
                  "buffer %zu: SavedOffset 0x%x is outside 0x48..BufferSize (0x%x); using the filled offset 0x%x",
                  b, saved, r->buffer_size, filled);
        saved = filled;
    }
    etl_cursor *c = &r->enter;
    c->buffer = b;
    c->partial = saved > avail;
    c->end = c->partial ? (uint32_t)avail : saved;
    c->offset = ETL_BUFFER_HEADER_SIZE;
    c->timestamp = 0;
    r->entering = 1;
    return rc;
}

/* Moves cursor `c` from its offset to the next event record, stepping over
 * system records. Returns 1 when it rests on one (its framing checked, its
 * timestamp loaded), 0 when the buffer's records ended, or an error: the
 * rest of the buffer is given up. Either of the last two ends the cursor. */
static int advance(etl_reader *r, etl_cursor *c)
{
    size_t b = c->buffer;
    const uint8_t *buf = r->data + b * (size_t)r->buffer_size;
    for (;;) {
        uint32_t off = c->offset;
        if (off >= c->end) {
            if (c->partial) {
                r->damaged_buffers++;
                return truncated(r,
                            "buffer %zu: the file ends after %u of its %u bytes; records past that point are lost",
                            b, c->end, r->buffer_size);
            }
            return 0;
        }
        const uint8_t *p = buf + off;
        uint32_t left = c->end - off;
        if (left < 8) {
            if (c->partial)
                return damaged_buffer(r, truncated(r,
                                              "buffer %zu, offset 0x%x: the file ends inside a record", b, off));
            if (left >= 4 && load_le32(p) == 0xFFFFFFFFu)
                return 0;
            return damaged_buffer(r, fail(r, ETL_E_DAMAGED,
                                          "buffer %zu, offset 0x%x: %u stray bytes before SavedOffset, too few for a record",
                                          b, off, left));
        }
        if (load_le32(p) == 0xFFFFFFFFu) /* filler: the records ended early */
            return 0;
        uint16_t ht = load_le16(p + 2);
        uint32_t size, min;
        int kind = 0; /* 1 event header, 2 classic, 0 other */
        if ((ht & 0xC000) != 0xC000)
            return damaged_buffer(r, fail(r, ETL_E_DAMAGED,
                                          "buffer %zu, offset 0x%x: no record header here (marker 0x%08x); rest of "
                                          "buffer skipped", b, off, load_le32(p)));
        switch (ht & 0xFF) {
        case HT_SYSTEM32: case HT_SYSTEM64:
            size = load_le16(p + 4); min = SYSTEM_HEADER_SIZE; break;
        case HT_COMPACT32: case HT_COMPACT64:
            size = load_le16(p + 4); min = 0x18; break;
        case HT_PERFINFO32: case HT_PERFINFO64:
            size = load_le16(p + 4); min = 0x10; break;
        case HT_EVENT_HEADER32: case HT_EVENT_HEADER64:
            size = load_le16(p); min = EVENT_HEADER_SIZE; kind = 1; break;
        case HT_FULL_HEADER32: case HT_FULL_HEADER64:
            size = load_le16(p); min = CLASSIC_HEADER_SIZE; kind = 2; break;
        case HT_INSTANCE32: case HT_INSTANCE64:
            size = load_le16(p); min = 0x38; break;
        case HT_TIMED: case HT_ERROR: case HT_WNODE_HEADER: case HT_MESSAGE:
            size = load_le16(p); min = 8; break;
        default:
            return damaged_buffer(r, fail(r, ETL_E_DAMAGED,
                                          "buffer %zu, offset 0x%x: unknown record header type 0x%04x; rest of "
                                          "buffer skipped", b, off, ht));
        }
        if (size < min)
            return damaged_buffer(r, fail(r, ETL_E_DAMAGED,
                                          "buffer %zu, offset 0x%x: record (type 0x%04x) claims %u bytes, less than "
                                          "its %u-byte header; rest of buffer skipped", b, off, ht, size, min));
        if (size > left) {
            if (c->partial)
                return damaged_buffer(r, truncated(r,
                                              "buffer %zu, offset 0x%x: the file ends inside a %u-byte record",
                                              b, off, size));
            return damaged_buffer(r, fail(r, ETL_E_DAMAGED,
                                          "buffer %zu, offset 0x%x: record (type 0x%04x) of %u bytes runs past the "
                                          "end of the buffer's records (offset 0x%x); rest of buffer skipped",
                                          b, off, ht, size, c->end));
        }
        if (kind == 0) {
            r->system_records++;
            c->offset = off + align8(size); /* size >= 8: the walk moves forward */
            continue;
        }
        /* Both kinds hold the timestamp at 16 (their headers are longer). */
        c->timestamp = load_le64(p + 16);
        return 1;
    }
}

/* ---- the merge: a binary min-heap of cursors ------------------------------ */

static inline int earlier(const etl_cursor *a, const etl_cursor *b)
{
    /* A buffer has one cursor at most: (timestamp, buffer) is a total order. */
    return a->timestamp != b->timestamp ? a->timestamp < b->timestamp : a->buffer < b->buffer;
}

static void sift_down(etl_cursor *h, size_t n, size_t i)
{
    etl_cursor c = h[i];
    for (;;) {
        size_t k = 2 * i + 1;
        if (k >= n)
            break;
        if (k + 1 < n && earlier(&h[k + 1], &h[k]))
            k++;
        if (!earlier(&h[k], &c))
            break;
        h[i] = h[k];
        i = k;
    }
    h[i] = c;
}

static void push(etl_reader *r, const etl_cursor *c)
{
    etl_cursor *h = r->heap;
    size_t i = r->heap_count++; /* < buffer_count: one cursor per buffer */
    while (i > 0 && earlier(c, &h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = *c;
}

static void pop(etl_reader *r)
{
    if (--r->heap_count > 0) {
        r->heap[0] = r->heap[r->heap_count];
        sift_down(r->heap, r->heap_count, 0);
    }
}

/* Every buffer walked: frees the cursors and reports a file cut short
 * (once: not when a cut-short buffer was reported already). */
static int finish(etl_reader *r)
{
    etl_reader_close(r);
    if (r->truncation_reported)
        return 0;
    const etl_logfile_header *h = &r->header;
    size_t whole = r->len / r->buffer_size;
    if (h->present && h->buffers_written > whole)
        return truncated(r, "the file holds %zu whole buffers but its header says %u were written; "
                            "the file was cut short", whole, h->buffers_written);
    if (r->len % r->buffer_size)
        return truncated(r, "the file ends %zu bytes into buffer %zu (of %u bytes); the file was cut short",
                         r->len % r->buffer_size, whole, r->buffer_size);
    return 0;
}

int etl_reader_next(etl_reader *r, etl_event *ev)
{
    for (;;) {
        if (r->done)
            return 0;
        if (r->advance_top) { /* the last event handed out was heap[0]'s */
            r->advance_top = 0;
            int rc = advance(r, &r->heap[0]);
            if (rc == 1) {
                sift_down(r->heap, r->heap_count, 0);
                continue;
            }
            pop(r);
            if (rc < 0)
                return rc;
            continue;
        }
        if (r->entering) {
            r->entering = 0;
            int rc = advance(r, &r->enter);
            if (rc == 1)
                push(r, &r->enter);
            else if (rc < 0)
                return rc;
            continue;
        }
        if (r->next_buffer < r->buffer_count) {
            int rc = enter_buffer(r);
            if (rc < 0)
                return rc;
            continue;
        }
        if (r->heap_count == 0)
            return finish(r);

        /* The earliest record left: advance() checked its framing. */
        etl_cursor *c = &r->heap[0];
        size_t b = c->buffer;
        uint32_t off = c->offset;
        const uint8_t *p = r->data + b * (size_t)r->buffer_size + off;
        uint16_t ht = load_le16(p + 2);
        uint32_t size = load_le16(p);
        int kind = (ht & 0xFF) == HT_EVENT_HEADER32 || (ht & 0xFF) == HT_EVENT_HEADER64 ? 1 : 2;
        c->offset = off + align8(size); /* move on first: whatever happens below, the walk progresses */
        r->advance_top = 1;
        memset(ev, 0, sizeof *ev);
        ev->buffer_index = (uint32_t)b;
        ev->offset = off;
        ev->size = (uint16_t)size;
        ev->header_type = ht;
        ev->pointer_size = r->header.pointer_size ? r->header.pointer_size : 8;
        int rc = kind == 1 ? parse_event_header(r, p, size, ev, b, off) : parse_classic(p, size, ev);
        if (rc < 0) {
            r->damaged_records++;
            return rc;
        }
        ev->filetime = etl_reader_filetime(r, ev->timestamp);
        r->events++;
        return 1;
    }
}

/* ---- files -------------------------------------------------------------- */

int etl_load_file(const char *path, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return ETL_E_IO;
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return TLD_E_NO_MEMORY;
    }
    for (;;) {
        if (n == cap) {
            uint8_t *nb = cap <= ((size_t)-1) / 2 ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                fclose(f);
                return TLD_E_NO_MEMORY;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                int e = errno;
                free(buf);
                fclose(f);
                errno = e;
                return ETL_E_IO;
            }
            break;
        }
    }
    fclose(f);
    *data = buf;
    *len = n;
    return 0;
}

void etl_free_file(uint8_t *data)
{
    free(data);
}

const char *etl_strerror(int code)
{
    switch (code) {
    case ETL_E_NOT_ETL: return "not an .etl file (the first buffer header is unusable)";
    case ETL_E_DAMAGED: return "the .etl file holds a damaged record or buffer";
    case ETL_E_TRUNCATED: return "the .etl file was cut short";
    case ETL_E_IO: return "could not read the file";
    default: return tld_strerror(code);
    }
}
