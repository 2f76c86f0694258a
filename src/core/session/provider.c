/*
 * provider.c — providers: identity (name, id, traits), the process-wide
 * registry of open providers, the lock-free enable state and event
 * delivery to sinks.
 *
 * Enable state: three relaxed atomics (level bound, MatchAny union,
 * MatchAll intersection) combining every listener. is_enabled() reads them
 * without a lock; they may briefly disagree with each other while a session
 * starts or stops, which only makes the answer conservative for that
 * moment, as ETW's own check is.
 */
#include "tracelogging/tld.h"

#include "byteorder.h"
#include "memory.h"
#include "platform_sinks.h"
#include "provider_state.h"
#include "sink.h"
#include "thread.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define GROUP_TRAIT_SIZE 19 /* u16 size, u8 type, GUID */
#define TRAIT_TYPE_GROUP 1  /* EtwProviderTraitTypeGroup */

struct tld_provider {
    tld_guid id;
    char *name;
    size_t name_len;
    uint8_t *traits;
    size_t traits_len;
    tld_enable_state enable;
    struct sink_state {           /* each sink's wish, combined into the atomics above */
        unsigned level_plus1;
        uint64_t any, all;
    } sink_states[TLD_MAX_SINKS];     /* under enable_lock */
    _Atomic(void *) sink_data[TLD_MAX_SINKS]; /* tld_provider_set_sink_data() */
    tld_provider_enable_callback enable_callback; /* under the registry lock */
    void *enable_context;
    struct tld_provider *next; /* registry list, under the registry lock */
};

static tld_mutex registry_mutex = TLD_MUTEX_INIT;
/* Serializes tld_provider_set_enable_state(); taken last, held briefly. */
static tld_mutex enable_lock = TLD_MUTEX_INIT;
static tld_provider *registry_head;

void tld_registry_lock(void)
{
    tld_mutex_lock(&registry_mutex);
}

void tld_registry_unlock(void)
{
    tld_mutex_unlock(&registry_mutex);
}
static const tld_sink *sinks[TLD_MAX_SINKS];
static atomic_int sink_count;

int tld_sink_register(const tld_sink *sink)
{
    tld_registry_lock();
    int n = atomic_load(&sink_count);
    int rc = TLD_OK;
    if (n >= TLD_MAX_SINKS) {
        rc = TLD_E_INVALID_ARG;
    } else {
        sinks[n] = sink;
        atomic_store(&sink_count, n + 1); /* publish after the slot is filled */
        for (tld_provider *p = registry_head; p != NULL; p = p->next)
            if (sink->provider_opened)
                sink->provider_opened(sink, p);
    }
    tld_registry_unlock();
    return rc;
}

int tld_sink_list(const tld_sink *const **out)
{
    *out = sinks;
    return atomic_load_explicit(&sink_count, memory_order_acquire);
}

size_t tld_provider_traits_size(size_t name_len, int has_group)
{
    return 2 + name_len + 1 + (has_group ? GROUP_TRAIT_SIZE : 0);
}

static uint8_t *build_traits(const char *name, size_t name_len, const tld_guid *group_id, size_t *len)
{
    size_t n = tld_provider_traits_size(name_len, group_id != NULL);
    uint8_t *t = malloc(n);
    if (t == NULL)
        return NULL;
    store_le16(t, (uint16_t)n);
    memcpy(t + 2, name, name_len);
    t[2 + name_len] = 0;
    if (group_id) {
        uint8_t *g = t + 3 + name_len;
        store_le16(g, GROUP_TRAIT_SIZE);
        g[2] = TRAIT_TYPE_GROUP;
        memcpy(g + 3, group_id->bytes_le, 16);
    }
    *len = n;
    return t;
}

int tld_provider_open(tld_provider **out, const char *name, size_t name_len,
                      const tld_guid *id, const tld_guid *group_id)
{
    if (out == NULL || name == NULL)
        return TLD_E_INVALID_ARG;
    *out = NULL;
    if (name_len == 0 || memchr(name, 0, name_len) != NULL)
        return TLD_E_PROVIDER_NAME;
    if (tld_provider_traits_size(name_len, group_id != NULL) > 0xFFFF)
        return TLD_E_TRAITS_TOO_LONG;
    tld_platform_sinks_init(); /* before the registry lock: it registers sinks */
    tld_provider *p = tld_calloc_lines(1, sizeof *p);
    if (p == NULL)
        return TLD_E_NO_MEMORY;
    if (id != NULL) {
        p->id = *id;
    } else {
        int rc = tld_providerid_from_name_ascii(name, name_len, &p->id);
        if (rc != TLD_OK) {
            tld_free_aligned(p);
            return rc;
        }
    }
    p->name = malloc(name_len);
    p->traits = build_traits(name, name_len, group_id, &p->traits_len);
    if (p->name == NULL || p->traits == NULL) {
        free(p->name);
        free(p->traits);
        tld_free_aligned(p);
        return TLD_E_NO_MEMORY;
    }
    memcpy(p->name, name, name_len);
    p->name_len = name_len;

    tld_registry_lock();
    p->next = registry_head;
    registry_head = p;
    int n = atomic_load(&sink_count);
    for (int i = 0; i < n; i++)
        if (sinks[i]->provider_opened)
            sinks[i]->provider_opened(sinks[i], p);
    tld_registry_unlock();
    *out = p;
    return TLD_OK;
}

void tld_provider_close(tld_provider *p)
{
    if (p == NULL)
        return;
    tld_registry_lock();
    int n = atomic_load(&sink_count);
    for (int i = 0; i < n; i++)
        if (sinks[i]->provider_closing)
            sinks[i]->provider_closing(sinks[i], p);
    for (tld_provider **link = &registry_head; *link != NULL; link = &(*link)->next) {
        if (*link == p) {
            *link = p->next;
            break;
        }
    }
    tld_registry_unlock();
    free(p->name);
    free(p->traits);
    tld_free_aligned(p);
}

