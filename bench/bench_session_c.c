/*
 * bench_session_c.c — events per second from C into an in-process session
 * (.etl file), with 1 and 4 writer threads. Each event is built and written
 * the way a C user would: reset a builder, add one u32 field, write; then
 * the same event as a prepared event (tld_prepared_event_write with the
 * 4-byte value), the path etwtrace's Push/Pop take.
 * Also prints, side by side, the same loop with nobody listening (build +
 * the is_enabled check only), so the session's own cost can be read off.
 *
 *   bench_session_c [events-per-thread] [output-dir]
 *
 * Not part of the pass/fail tests (see tests/c/build_session_tests.sh).
 */
#include "tracelogging/tld.h"
#include "tracelogging/tld_session.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NAME(s) s, (sizeof s - 1)

typedef struct job {
    tld_provider *p;
    tld_prepared_event *prepared; /* NULL: build each event */
    unsigned long n;
    pthread_barrier_t *go;
} job;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *writer(void *arg)
{
    job *j = arg;
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    tld_event_descriptor d = tld_event_descriptor_default(4, 1);
    pthread_barrier_wait(j->go);
    if (j->prepared != NULL) {
        for (unsigned long i = 0; i < j->n; i++) {
            uint32_t v = (uint32_t)i;
            tld_prepared_event_write(j->prepared, &v, sizeof v);
        }
        tld_builder_destroy(&b);
        return NULL;
    }
    for (unsigned long i = 0; i < j->n; i++) {
        if (!tld_provider_is_enabled(j->p, 4, 1)) {
            /* Same building work, so the two runs compare like for like. */
            tld_builder_reset(&b, NAME("Tick"), &d, 0);
            tld_builder_add_uint32(&b, NAME("i"), (uint32_t)i, 0, 0);
            continue;
        }
        tld_builder_reset(&b, NAME("Tick"), &d, 0);
        tld_builder_add_uint32(&b, NAME("i"), (uint32_t)i, 0, 0);
        tld_provider_write(j->p, &b, NULL, NULL);
    }
    tld_builder_destroy(&b);
    return NULL;
}

/* Runs `threads` writers of n events each; returns events per second. */
static double run(tld_provider *p, tld_prepared_event *prepared, unsigned threads, unsigned long n)
{
    pthread_t th[16];
    job jobs[16];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, threads + 1);
    for (unsigned t = 0; t < threads; t++) {
        jobs[t] = (job){.p = p, .prepared = prepared, .n = n, .go = &go};
        pthread_create(&th[t], NULL, writer, &jobs[t]);
    }
    pthread_barrier_wait(&go);
    double t0 = now_s();
    for (unsigned t = 0; t < threads; t++)
        pthread_join(th[t], NULL);
    double dt = now_s() - t0;
    pthread_barrier_destroy(&go);
    return (double)threads * (double)n / dt;
}

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 2000000ul;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    char path[512];
    snprintf(path, sizeof path, "%s/bench_session_c.%ld.etl", dir, (long)getpid());

    tld_provider *p;
    if (tld_provider_open(&p, NAME("Bench.Session"), NULL, NULL) != 0)
        return 1;
    tld_prepared_event *tick;
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    tld_event_descriptor d = tld_event_descriptor_default(4, 1);
    tld_builder_reset(&b, NAME("Tick"), &d, 0);
    tld_builder_add_uint32(&b, NAME("i"), 0, 0, 0);
    if (tld_prepared_event_create(&tick, p, &b) != 0)
        return 1;
    tld_builder_destroy(&b);
    printf("bench_session_c: %lu events per thread, one u32 field, output %s\n", n, path);
    static const unsigned thread_counts[] = {1, 4};
    for (int prepared = 0; prepared < 2; prepared++) {
        for (size_t k = 0; k < 2; k++) {
            unsigned threads = thread_counts[k];
            tld_prepared_event *e = prepared ? tick : NULL;
            double idle = run(p, e, threads, n);

            tld_session_provider prov[] = {{.name = "Bench.Session", .name_len = 13}};
            char why[256] = "";
            tld_session_config cfg = {.path = path, .providers = prov, .provider_count = 1,
                                      .error_message = why, .error_message_size = sizeof why};
            tld_session *s;
            int rc = tld_session_start(&s, &cfg);
            if (rc != 0) {
                fprintf(stderr, "%s\n", why);
                return 1;
            }
            double t0 = now_s();
            double rate = run(p, e, threads, n);
            tld_session_stats st;
            tld_session_stop(s, &st);
            double with_stop = (double)threads * (double)n / (now_s() - t0);
            printf("%-8s %u thread%s: %6.2f M events/s into the session (%.2f M/s including stop's final "
                   "flush), %6.2f M/s with nobody listening; %llu events, %llu lost, %.1f MB file\n",
                   prepared ? "prepared" : "builder", threads, threads > 1 ? "s" : " ", rate / 1e6,
                   with_stop / 1e6, idle / 1e6, (unsigned long long)st.events_written,
                   (unsigned long long)st.events_lost, (double)st.buffers_written * 65536.0 / 1e6);
            unlink(path);
        }
    }
    tld_prepared_event_destroy(tick);
    tld_provider_close(p);
    return 0;
}
