/*
 * report_json.c — the JSON formats of report_writers.h: speedscope's file
 * format and Chrome's Trace Event Format.
 *
 * speedscope: frames are shared and de-duplicated by (name, file, line);
 * one profile per thread — "evented" (open/close at each entry and exit)
 * when the profile has calls and a timeline, "sampled" (a stack per
 * sample, root first, in time order) when it has samples and a timeline,
 * else "sampled" with one weighted stack per distinct call stack. The
 * viewer refuses unbalanced or out-of-order events, so `at` never goes
 * back (the model already balances every thread).
 *
 * chrome: one "X" (complete) event per call, built from the timeline with
 * a stack of open calls per thread; samples become slices by merging
 * consecutive samples with the same frames (a flame chart); plain marks
 * are thread-scoped instant events, mark ranges "B"/"E" pairs on a
 * separate "marks" track per thread so they cannot cross the call slices.
 */
#include "report_writers.h"

#include <stdlib.h>
#include <string.h>

#define EXPORTER "etwtrace"
#define SPEEDSCOPE_SCHEMA "https://www.speedscope.app/file-format-schema.json"
/* Marks tracks: tids no OS hands out, named "marks: <thread>". */
#define MARKS_TID_BASE 0x7F000000u

static const char *title_of(const rp_write_options *o)
{
    return o && o->title && o->title[0] ? o->title : "profile";
}

/* ---- speedscope ---- */

typedef struct frame_key {
    const rp_function *f;
    uint32_t function;
} frame_key;

static int frame_compare(const void *a, const void *b)
{
    const rp_function *x = ((const frame_key *)a)->f, *y = ((const frame_key *)b)->f;
    int c = strcmp(x->name, y->name);
    if (!c)
        c = strcmp(x->file, y->file);
    if (!c)
        c = x->line < y->line ? -1 : x->line > y->line;
    if (!c)
        c = x->is_address - y->is_address;
    if (!c) {
        uint32_t i = ((const frame_key *)a)->function, j = ((const frame_key *)b)->function;
        c = i < j ? -1 : i > j;
    }
    return c;
}

static int same_frame(const rp_function *x, const rp_function *y)
{
    return !strcmp(x->name, y->name) && !strcmp(x->file, y->file) && x->line == y->line &&
           x->is_address == y->is_address;
}

/* Writes shared.frames; fills frame_of[function]. */
static int write_frames(rp_profile *p, rp_out *out, uint32_t *frame_of)
{
    frame_key *keys = malloc(((size_t)p->function_count + 1) * sizeof *keys);
    if (!keys)
        return TLD_E_NO_MEMORY;
    for (uint32_t i = 0; i < p->function_count; i++)
        keys[i] = (frame_key){&p->functions[i], i};
    qsort(keys, p->function_count, sizeof *keys, frame_compare);
    uint32_t frames = 0;
    rp_out_str(out, "\"shared\":{\"frames\":[");
    for (uint32_t k = 0; k < p->function_count; k++) {
        const rp_function *f = keys[k].f;
        if (k > 0 && same_frame(keys[k - 1].f, f)) {
            frame_of[keys[k].function] = frames - 1;
            continue;
        }
        frame_of[keys[k].function] = frames++;
        rp_out_str(out, frames > 1 ? ",\n{\"name\":" : "\n{\"name\":");
        rp_out_json_string(out, f->name, strlen(f->name));
        if (f->file[0]) {
            rp_out_str(out, ",\"file\":");
            rp_out_json_string(out, f->file, strlen(f->file));
        }
        if (f->line)
            rp_out_printf(out, ",\"line\":%u", f->line);
        rp_out_str(out, "}");
    }
    rp_out_str(out, "]}");
    free(keys);
    return 0;
}

