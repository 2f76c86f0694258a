/*
 * profile.h — the profile model every report is written from: functions,
 * threads, a call tree per thread (exact calls and times from
 * instrumented entry/exit events, and/or sample weights), marks, and
 * optionally the timeline of calls for the time-ordered formats.
 *
 * Input is independent of where the events come from (an .etl file, perf,
 * a future sampler): adapters call
 *
 *     rp_define_function   a function (id, name, file, line, address range)
 *     rp_call_enter/exit   instrumented entry and exit on a thread
 *     rp_sample_functions  a stack of function ids, root first, with a weight
 *                          (rp_sample_function_lines: and their lines)
 *     rp_sample_addresses  native return addresses, innermost first: mapped
 *                          to functions through their address ranges
 *     rp_mark              a mark (plain, start or stop of a range)
 *     rp_thread_named/started/stopped
 *     rp_note_damage       the input was damaged (the first sentence is kept)
 *
 * then rp_profile_finish() (open calls end at their thread's last
 * timestamp; self times are computed), after which the writers
 * (report_writers.h) read it. Timestamps are nanoseconds on one clock; the
 * model reports them relative to the earliest one seen.
 *
 * Memory grows with the number of distinct functions, threads and call
 * stacks (tree nodes), not with the number of events: an entry that
 * repeats a known stack only adds to counters. The one exception is the
 * optional timeline (rp_options.record_timeline), kept in an anonymous
 * temporary file, not in memory: 16 bytes per entry, exit and sample.
 *
 * Functions are identified by (process id, function id), as the "Python"
 * provider's FunctionIDs are per process. An id used before it is defined
 * gets a placeholder name ("<function 0x1f>") that a later definition
 * replaces. Exits are matched to the open call of the same function: an
 * exit for a call that is not open (tracing started inside it) is counted
 * and ignored; an exit for a call below the top closes the calls above it
 * first (their exits were lost).
 */
#ifndef TLD_REPORT_PROFILE_H
#define TLD_REPORT_PROFILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tracelogging/tld_errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Errors: the codes of tracelogging/tld_errors.h (the reports block is
 * TLD_E_REPORT_*); tld_strerror() says them in a sentence. */

#define RP_NONE UINT32_MAX

enum rp_mark_kind { RP_MARK_PLAIN = 0, RP_MARK_START = 1, RP_MARK_STOP = 2 };

typedef struct rp_options {
    int record_timeline;      /* keep calls, samples and marks in time order (chrome, speedscope evented) */
    int python_only;          /* address samples: drop addresses outside every function's range */
    int lines;                /* samples with lines: a frame is its function at that line */
} rp_options;

typedef struct rp_function {
    char *name;               /* UTF-8, owned */
    char *file;               /* UTF-8, owned; "" when unknown */
    uint32_t line;            /* first line; 0 when unknown */
    int is_python;            /* 1 Python code, 0 builtin or native */
    int defined;              /* 0: a placeholder for an id seen before its definition */
    int is_address;           /* a native address frame from an address sample */
    uint32_t pid;
    uint64_t id;              /* the input's function id, or the address for address frames */
    uint64_t begin, end;      /* address range [begin, end), 0..0 when none */
} rp_function;

/* A node of the call tree: one distinct stack. Thread roots have
 * function == RP_NONE. Children of a node are a singly linked list. */
typedef struct rp_node {
    uint32_t function;
    uint32_t parent;
    uint32_t first_child;
    uint32_t next_sibling;
    uint32_t thread;          /* the thread whose tree holds it (RP_NONE in merged trees) */
    uint32_t caller_line;     /* line in the parent's function of the first call seen; 0 unknown */
    uint64_t calls;           /* completed or closed calls */
    uint64_t time_ns;         /* inclusive time of those calls */
    uint64_t self_ns;         /* time_ns minus the children's (rp_profile_finish) */
    double weight;            /* inclusive sample weight */
    double self_weight;       /* weight of samples whose innermost frame is this node */
} rp_node;

typedef struct rp_tree {
    rp_node *nodes;
    uint32_t count, cap;
    /* (parent, function) -> child node: open addressing, power-of-two size. */
    uint64_t *child_keys;
    uint32_t *child_values;
    uint32_t child_slots, child_used;
} rp_tree;

typedef struct rp_open_call {
    uint32_t node;
    uint32_t function;
    uint64_t start_ns;
} rp_open_call;

