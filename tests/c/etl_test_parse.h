/*
 * etl_test_parse.h — a tiny, strict .etl parser for the writer and session
 * tests. It is deliberately independent of src/core/etl_reader.c (which the
 * tests also use when it is built): it checks every rule of
 * spec/etl-file.md that our writer promises — buffer headers, buffer 0's
 * records and values, record alignment, extended item layout, 0xFF filler,
 * non-decreasing timestamps — and reports each violation as a sentence.
 */
#ifndef TLD_ETL_TEST_PARSE_H
#define TLD_ETL_TEST_PARSE_H

#include "byteorder.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct tp_event {
    uint32_t buffer;
    uint16_t size;
    uint16_t flags;
    uint32_t tid, pid;
    uint64_t timestamp;
    uint8_t provider[16];
    uint8_t desc[16];      /* wire form */
    uint8_t activity[16];
    const uint8_t *traits; size_t traits_len;
    const uint8_t *meta; size_t meta_len;
    const uint8_t *stack; size_t stack_count; uint64_t stack_match_id; int has_stack;
    const uint8_t *related; /* 16 bytes or NULL */
    const uint8_t *data; size_t data_len;
    uint16_t ext_types[8]; int ext_count;
} tp_event;

typedef struct tp_file {
    uint8_t *bytes;
    size_t len;
    uint32_t buffer_size;
    uint32_t buffers_written;  /* from buffer 0 */
    uint32_t events_lost;      /* from buffer 0 */
    uint64_t perf_freq, start_time, end_time, start_clock;
    uint32_t processors;
    char logger_name[128];
    char logfile_name[512];
    tp_event *events;
    size_t count, cap;
    int problems;              /* rule violations found */
    int crashed;               /* file of a killed writer: bytes past SavedOffset may be newer records */
} tp_file;

static void tp_problem(tp_file *f, const char *fmt, unsigned a, unsigned b)
{
    f->problems++;
    if (f->problems <= 20) {
        fprintf(stderr, "etl parse: ");
        fprintf(stderr, fmt, a, b);
        fputc('\n', stderr);
    }
}

static void tp_utf16_to_ascii(const uint8_t *p, size_t max_bytes, char *out, size_t cap, size_t *consumed)
{
    size_t i = 0, n = 0;
    for (; i + 1 < max_bytes; i += 2) {
        uint16_t u = load_le16(p + i);
        if (u == 0) {
            i += 2;
            break;
        }
        if (n + 1 < cap)
            out[n++] = u < 0x80 ? (char)u : '?';
    }
    out[n] = 0;
    *consumed = i;
}

static void tp_check_buffer_header(tp_file *f, const uint8_t *b, unsigned index, int is_last)
{
    uint32_t saved = load_le32(b + 4);
    if (load_le32(b) != f->buffer_size)
        tp_problem(f, "buffer %u: BufferSize %u differs from buffer 0", index, load_le32(b));
    if (load_le32(b + 8) != saved || load_le32(b + 0x30) != saved)
        tp_problem(f, "buffer %u: CurrentOffset/Offset differ from SavedOffset %u", index, saved);
    if (saved < 0x48 || saved > f->buffer_size || saved % 8 != 0)
        tp_problem(f, "buffer %u: bad SavedOffset %u", index, saved);
    if (load_le32(b + 0x0C) != 0 || load_le64(b + 0x20) != 0)
        tp_problem(f, "buffer %u: ReferenceCount/ClockType not 0", index, 0);
    if (load_le64(b + 0x18) != index)
        tp_problem(f, "buffer %u: SequenceNumber %u", index, (unsigned)load_le64(b + 0x18));
    if (load_le16(b + 0x28) >= (f->processors ? f->processors : 1))
        tp_problem(f, "buffer %u: ProcessorIndex %u too large", index, load_le16(b + 0x28));
    if (load_le16(b + 0x2A) == 0)
        tp_problem(f, "buffer %u: LoggerId 0", index, 0);
    if (load_le32(b + 0x2C) != 3)
        tp_problem(f, "buffer %u: State %u", index, load_le32(b + 0x2C));
    uint16_t flag = load_le16(b + 0x34), type = load_le16(b + 0x36);
    uint16_t want_flag = (index == 0 || is_last) ? 0x21 : 0x20;
    if (flag != want_flag && !(is_last && index != 0 && flag == 0x20)) /* 0x20: cut short by a crash */
        tp_problem(f, "buffer %u: BufferFlag 0x%x", index, flag);
    if (type != (index == 0 ? 4 : 0))
        tp_problem(f, "buffer %u: BufferType %u", index, type);
    for (int i = 0x38; i < 0x48; i++)
        if (b[i] != 0) {
            tp_problem(f, "buffer %u: reserved byte 0x%x not 0", index, (unsigned)i);
            break;
        }
    for (uint32_t i = saved; i < f->buffer_size && !f->crashed; i++)
        if (b[i] != 0xFF) {
            tp_problem(f, "buffer %u: filler byte at 0x%x is not 0xFF", index, i);
            break;
        }
}

