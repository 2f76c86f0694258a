/*
 * etl_adapter.c — the .etl adapter declared in etl_adapter.h.
 *
 * Per event:  provider id == Python's?  ── no ──► stack? → address sample
 *                  │                       kernel SampledProfile + its
 *                  │                       StackWalk? → address sample
 *                  │ yes
 *             schema cache (exact metadata bytes → kind + field sizes),
 *             filled on first sight by checking the event name and each
 *             field's name and in-type against the layout below
 *                  │
 *             fixed-offset loads from the payload → profile input
 *
 * Payload layouts (spec/etwtrace.md §1; POINTER is 4 or 8 bytes):
 *   PythonFunctionPush  FunctionID ptr, Caller ptr, CallerLine u64
 *   PythonFunctionPop   FunctionID ptr
 *   PythonFunction      FunctionID ptr, BeginAddress ptr, EndAddress ptr,
 *                       LineNumber i32, SourceFile utf16z, Name utf16z, IsPythonCode i32
 *   PythonMark          Mark utf16z (opcode 0 plain, 1 start, 2 stop)
 *   PythonStackSample   Mark utf16z (+ the stack item)
 *   PythonThread        ThreadID i32 (opcode 1 start, 2 stop)
 *   PythonThreadName    ThreadID i32, Name utf16z
 *   PythonSample        ThreadID i32, Time filetime, Weight u32, Clock u8,
 *                       Flags u16, FunctionIDs u16 n + n u64, Lines u16 n +
 *                       n u32 (the built-in sampler; frames innermost first)
 *   PythonSampler       the sampler's start and stop (nothing to report)
 *
 * Windows' CPU samples (a WPR capture) are kernel records: PerfInfo
 * SampledProfile names the sampled thread, and a StackWalk record soon
 * after carries its stack with the sample's timestamp. WPR records every
 * process, so only the stacks of processes that wrote Python events before
 * are samples; stacks of other events (context switches...) are not.
 */
#include "etl_adapter.h"

#include "byteorder.h"
#include "call_expander.h"
#include "etl_kernel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


enum event_kind { K_UNKNOWN, K_PUSH, K_POP, K_FUNCTION, K_MARK, K_STACK_SAMPLE, K_THREAD, K_THREAD_NAME, K_SAMPLE, K_SAMPLER };

/* PythonSample's fields and their in-types (TLD_IN_VCOUNT 0x40: an array). */
static const struct {
    const char *name;
    uint8_t in_type;
} SAMPLE_FIELDS[] = {
    {"ThreadID", 7}, {"Time", 17}, {"Weight", 8}, {"Clock", 4}, {"Flags", 6},
    {"FunctionIDs", 10 | 0x40}, {"Lines", 8 | 0x40},
};
#define SAMPLE_FIXED_BYTES (4 + 8 + 4 + 1 + 2)

/* What a field may be: a pointer-sized or other integer, or a UTF-16 string. */
enum field_class { F_INT, F_STRING };

typedef struct event_layout {
    const char *event;
    int kind;
    unsigned field_count;
    const char *fields[7];
    enum field_class classes[7];
} event_layout;

static const event_layout LAYOUTS[] = {
    {"PythonFunctionPush", K_PUSH, 3, {"FunctionID", "Caller", "CallerLine"}, {F_INT, F_INT, F_INT}},
    {"PythonFunctionPop", K_POP, 1, {"FunctionID"}, {F_INT}},
    {"PythonFunction", K_FUNCTION, 7,
     {"FunctionID", "BeginAddress", "EndAddress", "LineNumber", "SourceFile", "Name", "IsPythonCode"},
     {F_INT, F_INT, F_INT, F_INT, F_STRING, F_STRING, F_INT}},
    {"PythonMark", K_MARK, 1, {"Mark"}, {F_STRING}},
    {"PythonStackSample", K_STACK_SAMPLE, 1, {"Mark"}, {F_STRING}},
    {"PythonThread", K_THREAD, 1, {"ThreadID"}, {F_INT}},
    {"PythonThreadName", K_THREAD_NAME, 2, {"ThreadID", "Name"}, {F_INT, F_STRING}},
};

