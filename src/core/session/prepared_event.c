/*
 * prepared_event.c — events encoded once and written many times
 * (tld_prepared_event_*, tld.h): the hot path of etwtrace's instrumented
 * mode, a Push or a Pop on every Python call.
 *
 * A prepared event keeps its descriptor and metadata, and for each sink
 * that has a fast path (sink.h: prepare/deliver_prepared) that sink's own
 * pre-encoding, made the first time the event reaches the sink. Sinks
 * registered later get theirs on first use too: the slot is filled with a
 * compare-and-swap, and a thread that loses the race frees its copy.
 */
#include "tracelogging/tld.h"

#include "sink.h"
#include "clock.h"
#include "memory.h"
#include "cpu.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct tld_prepared_event {
    tld_provider *provider;
    tld_event_descriptor desc;
    const uint8_t *traits;
    size_t traits_len;
    uint8_t *meta;
    size_t meta_len;
    _Atomic(void *) sink_data[TLD_MAX_SINKS];
};

int tld_prepared_event_create(tld_prepared_event **out, tld_provider *p, tld_event_builder *b)
{
    if (out == NULL)
        return TLD_E_INVALID_ARG;
    *out = NULL;
    if (p == NULL || b == NULL)
        return TLD_E_INVALID_ARG;
    if (tld_builder_check_state(b) != TLD_OK)
        return TLD_E_ERROR_STATE;
    size_t meta_len;
    const uint8_t *meta = tld_builder_meta(b, &meta_len);
    tld_prepared_event *e = tld_calloc_lines(1, sizeof *e);
    if (e == NULL)
        return TLD_E_NO_MEMORY;
    e->meta = malloc(meta_len ? meta_len : 1);
    if (e->meta == NULL) {
        tld_free_aligned(e);
        return TLD_E_NO_MEMORY;
    }
    memcpy(e->meta, meta, meta_len);
    e->meta_len = meta_len;
    e->provider = p;
    e->desc = b->desc;
    e->traits = tld_provider_traits(p, &e->traits_len);
    *out = e;
    return TLD_OK;
}

/* Sink i's encoding of e, made now if this is the first time. NULL: none
 * (no fast path, or no memory). */
static void *sink_encoding(tld_prepared_event *e, int i, const tld_sink *sink, const tld_event_view *ev)
{
    void *enc = atomic_load_explicit(&e->sink_data[i], memory_order_acquire);
    if (TLD_LIKELY(enc != NULL) || sink->prepare == NULL || sink->deliver_prepared == NULL)
        return enc;
    tld_event_view head = *ev;
    head.data = NULL;
    head.data_len = 0;
    void *made = sink->prepare(sink, e->provider, &head);
    if (made == NULL)
        return NULL;
    void *expected = NULL;
    if (atomic_compare_exchange_strong_explicit(&e->sink_data[i], &expected, made, memory_order_acq_rel,
                                                memory_order_acquire))
        return made;
    sink->release_prepared(sink, made); /* another thread was first */
    return expected;
}

int tld_prepared_event_write(tld_prepared_event *e, const void *data, size_t data_len)
{
    return tld_prepared_event_write_at(e, data, data_len, 0);
}

int tld_prepared_event_write_at(tld_prepared_event *e, const void *data, size_t data_len, uint64_t timestamp)
{
    if (e == NULL || (data == NULL && data_len != 0))
        return TLD_E_INVALID_ARG;
    if (!tld_provider_is_enabled(e->provider, e->desc.level, e->desc.keyword))
        return 0;
    tld_event_view ev = {
        .desc = &e->desc,
        .traits = e->traits,
        .traits_len = e->traits_len,
        .meta = e->meta,
        .meta_len = e->meta_len,
        .data = data,
        .data_len = data_len,
        .timestamp = timestamp,
    };
    const tld_sink *const *sinks;
    int n = tld_sink_list(&sinks);
    int status = 0;
    for (int i = 0; i < n; i++) {
        const tld_sink *sink = sinks[i];
        void *enc = sink_encoding(e, i, sink, &ev);
        int rc = enc != NULL ? sink->deliver_prepared(sink, e->provider, enc, &ev) : sink->deliver(sink, e->provider, &ev);
        if (rc != 0 && status == 0)
            status = rc;
    }
    return status;
}

uint64_t tld_clock_now(void)
{
    return tld_clock_ticks();
}

void tld_prepared_event_destroy(tld_prepared_event *e)
{
    if (e == NULL)
        return;
    const tld_sink *const *sinks;
    int n = tld_sink_list(&sinks);
    for (int i = 0; i < n; i++) {
        void *enc = atomic_load_explicit(&e->sink_data[i], memory_order_acquire);
        if (enc != NULL)
            sinks[i]->release_prepared(sinks[i], enc);
    }
    free(e->meta);
    tld_free_aligned(e);
}
