/*
 * report_text.c — the text formats of report_writers.h: summary, top,
 * tree and collapsed (folded stacks).
 */
#include "report_writers.h"
#include "tree_order.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LABEL_MAX 1024

static const char *title_of(const rp_write_options *o)
{
    return o && o->title && o->title[0] ? o->title : "profile";
}

/* A value for people: a duration, or a sample count. */
/* The total of a section: a duration, or "N samples". */
static void format_total(const rp_profile *p, double v, char *buf, size_t size)
{
    if (rp_profile_has_calls(p))
        rp_format_duration(v, buf, size);
    else
        snprintf(buf, size, v == floor(v) ? "%.0f samples" : "%.3f samples", v);
}

static void format_value(const rp_profile *p, double v, char *buf, size_t size)
{
    if (rp_profile_has_calls(p))
        rp_format_duration(v, buf, size);
    else if (v == floor(v))
        snprintf(buf, size, "%.0f", v);
    else
        snprintf(buf, size, "%.3f", v);
}

int rp_write_summary(rp_profile *p, const rp_write_options *o, const rp_output *dest)
{
    if (!p->finished)
        return TLD_E_REPORT_NOT_FINISHED;
    rp_out *out = malloc(sizeof *out);
    if (!out)
        return TLD_E_NO_MEMORY;
    rp_out_init(out, dest);
    char dur[64];
    rp_format_duration((double)(p->last_ns - p->first_ns), dur, sizeof dur);
    rp_out_printf(out, "%s: %s, %u thread%s, %llu events", title_of(o), p->have_time ? dur : "no events",
                  p->thread_count, p->thread_count == 1 ? "" : "s", (unsigned long long)p->events);
    uint32_t defined = 0;
    for (uint32_t i = 0; i < p->function_count; i++)
        defined += p->functions[i].defined;
    if (p->calls)
        rp_out_printf(out, "; %llu calls of %u functions (instrumented)", (unsigned long long)p->calls, defined);
    if (p->samples) {
        /* A record of the built-in sampler may stand for several timer
         * periods (its Weight): the samples are the periods. */
        if (p->sample_weight == (double)p->samples)
            rp_out_printf(out, "; %llu samples", (unsigned long long)p->samples);
        else
            rp_out_printf(out, "; %.0f samples (%llu records)", p->sample_weight, (unsigned long long)p->samples);
    }
    if (p->mark_count)
        rp_out_printf(out, "; %u mark%s", p->mark_count, p->mark_count == 1 ? "" : "s");
    rp_out_str(out, "\n");
    double outside = 0;
    for (uint32_t i = 0; i < p->thread_count; i++)
        outside += p->tree.nodes[p->threads[i].root].self_weight;
    if (!p->calls && p->samples && outside > 0)
        rp_out_printf(out, "note: %.0f of the samples have no Python frame (interpreter start-up, native code); "
                           "they count in the total only (--native shows their native frames)\n", outside);
    if (!p->calls && !p->samples)
        rp_out_str(out, "note: the trace holds no calls and no samples: the program ran too briefly (or only "
                        "waited) for a CPU-time sample; try --sample=wall, --instrumented, or the perf data "
                        "of --capture --perf (FILE.perf/perf.data)\n");
    if (p->closed_at_end)
        rp_out_printf(out, "note: %llu calls were still open when the trace ended; they end at their thread's last event\n",
                      (unsigned long long)p->closed_at_end);
    if (p->unmatched_exits)
        rp_out_printf(out, "note: %llu returns from calls that began before tracing started were ignored\n",
                      (unsigned long long)p->unmatched_exits);
    if (p->lost_exits)
        rp_out_printf(out, "note: %llu calls had no return event; they end when their caller returned\n",
                      (unsigned long long)p->lost_exits);
    if (p->damage_count)
        rp_out_printf(out, "warning: the trace is damaged (%llu problem%s), this report shows what it holds: %s\n",
                      (unsigned long long)p->damage_count, p->damage_count == 1 ? "" : "s", p->damage);
    int rc = rp_out_finish(out);
    free(out);
    return rc;
}

/* ---- top ---- */

/* A row of the top table with its sort keys. */
typedef struct top_row {
    double key, inclusive;
    const char *name;           /* RP_SORT_NAME only */
    uint32_t function;
} top_row;

static int top_compare(const void *a, const void *b)
{
    const top_row *x = a, *y = b;
    if (x->name && y->name) {
        int c = strcmp(x->name, y->name);
        if (c)
            return c;
    }
    if (x->key != y->key)
        return x->key > y->key ? -1 : 1;
    if (x->inclusive != y->inclusive)
        return x->inclusive > y->inclusive ? -1 : 1;
    return x->function < y->function ? -1 : x->function > y->function;
}