/* Opens a profile object: type, name, unit (the caller adds the values). */
static void profile_header(rp_profile *p, rp_out *out, uint32_t t, const char *type, const char *unit)
{
    char name[128], full[200];
    snprintf(full, sizeof full, "%s (tid %u)", rp_thread_display_name(p, t, name, sizeof name), p->threads[t].tid);
    rp_out_printf(out, "{\"type\":\"%s\",\"name\":", type);
    rp_out_json_string(out, full, strlen(full));
    rp_out_printf(out, ",\"unit\":\"%s\",", unit);
}

static int evented_profile(rp_profile *p, rp_out *out, uint32_t t, const uint32_t *frame_of)
{
    const rp_thread *th = &p->threads[t];
    profile_header(p, out, t, "evented", "nanoseconds");
    rp_out_printf(out, "\"startValue\":%llu,\"endValue\":%llu,\"events\":[", (unsigned long long)th->first_ns,
                  (unsigned long long)th->last_ns);
    int rc = rp_timeline_rewind(p);
    rp_timeline_entry e;
    uint64_t at = th->first_ns;
    int first = 1;
    while (!rc && (rc = rp_timeline_next(p, &e)) == 0) {
        if (e.thread != t || (e.kind != RP_TL_ENTER && e.kind != RP_TL_EXIT))
            continue;
        if (e.ts_ns > at)
            at = e.ts_ns;
        rp_out_printf(out, "%s{\"type\":\"%c\",\"frame\":%u,\"at\":%llu}", first ? "\n" : ",\n",
                      e.kind == RP_TL_ENTER ? 'O' : 'C', frame_of[e.value], (unsigned long long)at);
        first = 0;
    }
    rp_out_str(out, "]}");
    return rc == TLD_E_END ? 0 : rc;
}

/* Frames of the path from a thread root to `node` (live tree), root first,
 * into *path; returns the count or a negative code. */
static long path_of(const rp_tree *tree, uint32_t node, uint32_t **path, size_t *cap)
{
    size_t n = 0;
    for (uint32_t i = node; tree->nodes[i].function != RP_NONE; i = tree->nodes[i].parent) {
        if (n == *cap) {
            size_t c = *cap ? *cap * 2 : 64;
            uint32_t *q = realloc(*path, c * sizeof *q);
            if (!q)
                return TLD_E_NO_MEMORY;
            *path = q;
            *cap = c;
        }
        (*path)[n++] = tree->nodes[i].function;
    }
    for (size_t i = 0; i < n / 2; i++) {
        uint32_t x = (*path)[i];
        (*path)[i] = (*path)[n - 1 - i];
        (*path)[n - 1 - i] = x;
    }
    return (long)n;
}

static void write_stack(rp_out *out, const uint32_t *frame_of, const uint32_t *path, long n)
{
    rp_out_str(out, "[");
    for (long i = 0; i < n; i++)
        rp_out_printf(out, i ? ",%u" : "%u", frame_of[path[i]]);
    rp_out_str(out, "]");
}

/* A sampled profile with each sample of the timeline, in time order. */
static int sampled_profile(rp_profile *p, rp_out *out, uint32_t t, const uint32_t *frame_of)
{
    profile_header(p, out, t, "sampled", "none");
    int rc = rp_timeline_rewind(p);
    uint32_t *path = NULL;
    size_t cap = 0;
    double total = 0;
    /* Two passes over the timeline: samples, then weights. */
    for (int pass = 0; pass < 2 && !rc; pass++) {
        rp_out_str(out, pass == 0 ? "\"samples\":[" : "],\"weights\":[");
        rc = rp_timeline_rewind(p);
        rp_timeline_entry e;
        int first = 1, want_weight = 0;
        while (!rc && (rc = rp_timeline_next(p, &e)) == 0) {
            if (e.thread != t)
                continue;
            if (e.kind == RP_TL_SAMPLE && pass == 0) {
                long n = path_of(&p->tree, e.value, &path, &cap);
                if (n < 0) {
                    rc = (int)n;
                    break;
                }
                rp_out_str(out, first ? "\n" : ",\n");
                write_stack(out, frame_of, path, n);
                first = 0;
            } else if (e.kind == RP_TL_SAMPLE) {
                want_weight = 1;
            } else if (e.kind == RP_TL_WEIGHT && want_weight) {
                double w;
                memcpy(&w, &e.ts_ns, sizeof w);
                rp_out_str(out, first ? "" : ",");
                rp_out_number(out, w, 6);
                total += w;
                first = 0;
                want_weight = 0;
            }
        }
        if (rc == TLD_E_END)
            rc = 0;
    }
    free(path);
    rp_out_str(out, "],\"startValue\":0,\"endValue\":");
    rp_out_number(out, total, 6);
    rp_out_str(out, "}");
    return rc;
}

