/*
 * tld_enable_state.h — a provider's combined enable state (the most verbose
 * level and the keyword masks any listening sink asked for), and the test
 * "would anyone take an event of this level and keyword" on it, inline.
 *
 * tld_provider_is_enabled() runs this test. Code on a hot path that lives
 * in another shared object than the core (etwtrace's Push, through the
 * _tld capsule) can run it inline on the provider's state and save a call
 * across shared objects per event. The state lives as long as its
 * provider; only the core writes it.
 */
#ifndef TRACELOGGING_TLD_ENABLE_STATE_H
#define TRACELOGGING_TLD_ENABLE_STATE_H

#include <stdatomic.h>
#include <stdint.h>

#include "tracelogging/tld.h"

typedef struct tld_enable_state {
    atomic_uint level_plus1;            /* 0: nobody listens; else the most verbose level + 1 */
    atomic_uint_least64_t any_keyword;
    atomic_uint_least64_t all_keyword;
} tld_enable_state;

static inline int tld_enable_state_allows(const tld_enable_state *s, uint8_t level, uint64_t keyword)
{
    unsigned level_plus1 = atomic_load_explicit(&s->level_plus1, memory_order_acquire);
    if (level >= level_plus1) /* also covers "nobody listens" (0) */
        return 0;
    if (keyword == 0)
        return 1;
    uint64_t any = atomic_load_explicit(&s->any_keyword, memory_order_relaxed);
    uint64_t all = atomic_load_explicit(&s->all_keyword, memory_order_relaxed);
    return (keyword & any) != 0 && (keyword & all) == all;
}

/* The state tld_provider_is_enabled(p, ...) reads. Valid while p is open. */
const tld_enable_state *tld_provider_enable_state(const tld_provider *p);

#endif
