/*
 * test_prepared_event.c — prepared events (tld_prepared_event_*, tld.h):
 * the sink interface (prepare once, deliver_prepared after; sinks without
 * a fast path get the same view through deliver()), and through real
 * sessions: a prepared event's record is the one tld_provider_write() would
 * store (byte for byte but the timestamp), padding, large data, a session
 * that wants stacks for it, sessions starting between writes (the verdict
 * cache must follow), and threads reusing each other's lanes (the thread
 * id comes from the lane).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tracelogging/tld.h"
#include "tracelogging/tld_session.h"

#include "sink.h"
#include "provider_state.h"

#include "etl_test_parse.h"
#include "check.h"
#include "test_tmpdir.h"
#include "thread.h"

#define NAME(s) s, (sizeof s - 1)

/* ---- the sink interface ------------------------------------------------------ */

/* The stand-in sinks stay registered for the whole program; they count only
 * events of the provider under test, so later tests' threads never touch
 * these counters. */
static const tld_provider *counted_provider;
static int prepares, fast_deliveries, plain_deliveries, releases;
static size_t last_data_len;
static uint8_t last_data[64];
static size_t last_meta_len;

static int plain_deliver(const tld_sink *sink, const tld_provider *p, const tld_event_view *ev)
{
    (void)sink;
    if (p != counted_provider)
        return 0;
    plain_deliveries++;
    last_meta_len = ev->meta_len;
    last_data_len = ev->data_len;
    memcpy(last_data, ev->data, ev->data_len < sizeof last_data ? ev->data_len : sizeof last_data);
    return 0;
}

static void *fast_prepare(const tld_sink *sink, const tld_provider *p, const tld_event_view *ev)
{
    (void)sink;
    if (p != counted_provider)
        return NULL; /* no fast path for other providers: deliver() */
    prepares++;
    CHECK(ev->data_len == 0);
    CHECK(ev->meta_len > 0 && ev->traits_len > 0);
    static int token;
    return &token;
}

static int fast_deliver(const tld_sink *sink, const tld_provider *p, void *prepared, const tld_event_view *ev)
{
    (void)sink;
    (void)prepared;
    if (p != counted_provider)
        return 0;
    fast_deliveries++;
    last_data_len = ev->data_len;
    return 0;
}

static void fast_release(const tld_sink *sink, void *prepared)
{
    (void)sink;
    (void)prepared;
    releases++;
}

static const tld_sink plain_sink = {.name = "plain", .deliver = plain_deliver};
static const tld_sink fast_sink = {.name = "fast", .deliver = plain_deliver, .prepare = fast_prepare,
                                   .deliver_prepared = fast_deliver, .release_prepared = fast_release};

static void test_sink_interface(void)
{
    tld_provider *p;
    CHECK_EQ_INT(tld_provider_open(&p, NAME("Prep.Sinks"), NULL, NULL), 0);
    counted_provider = p;
    CHECK_EQ_INT(tld_sink_register(&plain_sink), 0);
    CHECK_EQ_INT(tld_sink_register(&fast_sink), 0);

    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    tld_prepared_event *e = NULL;
    CHECK_EQ_INT(tld_prepared_event_create(&e, p, &b), TLD_E_ERROR_STATE); /* nothing reset yet */
    CHECK(e == NULL);
    CHECK_EQ_INT(tld_prepared_event_create(NULL, p, &b), TLD_E_INVALID_ARG);
    tld_event_descriptor d = tld_event_descriptor_default(5, 0x10);
    tld_builder_reset(&b, NAME("Tick"), &d, 0);
    tld_builder_add_uint64(&b, NAME("Count"), 0, 0, 0);
    size_t builder_meta_len;
    tld_builder_meta(&b, &builder_meta_len);
    CHECK_EQ_INT(tld_prepared_event_create(&e, NULL, &b), TLD_E_INVALID_ARG);
    CHECK_EQ_INT(tld_prepared_event_create(&e, p, &b), 0);
    tld_builder_destroy(&b); /* the prepared event keeps its own copy */

    uint64_t count = 7;
    /* Nobody listens: nothing is delivered, and nothing is prepared. */
    CHECK_EQ_INT(tld_prepared_event_write(e, &count, sizeof count), 0);
    CHECK_EQ_INT(plain_deliveries + fast_deliveries + prepares, 0);
    CHECK_EQ_INT(tld_prepared_event_write(e, NULL, 8), TLD_E_INVALID_ARG);

    tld_provider_set_enable_state(p, &plain_sink, 6, 0x10, 0);
    tld_provider_set_enable_state(p, &fast_sink, 6, 0x10, 0);
    for (uint64_t i = 0; i < 3; i++)
        CHECK_EQ_INT(tld_prepared_event_write(e, &i, sizeof i), 0);
    CHECK_EQ_INT(prepares, 1);               /* once, on first delivery */
    CHECK_EQ_INT(fast_deliveries, 3);
    CHECK_EQ_INT(plain_deliveries, 3);       /* the sink without a fast path */
    CHECK_EQ_INT(last_meta_len, builder_meta_len);
    CHECK_EQ_INT(last_data_len, 8);
    CHECK_EQ_INT(load_le64(last_data), 2);

    tld_prepared_event_destroy(e);
    CHECK_EQ_INT(releases, 1);
    tld_prepared_event_destroy(NULL);
    tld_provider_set_enable_state(p, &plain_sink, 0, 0, 0);
    tld_provider_set_enable_state(p, &fast_sink, 0, 0, 0);
    tld_provider_close(p);
    counted_provider = NULL;
}