static int top_section(rp_profile *p, const rp_write_options *o, rp_out *out, uint32_t thread)
{
    rp_tree view;
    int rc = rp_tree_build_view(p, thread, &view);
    if (rc)
        return rc;
    rp_function_total *totals = malloc(((size_t)p->function_count + 1) * sizeof *totals);
    top_row *rows = malloc(((size_t)p->function_count + 1) * sizeof *rows);
    if (!totals || !rows || (rc = rp_function_totals(p, &view, totals)) != 0) {
        free(totals);
        free(rows);
        rp_tree_free(&view);
        return rc ? rc : TLD_E_NO_MEMORY;
    }
    double total = rp_node_value(p, &view.nodes[0]);
    uint32_t n = 0;
    int sort = o ? o->sort : RP_SORT_SELF;
    for (uint32_t i = 0; i < p->function_count; i++) {
        if (!totals[i].present)
            continue;
        const rp_function_total *t = &totals[i];
        double key = sort == RP_SORT_INCLUSIVE ? t->inclusive : sort == RP_SORT_CALLS ? (double)t->calls : t->self;
        rows[n++] = (top_row){key, t->inclusive, sort == RP_SORT_NAME ? p->functions[i].name : NULL, i};
    }
    qsort(rows, n, sizeof *rows, top_compare);
    int calls = rp_profile_has_calls(p);
    char buf[64], buf2[64], label[LABEL_MAX];
    format_total(p, total, buf, sizeof buf);
    if (thread != RP_NONE) {
        char name[128];
        rp_out_printf(out, "\nThread %s (tid %u): %s\n", rp_thread_display_name(p, thread, name, sizeof name),
                      p->threads[thread].tid, buf);
    }
    if (calls)
        rp_out_str(out, "   Own time   Own%  Total time  Total%      Calls  Function (file:line)\n");
    else
        rp_out_str(out, "    Own   Own%      Total  Total%  Function (file:line)\n");
    uint32_t limit = o && o->limit ? o->limit : n;
    for (uint32_t k = 0; k < n && k < limit; k++) {
        const rp_function_total *t = &totals[rows[k].function];
        double own_pct = total > 0 ? 100.0 * t->self / total : 0, tot_pct = total > 0 ? 100.0 * t->inclusive / total : 0;
        format_value(p, t->self, buf, sizeof buf);
        format_value(p, t->inclusive, buf2, sizeof buf2);
        rp_function_label(&p->functions[rows[k].function], 0, label, sizeof label);
        if (calls)
            rp_out_printf(out, "%11s %5.1f%% %11s %5.1f%% %10llu  %s\n", buf, own_pct, buf2, tot_pct,
                          (unsigned long long)t->calls, label);
        else
            rp_out_printf(out, "%7s %5.1f%% %10s %5.1f%%  %s\n", buf, own_pct, buf2, tot_pct, label);
    }
    if (limit < n)
        rp_out_printf(out, "(%u more functions; --limit 0 shows all)\n", n - limit);
    free(totals);
    free(rows);
    rp_tree_free(&view);
    return 0;
}

typedef int (*text_section_fn)(rp_profile *p, const rp_write_options *o, rp_out *out, uint32_t thread);

/* The summary, then one section for the whole profile or, with
 * per_thread, one for each thread that has calls or samples. */
static int write_sections(rp_profile *p, const rp_write_options *o, const rp_output *dest, text_section_fn section)
{
    if (!p->finished)
        return TLD_E_REPORT_NOT_FINISHED;
    int rc = rp_write_summary(p, o, dest);
    if (rc)
        return rc;
    rp_out *out = malloc(sizeof *out);
    if (!out)
        return TLD_E_NO_MEMORY;
    rp_out_init(out, dest);
    if (o && o->per_thread) {
        for (uint32_t t = 0; t < p->thread_count && !rc; t++)
            if (p->threads[t].calls || p->threads[t].samples)
                rc = section(p, o, out, t);
    } else {
        rc = section(p, o, out, RP_NONE);
    }
    int frc = rp_out_finish(out);
    free(out);
    return rc ? rc : frc;
}

int rp_write_top(rp_profile *p, const rp_write_options *o, const rp_output *dest)
{
    return write_sections(p, o, dest, top_section);
}

/* ---- tree ---- */

