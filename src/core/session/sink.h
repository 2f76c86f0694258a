/*
 * sink.h — the interface between providers and whatever consumes their
 * events (ETW on Windows, in-process .etl sessions, later user_events).
 *
 * A provider does not know its consumers. When an event passes the
 * provider's conservative enable check, the provider hands a view of the
 * encoded event to every registered sink; each sink applies its own exact
 * filter. Sinks also feed the provider's enable state (provider_state.h).
 */
#ifndef TLD_SINK_H
#define TLD_SINK_H

#include "tracelogging/tld.h"

/* One encoded event, borrowed for the duration of a deliver() call. */
typedef struct tld_event_view {
    const tld_event_descriptor *desc;
    const uint8_t *traits;
    size_t traits_len;
    const uint8_t *meta;      /* size slot filled */
    size_t meta_len;
    const uint8_t *data;
    size_t data_len;
    const tld_guid *activity_id;          /* NULL: the thread's current one */
    const tld_guid *related_activity_id;  /* NULL: none */
    uint64_t timestamp;       /* 0: now; else the event clock's ticks (sinks that stamp
                                 time themselves, such as ETW, ignore it) */
} tld_event_view;

#define TLD_MAX_SINKS 8

typedef struct tld_sink {
    const char *name;
    /* Called for every provider that passes its enable check. Returns 0 or
     * a negative code (tld_errors.h). Must be thread-safe. */
    int (*deliver)(const struct tld_sink *sink, const tld_provider *p, const tld_event_view *ev);
    /* Optional fast path for prepared events (tld_prepared_event_*): once
     * per prepared event, prepare() encodes what never changes of it (`ev`
     * without data) in the sink's own form, or returns NULL (no memory:
     * deliver() is used instead). deliver_prepared() then gets that
     * encoding with each event's view (it may keep caches in it, thread-
     * safely); release_prepared() frees it. */
    void *(*prepare)(const struct tld_sink *sink, const tld_provider *p, const tld_event_view *ev);
    int (*deliver_prepared)(const struct tld_sink *sink, const tld_provider *p, void *prepared,
                            const tld_event_view *ev);
    void (*release_prepared)(const struct tld_sink *sink, void *prepared);
    /* Called under the registry lock when a provider opens or closes, so a
     * sink can attach listeners to it (or detach them). May be NULL. */
    void (*provider_opened)(const struct tld_sink *sink, tld_provider *p);
    void (*provider_closing)(const struct tld_sink *sink, tld_provider *p);
} tld_sink;

/* Adds a sink for the life of the process (the set only grows, so
 * tld_provider_write() can walk it without a lock). At most TLD_MAX_SINKS. */
int tld_sink_register(const tld_sink *sink);

/* The registered sinks, in registration order (index i stays sink i for
 * the life of the process). Returns their count. Lock-free. */
int tld_sink_list(const tld_sink *const **out);

#endif