/* Without a timeline: one weighted stack per distinct call stack. */
static int tree_profile(rp_profile *p, rp_out *out, uint32_t t, const uint32_t *frame_of)
{
    rp_tree view;
    int rc = rp_tree_build_view(p, t, &view);
    if (rc)
        return rc;
    int calls = rp_profile_has_calls(p);
    double total = rp_node_value(p, &view.nodes[0]);
    profile_header(p, out, t, "sampled", calls ? "nanoseconds" : "none");
    uint32_t *path = NULL;
    size_t cap = 0;
    for (int pass = 0; pass < 2 && !rc; pass++) {
        rp_out_str(out, pass == 0 ? "\"samples\":[" : "],\"weights\":[");
        int first = 1;
        for (uint32_t i = 1; i < view.count; i++) {
            double self = rp_node_self_value(p, &view.nodes[i]);
            if (self <= 0)
                continue;
            if (pass == 0) {
                long n = path_of(&view, i, &path, &cap);
                if (n < 0) {
                    rc = (int)n;
                    break;
                }
                rp_out_str(out, first ? "\n" : ",\n");
                write_stack(out, frame_of, path, n);
            } else {
                rp_out_str(out, first ? "" : ",");
                rp_out_number(out, self, 6);
            }
            first = 0;
        }
    }
    free(path);
    rp_out_str(out, "],\"startValue\":0,\"endValue\":");
    rp_out_number(out, total, 6);
    rp_out_str(out, "}");
    rp_tree_free(&view);
    return rc;
}

int rp_write_speedscope(rp_profile *p, const rp_write_options *o, const rp_output *dest)
{
    if (!p->finished)
        return TLD_E_REPORT_NOT_FINISHED;
    rp_out *out = malloc(sizeof *out);
    uint32_t *frame_of = malloc(((size_t)p->function_count + 1) * sizeof *frame_of);
    if (!out || !frame_of) {
        free(out);
        free(frame_of);
        return TLD_E_NO_MEMORY;
    }
    rp_out_init(out, dest);
    int calls = rp_profile_has_calls(p);
    /* The thread shown first: the one with the most calls or samples. */
    uint32_t active = 0, shown = 0;
    uint64_t best = 0;
    for (uint32_t t = 0; t < p->thread_count; t++) {
        uint64_t v = calls ? p->threads[t].calls : p->threads[t].samples;
        if (!v)
            continue;
        if (v > best) {
            best = v;
            shown = active;
        }
        active++;
    }
    rp_out_str(out, "{\"$schema\":\"" SPEEDSCOPE_SCHEMA "\",\"exporter\":\"" EXPORTER "\",\"name\":");
    rp_out_json_string(out, title_of(o), strlen(title_of(o)));
    rp_out_printf(out, ",\"activeProfileIndex\":%u,\n", shown);
    int rc = write_frames(p, out, frame_of);
    rp_out_str(out, ",\n\"profiles\":[");
    int first = 1;
    for (uint32_t t = 0; t < p->thread_count && !rc; t++) {
        if (!(calls ? p->threads[t].calls : p->threads[t].samples))
            continue;
        rp_out_str(out, first ? "\n" : ",\n");
        first = 0;
        if (p->timeline && calls)
            rc = evented_profile(p, out, t, frame_of);
        else if (p->timeline)
            rc = sampled_profile(p, out, t, frame_of);
        else
            rc = tree_profile(p, out, t, frame_of);
    }
    rp_out_str(out, "]}\n");
    int frc = rp_out_finish(out);
    free(out);
    free(frame_of);
    return rc ? rc : frc;
}