#define MAX_FIELDS 7
#define CACHE_SIZE 32
#define RECENT_SAMPLES 64       /* CPUs whose samples can interleave before their stacks */

/* A schema seen before: its exact metadata bytes and what they mean. */
typedef struct schema_entry {
    uint8_t *meta;
    size_t meta_len;
    int kind;                   /* K_UNKNOWN: not one of ours (or an unexpected layout) */
    unsigned field_count;
    uint8_t sizes[MAX_FIELDS];  /* 4 or 8 for integers, 0 for UTF-16 strings */
} schema_entry;

typedef struct adapter {
    rp_profile *p;
    const etl_reader *r;
    schema_entry cache[CACHE_SIZE];
    unsigned cached;
    uint64_t origin;            /* raw timestamp of time 0 */
    double ns_per_tick;
    int have_origin;
    char *text;                 /* UTF-8 scratch for strings */
    size_t text_cap;
    uint64_t *addresses;        /* also a PythonSample's function ids */
    size_t address_cap;
    uint32_t *lines;            /* a PythonSample's lines */
    size_t line_cap;
    int layout_reported;
    /* Kernel CPU samples: the last SampledProfile records (thread, raw
     * timestamp), which their StackWalk records follow closely. */
    struct { uint32_t tid; uint64_t ts; } recent[RECENT_SAMPLES];
    unsigned recent_next;
    uint32_t *python_pids;      /* processes that wrote Python events */
    size_t python_pid_count, python_pid_cap;
} adapter;

/* Size of an integer in-type (low 5 bits), or 0 when not an integer. */
static unsigned int_size(uint8_t in, unsigned pointer_size)
{
    switch (in & 0x1F) {
    case 3: case 4: return 1;                       /* INT8, UINT8 */
    case 5: case 6: return 2;
    case 7: case 8: case 13: case 20: return 4;     /* INT32, UINT32, BOOL32, HEXINT32 */
    case 9: case 10: case 21: return 8;             /* INT64, UINT64, HEXINT64 */
    case 16: return pointer_size;                   /* INTPTR-style in-type 16 */
    default: return 0;
    }
}

/* PythonSample's fields from m[pos..end): exactly SAMPLE_FIELDS. */
static void classify_sample(schema_entry *e, const uint8_t *m, size_t pos, size_t end)
{
    for (size_t n = 0; n < sizeof SAMPLE_FIELDS / sizeof SAMPLE_FIELDS[0]; n++) {
        const uint8_t *z = pos < end ? memchr(m + pos, 0, end - pos) : NULL;
        size_t fl = z ? (size_t)(z - (m + pos)) : 0;
        if (!z || fl != strlen(SAMPLE_FIELDS[n].name) || memcmp(m + pos, SAMPLE_FIELDS[n].name, fl) != 0)
            return;
        pos += fl + 1;
        if (pos >= end || (m[pos] & 0x7F) != SAMPLE_FIELDS[n].in_type)
            return;
        if (m[pos++] & 0x80) {                  /* an out-type follows (and maybe a tag) */
            if (pos >= end)
                return;
            if (m[pos++] & 0x80) {
                while (pos < end && (m[pos] & 0x80))
                    pos++;
                pos++;
            }
        }
    }
    if (pos == end)
        e->kind = K_SAMPLE;
}

