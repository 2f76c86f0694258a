/*
 * bench_report_c.c — throughput of the report core, two numbers side by
 * side: the profile model alone (synthetic entry/exit events of a
 * recursive call pattern, no file) and, given an .etl file, reading +
 * aggregating it (the whole `report` load path). Prints events/s and the
 * peak RSS. bench/bench_report.py drives it.
 *
 *     bench_report_c [--model N] [FILE.etl]
 */
#include "etl_adapter.h"
#include "profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long peak_rss_kb(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

/* Calls 16 levels deep at most, one of two functions per level, four
 * threads taking turns in runs of 4096 events: at most 2^16 distinct stacks
 * per thread, repeated many times, as instrumented traces of real programs
 * repeat theirs. */
static int model(uint64_t events)
{
    rp_profile *p;
    if (rp_profile_new(&p, NULL))
        return 1;
    for (uint64_t id = 1; id <= 40; id++) {
        char name[32];
        int n = snprintf(name, sizeof name, "function_%llu", (unsigned long long)id);
        rp_define_function(p, 1, id, name, (size_t)n, "bench.py", 8, (uint32_t)id, 0, 0, 1);
    }
    uint64_t ts = 0, done = 0, x = 88172645463325252ull;
    uint32_t depth[4] = {0};
    uint64_t stack[4][64];
    double t0 = now();
    while (done < events) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint32_t t = (uint32_t)(done >> 12) & 3;
        if (depth[t] == 0 || (depth[t] < 16 && (x & 1))) {
            uint64_t id = 1 + 2 * depth[t] + ((x >> 8) & 1);
            stack[t][depth[t]++] = id;
            rp_call_enter(p, 1, 100 + t, ts += 25, id, 7);
        } else {
            rp_call_exit(p, 1, 100 + t, ts += 25, stack[t][--depth[t]]);
        }
        done++;
    }
    rp_profile_finish(p);
    double dt = now() - t0;
    printf("model: %llu events in %.3f s = %.1f M events/s (%u tree nodes, peak RSS %ld MB)\n",
           (unsigned long long)events, dt, events / dt / 1e6, p->tree.count, peak_rss_kb() / 1024);
    rp_profile_free(p);
    return 0;
}

/* Reading the file into memory and walking + aggregating it, timed apart:
 * the first is what the streaming reader will change. */
static int file(const char *path)
{
    rp_profile *p;
    if (rp_profile_new(&p, NULL))
        return 1;
    uint8_t *data;
    size_t len;
    double t0 = now();
    if (etl_load_file(path, &data, &len) != 0) {
        fprintf(stderr, "cannot read %s\n", path);
        rp_profile_free(p);
        return 1;
    }
    double t1 = now();
    etl_reader r;
    rp_etl_counts counts;
    int rc = etl_reader_open(&r, data, len);
    if (!rc)
        rc = rp_etl_feed(p, &r, &counts);
    if (!rc)
        rc = rp_profile_finish(p);
    double t2 = now();
    etl_reader_close(&r);
    etl_free_file(data);
    if (rc) {
        fprintf(stderr, "%s: cannot report (%d)\n", path, rc);
        rp_profile_free(p);
        return 1;
    }
    printf("file: %llu events (%llu Python): read into memory %.3f s, walk + aggregate %.3f s = %.2f M events/s "
           "(%.2f M events/s in all; %u tree nodes, peak RSS %ld MB)\n",
           (unsigned long long)counts.events, (unsigned long long)counts.python_events, t1 - t0, t2 - t1,
           counts.events / (t2 - t1) / 1e6, counts.events / (t2 - t0) / 1e6, p->tree.count, peak_rss_kb() / 1024);
    rp_profile_free(p);
    return 0;
}

int main(int argc, char **argv)
{
    uint64_t n = 50000000;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            n = strtoull(argv[++i], NULL, 10);
        else
            rc |= file(argv[i]);
    }
    if (n)
        rc |= model(n);
    return rc;
}
