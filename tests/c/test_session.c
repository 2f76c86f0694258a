/*
 * test_session.c — in-process sessions through the public API
 * (tld_session.h + tld.h): ETW enable semantics (level, MatchAny, MatchAll,
 * several sessions, names and ids, providers opened after a session
 * starts, is_enabled flipping back), stacks and activity ids in the file,
 * many threads with exact per-thread counts and order, sessions starting
 * and stopping while 4 threads write, a file that cannot be created, and a
 * writer process killed with SIGKILL / TerminateProcess (started anew, not
 * forked) whose file must stay readable up to its last flush. Runs on
 * Windows (under Wine) too; only the fork test is POSIX's alone.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tracelogging/tld.h"
#include "tracelogging/tld_session.h"

#include "etl_test_parse.h"
#include "check.h"
#include "test_tmpdir.h"
#include "thread.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#if TEST_HAVE_FORK
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#define NAME(s) s, (sizeof s - 1)
#define sleep_ms test_sleep_ms

/* Writes one event "E" with fields thread (u32) and seq (u32). */
static int write_seq(tld_provider *p, tld_event_builder *b, uint8_t level, uint64_t keyword,
                     uint32_t thread, uint32_t seq)
{
    tld_event_descriptor d = tld_event_descriptor_default(level, keyword);
    tld_builder_reset(b, NAME("E"), &d, 0);
    tld_builder_add_uint32(b, NAME("thread"), thread, 0, 0);
    tld_builder_add_uint32(b, NAME("seq"), seq, 0, 0);
    return tld_provider_write(p, b, NULL, NULL);
}

static uint32_t ev_thread(const tp_event *e) { return load_le32(e->data); }
static uint32_t ev_seq(const tp_event *e) { return load_le32(e->data + 4); }
static uint8_t ev_level(const tp_event *e) { return e->desc[4]; }
static uint64_t ev_keyword(const tp_event *e) { return load_le64(e->desc + 8); }

static tld_session *start(const char *path, const tld_session_provider *prov, size_t n, uint32_t bs)
{
    char why[512] = "";
    tld_session_config cfg = {.path = path, .providers = prov, .provider_count = n, .buffer_size = bs,
                              .error_message = why, .error_message_size = sizeof why};
    tld_session *s = NULL;
    int rc = tld_session_start(&s, &cfg);
    if (rc != 0)
        fprintf(stderr, "tld_session_start: %s (%s)\n", why, tld_strerror(rc));
    CHECK_EQ_INT(rc, 0);
    return s;
}

static void stop_and_load(tld_session *s, const char *path, tp_file *f, tld_session_stats *st)
{
    tld_session_stats local;
    CHECK_EQ_INT(tld_session_stop(s, st ? st : &local), 0);
    CHECK_EQ_INT(tp_load(f, path, 1), 0);
    CHECK_EQ_INT(f->problems, 0);
    CHECK_EQ_INT(f->count, (st ? st : &local)->events_written);
}

/* ---- enable semantics ---------------------------------------------------- */