/* Works out what metadata `m` describes. */
static void classify(schema_entry *e, const uint8_t *m, size_t len, unsigned pointer_size)
{
    e->kind = K_UNKNOWN;
    if (len < 3 || load_le16(m) > len || load_le16(m) < 3)
        return;
    size_t end = load_le16(m), pos = 2;
    while (pos < end && (m[pos] & 0x80))        /* event tag */
        pos++;
    if (++pos >= end)
        return;
    const uint8_t *z = memchr(m + pos, 0, end - pos);
    if (!z)
        return;
    size_t name_len = (size_t)(z - (m + pos));
    if (name_len == 13 && memcmp(m + pos, "PythonSampler", 13) == 0) {
        e->kind = K_SAMPLER;
        return;
    }
    if (name_len == 12 && memcmp(m + pos, "PythonSample", 12) == 0) {
        classify_sample(e, m, pos + name_len + 1, end);
        return;
    }
    const event_layout *layout = NULL;
    for (size_t i = 0; i < sizeof LAYOUTS / sizeof LAYOUTS[0]; i++)
        if (strlen(LAYOUTS[i].event) == name_len && memcmp(LAYOUTS[i].event, m + pos, name_len) == 0)
            layout = &LAYOUTS[i];
    if (!layout)
        return;
    pos += name_len + 1;
    unsigned n = 0;
    while (pos < end) {
        z = memchr(m + pos, 0, end - pos);
        if (!z || n >= layout->field_count)
            return;
        size_t fl = (size_t)(z - (m + pos));
        if (fl != strlen(layout->fields[n]) || memcmp(m + pos, layout->fields[n], fl) != 0)
            return;
        pos += fl + 1;
        if (pos >= end)
            return;
        uint8_t in = m[pos++];
        if (in & 0x60)                          /* arrays are not part of these layouts */
            return;
        if (in & 0x80) {
            if (pos >= end)
                return;
            uint8_t out = m[pos++];
            if (out & 0x80) {
                while (pos < end && (m[pos] & 0x80))
                    pos++;
                pos++;
            }
        }
        if (layout->classes[n] == F_STRING) {
            if ((in & 0x1F) != 1)               /* UNICODESTRING */
                return;
            e->sizes[n] = 0;
        } else {
            unsigned s = int_size(in, pointer_size);
            if (s != 4 && s != 8)
                return;
            e->sizes[n] = (uint8_t)s;
        }
        n++;
    }
    if (n != layout->field_count)
        return;
    e->field_count = n;
    e->kind = layout->kind;
}

static const schema_entry *schema_of(adapter *a, const etl_event *ev)
{
    for (unsigned i = 0; i < a->cached; i++) {
        schema_entry *e = &a->cache[i];
        if (e->meta_len == ev->event_schema_len && memcmp(e->meta, ev->event_schema, e->meta_len) == 0) {
            if (i > 0) {                        /* most recently used first */
                schema_entry t = *e;
                memmove(&a->cache[1], &a->cache[0], i * sizeof *e);
                a->cache[0] = t;
            }
            return &a->cache[0];
        }
    }
    static const schema_entry unknown;        /* when out of memory: treated as not ours */
    schema_entry fresh;
    memset(&fresh, 0, sizeof fresh);
    classify(&fresh, ev->event_schema, ev->event_schema_len, ev->pointer_size);
    fresh.meta = malloc(ev->event_schema_len ? ev->event_schema_len : 1);
    if (!fresh.meta)
        return &unknown;
    memcpy(fresh.meta, ev->event_schema, ev->event_schema_len);
    fresh.meta_len = ev->event_schema_len;
    if (a->cached == CACHE_SIZE)
        free(a->cache[--a->cached].meta);
    memmove(&a->cache[1], &a->cache[0], a->cached * sizeof a->cache[0]);
    a->cache[0] = fresh;
    a->cached++;
    return &a->cache[0];
}

/* ---- payload values ---- */

typedef struct field_value {
    uint64_t u;
    const uint8_t *s;           /* UTF-16LE, without its NUL */
    size_t s_len;               /* bytes */
} field_value;

/* Reads the fields of `e` from data; returns 0 or -1 when the payload is short. */
static int read_fields(const schema_entry *e, const uint8_t *d, size_t len, field_value *v)
{
    size_t pos = 0;
    for (unsigned i = 0; i < e->field_count; i++) {
        unsigned s = e->sizes[i];
        if (s) {
            if (len - pos < s)
                return -1;
            v[i].u = s == 8 ? load_le64(d + pos) : load_le32(d + pos);
            pos += s;
        } else {
            size_t j = pos;
            while (j + 1 < len && (d[j] | d[j + 1]))
                j += 2;
            if (j + 1 >= len)
                return -1;
            v[i].s = d + pos;
            v[i].s_len = j - pos;
            pos = j + 2;
        }
    }
    return 0;
}

