/*
 * test_call_batch.c — the compact call records (call_batch.h): what is
 * packed comes back unpacked, record for record, whatever the shape of the
 * calls (recursion, callers that are not the open call, lines that repeat or
 * jump, returns of calls opened before the batch, stacks deeper than the
 * batch tracks, time gaps); damage is reported, never read past; and the
 * size of typical call patterns.
 */
#include "call_batch.h"

#include "check.h"

#include <stdlib.h>

#define MAX_RECORDS 20000

static tld_call_record written[MAX_RECORDS];
static size_t n_written;
static uint8_t buffer[1 << 20];
static tld_call_batch batch;

static void call(uint64_t ticks, uint64_t fid, uint64_t caller, uint64_t line)
{
    CHECK(tld_call_batch_has_room(&batch));
    tld_call_batch_add_call(&batch, ticks, fid, caller, line);
    written[n_written++] = (tld_call_record){0, ticks, fid, caller, line};
}

static void ret(uint64_t ticks, uint64_t fid)
{
    CHECK(tld_call_batch_has_room(&batch));
    tld_call_batch_add_return(&batch, ticks, fid);
    written[n_written++] = (tld_call_record){1, ticks, fid, 0, 0};
}

/* Unpacks the batch and compares it with what was written. */
static void check_round_trip(const char *what)
{
    tld_call_batch_reader r;
    tld_call_batch_reader_init(&r, batch.data, batch.len, batch.base_ticks);
    tld_call_record got;
    size_t i = 0;
    int rc;
    int mismatches = 0;
    while ((rc = tld_call_batch_next(&r, &got)) == 0) {
        if (i >= n_written) {
            mismatches++;
            break;
        }
        const tld_call_record *w = &written[i++];
        if (got.is_return != w->is_return || got.ticks != w->ticks || got.function_id != w->function_id ||
            got.caller != w->caller || got.caller_line != w->caller_line) {
            if (mismatches++ == 0)
                fprintf(stderr, "%s: record %zu: got %s t=%llu id=%llu caller=%llu line=%llu\n", what, i - 1,
                        got.is_return ? "return" : "call", (unsigned long long)got.ticks,
                        (unsigned long long)got.function_id, (unsigned long long)got.caller,
                        (unsigned long long)got.caller_line);
        }
    }
    if (rc != TLD_E_END) {
        fprintf(stderr, "%s: reading stopped at record %zu of %zu\n", what, i, n_written);
        const tld_call_record *w = &written[i];
        fprintf(stderr, "  it was %s t=%llu id=%llu caller=%llu line=%llu; bytes %02x %02x %02x %02x\n",
                w->is_return ? "return" : "call", (unsigned long long)w->ticks, (unsigned long long)w->function_id,
                (unsigned long long)w->caller, (unsigned long long)w->caller_line, batch.data[0], batch.data[1],
                batch.data[2], batch.data[3]);
    }
    CHECK_EQ_INT(rc, TLD_E_END);
    CHECK_EQ_INT(i, n_written);
    CHECK_EQ_INT(mismatches, 0);
}

static void start(void)
{
    tld_call_batch_init(&batch, buffer, sizeof buffer);
    n_written = 0;
}

static uint64_t ticks;

/* fib(n) as the interpreter calls it: each call from line 2 of fib. */
static void fib(uint64_t n, uint64_t caller)
{
    ticks += 150;
    call(ticks, 7, caller, caller == 7 ? 2 : 40);
    if (n >= 2) {
        fib(n - 1, 7);
        fib(n - 2, 7);
    }
    ticks += 90;
    ret(ticks, 7);
}

static void test_fib_round_trip_and_size(void)
{
    start();
    ticks = 1000;
    fib(12, 3);
    check_round_trip("fib");
    size_t pairs = n_written / 2;
    double per_pair = (double)batch.len / (double)pairs;
    printf("fib(12): %zu calls, %zu bytes, %.2f bytes per call and return\n", pairs, batch.len, per_pair);
    CHECK(per_pair <= 8.0);
}