static void test_single_session_rules(void)
{
    tld_provider *p;
    CHECK_EQ_INT(tld_provider_open(&p, NAME("SessTest.Rules"), NULL, NULL), 0);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 0, 0), 0);

    char path[300];
    /* Name matched case-insensitively; level 3, MatchAny 0x0F, MatchAll 0x03. */
    tld_session_provider prov[] = {{.name = "sesstest.RULES", .name_len = 14, .level = 3,
                                    .match_any = 0x0F, .match_all = 0x03}};
    tld_session *s = start(tmp_path(path, sizeof path, "rules.etl"), prov, 1, 0);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 0, 0), 1);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 3, 0x03), 1);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 4, 0x03), 0);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 3, 0x01), 0);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 3, 0x30), 0);

    /* Write a grid of level x keyword; exactly ETW's matches are recorded. */
    static const uint8_t levels[] = {0, 1, 3, 4, 5};
    static const uint64_t keywords[] = {0, 0x01, 0x03, 0x07, 0x13, 0x30, 0x8000000000000003ull};
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    unsigned want = 0;
    for (size_t i = 0; i < sizeof levels; i++)
        for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
            uint8_t lv = levels[i];
            uint64_t kw = keywords[k];
            int ok = (lv == 0 || lv <= 3) && (kw == 0 || ((kw & 0x0F) && (kw & 0x03) == 0x03));
            want += ok;
            CHECK_EQ_INT(write_seq(p, &b, lv, kw, 0, (uint32_t)(i * 100 + k)), 0);
        }
    tp_file f;
    stop_and_load(s, path, &f, NULL);
    CHECK_EQ_INT(f.count, want);
    for (size_t j = 0; j < f.count; j++) {
        uint8_t lv = ev_level(&f.events[j]);
        uint64_t kw = ev_keyword(&f.events[j]);
        CHECK((lv == 0 || lv <= 3) && (kw == 0 || ((kw & 0x0F) && (kw & 0x03) == 0x03)));
        CHECK(memcmp(f.events[j].provider, tld_provider_id(p)->bytes_le, 16) == 0);
    }
    tp_free(&f);
    /* is_enabled flips back when the last session stops. */
    CHECK_EQ_INT(tld_provider_is_enabled(p, 0, 0), 0);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 3, 0x03), 0);

    /* MatchAny 0 means every keyword; level 0 means every level. */
    tld_session_provider all[] = {{.id = tld_provider_id(p)}};
    s = start(tmp_path(path, sizeof path, "all.etl"), all, 1, 0);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 255, 0x8000000000000000ull), 1);
    CHECK_EQ_INT(write_seq(p, &b, 255, 0x8000000000000000ull, 0, 1), 0);
    CHECK_EQ_INT(write_seq(p, &b, 0, 0, 0, 2), 0);
    stop_and_load(s, path, &f, NULL);
    CHECK_EQ_INT(f.count, 2);
    tp_free(&f);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 0, 0), 0);
    tld_builder_destroy(&b);
    tld_provider_close(p);
}

static void test_several_sessions(void)
{
    tld_provider *p, *other;
    CHECK_EQ_INT(tld_provider_open(&p, NAME("SessTest.Multi"), NULL, NULL), 0);
    CHECK_EQ_INT(tld_provider_open(&other, NAME("SessTest.Other"), NULL, NULL), 0);
    char path1[300], path2[300];
    tld_session_provider p1[] = {{.name = "SessTest.Multi", .name_len = 14, .level = 2, .match_any = 0x1}};
    tld_session_provider p2[] = {{.id = tld_provider_id(p), .level = 5, .match_any = 0x2}};
    tld_session *s1 = start(tmp_path(path1, sizeof path1, "multi1.etl"), p1, 1, 0);
    tld_session *s2 = start(tmp_path(path2, sizeof path2, "multi2.etl"), p2, 1, 0);
    CHECK_EQ_INT(tld_provider_is_enabled(other, 0, 0), 0);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 5, 0x2), 1);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 2, 0x1), 1);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 6, 0x2), 0);
    /* Conservative: (5, 0x1) looks enabled, though no session takes it. */
    CHECK_EQ_INT(tld_provider_is_enabled(p, 5, 0x1), 1);

    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    write_seq(p, &b, 5, 0x1, 0, 1); /* neither */
    write_seq(p, &b, 2, 0x1, 0, 2); /* s1 */
    write_seq(p, &b, 5, 0x2, 0, 3); /* s2 */
    write_seq(p, &b, 1, 0x3, 0, 4); /* both */
    write_seq(other, &b, 1, 0x3, 0, 5); /* neither */

    tld_session_stats st2;
    tp_file f;
    stop_and_load(s2, path2, &f, &st2);
    CHECK_EQ_INT(f.count, 2);
    if (f.count == 2) {
        CHECK_EQ_INT(ev_seq(&f.events[0]), 3);
        CHECK_EQ_INT(ev_seq(&f.events[1]), 4);
    }
    tp_free(&f);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 5, 0x2), 0);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 2, 0x1), 1);

    /* A provider opened while a session runs is enabled at once. */
    tld_provider *late;
    CHECK_EQ_INT(tld_provider_open(&late, NAME("SESSTEST.MULTI"), NULL, NULL), 0);
    CHECK_EQ_INT(tld_provider_is_enabled(late, 2, 0x1), 1);
    write_seq(late, &b, 2, 0x1, 0, 6);

    stop_and_load(s1, path1, &f, NULL);
    CHECK_EQ_INT(f.count, 3);
    if (f.count == 3) {
        CHECK_EQ_INT(ev_seq(&f.events[0]), 2);
        CHECK_EQ_INT(ev_seq(&f.events[1]), 4);
        CHECK_EQ_INT(ev_seq(&f.events[2]), 6);
        CHECK(memcmp(f.events[2].provider, tld_provider_id(late)->bytes_le, 16) == 0);
    }
    tp_free(&f);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 0, 0), 0);
    CHECK_EQ_INT(tld_provider_is_enabled(late, 0, 0), 0);
    tld_builder_destroy(&b);
    tld_provider_close(late);
    tld_provider_close(other);
    tld_provider_close(p);
}