/* UTF-16LE to UTF-8 into a->text; unpaired surrogates become U+FFFD. */
static int utf8_of(adapter *a, const uint8_t *s, size_t bytes, size_t *out_len)
{
    size_t need = bytes / 2 * 3 + 1;
    if (need > a->text_cap) {
        char *t = realloc(a->text, need);
        if (!t)
            return TLD_E_NO_MEMORY;
        a->text = t;
        a->text_cap = need;
    }
    unsigned char *o = (unsigned char *)a->text;
    for (size_t i = 0; i + 1 < bytes; i += 2) {
        uint32_t c = load_le16(s + i);
        if (c >= 0xD800 && c < 0xDC00 && i + 3 < bytes) {
            uint32_t lo = load_le16(s + i + 2);
            if (lo >= 0xDC00 && lo < 0xE000) {
                c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
                i += 2;
            }
        }
        if (c >= 0xD800 && c < 0xE000)
            c = 0xFFFD;
        if (c < 0x80) {
            *o++ = (unsigned char)c;
        } else if (c < 0x800) {
            *o++ = (unsigned char)(0xC0 | (c >> 6));
            *o++ = (unsigned char)(0x80 | (c & 0x3F));
        } else if (c < 0x10000) {
            *o++ = (unsigned char)(0xE0 | (c >> 12));
            *o++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            *o++ = (unsigned char)(0x80 | (c & 0x3F));
        } else {
            *o++ = (unsigned char)(0xF0 | (c >> 18));
            *o++ = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            *o++ = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            *o++ = (unsigned char)(0x80 | (c & 0x3F));
        }
    }
    *out_len = (size_t)(o - (unsigned char *)a->text);
    return 0;
}

/* Nanoseconds since the session start. */
static uint64_t ns_of(adapter *a, uint64_t ts)
{
    if (!a->have_origin) {
        const etl_logfile_header *h = etl_reader_header(a->r);
        int system_time = h->present && h->clock_type == 2;
        a->origin = h->present && !system_time && h->start_clock && h->start_clock <= ts ? h->start_clock : ts;
        if (h->present && h->clock_type == 3 && h->cpu_speed_mhz)      /* CPU cycles */
            a->ns_per_tick = 1e3 / (double)h->cpu_speed_mhz;
        else
            a->ns_per_tick = system_time || !h->present || !h->perf_freq ? 100.0 : 1e9 / (double)h->perf_freq;
        a->have_origin = 1;
    }
    if (ts <= a->origin)
        return 0;
    double ns = (double)(ts - a->origin) * a->ns_per_tick + 0.5;
    return ns < 9.0e18 ? (uint64_t)ns : (uint64_t)9.0e18;    /* saturates: a damaged clock, not a crash */
}

static int reserve_addresses(adapter *a, uint32_t count)
{
    if (count > a->address_cap) {
        uint64_t *q = realloc(a->addresses, (size_t)count * sizeof *q);
        if (!q)
            return TLD_E_NO_MEMORY;
        a->addresses = q;
        a->address_cap = count;
    }
    return 0;
}

/* A PythonSample: its frames, root first, with their lines, into the
 * profile with its weight; its own thread id (the event's writer is the
 * sampler's drain thread). */