static void tp_check_buffer0(tp_file *f, const uint8_t *b)
{
    const uint8_t *r = b + 0x48;
    if (load_le32(r) != 0xC0020002u || load_le16(r + 6) != 0)
        tp_problem(f, "buffer 0: first record is not a SYSTEM_TRACE_HEADER with HookId 0", 0, 0);
    uint16_t rec = load_le16(r + 4);
    if (rec < 0x20 + 0x118 + 4 || 0x48u + rec > f->buffer_size) {
        tp_problem(f, "buffer 0: logfile header record size %u", rec, 0);
        return;
    }
    f->start_clock = load_le64(r + 0x10);
    const uint8_t *h = r + 0x20;
    static const uint8_t version[4] = {0x0a, 0x00, 0x01, 0x05};
    if (load_le32(h) != f->buffer_size) tp_problem(f, "logfile header: BufferSize %u", load_le32(h), 0);
    if (memcmp(h + 4, version, 4) != 0) tp_problem(f, "logfile header: Version", 0, 0);
    if (load_le32(h + 8) != 19041) tp_problem(f, "logfile header: ProviderVersion %u", load_le32(h + 8), 0);
    f->processors = load_le32(h + 0x0C);
    if (f->processors == 0) tp_problem(f, "logfile header: NumberOfProcessors 0", 0, 0);
    f->end_time = load_le64(h + 0x10);
    if (load_le32(h + 0x18) != 156250) tp_problem(f, "logfile header: TimerResolution %u", load_le32(h + 0x18), 0);
    if (load_le32(h + 0x20) != 1) tp_problem(f, "logfile header: LogFileMode %u", load_le32(h + 0x20), 0);
    f->buffers_written = load_le32(h + 0x24);
    if (load_le32(h + 0x28) != 1) tp_problem(f, "logfile header: StartBuffers", 0, 0);
    if (load_le32(h + 0x2C) != 8) tp_problem(f, "logfile header: PointerSize", 0, 0);
    f->events_lost = load_le32(h + 0x30);
    if (load_le32(h + 0x48) != 0) tp_problem(f, "logfile header: time zone bias not UTC", 0, 0);
    f->perf_freq = load_le64(h + 0x100);
    f->start_time = load_le64(h + 0x108);
    if (f->perf_freq == 0) tp_problem(f, "logfile header: PerfFreq 0", 0, 0);
    if (load_le32(h + 0x110) != 1) tp_problem(f, "logfile header: ReservedFlags", 0, 0);
    if (f->end_time < f->start_time) tp_problem(f, "logfile header: EndTime before StartTime", 0, 0);
    size_t used, names = rec - 0x20 - 0x118;
    tp_utf16_to_ascii(h + 0x118, names, f->logger_name, sizeof f->logger_name, &used);
    size_t used2;
    tp_utf16_to_ascii(h + 0x118 + used, names - used, f->logfile_name, sizeof f->logfile_name, &used2);
    if (used + used2 != names) tp_problem(f, "logfile header: names do not fill the record (%u of %u)", (unsigned)(used + used2), (unsigned)names);
    const uint8_t *x = r + ((rec + 7u) & ~7u);
    if (load_le32(x) != 0xC0020002u || load_le16(x + 4) != 0x50 || load_le16(x + 6) != 0x50)
        tp_problem(f, "buffer 0: missing the 0x50-byte HookId 0x0050 record", 0, 0);
    if ((uint32_t)(x + 0x50 - b) != load_le32(b + 4))
        tp_problem(f, "buffer 0: SavedOffset %u, records end at %u", load_le32(b + 4), (unsigned)(x + 0x50 - b));
}

static void tp_add(tp_file *f, const tp_event *e)
{
    if (f->count == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 1024;
        f->events = realloc(f->events, f->cap * sizeof *f->events);
    }
    f->events[f->count++] = *e;
}