/* ---- stacks and activity ids -------------------------------------------- */

static volatile int sink_result;

__attribute__((noinline)) static void write_with_stack(tld_provider *p, tld_event_builder *b,
                                                        const tld_guid *act, const tld_guid *rel)
{
    sink_result = tld_provider_write(p, b, act, rel);
    sink_result += 0; /* keeps the call from being a tail call */
}

static void test_stacks_and_activities(void)
{
    tld_provider *p;
    CHECK_EQ_INT(tld_provider_open(&p, NAME("SessTest.Stack"), NULL, NULL), 0);
    char path[300];
    tld_session_provider prov[] = {{.name = "SessTest.Stack", .name_len = 14, .stack_keywords = 0x10}};
    tld_session *s = start(tmp_path(path, sizeof path, "stack.etl"), prov, 1, 0);
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    tld_guid act = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
    tld_guid rel = {{0xf0, 0xe0, 0xd0, 0xc0, 0xb0, 0xa0, 0x90, 0x80, 0x70, 0x60, 0x50, 0x40, 0x30, 0x20, 0x10, 0}};
    tld_event_descriptor d = tld_event_descriptor_default(4, 0x11);
    tld_builder_reset(&b, NAME("WithStack"), &d, 0);
    write_with_stack(p, &b, &act, &rel);
    d = tld_event_descriptor_default(4, 0x01);
    tld_builder_reset(&b, NAME("NoStack"), &d, 0);
    write_with_stack(p, &b, NULL, NULL);
    tp_file f;
    stop_and_load(s, path, &f, NULL);
    CHECK_EQ_INT(f.count, 2);
    if (f.count == 2) {
        const tp_event *e = &f.events[0];
        CHECK(e->has_stack);
        CHECK(e->stack_count >= 2);
        uint64_t first = e->stack_count ? load_le64(e->stack) : 0;
        uintptr_t fn = (uintptr_t)write_with_stack;
        if (!(first > fn && first < fn + 512))
            fprintf(stderr, "stack[0] = 0x%llx, write_with_stack at 0x%llx\n",
                    (unsigned long long)first, (unsigned long long)fn);
        CHECK(first > fn && first < fn + 512); /* starts in the caller of tld_provider_write */
        CHECK(memcmp(e->activity, act.bytes_le, 16) == 0);
        CHECK(e->related != NULL && memcmp(e->related, rel.bytes_le, 16) == 0);
        const tp_event *e2 = &f.events[1];
        static const uint8_t zero[16];
        CHECK(!e2->has_stack);
        CHECK(e2->related == NULL);
        CHECK(memcmp(e2->activity, zero, 16) == 0);
        /* The metadata blob is the builder's, byte for byte. */
        CHECK(e2->meta_len > 10 && memcmp(e2->meta + 3, "NoStack", 8) == 0);
        CHECK(e2->traits_len == 2 + 14 + 1 && memcmp(e2->traits + 2, "SessTest.Stack", 15) == 0);
    }
    tp_free(&f);
    tld_builder_destroy(&b);
    tld_provider_close(p);
}

/* ---- many threads, exact counts ------------------------------------------- */

typedef struct writer_arg {
    tld_provider *p;
    uint32_t index;
    uint32_t count;            /* 0: until `stop` */
    atomic_int *stop;
    uint32_t written;
    uint32_t tid;
} writer_arg;

static void writer_main(void *argp)
{
    writer_arg *a = argp;
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    uint32_t seq = 0;
    for (;;) {
        if (a->count ? seq >= a->count : atomic_load(a->stop) != 0)
            break;
        if (tld_provider_is_enabled(a->p, 4, 1))
            write_seq(a->p, &b, 4, 1, a->index, seq);
        seq++;
        if (a->count == 0 && seq % 32 == 0)
            sleep_ms(0), tld_thread_yield();
    }
    a->written = seq;
    tld_builder_destroy(&b);
}

