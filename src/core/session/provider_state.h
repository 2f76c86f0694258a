/*
 * provider_state.h — a provider's enable state, written by sinks (ETW enable
 * callbacks, session start/stop) and read lock-free by
 * tld_provider_is_enabled().
 */
#ifndef TLD_PROVIDER_STATE_H
#define TLD_PROVIDER_STATE_H

#include "tracelogging/tld.h"

#include "tracelogging/tld_enable_state.h"

struct tld_sink;

/*
 * Sets what one sink's listeners want from `p`: `level_plus1` is 0 when none
 * of them listens, else their highest level plus one (256 when some
 * listener takes every level); `any` is the union of their MatchAny masks;
 * `all` is a mask every listener's MatchAll contains (their intersection).
 * The provider combines the states of all sinks (ETW and sessions do not
 * overwrite each other) into what tld_provider_is_enabled() reads.
 * Thread-safe: it takes a lock of its own, innermost (never held while
 * calling out), so ETW's enable callback may call it from any thread while
 * another thread holds the registry lock. `p` must be open.
 */
void tld_provider_set_enable_state(tld_provider *p, const struct tld_sink *sink, unsigned level_plus1,
                                   uint64_t any, uint64_t all);

/* The registry lock: held while providers open and close, sinks register,
 * and enable states are recomputed (and across fork(), session.c). */
void tld_registry_lock(void);
void tld_registry_unlock(void);

/*
 * One pointer per provider and sink, for the sink's own per-provider state
 * (the ETW sink keeps its registration there). Set it in provider_opened /
 * provider_closing (under the registry lock); read it from deliver()
 * without a lock (NULL until set).
 */
void tld_provider_set_sink_data(tld_provider *p, const struct tld_sink *sink, void *data);
void *tld_provider_sink_data(const tld_provider *p, const struct tld_sink *sink);

/* Calls fn(p, ctx) for every open provider, under the registry lock. */
void tld_provider_for_each(void (*fn)(tld_provider *p, void *ctx), void *ctx);

/* The provider's name (not NUL-terminated). */
const char *tld_provider_name(const tld_provider *p, size_t *len);

/* The provider's enable callback (NULL: none) and its context (tld.h).
 * Caller holds the registry lock. */
void tld_provider_enable_callback_of(const tld_provider *p, tld_provider_enable_callback *fn, void **context);

#endif