static int python_sample(adapter *a, const etl_event *ev)
{
    const uint8_t *d = ev->user_data;
    size_t len = ev->user_data_len;
    if (len < SAMPLE_FIXED_BYTES + 2)
        goto short_payload;
    uint32_t tid = load_le32(d);
    uint32_t weight = load_le32(d + 12);
    size_t n = load_le16(d + SAMPLE_FIXED_BYTES);
    size_t lines_at = SAMPLE_FIXED_BYTES + 2 + n * 8;
    if (len < lines_at + 2 || load_le16(d + lines_at) != n || len < lines_at + 2 + n * 4)
        goto short_payload;
    if (reserve_addresses(a, (uint32_t)n))
        return TLD_E_NO_MEMORY;
    if (n > a->line_cap) {
        uint32_t *q = realloc(a->lines, n * sizeof *q);
        if (!q)
            return TLD_E_NO_MEMORY;
        a->lines = q;
        a->line_cap = n;
    }
    for (size_t i = 0; i < n; i++) {
        a->addresses[n - 1 - i] = load_le64(d + SAMPLE_FIXED_BYTES + 2 + 8 * i);
        a->lines[n - 1 - i] = load_le32(d + lines_at + 2 + 4 * i);
    }
    return rp_sample_function_lines(a->p, ev->process_id, tid, ns_of(a, ev->timestamp), a->addresses, a->lines,
                                    n, (double)weight);
short_payload:;
    char msg[200];
    snprintf(msg, sizeof msg, "a PythonSample event in buffer %u at offset 0x%x is shorter than its frames; it was "
             "skipped", ev->buffer_index, ev->offset);
    rp_note_damage(a->p, msg);
    return 0;
}

static int python_event(adapter *a, const etl_event *ev, const schema_entry *e)
{
    rp_profile *p = a->p;
    if (e->kind == K_SAMPLE)
        return python_sample(a, ev);
    if (e->kind == K_SAMPLER)
        return 0;
    field_value v[MAX_FIELDS];
    memset(v, 0, sizeof v);
    if (read_fields(e, ev->user_data, ev->user_data_len, v) < 0) {
        char msg[200];
        snprintf(msg, sizeof msg, "a Python event in buffer %u at offset 0x%x has a payload shorter than its fields; it was skipped",
                 ev->buffer_index, ev->offset);
        rp_note_damage(p, msg);
        return 0;
    }
    uint64_t ts = ns_of(a, ev->timestamp);
    uint32_t pid = ev->process_id, tid = ev->thread_id;
    size_t n, m;
    int rc;
    switch (e->kind) {
    case K_PUSH:
        return rp_call_enter(p, pid, tid, ts, v[0].u, v[2].u > UINT32_MAX ? 0 : (uint32_t)v[2].u);
    case K_POP:
        return rp_call_exit(p, pid, tid, ts, v[0].u);
    case K_FUNCTION: {
        if ((rc = utf8_of(a, v[4].s, v[4].s_len, &n)))
            return rc;
        char *file = malloc(n + 1);
        if (!file)
            return TLD_E_NO_MEMORY;
        memcpy(file, a->text, n);
        if ((rc = utf8_of(a, v[5].s, v[5].s_len, &m)) == 0)
            rc = rp_define_function(p, pid, v[0].u, a->text, m, file, n, (uint32_t)v[3].u, v[1].u, v[2].u,
                                    (uint32_t)v[6].u != 0);
        free(file);
        return rc;
    }
    case K_MARK:
    case K_STACK_SAMPLE:
        if ((rc = utf8_of(a, v[0].s, v[0].s_len, &n)))
            return rc;
        return rp_mark_add(p, pid, tid, ts,
                           e->kind == K_MARK && ev->descriptor.opcode <= 2 ? ev->descriptor.opcode : RP_MARK_PLAIN,
                           a->text, n);
    case K_THREAD:
        if (ev->descriptor.opcode == 2)
            return rp_thread_stopped(p, pid, (uint32_t)v[0].u, ts);
        return rp_thread_started(p, pid, (uint32_t)v[0].u, ts);
    case K_THREAD_NAME:
        if ((rc = utf8_of(a, v[1].s, v[1].s_len, &n)))
            return rc;
        return rp_thread_named(p, pid, (uint32_t)v[0].u, a->text, n);
    default:
        return 0;
    }
}