/* ---- chrome ---- */

typedef struct open_slice {
    uint32_t function;
    uint64_t start;
} open_slice;

typedef struct slice_stack {
    open_slice *items;
    uint32_t depth, cap;
} slice_stack;

static int slice_push(slice_stack *s, uint32_t function, uint64_t start)
{
    if (s->depth == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 32;
        open_slice *q = realloc(s->items, (size_t)cap * sizeof *q);
        if (!q)
            return TLD_E_NO_MEMORY;
        s->items = q;
        s->cap = cap;
    }
    s->items[s->depth++] = (open_slice){function, start};
    return 0;
}

static void us(rp_out *out, uint64_t ns)
{
    rp_out_printf(out, "%llu.%03u", (unsigned long long)(ns / 1000), (unsigned)(ns % 1000));
}

static void complete_event(rp_profile *p, rp_out *out, uint32_t t, const open_slice *s, uint64_t end)
{
    const rp_function *f = &p->functions[s->function];
    const rp_thread *th = &p->threads[t];
    rp_out_str(out, ",\n{\"ph\":\"X\",\"cat\":\"");
    rp_out_str(out, f->is_address ? "native" : f->is_python ? "python" : "builtin");
    rp_out_str(out, "\",\"name\":");
    rp_out_json_string(out, f->name, strlen(f->name));
    rp_out_str(out, ",\"ts\":");
    us(out, s->start - p->first_ns);
    rp_out_str(out, ",\"dur\":");
    us(out, end > s->start ? end - s->start : 0);
    rp_out_printf(out, ",\"pid\":%u,\"tid\":%u", th->pid, th->tid);
    if (f->file[0]) {
        char loc[1200];
        if (f->is_python)
            snprintf(loc, sizeof loc, "%s:%u", f->file, f->line);
        else
            snprintf(loc, sizeof loc, "%s", f->file);
        rp_out_str(out, ",\"args\":{\"file\":");
        rp_out_json_string(out, loc, strlen(loc));
        rp_out_str(out, "}");
    }
    rp_out_str(out, "}");
}

static void metadata_events(rp_profile *p, rp_out *out)
{
    char name[160], buf[128];
    for (uint32_t t = 0; t < p->thread_count; t++) {
        const rp_thread *th = &p->threads[t];
        int new_pid = 1;
        for (uint32_t u = 0; u < t; u++)
            new_pid &= p->threads[u].pid != th->pid;
        if (new_pid) {
            snprintf(name, sizeof name, "python (pid %u)", th->pid);
            rp_out_printf(out, "%s{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%u,\"tid\":%u,\"args\":{\"name\":",
                          t ? ",\n" : "\n", th->pid, th->pid);
            rp_out_json_string(out, name, strlen(name));
            rp_out_str(out, "}}");
        } else if (t == 0) {
            rp_out_str(out, "\n");
        }
        rp_thread_display_name(p, t, buf, sizeof buf);
        rp_out_printf(out, "%s{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%u,\"tid\":%u,\"args\":{\"name\":",
                      t || new_pid ? ",\n" : "", th->pid, th->tid);
        rp_out_json_string(out, buf, strlen(buf));
        rp_out_str(out, "}}");
    }
}