typedef struct walk_frame {
    uint32_t node;
    uint32_t next;              /* next child position in the order */
    size_t prefix_len;          /* the indentation for this node's children */
    size_t path_len;            /* collapsed: the path up to and including this node */
} walk_frame;

typedef struct walk {
    walk_frame *frames;
    size_t depth, cap;
    char *text;                 /* prefix (tree) or path (collapsed) */
    size_t text_len, text_cap;
} walk;

static int walk_push(walk *w, walk_frame f)
{
    if (w->depth == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        walk_frame *q = realloc(w->frames, cap * sizeof *q);
        if (!q)
            return TLD_E_NO_MEMORY;
        w->frames = q;
        w->cap = cap;
    }
    w->frames[w->depth++] = f;
    return 0;
}

static int walk_text(walk *w, size_t at, const char *s, size_t len)
{
    if (at + len + 1 > w->text_cap) {
        size_t cap = w->text_cap ? w->text_cap : 1024;
        while (cap < at + len + 1)
            cap *= 2;
        char *q = realloc(w->text, cap);
        if (!q)
            return TLD_E_NO_MEMORY;
        w->text = q;
        w->text_cap = cap;
    }
    memcpy(w->text + at, s, len);
    w->text_len = at + len;
    w->text[w->text_len] = 0;
    return 0;
}

static void walk_free(walk *w)
{
    free(w->frames);
    free(w->text);
}

/* ANSI colour of a share of the total, as pyinstrument colours its tree:
 * red from 60 %, yellow from 20 %, green from 5 %, dim below. */
static const char *share_colour(double percent)
{
    return percent >= 60 ? "\033[31m" : percent >= 20 ? "\033[33m" : percent >= 5 ? "\033[32m" : "\033[2m";
}

static void tree_line(rp_profile *p, rp_out *out, const char *prefix, const char *branch, const rp_node *n,
                      double total, int has_caller, int colour)
{
    char value[64];
    double v = rp_node_value(p, n);
    double percent = total > 0 ? 100.0 * v / total : 0;
    format_value(p, v, value, sizeof value);
    const rp_function *f = &p->functions[n->function];
    if (colour)
        rp_out_printf(out, "%s%s%s%.1f%% %s\033[0m  \033[1m%s\033[0m", prefix, branch, share_colour(percent), percent,
                      value, f->name);
    else
        rp_out_printf(out, "%s%s%.1f%% %s  %s", prefix, branch, percent, value, f->name);
    if (f->is_python && f->file[0])
        rp_out_printf(out, "  %s:%u", rp_short_path(f->file), f->line);
    else if (!f->is_address && f->file[0])
        rp_out_printf(out, "  [%s]", f->file);
    if (n->calls)
        rp_out_printf(out, "  %llu call%s", (unsigned long long)n->calls, n->calls == 1 ? "" : "s");
    if (rp_profile_has_calls(p) && n->first_child != RP_NONE) {
        format_value(p, rp_node_self_value(p, n), value, sizeof value);
        rp_out_printf(out, ", self %s", value);
    }
    if (has_caller && n->caller_line)
        rp_out_printf(out, ", from line %u", n->caller_line);
    rp_out_str(out, "\n");
}