static void tp_parse_records(tp_file *f, const uint8_t *b, unsigned index)
{
    uint32_t end = load_le32(b + 4);
    uint64_t last_ts = 0;
    for (uint32_t off = 0x48; off < end;) {
        const uint8_t *r = b + off;
        tp_event e;
        memset(&e, 0, sizeof e);
        e.buffer = index;
        e.size = load_le16(r);
        if (load_le16(r + 2) != 0xC013 || e.size < 0x50 || off + e.size > end) {
            tp_problem(f, "buffer %u: bad record at 0x%x", index, off);
            return;
        }
        e.flags = load_le16(r + 4);
        if (load_le16(r + 6) != 0) tp_problem(f, "buffer %u: EventProperty not 0 at 0x%x", index, off);
        e.tid = load_le32(r + 8);
        e.pid = load_le32(r + 12);
        e.timestamp = load_le64(r + 16);
        memcpy(e.provider, r + 0x18, 16);
        memcpy(e.desc, r + 0x28, 16);
        memcpy(e.activity, r + 0x40, 16);
        if (e.timestamp < last_ts) tp_problem(f, "buffer %u: timestamp decreases at 0x%x", index, off);
        if (e.timestamp < f->start_clock) tp_problem(f, "buffer %u: timestamp before session start at 0x%x", index, off);
        last_ts = e.timestamp;
        uint32_t pos = 0x50;
        if (e.flags & 1) {
            for (int more = 1; more;) {
                if (pos + 8 > e.size) {
                    tp_problem(f, "buffer %u: extended item overruns record at 0x%x", index, off);
                    return;
                }
                const uint8_t *it = r + pos;
                uint16_t isize = load_le16(it), type = load_le16(it + 2), link = load_le16(it + 4), dsize = load_le16(it + 6);
                if (isize % 8 || isize < 8 + dsize || isize >= 8 + dsize + 8 || pos + isize > e.size)
                    tp_problem(f, "buffer %u: extended item size %u", index, isize);
                for (uint32_t k = 8u + dsize; k < isize; k++)
                    if (it[k] != 0) {
                        tp_problem(f, "buffer %u: extended item padding not 0 at 0x%x", index, off);
                        break;
                    }
                if (link & ~1u) tp_problem(f, "buffer %u: Linkage 0x%x", index, link);
                more = link & 1;
                if (e.ext_count < 8) e.ext_types[e.ext_count++] = type;
                const uint8_t *d = it + 8;
                if (type == 0x000C) { e.traits = d; e.traits_len = dsize; }
                else if (type == 0x000B) { e.meta = d; e.meta_len = dsize; }
                else if (type == 0x0006) {
                    e.has_stack = 1;
                    e.stack_match_id = load_le64(d);
                    e.stack = d + 8;
                    e.stack_count = dsize >= 8 ? (dsize - 8u) / 8u : 0;
                    if (dsize < 8 || dsize % 8) tp_problem(f, "buffer %u: STACK_TRACE64 size %u", index, dsize);
                } else if (type == 0x0001) {
                    e.related = d;
                    if (dsize != 16) tp_problem(f, "buffer %u: RELATED_ACTIVITYID size %u", index, dsize);
                } else tp_problem(f, "buffer %u: unexpected extended item type %u", index, type);
                pos += isize;
            }
        }
        e.data = r + pos;
        e.data_len = e.size - pos;
        uint32_t aligned = (e.size + 7u) & ~7u;
        for (uint32_t k = e.size; k < aligned; k++)
            if (r[k] != 0) {
                tp_problem(f, "buffer %u: record padding not 0 at 0x%x", index, off);
                break;
            }
        tp_add(f, &e);
        off += aligned;
    }
}

/* Parses f->bytes[0..len). `complete`: the writer was closed normally (so
 * the file is exactly BuffersWritten buffers and the last has flag 0x21). */
static void tp_parse(tp_file *f, int complete)
{
    if (f->len < 0x48 + 0x20 + 0x118) {
        tp_problem(f, "file too short (%u bytes)", (unsigned)f->len, 0);
        return;
    }
    f->buffer_size = load_le32(f->bytes);
    if (f->buffer_size < 4096 || f->buffer_size % 1024) {
        tp_problem(f, "bad BufferSize %u", f->buffer_size, 0);
        return;
    }
    tp_check_buffer0(f, f->bytes);
    size_t in_file = f->len / f->buffer_size;
    if (complete && (f->len % f->buffer_size || in_file != f->buffers_written))
        tp_problem(f, "file holds %u bytes, BuffersWritten %u", (unsigned)f->len, f->buffers_written);
    if (f->buffers_written > in_file) {
        tp_problem(f, "BuffersWritten %u but only %u buffers in the file", f->buffers_written, (unsigned)in_file);
        return;
    }
    tp_check_buffer_header(f, f->bytes, 0, 0);
    for (unsigned i = 1; i < f->buffers_written; i++) {
        const uint8_t *b = f->bytes + (size_t)i * f->buffer_size;
        tp_check_buffer_header(f, b, i, complete ? i + 1 == f->buffers_written : i + 1 == f->buffers_written);
        tp_parse_records(f, b, i);
    }
}

/* mode: 0 = writer still open (flushed), 1 = closed normally (complete),
 * 2 = writer killed mid-write (crashed). */
static int tp_load(tp_file *f, const char *path, int mode)
{
    int complete = mode == 1;
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return -1;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    f->crashed = mode == 2;
    f->bytes = malloc(n > 0 ? (size_t)n : 1);
    f->len = fread(f->bytes, 1, (size_t)(n > 0 ? n : 0), fp);
    fclose(fp);
    tp_parse(f, complete);
    return 0;
}

static void tp_free(tp_file *f)
{
    free(f->bytes);
    free(f->events);
    memset(f, 0, sizeof *f);
}

#endif