/* Every thread's events appear in order; `contiguous`: without gaps. */
static void check_thread_order(const tp_file *f, unsigned threads, int contiguous, uint32_t *counts)
{
    int64_t last[32];
    uint32_t tids[32] = {0};
    for (unsigned t = 0; t < threads; t++) {
        last[t] = -1;
        counts[t] = 0;
    }
    int bad = 0;
    for (size_t i = 0; i < f->count; i++) {
        uint32_t t = ev_thread(&f->events[i]), seq = ev_seq(&f->events[i]);
        if (t >= threads) {
            bad++;
            continue;
        }
        if (tids[t] == 0)
            tids[t] = f->events[i].tid;
        if (f->events[i].tid != tids[t])
            bad++;
        if (contiguous ? (last[t] >= 0 && seq != last[t] + 1) : (int64_t)seq <= last[t])
            bad++;
        last[t] = seq;
        counts[t]++;
    }
    CHECK_EQ_INT(bad, 0);
}

static void test_many_threads(void)
{
    enum { THREADS = 4, EACH = 100000 };
    tld_provider *p;
    CHECK_EQ_INT(tld_provider_open(&p, NAME("SessTest.Threads"), NULL, NULL), 0);
    char path[300];
    tld_session_provider prov[] = {{.name = "SessTest.Threads", .name_len = 16}};
    char why[256];
    /* Few small buffers: writers run into backpressure and must not lose events. */
    tld_session_config cfg = {.path = tmp_path(path, sizeof path, "threads.etl"), .providers = prov,
                              .provider_count = 1, .buffer_size = 16384, .buffer_count = 3,
                              .error_message = why, .error_message_size = sizeof why};
    tld_session *s;
    CHECK_EQ_INT(tld_session_start(&s, &cfg), 0);
    tld_thread th[THREADS];
    writer_arg args[THREADS];
    for (unsigned t = 0; t < THREADS; t++) {
        args[t] = (writer_arg){.p = p, .index = t, .count = EACH};
        CHECK_EQ_INT(tld_thread_start(&th[t], writer_main, &args[t]), 0);
    }
    for (unsigned t = 0; t < THREADS; t++)
        tld_thread_join(&th[t]);
    tld_session_stats st;
    tp_file f;
    stop_and_load(s, path, &f, &st);
    CHECK_EQ_INT(st.events_written, THREADS * EACH);
    CHECK_EQ_INT(st.events_lost, 0);
    CHECK_EQ_INT(f.count, THREADS * EACH);
    CHECK_EQ_INT(f.buffers_written, st.buffers_written);
    uint32_t counts[THREADS];
    check_thread_order(&f, THREADS, 1, counts);
    for (unsigned t = 0; t < THREADS; t++)
        CHECK_EQ_INT(counts[t], EACH);
    tp_free(&f);
    remove(path);
    tld_provider_close(p);
}

/* ---- per-thread buffers (lanes) ------------------------------------------- */

/* Timestamps never decrease within a buffer, nor along one thread's events
 * in file order (its buffers are in the file in the order it filled them). */
static void check_timestamps(const tp_file *f, unsigned threads)
{
    uint64_t last_in_thread[16] = {0};
    int bad_buffer = 0, bad_thread = 0;
    for (size_t i = 0; i < f->count; i++) {
        const tp_event *e = &f->events[i];
        if (i > 0 && f->events[i - 1].buffer == e->buffer && e->timestamp < f->events[i - 1].timestamp)
            bad_buffer++;
        uint32_t t = ev_thread(e);
        if (t < threads && t < 16) {
            bad_thread += e->timestamp < last_in_thread[t];
            last_in_thread[t] = e->timestamp;
        }
    }
    CHECK_EQ_INT(bad_buffer, 0);
    CHECK_EQ_INT(bad_thread, 0);
}

/*
 * More threads than lanes (buffer_count 8: 6 lanes, the rest share a
 * buffer), in two waves so the second wave's threads reuse the lanes the
 * first left behind. Small buffers: constant sealing and back-pressure.
 * Nothing lost, each thread's events gap-free and in order, timestamps
 * non-decreasing per buffer and per thread.
 */