static int tree_section(rp_profile *p, const rp_write_options *o, rp_out *out, uint32_t thread)
{
    rp_tree view;
    rp_order order;
    uint8_t *hidden = NULL;
    uint32_t hidden_count = 0;
    if (!(o && o->all_frames)) {
        hidden = malloc((size_t)p->function_count + 1);
        if (!hidden)
            return TLD_E_NO_MEMORY;
        hidden_count = rp_mark_import_machinery(p, hidden);
    }
    int rc = rp_tree_build_view_hiding(p, thread, hidden_count ? hidden : NULL, &view);
    free(hidden);
    if (rc)
        return rc;
    if ((rc = rp_order_build(p, &view, &order))) {
        rp_tree_free(&view);
        return rc;
    }
    double total = rp_node_value(p, &view.nodes[0]);
    double threshold = total * (o && o->min_percent >= 0 ? o->min_percent : 0.5) / 100.0;
    char value[64], name[128];
    format_total(p, total, value, sizeof value);
    if (thread != RP_NONE)
        rp_out_printf(out, "\nThread %s (tid %u): %s\n", rp_thread_display_name(p, thread, name, sizeof name),
                      p->threads[thread].tid, value);
    else
        rp_out_printf(out, "%s in all (all threads)\n", value);
    if (hidden_count)
        rp_out_str(out, "(frames of the import machinery, <frozen importlib._bootstrap*>, are hidden: --all-frames shows them)\n");
    walk w = {0};
    rc = walk_push(&w, (walk_frame){0, order.start[0], 0, 0});
    if (!rc)
        rc = walk_text(&w, 0, "", 0);
    while (!rc && w.depth) {
        walk_frame *top = &w.frames[w.depth - 1];
        uint32_t end = order.start[top->node + 1];
        if (top->next >= end) {
            w.depth--;
            continue;
        }
        uint32_t child = order.children[top->next++];
        const rp_node *c = &view.nodes[child];
        int last = top->next >= end;
        if (rp_node_value(p, c) < threshold) {
            /* This child and the rest (sorted: all smaller) fold into one line. */
            uint32_t folded = 0;
            double sum = 0;
            for (uint32_t k = top->next - 1; k < end; k++) {
                folded++;
                sum += rp_node_value(p, &view.nodes[order.children[k]]);
            }
            top->next = end;
            format_value(p, sum, value, sizeof value);
            w.text[top->prefix_len] = 0;
            rp_out_printf(out, "%s└─ [%u smaller: %s in all, each below %.1f%%]\n", w.text, folded, value,
                          o && o->min_percent >= 0 ? o->min_percent : 0.5);
            continue;
        }
        w.text[top->prefix_len] = 0;
        tree_line(p, out, w.text, last ? "└─ " : "├─ ", c, total, top->node != 0, o && o->colour);
        size_t child_prefix = top->prefix_len;
        if ((rc = walk_text(&w, child_prefix, last ? "   " : "│  ", last ? 3 : 5)))
            break;
        rc = walk_push(&w, (walk_frame){child, order.start[child], w.text_len, 0});
    }
    walk_free(&w);
    rp_order_free(&order);
    rp_tree_free(&view);
    return rc;
}

int rp_write_tree(rp_profile *p, const rp_write_options *o, const rp_output *dest)
{
    return write_sections(p, o, dest, tree_section);
}

/* ---- collapsed ---- */

static int collapsed_section(rp_profile *p, rp_out *out, uint32_t thread, const char *root_label)
{
    rp_tree view;
    rp_order order;
    int rc = rp_tree_build_view(p, thread, &view);
    if (rc)
        return rc;
    if ((rc = rp_order_build(p, &view, &order))) {
        rp_tree_free(&view);
        return rc;
    }
    walk w = {0};
    rc = walk_text(&w, 0, root_label ? root_label : "", root_label ? strlen(root_label) : 0);
    if (!rc)
        rc = walk_push(&w, (walk_frame){0, order.start[0], 0, w.text_len});
    char label[LABEL_MAX];
    while (!rc && w.depth) {
        walk_frame *top = &w.frames[w.depth - 1];
        if (top->next >= order.start[top->node + 1]) {
            w.depth--;
            continue;
        }
        uint32_t child = order.children[top->next++];
        const rp_node *c = &view.nodes[child];
        size_t at = top->path_len;
        rp_function_label(&p->functions[c->function], 1, label, sizeof label);
        if (at && (rc = walk_text(&w, at++, ";", 1)))
            break;
        if ((rc = walk_text(&w, at, label, strlen(label))))
            break;
        double self = rp_node_self_value(p, c);
        long long count = llround(self);
        if (count > 0) {
            rp_out_write(out, w.text, w.text_len);
            rp_out_printf(out, " %lld\n", count);
        }
        rc = walk_push(&w, (walk_frame){child, order.start[child], 0, w.text_len});
    }
    walk_free(&w);
    rp_order_free(&order);
    rp_tree_free(&view);
    return rc;
}

int rp_write_collapsed(rp_profile *p, const rp_write_options *o, const rp_output *dest)
{
    if (!p->finished)
        return TLD_E_REPORT_NOT_FINISHED;
    rp_out *out = malloc(sizeof *out);
    if (!out)
        return TLD_E_NO_MEMORY;
    rp_out_init(out, dest);
    int rc = 0;
    if (o && o->per_thread) {
        char name[128], label[160];
        for (uint32_t t = 0; t < p->thread_count && !rc; t++) {
            if (!p->threads[t].calls && !p->threads[t].samples)
                continue;
            snprintf(label, sizeof label, "%s (tid %u)", rp_thread_display_name(p, t, name, sizeof name),
                     p->threads[t].tid);
            for (char *c = label; *c; c++)
                if (*c == ';')
                    *c = ':';
            rc = collapsed_section(p, out, t, label);
        }
    } else {
        rc = collapsed_section(p, out, RP_NONE, NULL);
    }
    int frc = rp_out_finish(out);
    free(out);
    return rc ? rc : frc;
}
