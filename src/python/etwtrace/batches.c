/*
 * batches.c — instrumented mode's compact form: each thread's calls and
 * returns packed into PythonCallBatch events (encoder/call_batch.h,
 * docs/events.md) instead of one PythonFunctionPush/Pop event each.
 *
 * A thread's batch lives in a block of its own, reached from thread-local
 * storage; every block is also on one list, so a batch can be written for
 * its thread from elsewhere: when a session is about to start, stop or
 * flush (the provider's TLD_LISTENER_FLUSH), and at disable(). Everything
 * here runs with the GIL held, which is what orders the owner thread's
 * appends against another thread's flush.
 *
 * When a batch is written: it is full; its thread writes any other event of
 * the provider (so each thread's events stay in order in the file); its
 * thread ends or stops being traced; a session starts, stops or flushes;
 * tracing is disabled. The event is stamped with the time of the batch's
 * first record, so readers that merge buffers by time place it where its
 * records begin.
 */
#include "etwtrace.h"


#include <stdlib.h>
#include <string.h>

/* Records bytes per batch: small enough for any session buffer (the event
 * must fit in one), large enough that the event's own header is noise. */
#define BATCH_RECORD_BYTES 16384u
#define BATCH_HEAD_BYTES TLD_CALL_BATCH_HEAD_BYTES

struct etw_batch {
    struct etw_batch *next;    /* every block ever made (GIL) */
    int in_use;                /* 0: free for the next thread that needs one */
    int32_t tid;               /* the owner's OS thread id */
    tld_call_batch calls;
    uint8_t event[BATCH_HEAD_BYTES + BATCH_RECORD_BYTES]; /* the event's data; records at +18 */
};

int etw_compact_calls = ETW_COMPACT_CALLS_DEFAULT;
static ETW_TLS struct etw_batch *my_batch;
static struct etw_batch *all_batches;
static tld_prepared_event *batch_event;

int etw_batches_prepare(void)
{
    if (batch_event != NULL)
        return 0;
    tld_event_builder b;
    if (tld_builder_init(&b, 128, 64) != 0)
        return -1;
    int rc = tld_call_event_schema(&b, TLD_CALL_EVENT_BATCH);
    if (rc == 0)
        rc = etw_capi->prepared_event_create(&batch_event, etw_provider, &b);
    tld_builder_destroy(&b);
    return rc == 0 ? 0 : -1;
}

static void put_le(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Writes the batch's records (if anyone still listens) and empties it. */
static void write_batch(struct etw_batch *b)
{
    tld_call_batch *c = &b->calls;
    if (c->records == 0)
        return;
    if (batch_event != NULL && etw_event_on(TLD_LEVEL_VERBOSE, ETW_KW_PUSH | ETW_KW_POP)) {
        put_le(b->event, (uint32_t)b->tid, 4);
        put_le(b->event + 4, c->base_ticks, 8);
        put_le(b->event + 12, c->records, 4);
        put_le(b->event + 16, tld_call_batch_checksum(c->data, c->len), 4);
        put_le(b->event + 20, c->len, 2);
        etw_capi->prepared_event_write_at(batch_event, b->event, BATCH_HEAD_BYTES + c->len, c->base_ticks);
    }
    tld_call_batch_reset(c);
}

/* This thread's batch, making or reusing a block on its first call. */
static struct etw_batch *batch_of_this_thread(void)
{
    if (ETW_LIKELY(my_batch != NULL))
        return my_batch;
    struct etw_batch *b = all_batches;
    while (b != NULL && b->in_use)
        b = b->next;
    if (b == NULL) {
        b = malloc(sizeof *b);
        if (b == NULL)
            return NULL;
        b->next = all_batches;
        all_batches = b;
    }
    b->in_use = 1;
    b->tid = (int32_t)PyThread_get_thread_native_id();
    tld_call_batch_init(&b->calls, b->event + BATCH_HEAD_BYTES, BATCH_RECORD_BYTES);
    my_batch = b;
    return b;
}

/* Appends through the batch; 0 when there is no memory for one (the caller
 * writes the event itself then). */
int etw_batch_call(uint64_t id, uint64_t caller, uint64_t caller_line)
{
    struct etw_batch *b = batch_of_this_thread();
    if (ETW_UNLIKELY(b == NULL))
        return 0;
    if (ETW_UNLIKELY(!tld_call_batch_has_room(&b->calls)))
        write_batch(b);
    tld_call_batch_add_call(&b->calls, etw_capi->clock_now(), id, caller, caller_line);
    return 1;
}

int etw_batch_return(uint64_t id)
{
    struct etw_batch *b = batch_of_this_thread();
    if (ETW_UNLIKELY(b == NULL))
        return 0;
    if (ETW_UNLIKELY(!tld_call_batch_has_room(&b->calls)))
        write_batch(b);
    tld_call_batch_add_return(&b->calls, etw_capi->clock_now(), id);
    return 1;
}

void etw_batch_flush_mine(void)
{
    if (my_batch != NULL)
        write_batch(my_batch);
}

void etw_batch_release_mine(void)
{
    if (my_batch == NULL)
        return;
    write_batch(my_batch);
    my_batch->in_use = 0;
    my_batch = NULL;
}

void etw_batches_flush_all(void)
{
    for (struct etw_batch *b = all_batches; b != NULL; b = b->next)
        if (b->in_use)
            write_batch(b);
}

void etw_batches_after_fork_child(void)
{
    /* What the parent's threads had not written yet belongs to the parent's
     * sessions; this process has only its own thread. */
    for (struct etw_batch *b = all_batches; b != NULL; b = b->next) {
        tld_call_batch_reset(&b->calls);
        if (b != my_batch)
            b->in_use = 0;
    }
    if (my_batch != NULL)
        my_batch->tid = (int32_t)PyThread_get_thread_native_id();
}
