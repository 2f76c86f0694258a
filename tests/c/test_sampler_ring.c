/*
 * test_sampler_ring.c — the sampler's per-thread ring (sampler.h,
 * sampler_ring.c): records come out whole, in order and unchanged, across
 * wrap-arounds; a full ring refuses instead of overwriting; a corrupt ring
 * is emptied and reported; and one producer thread with one consumer
 * thread lose nothing (also run under TSan by `make test-tsan`).
 */
#include "sampler.h"

#include "check.h"
#include "thread.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define HEADER sizeof(sampler_record)

/* A record of `depth` frames whose contents follow from `seq`. */
static uint64_t record_size(uint32_t depth) { return HEADER + depth * sizeof(sampler_frame); }

static void fill(sampler_record *r, uint32_t depth, uint64_t seq)
{
    r->size = (uint32_t)record_size(depth);
    r->kind = SAMPLER_RECORD_SAMPLE;
    r->flags = (uint16_t)(seq & 0xF);
    r->depth = depth;
    r->weight = (uint32_t)(seq % 7 + 1);
    r->ticks = seq;
    for (uint32_t i = 0; i < depth; i++) {
        r->frames[i].code = seq * 1000 + i;
        r->frames[i].lasti = (int32_t)(i * 2);
        r->frames[i].reserved = 0;
    }
}

static int matches(const sampler_record *r, uint32_t depth, uint64_t seq)
{
    if (r->size != record_size(depth) || r->depth != depth || r->ticks != seq || r->weight != seq % 7 + 1 ||
        r->flags != (seq & 0xF))
        return 0;
    for (uint32_t i = 0; i < depth; i++)
        if (r->frames[i].code != seq * 1000 + i || r->frames[i].lasti != (int32_t)(i * 2))
            return 0;
    return 1;
}

static uint32_t depth_of(uint64_t seq, uint32_t max) { return (uint32_t)((seq * 2654435761u) % (max + 1)); }

static void test_order_and_wrap(void)
{
    sampler_ring r;
    CHECK_EQ_INT(sampler_ring_init(&r, 4096), 0);
    CHECK_EQ_INT(r.cap, 4096);
    uint64_t want = record_size(20);
    uint64_t produced = 0, consumed = 0;
    int corrupt = 0;
    for (int round = 0; round < 2000; round++) {
        /* produce a few, consume a few: head and tail go round many times */
        for (int k = 0; k < 3; k++) {
            uint64_t room = 0;
            uint32_t depth = depth_of(produced, 20);
            sampler_record *rec = sampler_ring_reserve(&r, want, want, &room);
            if (rec == NULL)
                break;
            CHECK(room == want);
            CHECK(((uintptr_t)rec & 7) == 0);
            fill(rec, depth, produced);
            sampler_ring_commit(&r, rec->size);
            produced++;
        }
        for (int k = 0; k < 2 + (round % 3 == 0); k++) {
            const sampler_record *rec = sampler_ring_peek(&r, &corrupt);
            CHECK(!corrupt);
            if (rec == NULL)
                break;
            CHECK(matches(rec, depth_of(consumed, 20), consumed));
            sampler_ring_consume(&r, rec);
            consumed++;
        }
    }
    const sampler_record *rec;
    while ((rec = sampler_ring_peek(&r, &corrupt)) != NULL) {
        CHECK(matches(rec, depth_of(consumed, 20), consumed));
        sampler_ring_consume(&r, rec);
        consumed++;
    }
    CHECK(!corrupt);
    CHECK_EQ_INT(consumed, produced);
    CHECK(produced > 1000);
    CHECK_EQ_INT(sampler_ring_used(&r), 0);
    sampler_ring_destroy(&r);
}

