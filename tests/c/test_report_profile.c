/*
 * test_report_profile.c — the profile model (src/report/profile.h) and its
 * writers on input with a known structure: exact tree, counts and times,
 * self + children = inclusive, recursion counted once per function,
 * unbalanced entry/exit, address samples mapped through function ranges,
 * and the exact folded stacks, tree and JSON the writers produce.
 * With an argument (an .etl file without Python events) the adapter runs
 * over it and must find no Python events and no damage.
 */
#include "check.h"

#include "etl_adapter.h"
#include "profile.h"
#include "report_writers.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct buf {
    char *data;
    size_t len;
} buf;

static int buf_write(void *ctx, const char *data, size_t len)
{
    buf *b = ctx;
    char *q = realloc(b->data, b->len + len + 1);
    if (!q)
        return TLD_E_NO_MEMORY;
    memcpy(q + b->len, data, len);
    b->data = q;
    b->len += len;
    b->data[b->len] = 0;
    return 0;
}

typedef int (*writer)(rp_profile *, const rp_write_options *, const rp_output *);

/* Runs a writer into a fresh string (free it). */
static char *render(writer w, rp_profile *p, const rp_write_options *o)
{
    buf b = {calloc(1, 1), 0};
    rp_output out = {buf_write, &b};
    int rc = w(p, o, &out);
    CHECK_EQ_INT(rc, 0);
    return b.data;
}

#define DEF(p, id, name, line) \
    CHECK_EQ_INT(rp_define_function(p, 1, id, name, strlen(name), "a.py", 4, line, 0, 0, 1), 0)

static uint32_t fn_index(rp_profile *p, const char *name)
{
    for (uint32_t i = 0; i < p->function_count; i++)
        if (!strcmp(p->functions[i].name, name))
            return i;
    return RP_NONE;
}

/* main -> rec(3 levels deep, twice) -> leaf; times in ns chosen so every
 * value is known. */