typedef struct rp_thread {
    uint32_t pid, tid;
    char *name;               /* owned; NULL until named */
    uint32_t root;            /* its root node in the profile's tree */
    uint64_t first_ns, last_ns;
    int seen;                 /* first_ns/last_ns are set */
    uint64_t calls;           /* entries seen */
    uint64_t samples;
    rp_open_call *stack;
    uint32_t depth, stack_cap;
} rp_thread;

typedef struct rp_mark {
    uint32_t thread;
    int kind;                 /* enum rp_mark_kind */
    uint64_t ts_ns;
    char *text;               /* owned */
} rp_mark;

typedef struct rp_range {
    uint64_t begin, end;
    uint32_t function;
} rp_range;

typedef struct rp_profile rp_profile;

/* The profile's contents, read by the writers after rp_profile_finish(). */
struct rp_profile {
    rp_options options;
    rp_function *functions;
    uint32_t function_count, function_cap;
    rp_thread *threads;
    uint32_t thread_count, thread_cap;
    rp_tree tree;             /* one root per thread */
    rp_mark *marks;
    uint32_t mark_count, mark_cap;
    uint64_t first_ns, last_ns;  /* earliest and latest timestamps seen */
    int have_time;
    /* Counters shown in summaries. */
    uint64_t events;          /* input calls (enter, exit, sample, mark, ...) */
    uint64_t calls;           /* entries */
    uint64_t samples;
    double sample_weight;
    uint64_t unmatched_exits; /* exits of calls not open (tracing started inside them) */
    uint64_t lost_exits;      /* calls closed because an outer exit came first */
    uint64_t closed_at_end;   /* calls still open at the end */
    uint64_t damage_count;
    char damage[512];         /* the first damage sentence; "" when none */
    int finished;
    char message[256];        /* the last error as a sentence */
    /* Private: lookups and the timeline. */
    uint64_t *fn_keys;        /* (pid, id, is_address) pairs: 2 words per slot */
    uint32_t *fn_values;
    uint32_t fn_slots, fn_used;
    uint64_t *th_keys;
    uint32_t *th_values;
    uint32_t th_slots, th_used;
    uint32_t last_thread;     /* cache: the thread of the previous event */
    rp_range *ranges;         /* functions with an address range, sorted by begin */
    uint32_t range_count, range_cap;
    int ranges_sorted;
    uint32_t *sample_scratch;
    uint32_t sample_scratch_cap;
    FILE *timeline;
    unsigned char *tl_buf;
    size_t tl_used;
    uint64_t timeline_records;
};

/* Creates an empty profile. `options` may be NULL (defaults: no timeline).
 * Returns 0, TLD_E_NO_MEMORY or -errno (the timeline's temporary file). */
int rp_profile_new(rp_profile **out, const rp_options *options);
void rp_profile_free(rp_profile *p);

/* Defines (or redefines: a placeholder gets its real name) function `id` of
 * process `pid`. Strings are UTF-8 of the given lengths (not
 * NUL-terminated). begin == end means no address range. */
int rp_define_function(rp_profile *p, uint32_t pid, uint64_t id, const char *name, size_t name_len,
                       const char *file, size_t file_len, uint32_t line, uint64_t begin, uint64_t end,
                       int is_python);

/* Instrumented entry of function `id` on thread (pid, tid), called from
 * line `caller_line` of its caller (0 when unknown). */
int rp_call_enter(rp_profile *p, uint32_t pid, uint32_t tid, uint64_t ts_ns, uint64_t id, uint32_t caller_line);

/* Instrumented exit of function `id` (see the matching rules above). */
int rp_call_exit(rp_profile *p, uint32_t pid, uint32_t tid, uint64_t ts_ns, uint64_t id);

/* A sample: `count` function ids, root (outermost) first, taken at ts_ns. */
int rp_sample_functions(rp_profile *p, uint32_t pid, uint32_t tid, uint64_t ts_ns, const uint64_t *ids,
                        size_t count, double weight);

/* The same with each frame's current line (0: unknown). With
 * options.lines a frame is its function at that line ("f (file.py:12)",
 * each line of f a function of its own); else the lines are not used. */
int rp_sample_function_lines(rp_profile *p, uint32_t pid, uint32_t tid, uint64_t ts_ns, const uint64_t *ids,
                             const uint32_t *lines, size_t count, double weight);