/* ---- through sessions ---------------------------------------------------------- */

static tld_session *start(const char *path, const char *provider, uint64_t stack_keywords, uint32_t buffer_size,
                          uint32_t buffer_count)
{
    char why[512] = "";
    tld_session_provider prov = {.name = provider, .name_len = strlen(provider), .stack_keywords = stack_keywords};
    tld_session_config cfg = {.path = path, .providers = &prov, .provider_count = 1, .buffer_size = buffer_size,
                              .buffer_count = buffer_count, .error_message = why,
                              .error_message_size = sizeof why};
    tld_session *s = NULL;
    int rc = tld_session_start(&s, &cfg);
    if (rc != 0)
        fprintf(stderr, "tld_session_start: %s (%s)\n", why, tld_strerror(rc));
    CHECK_EQ_INT(rc, 0);
    return s;
}

static void load(tld_session *s, const char *path, tp_file *f)
{
    tld_session_stats st;
    CHECK_EQ_INT(tld_session_stop(s, &st), 0);
    CHECK_EQ_INT(st.events_lost, 0);
    CHECK_EQ_INT(tp_load(f, path, 1), 0);
    CHECK_EQ_INT(f->problems, 0);
    CHECK_EQ_INT(f->count, st.events_written);
}

/* An event "Sample" with a u64, a pointer, and `text_len` bytes of
 * counted string: fixed layout apart from the string's length. */
static void build_sample(tld_event_builder *b, uint64_t v, const char *text, size_t text_len)
{
    tld_event_descriptor d = tld_event_descriptor_default(4, 0x21);
    d.opcode = 3;
    tld_builder_reset(b, NAME("Sample"), &d, 0x0FEDCBA);
    tld_builder_add_uint64(b, NAME("Value"), v, 0, 0);
    tld_builder_add_pointer(b, NAME("Where"), (const void *)(uintptr_t)0x1234, 0, 0);
    tld_builder_add_str8(b, NAME("Text"), text, text_len, 0, 0);
}

/* The record bytes but the timestamp (header offset 0x10..0x18). */
static int same_record_but_time(const tp_event *a, const tp_event *b)
{
    if (a->size != b->size || a->tid != b->tid || a->pid != b->pid || a->flags != b->flags)
        return 0;
    return memcmp(a->provider, b->provider, 16) == 0 && memcmp(a->desc, b->desc, 16) == 0 &&
           memcmp(a->activity, b->activity, 16) == 0 && a->traits_len == b->traits_len &&
           memcmp(a->traits, b->traits, a->traits_len) == 0 && a->meta_len == b->meta_len &&
           memcmp(a->meta, b->meta, a->meta_len) == 0 && a->data_len == b->data_len &&
           memcmp(a->data, b->data, a->data_len) == 0 && a->ext_count == b->ext_count && a->has_stack == b->has_stack;
}

/*
 * The same events written both ways, with data lengths that need padding
 * (not a multiple of 8) and ones longer than the inline copy (> 64 bytes):
 * each prepared record equals its generic twin.
 */