static void test_calls(void)
{
    rp_profile *p;
    rp_options opt = {.record_timeline = 1};
    CHECK_EQ_INT(rp_profile_new(&p, &opt), 0);
    DEF(p, 1, "main", 10);
    DEF(p, 2, "rec", 20);
    DEF(p, 3, "leaf", 30);
    uint64_t t = 1000;
    CHECK_EQ_INT(rp_call_enter(p, 1, 1, t, 1, 0), 0);
    for (int round = 0; round < 2; round++) {
        for (int d = 0; d < 3; d++)
            CHECK_EQ_INT(rp_call_enter(p, 1, 1, t += 10, 2, d ? 21 : 11), 0);
        CHECK_EQ_INT(rp_call_enter(p, 1, 1, t += 10, 3, 22), 0);
        CHECK_EQ_INT(rp_call_exit(p, 1, 1, t += 100, 3), 0);
        for (int d = 0; d < 3; d++)
            CHECK_EQ_INT(rp_call_exit(p, 1, 1, t += 10, 2), 0);
    }
    CHECK_EQ_INT(rp_call_exit(p, 1, 1, t += 50, 1), 0);
    CHECK_EQ_INT(rp_mark_add(p, 1, 1, 1005, RP_MARK_PLAIN, "hello", 5), 0);
    CHECK_EQ_INT(rp_profile_finish(p), 0);
    CHECK(rp_profile_has_calls(p));
    CHECK_EQ_INT(p->calls, 9);

    rp_tree v = {0};
    CHECK_EQ_INT(rp_tree_build_view(p, RP_NONE, &v), 0);
    /* root, main, rec, rec, rec, leaf */
    CHECK_EQ_INT(v.count, 6);
    uint64_t main_time = 2 * (30 + 10 + 100 + 30) + 50;
    CHECK_EQ_INT(v.nodes[0].time_ns, main_time);
    for (uint32_t i = 1; i < v.count; i++) {
        uint64_t children = 0;
        for (uint32_t c = v.nodes[i].first_child; c != RP_NONE; c = v.nodes[c].next_sibling)
            children += v.nodes[c].time_ns;
        CHECK_EQ_INT(v.nodes[i].self_ns + children, v.nodes[i].time_ns);
    }
    rp_function_total *tot = calloc(p->function_count, sizeof *tot);
    CHECK_EQ_INT(rp_function_totals(p, &v, tot), 0);
    uint32_t rec = fn_index(p, "rec"), leaf = fn_index(p, "leaf"), mainf = fn_index(p, "main");
    CHECK_EQ_INT(tot[rec].calls, 6);
    CHECK_EQ_INT(tot[leaf].calls, 2);
    CHECK_EQ_INT((uint64_t)tot[rec].inclusive, 2 * (20 + 10 + 100 + 20 + 10));   /* outermost rec only */
    CHECK_EQ_INT((uint64_t)tot[rec].self, 2 * (3 * 10 + 3 * 10));
    CHECK_EQ_INT((uint64_t)tot[leaf].self, 200);
    CHECK_EQ_INT((uint64_t)tot[mainf].self, 2 * 10 + 50);
    free(tot);
    rp_tree_free(&v);

    /* Hiding rec: leaf hangs from main, rec's self time is main's. */
    uint8_t *hidden = calloc(p->function_count, 1);
    hidden[rec] = 1;
    CHECK_EQ_INT(rp_tree_build_view_hiding(p, RP_NONE, hidden, &v), 0);
    CHECK_EQ_INT(v.count, 3);
    CHECK_EQ_INT(v.nodes[1].function, mainf);
    CHECK_EQ_INT(v.nodes[2].function, leaf);
    CHECK_EQ_INT(v.nodes[2].parent, 1);
    CHECK_EQ_INT(v.nodes[2].time_ns, 200);
    CHECK_EQ_INT(v.nodes[1].self_ns, 70 + 120);
    CHECK_EQ_INT(v.nodes[1].time_ns, main_time);
    free(hidden);
    rp_tree_free(&v);

    char *folded = render(rp_write_collapsed, p, NULL);
    CHECK(strcmp(folded,
                 "main (a.py:10) 70\n"
                 "main (a.py:10);rec (a.py:20) 40\n"
                 "main (a.py:10);rec (a.py:20);rec (a.py:20) 40\n"
                 "main (a.py:10);rec (a.py:20);rec (a.py:20);rec (a.py:20) 40\n"
                 "main (a.py:10);rec (a.py:20);rec (a.py:20);rec (a.py:20);leaf (a.py:30) 200\n") == 0);
    if (strcmp(folded, "") && check_failures)
        fprintf(stderr, "folded:\n%s", folded);
    free(folded);

    char *tree = render(rp_write_tree, p, &(rp_write_options){.min_percent = 0});
    CHECK(strstr(tree, "└─ 100.0% 390 ns  main  a.py:10  1 call, self 70 ns\n") != NULL);
    CHECK(strstr(tree, "leaf  a.py:30  2 calls, from line 22\n") != NULL);
    CHECK(strstr(tree, "rec  a.py:20  2 calls, self 40 ns, from line 11\n") != NULL);
    if (check_failures)
        fprintf(stderr, "tree:\n%s", tree);
    free(tree);

    char *top = render(rp_write_top, p, &(rp_write_options){.sort = RP_SORT_SELF});
    CHECK(strstr(top, "9 calls of 3 functions (instrumented)") != NULL);
    CHECK(strstr(top, "; 1 mark\n") != NULL);
    const char *l1 = strstr(top, "leaf (a.py:30)"), *l2 = strstr(top, "main (a.py:10)");
    CHECK(l1 && l2 && l1 < l2);   /* leaf has the most self time */
    free(top);

    char *ss = render(rp_write_speedscope, p, NULL);
    CHECK(strstr(ss, "\"type\":\"evented\"") != NULL);
    CHECK(strstr(ss, "{\"type\":\"O\",\"frame\":1,\"at\":1000}") != NULL);   /* frames sorted by name: leaf, main, rec */
    free(ss);

    char *chrome = render(rp_write_chrome, p, NULL);
    CHECK(strstr(chrome, "{\"ph\":\"X\",\"cat\":\"python\",\"name\":\"leaf\",\"ts\":0.040,\"dur\":0.100,\"pid\":1,\"tid\":1") != NULL);
    CHECK(strstr(chrome, "\"ph\":\"i\",\"cat\":\"mark\",\"name\":\"hello\"") != NULL);
    CHECK(strstr(chrome, "\"name\":\"thread_name\",\"pid\":1,\"tid\":1,\"args\":{\"name\":\"main\"}") != NULL);
    free(chrome);

    char *html = render(rp_write_html, p, NULL);
    CHECK(strstr(html, "\"unit\":\"ns\"") != NULL);
    CHECK(strstr(html, "/*@DATA@*/") == NULL);
    CHECK(strstr(html, "-1,-1,390,0,0") != NULL);
    free(html);
    rp_profile_free(p);
}