/* A sample of native return addresses, innermost first: each address is
 * mapped to the function whose range holds it; other addresses become
 * frames named by their hex value (or are dropped: options.python_only). */
int rp_sample_addresses(rp_profile *p, uint32_t pid, uint32_t tid, uint64_t ts_ns, const uint64_t *addresses,
                        size_t count, double weight);

/* A mark with UTF-8 text. */
int rp_mark_add(rp_profile *p, uint32_t pid, uint32_t tid, uint64_t ts_ns, int kind, const char *text,
                size_t text_len);

int rp_thread_named(rp_profile *p, uint32_t pid, uint32_t tid, const char *name, size_t name_len);
int rp_thread_started(rp_profile *p, uint32_t pid, uint32_t tid, uint64_t ts_ns);
int rp_thread_stopped(rp_profile *p, uint32_t pid, uint32_t tid, uint64_t ts_ns);

/* Notes damage in the input: counted; the first sentence is kept. */
void rp_note_damage(rp_profile *p, const char *sentence);

/* Ends the input: closes open calls at their thread's last timestamp,
 * computes self times and weights. Further input is TLD_E_REPORT_FINISHED. */
int rp_profile_finish(rp_profile *p);

/* The last error as a sentence ("" when none). */
const char *rp_profile_message(const rp_profile *p);

/* ---- reading, after rp_profile_finish() ---- */

/* 1 when the profile holds instrumented calls (values are times), else
 * values are sample weights. */
int rp_profile_has_calls(const rp_profile *p);

/* A thread's display name: its given name, "main" for the thread whose id is
 * its process id, else "thread <tid>". Written into buf (NUL-terminated). */
const char *rp_thread_display_name(const rp_profile *p, uint32_t thread, char *buf, size_t size);

/* Builds into `out` (which must be zeroed or freed) the call tree of
 * thread `thread`, or of every thread merged when thread == RP_NONE: node 0
 * is the root; same (parent, function) paths are added together. Self
 * values are computed. Returns 0 or TLD_E_NO_MEMORY. */
int rp_tree_build_view(const rp_profile *p, uint32_t thread, rp_tree *out);

/* The same with the functions whose hidden[function] is set left out: their
 * children hang from their nearest shown ancestor, and their own time (or
 * sample weight) counts as that ancestor's self. `hidden` may be NULL. */
int rp_tree_build_view_hiding(const rp_profile *p, uint32_t thread, const uint8_t *hidden, rp_tree *out);

/* Marks (in hidden[], p->function_count entries) the import machinery:
 * functions of <frozen importlib._bootstrap> and _bootstrap_external.
 * Returns how many functions it marked. */
uint32_t rp_mark_import_machinery(const rp_profile *p, uint8_t *hidden);
void rp_tree_free(rp_tree *t);

/* The node's value: time in ns when the profile has calls, else weight. */
double rp_node_value(const rp_profile *p, const rp_node *n);
double rp_node_self_value(const rp_profile *p, const rp_node *n);

/* Per-function totals over a tree view (recursion counted once in the
 * inclusive value). `out` has p->function_count entries. */
typedef struct rp_function_total {
    double self;
    double inclusive;
    uint64_t calls;
    int present;
} rp_function_total;
int rp_function_totals(const rp_profile *p, const rp_tree *view, rp_function_total *out);

/* The timeline (record_timeline): entries in input order, which is time
 * order per thread. */
enum rp_timeline_kind {
    RP_TL_ENTER = 0,          /* value: function */
    RP_TL_EXIT = 1,           /* value: function */
    RP_TL_SAMPLE = 2,         /* value: the sample's innermost tree node; next entry: RP_TL_WEIGHT */
    RP_TL_WEIGHT = 3,         /* ts field holds the weight's bits (double) */
};
typedef struct rp_timeline_entry {
    uint32_t thread;
    uint32_t kind;
    uint32_t value;
    uint64_t ts_ns;
} rp_timeline_entry;

/* Rewinds the timeline for reading; then rp_timeline_next() returns 0 with
 * an entry, TLD_E_END at the end, or -errno / TLD_E_REPORT_NO_TIMELINE. */
int rp_timeline_rewind(rp_profile *p);
int rp_timeline_next(rp_profile *p, rp_timeline_entry *e);

#ifdef __cplusplus
}
#endif

#endif