static int stack_sample(adapter *a, const etl_event *ev)
{
    if (reserve_addresses(a, ev->stack_count))
        return TLD_E_NO_MEMORY;
    for (uint32_t i = 0; i < ev->stack_count; i++)
        a->addresses[i] = ev->stack_addr_size == 8 ? load_le64(ev->stack + 8 * (size_t)i)
                                                   : load_le32(ev->stack + 4 * (size_t)i);
    return rp_sample_addresses(a->p, ev->process_id, ev->thread_id, ns_of(a, ev->timestamp), a->addresses,
                               ev->stack_count, 1.0);
}

static int note_python_pid(adapter *a, uint32_t pid)
{
    for (size_t i = a->python_pid_count; i-- > 0;)
        if (a->python_pids[i] == pid)
            return 0;
    if (a->python_pid_count == a->python_pid_cap) {
        size_t cap = a->python_pid_cap ? a->python_pid_cap * 2 : 8;
        uint32_t *q = realloc(a->python_pids, cap * sizeof *q);
        if (!q)
            return TLD_E_NO_MEMORY;
        a->python_pids = q;
        a->python_pid_cap = cap;
    }
    a->python_pids[a->python_pid_count++] = pid;
    return 0;
}

static int is_python_pid(const adapter *a, uint32_t pid)
{
    for (size_t i = 0; i < a->python_pid_count; i++)
        if (a->python_pids[i] == pid)
            return 1;
    return 0;
}

/* When `ev` is a kernel SampledProfile or StackWalk record, takes it (a
 * StackWalk of a sample of a Python process becomes an address sample) and
 * returns 1; else 0. *rc gets the model's error, if any. */
static int kernel_sample(adapter *a, const etl_event *ev, rp_etl_counts *counts, int *rc)
{
    etl_sampled_profile sp;
    etl_stack_walk sw;

    *rc = 0;
    if (etl_kernel_sampled_profile(ev, &sp) == 0) {
        unsigned slot = a->recent_next++ % RECENT_SAMPLES;
        a->recent[slot].tid = sp.thread_id;
        a->recent[slot].ts = ev->timestamp;
        counts->other_events++;
        return 1;
    }
    if (etl_kernel_stack_walk(ev, &sw) != 0)
        return 0;
    int of_a_sample = 0;
    for (unsigned i = 0; i < RECENT_SAMPLES && !of_a_sample; i++)
        of_a_sample = a->recent[i].ts == sw.event_timestamp && a->recent[i].tid == sw.thread_id &&
                      a->recent[i].ts != 0;
    if (!of_a_sample || !is_python_pid(a, sw.process_id)) {
        counts->other_events++;
        return 1;
    }
    if ((*rc = reserve_addresses(a, sw.count)))
        return 1;
    for (uint32_t i = 0; i < sw.count; i++)
        a->addresses[i] = etl_stack_walk_address(&sw, i);
    counts->stacks++;
    *rc = rp_sample_addresses(a->p, sw.process_id, sw.thread_id, ns_of(a, sw.event_timestamp), a->addresses,
                              sw.count, 1.0);
    return 1;
}

/* When `ev` is a PythonCallBatch, feeds its calls and returns to the model
 * (counted as the events they stand for) and returns 1; else 0. *rc gets
 * the model's error, if any. */
static int call_batch(adapter *a, const etl_event *ev, rp_etl_counts *counts, int *rc)
{
    uint32_t tid, count;
    tld_call_batch_reader records;
    char why[200];
    int open = tl_call_batch_open(ev, &tid, &count, &records, why, sizeof why);
    if (open == TLD_E_INVALID_ARG)
        return 0;
    if (open != 0) {
        counts->reader_errors++;
        rp_note_damage(a->p, why);
        return 1;
    }
    uint32_t pid = ev->process_id, given = 0;
    tld_call_record rec;
    int got;
    while ((got = tld_call_batch_next(&records, &rec)) == 0) {
        given++;
        uint64_t ts = ns_of(a, rec.ticks);
        *rc = rec.is_return ? rp_call_exit(a->p, pid, tid, ts, rec.function_id)
                            : rp_call_enter(a->p, pid, tid, ts, rec.function_id,
                                            rec.caller_line > UINT32_MAX ? 0 : (uint32_t)rec.caller_line);
        if (*rc != 0)
            return 1;
    }
    counts->events += given;
    counts->python_events += given;
    if (got != TLD_E_END || given != count) {
        counts->reader_errors++;
        snprintf(why, sizeof why, "buffer %u, offset 0x%x: PythonCallBatch of thread %u is damaged inside its "
                 "records; %u of its %u calls and returns were read", ev->buffer_index, ev->offset, tid, given, count);
        rp_note_damage(a->p, why);
    }
    return 1;
}

