/*
 * report_html.c — the self-contained HTML report (report_writers.h): the
 * page of html/report.html (embedded at build time by html/embed.py) with
 * the profile's data as JSON in place of its marker.
 *
 * Data:
 *   {"title": str, "summary": str, "unit": "ns" | "samples",
 *    "functions": [[name, short file, line, kind (0 Python, 1 builtin, 2 native)], ...],
 *    "views": [{"name": str, "nodes": [function, parent, value, self, calls, line, ...]}, ...]}
 *
 * A view is a call tree flattened in depth-first order with children
 * largest first: six numbers per node (line: the line of the parent's
 * function it was first called from, 0 when unknown), the root first
 * (function -1, parent -1), each parent before its children. The first view merges
 * every thread; each thread with calls or samples follows when there is
 * more than one.
 */
#include "report_writers.h"
#include "tree_order.h"

#include <stdlib.h>
#include <string.h>

extern const unsigned char rp_html_template[];
extern const size_t rp_html_template_len;

#define DATA_MARKER "/*@DATA@*/"

/* Collects the summary text in memory. */
typedef struct text_buf {
    char *data;
    size_t len, cap;
} text_buf;

static int text_write(void *ctx, const char *data, size_t len)
{
    text_buf *b = ctx;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *q = realloc(b->data, cap);
        if (!q)
            return TLD_E_NO_MEMORY;
        b->data = q;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = 0;
    return 0;
}

static int write_view(rp_profile *p, rp_out *out, uint32_t thread, const char *name)
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
    /* Depth-first, children largest first; out_index maps view nodes to
     * their position in the output. */
    uint32_t *out_index = malloc(((size_t)view.count + 1) * sizeof *out_index);
    uint32_t *stack = malloc(((size_t)view.count + 1) * sizeof *stack);
    if (!out_index || !stack) {
        free(out_index);
        free(stack);
        rp_order_free(&order);
        rp_tree_free(&view);
        return TLD_E_NO_MEMORY;
    }
    rp_out_str(out, "{\"name\":");
    rp_out_json_string_html(out, name, strlen(name));
    rp_out_str(out, ",\"nodes\":[");
    uint32_t depth = 0, written = 0;
    stack[depth++] = 0;
    while (depth) {
        uint32_t n = stack[--depth];
        const rp_node *v = &view.nodes[n];
        out_index[n] = written;
        rp_out_printf(out, "%s%d,%d,", written ? ",\n" : "", n ? (int)v->function : -1,
                      n ? (int)out_index[v->parent] : -1);
        rp_out_number(out, rp_node_value(p, v), 3);
        rp_out_str(out, ",");
        rp_out_number(out, n ? rp_node_self_value(p, v) : 0, 3);
        rp_out_printf(out, ",%llu,%u", (unsigned long long)v->calls, n ? v->caller_line : 0);
        written++;
        /* Push children smallest first so the largest is written next. */
        for (uint32_t k = order.start[n + 1]; k-- > order.start[n];)
            stack[depth++] = order.children[k];
    }
    rp_out_str(out, "]}");
    free(out_index);
    free(stack);
    rp_order_free(&order);
    rp_tree_free(&view);
    return 0;
}

int rp_write_html(rp_profile *p, const rp_write_options *o, const rp_output *dest)
{
    if (!p->finished)
        return TLD_E_REPORT_NOT_FINISHED;
    const char *tpl = (const char *)rp_html_template;
    const char *marker = strstr(tpl, DATA_MARKER);
    if (!marker)
        return TLD_E_REPORT_INVALID;
    text_buf summary = {0};
    rp_output summary_out = {text_write, &summary};
    int rc = rp_write_summary(p, o, &summary_out);
    rp_out *out = malloc(sizeof *out);
    if (rc || !out) {
        free(summary.data);
        free(out);
        return rc ? rc : TLD_E_NO_MEMORY;
    }
    rp_out_init(out, dest);
    rp_out_write(out, tpl, (size_t)(marker - tpl));
    const char *title = o && o->title && o->title[0] ? o->title : "profile";
    rp_out_str(out, "{\"title\":");
    rp_out_json_string_html(out, title, strlen(title));
    rp_out_str(out, ",\"summary\":");
    rp_out_json_string_html(out, summary.data ? summary.data : "", summary.len);
    rp_out_printf(out, ",\"unit\":\"%s\",\n\"functions\":[", rp_profile_has_calls(p) ? "ns" : "samples");
    for (uint32_t i = 0; i < p->function_count; i++) {
        const rp_function *f = &p->functions[i];
        const char *file = f->is_python ? rp_short_path(f->file) : f->file;
        rp_out_str(out, i ? ",\n[" : "\n[");
        rp_out_json_string_html(out, f->name, strlen(f->name));
        rp_out_str(out, ",");
        rp_out_json_string_html(out, file, strlen(file));
        rp_out_printf(out, ",%u,%d]", f->line, f->is_address ? 2 : f->is_python ? 0 : 1);
    }
    rp_out_str(out, "],\n\"views\":[");
    uint32_t active = 0;
    for (uint32_t t = 0; t < p->thread_count; t++)
        active += p->threads[t].calls || p->threads[t].samples;
    rc = write_view(p, out, RP_NONE, active > 1 ? "All threads" : "All");
    char name[128], full[200];
    for (uint32_t t = 0; t < p->thread_count && active > 1 && !rc; t++) {
        if (!p->threads[t].calls && !p->threads[t].samples)
            continue;
        snprintf(full, sizeof full, "%s (tid %u)", rp_thread_display_name(p, t, name, sizeof name), p->threads[t].tid);
        rp_out_str(out, ",\n");
        rc = write_view(p, out, t, full);
    }
    rp_out_str(out, "]}");
    const char *rest = marker + strlen(DATA_MARKER);
    rp_out_write(out, rest, rp_html_template_len - (size_t)(rest - tpl));
    int frc = rp_out_finish(out);
    free(out);
    free(summary.data);
    return rc ? rc : frc;
}