static void test_lanes(void)
{
    enum { WAVE = 8, THREADS = 2 * WAVE, EACH = 20000 };
    tld_provider *p;
    CHECK_EQ_INT(tld_provider_open(&p, NAME("SessTest.Lanes"), NULL, NULL), 0);
    char path[300];
    tld_session_provider prov[] = {{.name = "SessTest.Lanes", .name_len = 14}};
    char why[256];
    tld_session_config cfg = {.path = tmp_path(path, sizeof path, "lanes.etl"), .providers = prov,
                              .provider_count = 1, .buffer_size = 8192, .buffer_count = 8,
                              .flush_interval_ms = 2, .error_message = why, .error_message_size = sizeof why};
    tld_session *s;
    CHECK_EQ_INT(tld_session_start(&s, &cfg), 0);
    tld_thread th[THREADS];
    writer_arg args[THREADS];
    for (unsigned wave = 0; wave < 2; wave++) {
        for (unsigned t = wave * WAVE; t < (wave + 1) * WAVE; t++) {
            args[t] = (writer_arg){.p = p, .index = t, .count = EACH};
            CHECK_EQ_INT(tld_thread_start(&th[t], writer_main, &args[t]), 0);
        }
        for (unsigned t = wave * WAVE; t < (wave + 1) * WAVE; t++)
            tld_thread_join(&th[t]);
    }
    tld_session_stats st;
    tp_file f;
    stop_and_load(s, path, &f, &st);
    CHECK_EQ_INT(st.events_written, THREADS * EACH);
    CHECK_EQ_INT(st.events_lost, 0);
    CHECK_EQ_INT(f.count, THREADS * EACH);
    uint32_t counts[THREADS];
    check_thread_order(&f, THREADS, 1, counts);
    for (unsigned t = 0; t < THREADS; t++)
        CHECK_EQ_INT(counts[t], EACH);
    check_timestamps(&f, THREADS);
    tp_free(&f);
    remove(path);
    tld_provider_close(p);
}

/* ---- sessions starting and stopping while 4 threads write ------------------- */

static void test_start_stop_while_writing(void)
{
    enum { THREADS = 4, CYCLES = 20 };
    tld_provider *p;
    CHECK_EQ_INT(tld_provider_open(&p, NAME("SessTest.Churn"), NULL, NULL), 0);
    atomic_int stop = 0;
    tld_thread th[THREADS];
    writer_arg args[THREADS];
    for (unsigned t = 0; t < THREADS; t++) {
        args[t] = (writer_arg){.p = p, .index = t, .stop = &stop};
        CHECK_EQ_INT(tld_thread_start(&th[t], writer_main, &args[t]), 0);
    }
    /* Identical filters, so the enable state never changes while some
     * session is live, and each file holds a gap-free run per thread. */
    tld_session_provider prov[] = {{.name = "SessTest.Churn", .name_len = 14, .level = 4}};
    uint64_t total = 0;
    for (int c = 0; c < CYCLES; c++) {
        char pa[300], pb[300], name[32];
        snprintf(name, sizeof name, "churn-a-%d.etl", c);
        tmp_path(pa, sizeof pa, name);
        snprintf(name, sizeof name, "churn-b-%d.etl", c);
        tmp_path(pb, sizeof pb, name);
        tld_session *a = start(pa, prov, 1, 8192);
        sleep_ms(3);
        tld_session *b2 = start(pb, prov, 1, 8192);
        sleep_ms(3);
        const char *paths[2] = {pa, pb};
        tld_session *order[2] = {a, b2};
        if (c % 2) { /* stop in either order */
            paths[0] = pb, paths[1] = pa;
            order[0] = b2, order[1] = a;
        }
        for (int k = 0; k < 2; k++) {
            tld_session_stats st;
            tp_file f;
            stop_and_load(order[k], paths[k], &f, &st);
            CHECK_EQ_INT(st.events_lost, 0);
            uint32_t counts[THREADS];
            check_thread_order(&f, THREADS, 1, counts);
            total += f.count;
            tp_free(&f);
            remove(paths[k]);
            if (k == 0)
                sleep_ms(2);
        }
        CHECK_EQ_INT(tld_provider_is_enabled(p, 4, 1), 0);
        sleep_ms(1);
    }
    atomic_store(&stop, 1);
    for (unsigned t = 0; t < THREADS; t++)
        tld_thread_join(&th[t]);
    CHECK(total > 0);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 0, 0), 0);
    printf("start/stop while writing: %d cycles, %llu events recorded, %u+%u+%u+%u written\n", CYCLES,
           (unsigned long long)total, args[0].written, args[1].written, args[2].written, args[3].written);
    tld_provider_close(p);
}

/* ---- errors ------------------------------------------------------------------------ */