static void test_same_as_generic(void)
{
    tld_provider *p;
    CHECK_EQ_INT(tld_provider_open(&p, NAME("Prep.Same"), NULL, NULL), 0);
    char path[300];
    tld_session *s = start(tmp_path(path, sizeof path, "same.etl"), "Prep.Same", 0, 0, 0);
    static const char text[] = "a counted string long enough to push the data past sixty-four bytes";
    static const size_t lengths[] = {0, 1, 5, 8, 11, 40, 67};
    enum { N = sizeof lengths / sizeof lengths[0] };
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    for (size_t i = 0; i < N; i++) {
        build_sample(&b, 1000 + i, text, lengths[i]);
        CHECK_EQ_INT(tld_provider_write(p, &b, NULL, NULL), 0);
        tld_prepared_event *e;
        CHECK_EQ_INT(tld_prepared_event_create(&e, p, &b), 0);
        size_t n;
        const uint8_t *data = tld_builder_data(&b, &n);
        CHECK_EQ_INT(tld_prepared_event_write(e, data, n), 0);
        tld_prepared_event_destroy(e);
    }
    tld_builder_destroy(&b);
    tp_file f;
    load(s, path, &f);
    CHECK_EQ_INT(f.count, 2 * N);
    for (size_t i = 0; i + 1 < f.count; i += 2) {
        CHECK(same_record_but_time(&f.events[i], &f.events[i + 1]));
        CHECK(f.events[i + 1].timestamp >= f.events[i].timestamp);
        CHECK_EQ_INT(f.events[i + 1].tid, test_os_thread_id());
        CHECK_EQ_INT(f.events[i + 1].pid, test_os_process_id());
    }
    tp_free(&f);
    tld_provider_close(p);
}

/*
 * Sessions that start and stop between writes of one prepared event: each
 * gets exactly the events written while it ran, also when its filter
 * rejects the event or asks for its stack.
 */
static void test_session_changes(void)
{
    tld_provider *p;
    CHECK_EQ_INT(tld_provider_open(&p, NAME("Prep.Changes"), NULL, NULL), 0);
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    build_sample(&b, 0, "x", 1);
    tld_prepared_event *e;
    CHECK_EQ_INT(tld_prepared_event_create(&e, p, &b), 0);
    size_t n;
    uint8_t data[64];
    const uint8_t *built = tld_builder_data(&b, &n); /* sets n: not in memcpy's argument list */
    CHECK(n <= sizeof data);
    memcpy(data, built, n);
    tld_builder_destroy(&b);

    char path_a[300], path_b[300], path_c[300];
    tld_session *a = start(tmp_path(path_a, sizeof path_a, "a.etl"), "Prep.Changes", 0, 0, 0);
    for (uint64_t i = 0; i < 10; i++) {
        memcpy(data, &i, 8);
        tld_prepared_event_write(e, data, n);
    }
    /* B listens to another provider only; C wants stacks for keyword 0x20. */
    tld_session *bs = start(tmp_path(path_b, sizeof path_b, "b.etl"), "Prep.Other", 0, 0, 0);
    tld_session *c = start(tmp_path(path_c, sizeof path_c, "c.etl"), "Prep.Changes", 0x20, 0, 0);
    for (uint64_t i = 10; i < 25; i++) {
        memcpy(data, &i, 8);
        tld_prepared_event_write(e, data, n);
    }
    tp_file fa, fb, fc;
    load(a, path_a, &fa);
    for (uint64_t i = 25; i < 30; i++) { /* a is gone: only c */
        memcpy(data, &i, 8);
        tld_prepared_event_write(e, data, n);
    }
    load(bs, path_b, &fb);
    load(c, path_c, &fc);
    CHECK_EQ_INT(fa.count, 25);
    CHECK_EQ_INT(fb.count, 0);
    CHECK_EQ_INT(fc.count, 20);
    for (size_t i = 0; i < fa.count; i++)
        CHECK_EQ_INT(load_le64(fa.events[i].data), i);
    int stacks = 0;
    for (size_t i = 0; i < fc.count; i++) {
        CHECK_EQ_INT(load_le64(fc.events[i].data), 10 + i);
        stacks += fc.events[i].has_stack && fc.events[i].stack_count > 0;
    }
    CHECK_EQ_INT(stacks, 20);
    /* Apart from the stack, c's records are a's. */
    if (fa.count > 10 && fc.count > 0) {
        CHECK(fa.events[10].meta_len == fc.events[0].meta_len &&
              memcmp(fa.events[10].meta, fc.events[0].meta, fa.events[10].meta_len) == 0);
        CHECK(fa.events[10].data_len == fc.events[0].data_len &&
              memcmp(fa.events[10].data, fc.events[0].data, fa.events[10].data_len) == 0);
    }
    tp_free(&fa);
    tp_free(&fb);
    tp_free(&fc);
    tld_prepared_event_destroy(e);
    tld_provider_close(p);
}