/* Tracing started inside calls (exits without entries), stopped early
 * (entries without exits), and a lost exit (an outer exit first). */
static void test_unbalanced(void)
{
    rp_profile *p;
    CHECK_EQ_INT(rp_profile_new(&p, NULL), 0);
    CHECK_EQ_INT(rp_call_exit(p, 1, 7, 100, 9), 0);          /* began before tracing */
    CHECK_EQ_INT(rp_call_enter(p, 1, 7, 110, 1, 0), 0);
    CHECK_EQ_INT(rp_call_enter(p, 1, 7, 120, 2, 0), 0);
    CHECK_EQ_INT(rp_call_enter(p, 1, 7, 130, 3, 0), 0);
    CHECK_EQ_INT(rp_call_exit(p, 1, 7, 150, 2), 0);          /* 3's exit was lost */
    CHECK_EQ_INT(rp_call_enter(p, 1, 7, 160, 4, 0), 0);      /* open at the end */
    CHECK_EQ_INT(rp_mark_add(p, 1, 7, 200, RP_MARK_PLAIN, "end", 3), 0);
    CHECK_EQ_INT(rp_profile_finish(p), 0);
    CHECK_EQ_INT(p->unmatched_exits, 1);
    CHECK_EQ_INT(p->lost_exits, 1);
    CHECK_EQ_INT(p->closed_at_end, 2);                        /* 4 and 1, at the thread's last event (200) */
    rp_tree v = {0};
    CHECK_EQ_INT(rp_tree_build_view(p, 0, &v), 0);
    CHECK_EQ_INT(v.nodes[0].time_ns, 90);                     /* 1: 110..200 */
    uint32_t placeholder = fn_index(p, "<function 0x4>");
    CHECK(placeholder != RP_NONE);
    rp_tree_free(&v);
    CHECK_EQ_INT(rp_call_enter(p, 1, 7, 300, 1, 0), TLD_E_REPORT_FINISHED);
    char *summary = render(rp_write_summary, p, NULL);
    CHECK(strstr(summary, "2 calls were still open") != NULL);
    CHECK(strstr(summary, "1 returns from calls that began before tracing") != NULL);
    free(summary);
    rp_profile_free(p);
}

/* Address samples: addresses inside function ranges become those
 * functions (innermost first in, root first in the tree); others hex. */
static void test_address_samples(void)
{
    rp_profile *p;
    rp_options opt = {.record_timeline = 1};
    CHECK_EQ_INT(rp_profile_new(&p, &opt), 0);
    CHECK_EQ_INT(rp_define_function(p, 5, 1, "outer", 5, "s.py", 4, 1, 0x1000, 0x1010, 1), 0);
    CHECK_EQ_INT(rp_define_function(p, 5, 2, "inner", 5, "s.py", 4, 5, 0x1010, 0x1020, 1), 0);
    uint64_t s1[] = {0x9999, 0x1015, 0x5555, 0x1001, 0x7777};
    CHECK_EQ_INT(rp_sample_addresses(p, 5, 6, 10, s1, 5, 1.0), 0);
    CHECK_EQ_INT(rp_sample_addresses(p, 5, 6, 20, s1, 5, 1.0), 0);
    uint64_t s2[] = {0x1005};
    CHECK_EQ_INT(rp_sample_addresses(p, 5, 6, 30, s2, 1, 2.0), 0);
    CHECK_EQ_INT(rp_profile_finish(p), 0);
    CHECK(!rp_profile_has_calls(p));
    char *folded = render(rp_write_collapsed, p, NULL);
    CHECK(strcmp(folded, "0x7777;outer (s.py:1);0x5555;inner (s.py:5);0x9999 2\nouter (s.py:1) 2\n") == 0);
    free(folded);
    char *ss = render(rp_write_speedscope, p, NULL);
    CHECK(strstr(ss, "\"type\":\"sampled\"") != NULL);
    CHECK(strstr(ss, "\"weights\":[1,1,2]") != NULL);
    free(ss);
    char *chrome = render(rp_write_chrome, p, NULL);
    CHECK(strstr(chrome, "\"name\":\"inner\",\"ts\":0.000,\"dur\":0.020") != NULL);   /* two samples merge */
    free(chrome);
    rp_profile_free(p);

    /* No function has a range: every address is a native frame. */
    CHECK_EQ_INT(rp_profile_new(&p, NULL), 0);
    uint64_t s3[] = {0x20, 0x10};
    CHECK_EQ_INT(rp_sample_addresses(p, 5, 6, 10, s3, 2, 1.0), 0);
    CHECK_EQ_INT(rp_profile_finish(p), 0);
    folded = render(rp_write_collapsed, p, NULL);
    CHECK(strcmp(folded, "0x10;0x20 1\n") == 0);
    free(folded);
    rp_profile_free(p);

    rp_options python_only = {.python_only = 1};
    CHECK_EQ_INT(rp_profile_new(&p, &python_only), 0);
    CHECK_EQ_INT(rp_define_function(p, 5, 1, "outer", 5, "s.py", 4, 1, 0x1000, 0x1010, 1), 0);
    CHECK_EQ_INT(rp_sample_addresses(p, 5, 6, 10, s1, 5, 1.0), 0);
    CHECK_EQ_INT(rp_profile_finish(p), 0);
    folded = render(rp_write_collapsed, p, NULL);
    CHECK(strcmp(folded, "outer (s.py:1) 1\n") == 0);
    free(folded);
    char *chrome_none = NULL;
    buf b = {0};
    rp_output out = {buf_write, &b};
    CHECK_EQ_INT(rp_write_chrome(p, NULL, &out), TLD_E_REPORT_NO_TIMELINE);
    free(b.data);
    free(chrome_none);
    rp_profile_free(p);
}