static void test_errors(void)
{
    tld_provider *p;
    CHECK_EQ_INT(tld_provider_open(&p, NAME("SessTest.Errors"), NULL, NULL), 0);
    char path[300], why[512] = "";
    tld_session_provider prov[] = {{.name = "SessTest.Errors", .name_len = 15}};
    tld_session_config cfg = {.path = tmp_path(path, sizeof path, "missing/dir/x.etl"), .providers = prov,
                              .provider_count = 1, .error_message = why, .error_message_size = sizeof why};
    tld_session *s = (tld_session *)1;
    CHECK_EQ_INT(tld_session_start(&s, &cfg), -ENOENT);
    CHECK(s == NULL);
    CHECK(strstr(why, "cannot create trace file") != NULL && strstr(why, path) != NULL);
    CHECK(strstr(tld_strerror(-ENOENT), "No such file") != NULL);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 0, 0), 0);

    tld_session_provider nameless[] = {{.level = 1}};
    cfg.path = tmp_path(path, sizeof path, "x.etl");
    cfg.providers = nameless;
    CHECK_EQ_INT(tld_session_start(&s, &cfg), TLD_E_SESSION_CONFIG);
    CHECK(strstr(why, "needs an id or a non-empty name") != NULL);

    cfg.providers = prov;
    cfg.buffer_size = 1000;
    CHECK_EQ_INT(tld_session_start(&s, &cfg), TLD_E_SESSION_CONFIG);
    CHECK(strstr(why, "buffer size") != NULL);

    /* An event too large for a buffer is dropped, counted, and reported. */
    cfg.buffer_size = 4096;
    CHECK_EQ_INT(tld_session_start(&s, &cfg), 0);
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    tld_event_descriptor d = tld_event_descriptor_default(4, 0);
    tld_builder_reset(&b, NAME("Big"), &d, 0);
    static uint8_t blob[5000];
    tld_builder_add_binary(&b, NAME("blob"), blob, sizeof blob, 0, 0);
    CHECK_EQ_INT(tld_provider_write(p, &b, NULL, NULL), -EMSGSIZE);
    write_seq(p, &b, 4, 0, 0, 0);
    tld_session_stats st;
    tp_file f;
    stop_and_load(s, path, &f, &st);
    CHECK_EQ_INT(st.events_lost, 1);
    CHECK_EQ_INT(f.events_lost, 1);
    CHECK_EQ_INT(f.count, 1);
    tp_free(&f);
    tld_builder_destroy(&b);
    tld_provider_close(p);
    CHECK_EQ_INT(tld_session_stop(NULL, NULL), 0);
}

/* ---- a killed writer (SIGKILL, TerminateProcess) -------------------------- */

static void kill_child_writer(void *arg)
{
    writer_arg *a = arg;
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    for (uint32_t seq = 0;; seq++) {
        write_seq(a->p, &b, 4, 0, a->index, seq);
        if (seq % 16 == 15)
            sleep_ms(1);
    }
}

/* Writes until killed from `threads` threads (thread 0 is this one), each
 * a numbered sequence of its own. */
static int kill_child(const char *path, unsigned threads)
{
    tld_provider *p;
    if (tld_provider_open(&p, NAME("SessTest.Kill"), NULL, NULL) != 0)
        return 2;
    tld_session_provider prov[] = {{.name = "SessTest.Kill", .name_len = 13}};
    tld_session_config cfg = {.path = path, .providers = prov, .provider_count = 1,
                              .buffer_size = 4096, .flush_interval_ms = 5};
    tld_session *s;
    if (tld_session_start(&s, &cfg) != 0)
        return 3;
    static writer_arg args[8];
    static tld_thread th[8];
    for (unsigned t = 0; t < threads && t < 8; t++) {
        args[t] = (writer_arg){.p = p, .index = t};
        if (t > 0 && tld_thread_start(&th[t], kill_child_writer, &args[t]) != 0)
            return 4;
    }
    kill_child_writer(&args[0]);
    return 0;
}

/* One writer thread: the file holds a prefix of what was written. Several
 * (each in its own lane): the file holds a prefix of each thread's events. */