/* ---- threads and lanes ------------------------------------------------------------ */

typedef struct thread_arg {
    tld_prepared_event *e;
    uint32_t index, count, tid;
} thread_arg;

static void thread_main(void *argp)
{
    thread_arg *a = argp;
    a->tid = test_os_thread_id();
    for (uint32_t i = 0; i < a->count; i++) {
        uint32_t data[2] = {a->index, i};
        tld_prepared_event_write(a->e, data, sizeof data);
    }
}

/*
 * Two waves of threads over 6 lanes (the second wave inherits the first's
 * lanes, some threads share the locked buffer), small buffers: every event
 * arrives, in order per thread, with the id of the thread that wrote it.
 */
static void test_threads(void)
{
    enum { WAVE = 8, THREADS = 2 * WAVE, EACH = 20000 };
    tld_provider *p;
    CHECK_EQ_INT(tld_provider_open(&p, NAME("Prep.Threads"), NULL, NULL), 0);
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    tld_event_descriptor d = tld_event_descriptor_default(4, 1);
    tld_builder_reset(&b, NAME("Seq"), &d, 0);
    tld_builder_add_uint32(&b, NAME("thread"), 0, 0, 0);
    tld_builder_add_uint32(&b, NAME("seq"), 0, 0, 0);
    tld_prepared_event *e;
    CHECK_EQ_INT(tld_prepared_event_create(&e, p, &b), 0);
    tld_builder_destroy(&b);
    char path[300];
    tld_session *s = start(tmp_path(path, sizeof path, "threads.etl"), "Prep.Threads", 0, 8192, 8);
    tld_thread th[THREADS];
    thread_arg args[THREADS];
    for (unsigned wave = 0; wave < 2; wave++) {
        for (unsigned t = wave * WAVE; t < (wave + 1) * WAVE; t++) {
            args[t] = (thread_arg){.e = e, .index = t, .count = EACH};
            CHECK_EQ_INT(tld_thread_start(&th[t], thread_main, &args[t]), 0);
        }
        for (unsigned t = wave * WAVE; t < (wave + 1) * WAVE; t++)
            tld_thread_join(&th[t]);
    }
    tp_file f;
    load(s, path, &f);
    CHECK_EQ_INT(f.count, THREADS * EACH);
    int64_t last[THREADS];
    uint32_t counts[THREADS] = {0};
    uint64_t last_time[THREADS] = {0};
    for (unsigned t = 0; t < THREADS; t++)
        last[t] = -1;
    int bad_order = 0, bad_tid = 0, bad_time = 0, bad_buffer_time = 0;
    for (size_t i = 0; i < f.count; i++) {
        const tp_event *ev = &f.events[i];
        uint32_t t = load_le32(ev->data), seq = load_le32(ev->data + 4);
        if (t >= THREADS) {
            bad_order++;
            continue;
        }
        bad_order += seq != last[t] + 1;
        bad_tid += ev->tid != args[t].tid;
        bad_time += ev->timestamp < last_time[t];
        bad_buffer_time += i > 0 && f.events[i - 1].buffer == ev->buffer && ev->timestamp < f.events[i - 1].timestamp;
        last[t] = seq;
        last_time[t] = ev->timestamp;
        counts[t]++;
    }
    CHECK_EQ_INT(bad_order, 0);
    CHECK_EQ_INT(bad_tid, 0);
    CHECK_EQ_INT(bad_time, 0);
    CHECK_EQ_INT(bad_buffer_time, 0);
    for (unsigned t = 0; t < THREADS; t++)
        CHECK_EQ_INT(counts[t], EACH);
    tp_free(&f);
    tld_prepared_event_destroy(e);
    tld_provider_close(p);
}

int main(void)
{
    (void)check_hex;
    if (tmpdir_create("test_prepared_event") < 0)
        return 1;
    test_sink_interface();
    test_same_as_generic();
    test_session_changes();
    test_threads();
    return tmpdir_finish(check_report("test_prepared_event"));
}