/* Names with characters JSON and HTML must escape, and ';' in folded stacks. */
static void test_escaping(void)
{
    rp_profile *p;
    CHECK_EQ_INT(rp_profile_new(&p, NULL), 0);
    const char *name = "a;b\"</script>\xff";
    CHECK_EQ_INT(rp_define_function(p, 1, 1, name, strlen(name), "x.py", 4, 1, 0, 0, 1), 0);
    CHECK_EQ_INT(rp_call_enter(p, 1, 1, 0, 1, 0), 0);
    CHECK_EQ_INT(rp_call_exit(p, 1, 1, 5, 1), 0);
    CHECK_EQ_INT(rp_profile_finish(p), 0);
    char *folded = render(rp_write_collapsed, p, NULL);
    CHECK(strncmp(folded, "a:b\"</script>\xff (x.py:1) 5\n", strlen(folded)) == 0);
    free(folded);
    char *html = render(rp_write_html, p, NULL);
    CHECK(strstr(html, "a;b\\\"\\u003c/script\\u003e\xEF\xBF\xBD") != NULL);
    free(html);
    char *ss = render(rp_write_speedscope, p, NULL);
    CHECK(strstr(ss, "\"name\":\"a;b\\\"</script>\xEF\xBF\xBD\"") != NULL);
    free(ss);
    rp_profile_free(p);
}

static void test_etl_without_python_events(const char *path, const char *not_etl)
{
    rp_profile *p;
    CHECK_EQ_INT(rp_profile_new(&p, NULL), 0);
    rp_etl_counts counts;
    char msg[300];
    CHECK_EQ_INT(rp_etl_load_file(p, path, &counts, msg, sizeof msg), 0);
    CHECK(counts.events > 0);
    CHECK_EQ_INT(counts.python_events, 0);
    /* The file's header says 3 events were lost: stated once. */
    CHECK_EQ_INT(p->damage_count, 1);
    CHECK(strcmp(p->damage, "the session lost 3 events while recording") == 0);
    CHECK_EQ_INT(rp_profile_finish(p), 0);
    char *summary = render(rp_write_summary, p, NULL);
    CHECK(strstr(summary, "no calls and no samples") != NULL);
    free(summary);
    rp_profile_free(p);
    CHECK_EQ_INT(rp_profile_new(&p, NULL), 0);
    CHECK_EQ_INT(rp_etl_load_file(p, "/nonexistent/x.etl", &counts, msg, sizeof msg), -ENOENT);
    CHECK(strstr(msg, "/nonexistent/x.etl") != NULL);
    CHECK_EQ_INT(rp_etl_load_file(p, not_etl, &counts, msg, sizeof msg), TLD_E_NOT_ETL);
    rp_profile_free(p);
}

int main(int argc, char **argv)
{
    test_calls();
    test_unbalanced();
    test_address_samples();
    test_escaping();
    if (argc > 1)
        test_etl_without_python_events(argv[1], argv[0]);   /* this program: no .etl */
    (void)check_hex;
    return check_report("test_report_profile");
}