const uint8_t *tld_provider_traits(const tld_provider *p, size_t *len)
{
    *len = p->traits_len;
    return p->traits;
}

const tld_guid *tld_provider_id(const tld_provider *p)
{
    return &p->id;
}

const char *tld_provider_name(const tld_provider *p, size_t *len)
{
    *len = p->name_len;
    return p->name;
}

/* Index of `sink` among the registered sinks, or -1. */
static int sink_index(const tld_sink *sink)
{
    int n = atomic_load_explicit(&sink_count, memory_order_acquire);
    for (int i = 0; i < n; i++)
        if (sinks[i] == sink)
            return i;
    return -1;
}

void tld_provider_set_sink_data(tld_provider *p, const tld_sink *sink, void *data)
{
    int i = sink_index(sink);
    if (i >= 0)
        atomic_store_explicit(&p->sink_data[i], data, memory_order_release);
}

void *tld_provider_sink_data(const tld_provider *p, const tld_sink *sink)
{
    int i = sink_index(sink);
    return i < 0 ? NULL : atomic_load_explicit(&((tld_provider *)p)->sink_data[i], memory_order_acquire);
}

void tld_provider_set_enable_state(tld_provider *p, const tld_sink *sink, unsigned level_plus1,
                                   uint64_t any, uint64_t all)
{
    tld_mutex_lock(&enable_lock);
    int n = atomic_load(&sink_count);
    for (int i = 0; i < n; i++) {
        if (sinks[i] == sink) {
            p->sink_states[i].level_plus1 = level_plus1;
            p->sink_states[i].any = any;
            p->sink_states[i].all = all;
        }
    }
    /* Conservative union over sinks: highest level, any bit, common bits. */
    unsigned combined_level = 0;
    uint64_t combined_any = 0, combined_all = ~(uint64_t)0;
    for (int i = 0; i < n; i++) {
        const struct sink_state *st = &p->sink_states[i];
        if (st->level_plus1 == 0)
            continue;
        if (st->level_plus1 > combined_level)
            combined_level = st->level_plus1;
        combined_any |= st->any;
        combined_all &= st->all;
    }
    if (combined_level == 0)
        combined_all = 0;
    /* Masks first, level last: a reader that sees the new level also sees
     * masks at least as new (release/acquire on level_plus1). */
    atomic_store_explicit(&p->enable.any_keyword, combined_any, memory_order_relaxed);
    atomic_store_explicit(&p->enable.all_keyword, combined_all, memory_order_relaxed);
    atomic_store_explicit(&p->enable.level_plus1, combined_level, memory_order_release);
    tld_mutex_unlock(&enable_lock);
}

void tld_provider_for_each(void (*fn)(tld_provider *p, void *ctx), void *ctx)
{
    tld_registry_lock();
    for (tld_provider *p = registry_head; p != NULL; p = p->next)
        fn(p, ctx);
    tld_registry_unlock();
}

int tld_provider_is_enabled(const tld_provider *p, uint8_t level, uint64_t keyword)
{
    return tld_enable_state_allows(&p->enable, level, keyword);
}

const tld_enable_state *tld_provider_enable_state(const tld_provider *p)
{
    return &p->enable;
}

int tld_provider_write(tld_provider *p, tld_event_builder *b,
                       const tld_guid *activity_id, const tld_guid *related_activity_id)
{
    if (p == NULL || b == NULL)
        return TLD_E_INVALID_ARG;
    size_t meta_len;
    const uint8_t *meta = tld_builder_meta(b, &meta_len);
    if (tld_builder_check_state(b) != TLD_OK)
        return TLD_E_ERROR_STATE;
    if (!tld_provider_is_enabled(p, b->desc.level, b->desc.keyword))
        return 0; /* nobody listens: success, as ETW reports it */

    tld_event_view ev = {
        .desc = &b->desc,
        .traits = p->traits,
        .traits_len = p->traits_len,
        .meta = meta,
        .meta_len = meta_len,
        .data = b->data,
        .data_len = b->data_len,
        .activity_id = activity_id,
        .related_activity_id = related_activity_id,
    };
    int status = 0;
    int n = atomic_load_explicit(&sink_count, memory_order_acquire);
    for (int i = 0; i < n; i++) {
        int rc = sinks[i]->deliver(sinks[i], p, &ev);
        if (rc != 0 && status == 0)
            status = rc;
    }
    return status;
}

size_t tld_provider_list_names(char *buf, size_t size)
{
    size_t need = 0;
    tld_registry_lock();
    for (tld_provider *p = registry_head; p != NULL; p = p->next) {
        const char *sep = need ? ", " : "";
        size_t sep_len = need ? 2 : 0;
        for (size_t i = 0; i < sep_len + p->name_len; i++) {
            char c = i < sep_len ? sep[i] : p->name[i - sep_len];
            if (need + 1 < size)
                buf[need] = c;
            need++;
        }
    }
    tld_registry_unlock();
    if (size > 0)
        buf[need < size ? need : size - 1] = '\0';
    return need;
}

int tld_provider_set_enable_callback(tld_provider *p, tld_provider_enable_callback fn, void *context)
{
    if (p == NULL)
        return TLD_E_INVALID_ARG;
    tld_registry_lock();
    p->enable_callback = fn;
    p->enable_context = context;
    tld_registry_unlock();
    return TLD_OK;
}

void tld_provider_enable_callback_of(const tld_provider *p, tld_provider_enable_callback *fn, void **context)
{
    *fn = p->enable_callback;
    *context = p->enable_context;
}