static void test_sigkill(unsigned threads)
{
    char path[300], nthreads[8];
    tmp_path(path, sizeof path, "killed.etl");
    snprintf(nthreads, sizeof nthreads, "%u", threads);
    const char *args[] = {"--kill-child", path, nthreads, NULL};
    intptr_t child;
    CHECK_EQ_INT(test_spawn(test_self_path(), args, NULL, &child), 0);
    sleep_ms(400);
    test_kill(child);
    CHECK_EQ_INT(test_wait(child), -1); /* killed, not exited */

    tp_file f;
    CHECK_EQ_INT(tp_load(&f, path, 2), 0);
    CHECK_EQ_INT(f.problems, 0);
    /* Buffer 0 counts every buffer but at most the ones being written. */
    CHECK(f.buffers_written >= 2);
    CHECK((uint64_t)f.buffers_written * f.buffer_size <= f.len);
    CHECK(f.len <= (uint64_t)(f.buffers_written + threads) * f.buffer_size);
    /* Each thread's part of the file is a prefix of what it wrote: 0, 1, 2, ... */
    CHECK(f.count > 100);
    size_t bad = 0, seen[8] = {0};
    for (size_t i = 0; i < f.count; i++) {
        uint32_t t = ev_thread(&f.events[i]);
        if (t >= threads) {
            bad++;
            continue;
        }
        bad += ev_seq(&f.events[i]) != seen[t]++;
    }
    CHECK_EQ_INT(bad, 0);
    for (unsigned t = 0; t < threads; t++)
        CHECK(seen[t] > 0);
    check_timestamps(&f, threads);
    printf("SIGKILL, %u writer thread%s: %zu events in %u buffers readable (file %zu bytes)\n", threads,
           threads > 1 ? "s" : "", f.count, f.buffers_written, f.len);
    tp_free(&f);
    remove(path);
}

/* ---- fork: the child starts without the parent's sessions ------------------- */