static void test_full_ring_refuses(void)
{
    sampler_ring r;
    CHECK_EQ_INT(sampler_ring_init(&r, 1024), 0);
    uint64_t want = record_size(8); /* 160 bytes */
    int n = 0;
    uint64_t room;
    sampler_record *rec;
    while ((rec = sampler_ring_reserve(&r, want, want, &room)) != NULL) {
        fill(rec, 8, (uint64_t)n);
        sampler_ring_commit(&r, rec->size);
        n++;
    }
    CHECK_EQ_INT(n, 1024 / 160); /* 6 records fit, the 7th would overwrite the first */
    /* What was written is still intact. */
    int corrupt;
    for (int i = 0; i < n; i++) {
        const sampler_record *got = sampler_ring_peek(&r, &corrupt);
        CHECK(got != NULL && matches(got, 8, (uint64_t)i));
        if (got)
            sampler_ring_consume(&r, got);
    }
    /* Less than wanted but enough for what is needed: the room says how much. */
    rec = sampler_ring_reserve(&r, 2048, 64, &room);
    CHECK(rec != NULL && room <= 1024 && room >= 64);
    sampler_ring_destroy(&r);
}

static void test_corrupt_ring_is_emptied(void)
{
    sampler_ring r;
    CHECK_EQ_INT(sampler_ring_init(&r, 1024), 0);
    uint64_t room;
    sampler_record *rec = sampler_ring_reserve(&r, record_size(2), record_size(2), &room);
    fill(rec, 2, 1);
    sampler_ring_commit(&r, rec->size);
    rec = sampler_ring_reserve(&r, record_size(2), record_size(2), &room);
    fill(rec, 2, 2);
    rec->depth = 1000; /* more frames than its size holds */
    sampler_ring_commit(&r, rec->size);
    int corrupt = 0;
    const sampler_record *got = sampler_ring_peek(&r, &corrupt);
    CHECK(got != NULL && matches(got, 2, 1) && !corrupt);
    sampler_ring_consume(&r, got);
    got = sampler_ring_peek(&r, &corrupt);
    CHECK(got == NULL && corrupt);
    CHECK_EQ_INT(sampler_ring_used(&r), 0);
    /* A size that is not a multiple of 8. */
    rec = sampler_ring_reserve(&r, record_size(1), record_size(1), &room);
    fill(rec, 1, 3);
    rec->size = 41;
    sampler_ring_commit(&r, 48);
    got = sampler_ring_peek(&r, &corrupt);
    CHECK(got == NULL && corrupt);
    sampler_ring_destroy(&r);
}

/* ---- one producer, one consumer ---- */

#define STRESS_RECORDS 300000u
#define STRESS_DEPTH 40u

static sampler_ring stress_ring;
static atomic_ulong refused;

static void producer(void *arg)
{
    (void)arg;
    uint64_t want = record_size(STRESS_DEPTH);
    for (uint64_t seq = 0; seq < STRESS_RECORDS;) {
        uint64_t room;
        sampler_record *rec = sampler_ring_reserve(&stress_ring, want, want, &room);
        if (rec == NULL) {
            atomic_fetch_add(&refused, 1);
            continue; /* full: try again (the handler would count a drop) */
        }
        fill(rec, depth_of(seq, STRESS_DEPTH), seq);
        sampler_ring_commit(&stress_ring, rec->size);
        seq++;
    }
}

static void test_producer_consumer(void)
{
    CHECK_EQ_INT(sampler_ring_init(&stress_ring, 16384), 0);
    tld_thread t;
    CHECK_EQ_INT(tld_thread_start(&t, producer, NULL), 0);
    uint64_t seq = 0, bad = 0;
    int corrupt = 0, corrupt_seen = 0;
    while (seq < STRESS_RECORDS) {
        const sampler_record *rec = sampler_ring_peek(&stress_ring, &corrupt);
        corrupt_seen |= corrupt;
        if (rec == NULL)
            continue;
        if (!matches(rec, depth_of(seq, STRESS_DEPTH), seq))
            bad++;
        sampler_ring_consume(&stress_ring, rec);
        seq++;
    }
    tld_thread_join(&t);
    CHECK_EQ_INT(bad, 0);
    CHECK(!corrupt_seen);
    CHECK_EQ_INT(sampler_ring_used(&stress_ring), 0);
    sampler_ring_destroy(&stress_ring);
}

int main(void)
{
    (void)check_hex;
    test_order_and_wrap();
    test_full_ring_refuses();
    test_corrupt_ring_is_emptied();
    test_producer_consumer();
    return check_report("test_sampler_ring");
}