int rp_etl_feed(rp_profile *p, etl_reader *r, rp_etl_counts *counts)
{
    rp_etl_counts local;
    if (!counts)
        counts = &local;
    memset(counts, 0, sizeof *counts);
    adapter *a = calloc(1, sizeof *a);
    if (!a)
        return TLD_E_NO_MEMORY;
    a->p = p;
    a->r = r;
    etl_event ev;
    int rc = 0;
    for (;;) {
        int got = etl_reader_next(r, &ev);
        if (got == TLD_E_END)
            break;
        if (got < 0) {
            counts->reader_errors++;
            rp_note_damage(p, etl_reader_message(r));
            continue;
        }
        /* Compact calls (PythonCallBatch): their records go straight into
         * the model, as the Push/Pop events they stand for. */
        int batch = call_batch(a, &ev, counts, &rc);
        if (rc != 0)
            break;
        if (batch)
            continue;
        counts->events++;
        int ours = 0;
        if (memcmp(ev.provider_id.bytes_le, tld_python_provider_id.bytes_le, 16) == 0 && ev.event_schema) {
            const schema_entry *e = schema_of(a, &ev);
            if (e->kind != K_UNKNOWN) {
                ours = 1;
                counts->python_events++;
                if ((rc = note_python_pid(a, ev.process_id)))
                    break;
                if ((rc = python_event(a, &ev, e)))
                    break;
            } else if (!a->layout_reported) {
                a->layout_reported = 1;
                rp_note_damage(p, "an event of the Python provider has a name or fields this report does not know; such events were skipped");
            }
        }
        if (!ours && kernel_sample(a, &ev, counts, &rc)) {
            if (rc)
                break;
            continue;
        }
        if (ev.has_stack && ev.stack_count) {
            counts->stacks++;
            if ((rc = stack_sample(a, &ev)))
                break;
        } else if (!ours) {
            counts->other_events++;
        }
    }
    const etl_logfile_header *h = etl_reader_header(r);
    counts->events_lost = h->present ? h->events_lost : 0;
    if (counts->events_lost) {
        char msg[120];
        snprintf(msg, sizeof msg, "the session lost %llu events while recording",
                 (unsigned long long)counts->events_lost);
        rp_note_damage(p, msg);
    }
    for (unsigned i = 0; i < a->cached; i++)
        free(a->cache[i].meta);
    free(a->text);
    free(a->addresses);
    free(a->lines);
    free(a->python_pids);
    free(a);
    return rc;
}

int rp_etl_load_file(rp_profile *p, const char *path, rp_etl_counts *counts, char *message, size_t message_size)
{
    etl_reader r;
    int rc = etl_reader_open_path(&r, path, ETL_READ_SYSTEM_RECORDS);
    if (rc) {
        snprintf(message, message_size, "%s: %s", path,
                 etl_reader_message(&r)[0] ? etl_reader_message(&r) : tld_strerror(rc));
        etl_reader_close(&r);
        return rc > -1000 ? rc : TLD_E_NOT_ETL;      /* -errno, or a file that is no .etl */
    }
    rc = rp_etl_feed(p, &r, counts);
    if (rc)
        snprintf(message, message_size, "%s: %s", path, rp_profile_message(p)[0] ? rp_profile_message(p)
                                                                              : tld_strerror(rc));
    etl_reader_close(&r);
    return rc;
}