static void mark_events(rp_profile *p, rp_out *out)
{
    char buf[128], name[160];
    uint8_t *has_ranges = calloc((size_t)p->thread_count + 1, 1);
    for (uint32_t i = 0; i < p->mark_count; i++) {
        const rp_mark *m = &p->marks[i];
        const rp_thread *th = &p->threads[m->thread];
        uint32_t tid = m->kind == RP_MARK_PLAIN ? th->tid : MARKS_TID_BASE + m->thread;
        rp_out_printf(out, ",\n{\"ph\":\"%s\",\"cat\":\"mark\",\"name\":",
                      m->kind == RP_MARK_PLAIN ? "i" : m->kind == RP_MARK_START ? "B" : "E");
        rp_out_json_string(out, m->text, strlen(m->text));
        rp_out_str(out, ",\"ts\":");
        us(out, m->ts_ns - p->first_ns);
        rp_out_printf(out, ",\"pid\":%u,\"tid\":%u%s}", th->pid, tid, m->kind == RP_MARK_PLAIN ? ",\"s\":\"t\"" : "");
        if (m->kind != RP_MARK_PLAIN && has_ranges)
            has_ranges[m->thread] = 1;
    }
    for (uint32_t t = 0; has_ranges && t < p->thread_count; t++) {
        if (!has_ranges[t])
            continue;
        snprintf(name, sizeof name, "marks: %s", rp_thread_display_name(p, t, buf, sizeof buf));
        rp_out_printf(out, ",\n{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":%u,\"tid\":%u,\"args\":{\"name\":",
                      p->threads[t].pid, MARKS_TID_BASE + t);
        rp_out_json_string(out, name, strlen(name));
        rp_out_str(out, "}}");
    }
    free(has_ranges);
}

int rp_write_chrome(rp_profile *p, const rp_write_options *o, const rp_output *dest)
{
    if (!p->finished)
        return TLD_E_REPORT_NOT_FINISHED;
    if (!p->timeline)
        return TLD_E_REPORT_NO_TIMELINE;
    rp_out *out = malloc(sizeof *out);
    slice_stack *stacks = calloc((size_t)p->thread_count + 1, sizeof *stacks);
    if (!out || !stacks) {
        free(out);
        free(stacks);
        return TLD_E_NO_MEMORY;
    }
    rp_out_init(out, dest);
    rp_out_str(out, "{\"displayTimeUnit\":\"ms\",\"otherData\":{\"exporter\":\"" EXPORTER "\",\"title\":");
    rp_out_json_string(out, title_of(o), strlen(title_of(o)));
    rp_out_str(out, "},\n\"traceEvents\":[");
    metadata_events(p, out);
    if (!p->thread_count)
        rp_out_str(out, "\n{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":0,\"tid\":0,\"args\":{\"name\":\"empty\"}}");
    int calls = rp_profile_has_calls(p);
    uint32_t *path = NULL;
    size_t cap = 0;
    int rc = rp_timeline_rewind(p);
    rp_timeline_entry e;
    while (!rc && (rc = rp_timeline_next(p, &e)) == 0) {
        slice_stack *s = &stacks[e.thread];
        if (calls && e.kind == RP_TL_ENTER) {
            rc = slice_push(s, e.value, e.ts_ns);
        } else if (calls && e.kind == RP_TL_EXIT && s->depth) {
            s->depth--;
            complete_event(p, out, e.thread, &s->items[s->depth], e.ts_ns);
        } else if (!calls && e.kind == RP_TL_SAMPLE) {
            /* Close the frames this sample does not share, open its new ones. */
            long n = path_of(&p->tree, e.value, &path, &cap);
            if (n < 0) {
                rc = (int)n;
                break;
            }
            uint32_t common = 0;
            while (common < s->depth && common < (uint32_t)n && s->items[common].function == path[common])
                common++;
            while (s->depth > common) {
                s->depth--;
                complete_event(p, out, e.thread, &s->items[s->depth], e.ts_ns);
            }
            for (uint32_t k = common; k < (uint32_t)n && !rc; k++)
                rc = slice_push(s, path[k], e.ts_ns);
        }
    }
    if (rc == TLD_E_END)
        rc = 0;
    for (uint32_t t = 0; t < p->thread_count; t++) {
        slice_stack *s = &stacks[t];
        while (s->depth) {          /* samples: the last slices end at the thread's last event */
            s->depth--;
            complete_event(p, out, t, &s->items[s->depth], p->threads[t].last_ns);
        }
        free(s->items);
    }
    mark_events(p, out);
    rp_out_str(out, "\n]}\n");
    free(path);
    free(stacks);
    int frc = rp_out_finish(out);
    free(out);
    return rc ? rc : frc;
}