static void test_random_shapes(unsigned seed)
{
    srand(seed);
    start();
    ticks = (uint64_t)rand() << 20;
    uint64_t open[1000];
    size_t depth = 0;
    /* Calls opened before the batch: their returns come first. */
    size_t preopened = (size_t)(rand() % 5);
    for (size_t i = 0; i < preopened; i++)
        open[depth++] = 100 + i;
    size_t before = depth;
    while (n_written < MAX_RECORDS - 2) {
        int r = rand() % 100;
        ticks += (uint64_t)(rand() % 3 == 0 ? rand() % 1000000 : rand() % 300);
        if (rand() % 500 == 0)
            ticks += (uint64_t)1 << 40; /* a long pause */
        if (depth > 0 && (r < 45 || depth >= 900)) {
            ret(ticks, open[--depth]);
            if (depth < before)
                before = depth;
        } else {
            uint64_t fid = (uint64_t)(rand() % 50 + 1);
            uint64_t caller = depth > 0 ? open[depth - 1] : 0;
            if (rand() % 10 == 0)
                caller = (uint64_t)(rand() % 70); /* called back from C: not the open call */
            uint64_t line = (uint64_t)(rand() % 4 == 0 ? rand() % 5000 : 10 + rand() % 3);
            call(ticks, fid, caller, line);
            open[depth++] = fid;
        }
        /* Sometimes go deeper than the batch tracks, and come back. */
        if (rand() % 2000 == 0) {
            for (int k = 0; k < 300 && depth < 990 && n_written < MAX_RECORDS - 2; k++) {
                call(++ticks, 9, depth > 0 ? open[depth - 1] : 0, 5);
                open[depth++] = 9;
            }
        }
    }
    char what[32];
    snprintf(what, sizeof what, "seed %u", seed);
    check_round_trip(what);
}

static void test_damage_is_reported(void)
{
    start();
    ticks = 10;
    fib(5, 1);
    tld_call_batch_reader r;
    tld_call_record got;
    int rc;
    /* Every truncation: records before the cut, then the end or damage;
     * never a read past the end (ASan). */
    for (size_t cut = 0; cut < batch.len; cut++) {
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, batch.data, cut);
        tld_call_batch_reader_init(&r, copy, cut, batch.base_ticks);
        size_t n = 0;
        while ((rc = tld_call_batch_next(&r, &got)) == 0)
            n++;
        CHECK(rc == TLD_E_END || rc == TLD_E_DAMAGED);
        CHECK(n <= n_written);
        free(copy);
    }
    /* A return with no open call and no id. */
    uint8_t lone_return[] = {0x01 | (5 << 3)};
    tld_call_batch_reader_init(&r, lone_return, sizeof lone_return, 0);
    CHECK_EQ_INT(tld_call_batch_next(&r, &got), TLD_E_DAMAGED);
    /* Reserved flag on a return. */
    uint8_t reserved[] = {0x05};
    tld_call_batch_reader_init(&r, reserved, sizeof reserved, 0);
    CHECK_EQ_INT(tld_call_batch_next(&r, &got), TLD_E_DAMAGED);
    /* A varint longer than 64 bits. */
    uint8_t too_long[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02};
    tld_call_batch_reader_init(&r, too_long, sizeof too_long, 0);
    CHECK_EQ_INT(tld_call_batch_next(&r, &got), TLD_E_DAMAGED);
    /* A time that would wrap. */
    uint8_t wrap[] = {0xF8, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01, 0x07};
    tld_call_batch_reader_init(&r, wrap, sizeof wrap, UINT64_MAX - 5);
    CHECK_EQ_INT(tld_call_batch_next(&r, &got), TLD_E_DAMAGED);
    /* Every single-byte flip: no crash, and either a clean end or damage. */
    for (size_t i = 0; i < batch.len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            batch.data[i] ^= (uint8_t)(1 << bit);
            tld_call_batch_reader_init(&r, batch.data, batch.len, batch.base_ticks);
            size_t n = 0;
            while ((rc = tld_call_batch_next(&r, &got)) == 0 && n < 100000)
                n++;
            CHECK(rc == TLD_E_END || rc == TLD_E_DAMAGED);
            batch.data[i] ^= (uint8_t)(1 << bit);
        }
    }
}

static void test_room_and_reset(void)
{
    static uint8_t small[64];
    tld_call_batch b;
    tld_call_batch_init(&b, small, sizeof small);
    CHECK(tld_call_batch_has_room(&b));
    tld_call_batch_add_call(&b, 5, 1, 0, 3);
    CHECK(b.len > 0 && b.records == 1 && b.base_ticks == 5);
    CHECK(!tld_call_batch_has_room(&b) || b.cap - b.len >= TLD_CALL_RECORD_MAX);
    tld_call_batch_reset(&b);
    CHECK_EQ_INT(b.len, 0);
    CHECK_EQ_INT(b.records, 0);
    CHECK_EQ_INT(b.depth, 0);
}

int main(void)
{
    test_fib_round_trip_and_size();
    for (unsigned seed = 1; seed <= 40; seed++)
        test_random_shapes(seed);
    test_damage_is_reported();
    test_room_and_reset();
    return check_report("test_call_batch");
}
