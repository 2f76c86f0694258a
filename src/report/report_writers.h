/*
 * report_writers.h — the report formats, each written from a finished
 * profile (profile.h) to an rp_output (report_output.h):
 *
 *   top         functions by self or inclusive value, with calls (text)
 *   tree        the call tree with inclusive values and percentages,
 *               branches below a threshold folded (text)
 *   collapsed   folded stacks "a;b;c 123", one line per distinct stack
 *   speedscope  speedscope's file format: evented profiles from calls,
 *               sampled from samples, one profile per thread
 *   chrome      Trace Event Format JSON: a complete ("X") event per call,
 *               instant events for marks, begin/end for mark ranges
 *   html        one self-contained page: flame graph and top table
 *
 * Values are times in nanoseconds when the profile holds instrumented
 * calls, else sample weights (rp_profile_has_calls). speedscope (evented)
 * and chrome need the profile's timeline (rp_options.record_timeline);
 * without it speedscope falls back to sampled profiles built from the
 * tree and chrome returns TLD_E_REPORT_NO_TIMELINE.
 */
#ifndef TLD_REPORT_WRITERS_H
#define TLD_REPORT_WRITERS_H

#include "profile.h"
#include "report_output.h"

#ifdef __cplusplus
extern "C" {
#endif

enum rp_sort { RP_SORT_SELF = 0, RP_SORT_INCLUSIVE = 1, RP_SORT_CALLS = 2, RP_SORT_NAME = 3 };

typedef struct rp_write_options {
    uint32_t limit;             /* top: rows (0 = all) */
    int sort;                   /* top: enum rp_sort */
    int per_thread;             /* top, tree, collapsed: one section (or root frame) per thread */
    double min_percent;         /* tree: children below this share of the total are folded */
    int all_frames;             /* tree: also show the import machinery (hidden by default) */
    int colour;                 /* tree: ANSI colours by share of the total (for terminals) */
    const char *title;          /* headers, speedscope name, HTML title (NULL: "profile") */
} rp_write_options;

int rp_write_top(rp_profile *p, const rp_write_options *o, const rp_output *out);
int rp_write_tree(rp_profile *p, const rp_write_options *o, const rp_output *out);
int rp_write_collapsed(rp_profile *p, const rp_write_options *o, const rp_output *out);
int rp_write_speedscope(rp_profile *p, const rp_write_options *o, const rp_output *out);
int rp_write_chrome(rp_profile *p, const rp_write_options *o, const rp_output *out);
int rp_write_html(rp_profile *p, const rp_write_options *o, const rp_output *out);

/* A one-paragraph summary: duration, threads, calls or samples, damage. */
int rp_write_summary(rp_profile *p, const rp_write_options *o, const rp_output *out);

#ifdef __cplusplus
}
#endif

#endif