#if TEST_HAVE_FORK
static void test_fork(void)
{
    tld_provider *p;
    CHECK_EQ_INT(tld_provider_open(&p, NAME("SessTest.Fork"), NULL, NULL), 0);
    char path[300];
    tld_session_provider prov[] = {{.name = "SessTest.Fork", .name_len = 13}};
    tld_session *s = start(tmp_path(path, sizeof path, "fork.etl"), prov, 1, 4096);
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    CHECK_EQ_INT(write_seq(p, &b, 5, 1, 0, 0), 0);
    pid_t child = fork();
    if (child == 0) {
        /* Inherited sessions are gone: nothing is enabled, and writing far
         * more than the parent's buffers hold neither blocks nor records. */
        int ok = !tld_provider_is_enabled(p, 5, 1);
        for (uint32_t i = 0; i < 50000 && ok; i++)
            ok = write_seq(p, &b, 5, 1, 9, i) == 0;
        _exit(ok ? 0 : 3);
    }
    CHECK(child > 0);
    int status = -1;
    for (int waited = 0; waited < 300; waited++) { /* at most ~30 s */
        if (waitpid(child, &status, WNOHANG) == child)
            break;
        sleep_ms(100);
    }
    if (!WIFEXITED(status)) {
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* The parent's session is unaffected. */
    CHECK(tld_provider_is_enabled(p, 5, 1));
    CHECK_EQ_INT(write_seq(p, &b, 5, 1, 0, 1), 0);
    tld_session_stats st;
    tp_file f;
    stop_and_load(s, path, &f, &st);
    CHECK_EQ_INT(f.count, 2);
    for (size_t i = 0; i < f.count; i++)
        CHECK_EQ_INT(ev_thread(&f.events[i]), 0);
    tp_free(&f);
    remove(path);
    tld_builder_destroy(&b);
    tld_provider_close(p);
}
#endif

/* ---- a second session may not truncate a live session's file ------------ */

static void test_same_path_refused(void)
{
    tld_provider *p;
    CHECK_EQ_INT(tld_provider_open(&p, NAME("SessTest.Same"), NULL, NULL), 0);
    char path[300];
    tld_session_provider prov[] = {{.name = "SessTest.Same", .name_len = 13}};
    tld_session *first = start(tmp_path(path, sizeof path, "same.etl"), prov, 1, 4096);
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    CHECK_EQ_INT(write_seq(p, &b, 5, 1, 0, 0), 0);
    char why[512] = "";
    tld_session_config cfg = {.path = path, .providers = prov, .provider_count = 1,
                              .error_message = why, .error_message_size = sizeof why};
    tld_session *second = NULL;
    CHECK_EQ_INT(tld_session_start(&second, &cfg), TLD_E_SESSION_CONFIG);
    CHECK(second == NULL);
    CHECK(strstr(why, "another running session") != NULL);
    CHECK_EQ_INT(write_seq(p, &b, 5, 1, 0, 1), 0);
    tld_session_stats st;
    tp_file f;
    stop_and_load(first, path, &f, &st);
    CHECK_EQ_INT(f.count, 2); /* the first session's file was left alone */
    tp_free(&f);
    /* Once stopped, the path is free again. */
    tld_session *again = start(path, prov, 1, 4096);
    CHECK(again != NULL);
    if (again)
        tld_session_stop(again, &st);
    remove(path);
    tld_builder_destroy(&b);
    tld_provider_close(p);
}

/* ---- unmatched entries and enable callbacks ---------------------------------- */

struct callback_log {
    int added, removed;
    int enabled_when_added; /* the provider was enabled when the callback ran */
    tld_provider *p;
};

static void on_listeners(int change, void *context)
{
    struct callback_log *log = context;
    if (change == TLD_LISTENER_ADDED) {
        log->added++;
        log->enabled_when_added = tld_provider_is_enabled(log->p, 5, 1);
        /* events written here reach the new session */
        tld_event_builder b;
        tld_builder_init(&b, 0, 0);
        write_seq(log->p, &b, 5, 1, 0, 99);
        tld_builder_destroy(&b);
    } else if (change == TLD_LISTENER_REMOVED) {
        log->removed++;
    }
}

static void test_unmatched_and_callbacks(void)
{
    tld_provider *p;
    CHECK_EQ_INT(tld_provider_open(&p, NAME("SessTest.Known"), NULL, NULL), 0);
    char names[512];
    size_t need = tld_provider_list_names(names, sizeof names);
    CHECK(need == strlen(names) && strstr(names, "SessTest.Known") != NULL);
    char tiny[5];
    CHECK_EQ_INT(tld_provider_list_names(tiny, sizeof tiny), need); /* cut, NUL-terminated, full length */
    CHECK_EQ_INT(strlen(tiny), 4);

    struct callback_log log = {.p = p};
    CHECK_EQ_INT(tld_provider_set_enable_callback(p, on_listeners, &log), 0);
    CHECK_EQ_INT(tld_provider_set_enable_callback(NULL, on_listeners, &log), TLD_E_INVALID_ARG);

    static const tld_guid nobody = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
    tld_session_provider prov[] = {
        {.name = "SessTest.Known", .name_len = 14},
        {.name = "SessTest.Typo", .name_len = 13},
        {.id = &nobody},
        {.name = "SessTest.Later", .name_len = 14},
    };
    char path[300];
    tld_session *s = start(tmp_path(path, sizeof path, "unmatched.etl"), prov, 4, 4096);
    CHECK_EQ_INT(log.added, 1);
    CHECK_EQ_INT(log.enabled_when_added, 1);
    size_t idx[4] = {0};
    CHECK_EQ_INT(tld_session_unmatched_providers(s, idx, 4), 3);
    CHECK(idx[0] == 1 && idx[1] == 2 && idx[2] == 3);
    CHECK_EQ_INT(tld_session_unmatched_providers(s, idx, 1), 3); /* count beyond capacity */
    tld_provider *later;
    CHECK_EQ_INT(tld_provider_open(&later, NAME("SessTest.Later"), NULL, NULL), 0);
    tld_provider_close(later); /* it was seen while the session ran */
    CHECK_EQ_INT(tld_session_unmatched_providers(s, idx, 4), 2);
    CHECK(idx[0] == 1 && idx[1] == 2);

    /* A session that does not name the provider: no callback. */
    tld_session_provider other[] = {{.name = "SessTest.Other", .name_len = 14}};
    char path2[300];
    tld_session *s2 = start(tmp_path(path2, sizeof path2, "other.etl"), other, 1, 4096);
    CHECK_EQ_INT(log.added, 1);
    tld_session_stats st;
    CHECK_EQ_INT(tld_session_stop(s2, &st), 0);
    CHECK_EQ_INT(log.removed, 0);

    tp_file f;
    stop_and_load(s, path, &f, &st);
    CHECK_EQ_INT(log.removed, 1);
    CHECK_EQ_INT(f.count, 1); /* the event the callback wrote */
    tp_free(&f);
    unlink(path);
    unlink(path2);
    CHECK_EQ_INT(tld_provider_set_enable_callback(p, NULL, NULL), 0);
    tld_provider_close(p);
}

int main(int argc, char **argv)
{
    (void)check_hex;
    if (argc == 4 && strcmp(argv[1], "--kill-child") == 0)
        return kill_child(argv[2], (unsigned)atoi(argv[3]));
    if (tmpdir_create("test_session") < 0)
        return 1;
    test_single_session_rules();
    test_several_sessions();
    test_stacks_and_activities();
    test_errors();
    test_many_threads();
    test_lanes();
    test_start_stop_while_writing();
    test_sigkill(1);
    test_sigkill(4);
#if TEST_HAVE_FORK
    test_fork();
#endif
    test_same_path_refused();
    test_unmatched_and_callbacks();
    return tmpdir_finish(check_report("test_session"));
}
