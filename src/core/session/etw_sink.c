/*
 * etw_sink.c — the ETW sink (etw_sink.h): one ETW registration per open
 * provider, its enable state kept from ETW's callback, and each event
 * written with EventWriteTransfer through the entry-point table.
 *
 * Locks. provider_opened/provider_closing run under the registry lock and
 * call event_register/event_unregister there. ETW may call the enable
 * callback on the registering thread (from inside EventRegister, when a
 * session already wants the provider) or on any other thread at any time,
 * and EventUnregister waits for a callback in progress. So the callback
 * takes no lock the registering or closing thread may hold: it writes its
 * registration's atomics and calls tld_provider_set_enable_state(), whose
 * own lock is innermost. A registration lives from provider_opened to
 * provider_closing (after event_unregister returns no callback runs for it);
 * deliver() finds it through the provider's sink slot.
 */
#include "etw_sink.h"

#include "tracelogging/tld_enable_state.h"

#include "cpu.h"
#include "provider_state.h"
#include "sink.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

typedef struct etw_registration {
    tld_enable_state enable;      /* ETW's sessions, combined by ETW (callback) */
    tld_provider *provider;
    atomic_uint_least64_t handle; /* 0: EventRegister failed, or unregistered */
    uint32_t register_status;
    uint32_t traits_status;
} etw_registration;

static const tld_etw_api *etw_api;
static atomic_int shut_down;

static void etw_provider_opened(const tld_sink *sink, tld_provider *p);
static void etw_provider_closing(const tld_sink *sink, tld_provider *p);
static int etw_deliver(const tld_sink *sink, const tld_provider *p, const tld_event_view *ev);

static const tld_sink etw_sink = {
    .name = "etw",
    .deliver = etw_deliver,
    .provider_opened = etw_provider_opened,
    .provider_closing = etw_provider_closing,
};

/* ---- enable state --------------------------------------------------------------- */

void tld_etw_sink_enable(void *context, uint32_t control_code, uint8_t level, uint64_t match_any,
                         uint64_t match_all)
{
    etw_registration *reg = context;
    unsigned level_plus1;
    if (control_code == TLD_ETW_CONTROL_ENABLE) {
        level_plus1 = level != 0 ? level + 1u : 256u;
        if (match_any == 0)
            match_any = ~(uint64_t)0;
    } else if (control_code == TLD_ETW_CONTROL_DISABLE) {
        level_plus1 = 0;
        match_any = 0;
        match_all = 0;
    } else {
        return; /* capture state, or a code we do not know: settings unchanged */
    }
    /* Masks first, level last (enable_state.h: readers acquire the level). */
    atomic_store_explicit(&reg->enable.any_keyword, match_any, memory_order_relaxed);
    atomic_store_explicit(&reg->enable.all_keyword, match_all, memory_order_relaxed);
    atomic_store_explicit(&reg->enable.level_plus1, level_plus1, memory_order_release);
    tld_provider_set_enable_state(reg->provider, &etw_sink, level_plus1, match_any, match_all);
}

/* ---- registration ------------------------------------------------------------------- */

static void etw_provider_opened(const tld_sink *sink, tld_provider *p)
{
    if (atomic_load(&shut_down))
        return;
    etw_registration *reg = calloc(1, sizeof *reg);
    if (reg == NULL)
        return; /* the provider works without ETW, as with a failed EventRegister */
    reg->provider = p;
    uint64_t handle = 0;
    reg->register_status = etw_api->event_register(tld_provider_id(p), reg, &handle);
    if (reg->register_status != 0) {
        handle = 0;
    } else {
        size_t len;
        const uint8_t *traits = tld_provider_traits(p, &len);
        reg->traits_status =
            etw_api->event_set_information(handle, TLD_ETW_PROVIDER_SET_TRAITS, traits, (uint32_t)len);
    }
    atomic_store_explicit(&reg->handle, handle, memory_order_relaxed);
    tld_provider_set_sink_data(p, sink, reg);
}

/* Ends the registration; after this ETW calls nothing of it. */
static void unregister_one(const tld_sink *sink, tld_provider *p, etw_registration *reg)
{
    uint64_t handle = atomic_exchange(&reg->handle, 0);
    if (handle != 0)
        etw_api->event_unregister(handle);
    atomic_store_explicit(&reg->enable.level_plus1, 0, memory_order_release);
    tld_provider_set_enable_state(p, sink, 0, 0, 0);
}

static void etw_provider_closing(const tld_sink *sink, tld_provider *p)
{
    etw_registration *reg = tld_provider_sink_data(p, sink);
    if (reg == NULL)
        return;
    tld_provider_set_sink_data(p, sink, NULL);
    unregister_one(sink, p, reg);
    free(reg);
}

int tld_etw_sink_register(const tld_etw_api *api)
{
    if (api == NULL || etw_api != NULL)
        return TLD_E_INVALID_ARG;
    etw_api = api;
    int rc = tld_sink_register(&etw_sink);
    if (rc != TLD_OK)
        etw_api = NULL;
    return rc;
}

static void shut_down_one(tld_provider *p, void *ctx)
{
    (void)ctx;
    etw_registration *reg = tld_provider_sink_data(p, &etw_sink);
    if (reg != NULL)
        unregister_one(&etw_sink, p, reg);
}

void tld_etw_sink_shutdown(void)
{
    if (etw_api == NULL || atomic_exchange(&shut_down, 1))
        return;
    tld_provider_for_each(shut_down_one, NULL);
}

int tld_etw_registration(const tld_provider *p, tld_etw_registration_info *out)
{
    if (etw_api == NULL || p == NULL)
        return TLD_E_ETW_NOT_REGISTERED;
    const etw_registration *reg = tld_provider_sink_data(p, &etw_sink);
    if (reg == NULL)
        return TLD_E_ETW_NOT_REGISTERED;
    out->handle = atomic_load_explicit(&reg->handle, memory_order_relaxed);
    out->register_status = reg->register_status;
    out->traits_status = reg->traits_status;
    out->level_plus1 = atomic_load_explicit(&reg->enable.level_plus1, memory_order_acquire);
    out->match_any = atomic_load_explicit(&reg->enable.any_keyword, memory_order_relaxed);
    out->match_all = atomic_load_explicit(&reg->enable.all_keyword, memory_order_relaxed);
    return 0;
}

/* ---- writing -------------------------------------------------------------------------- */

static void describe(tld_etw_data_descriptor *d, const uint8_t *p, size_t len, uint8_t type)
{
    d->ptr = (uint64_t)(uintptr_t)p;
    d->size = (uint32_t)len;
    d->type = type;
    d->reserved1 = 0;
    d->reserved2 = 0;
}

void tld_etw_describe_event(const uint8_t *traits, size_t traits_len, const uint8_t *meta, size_t meta_len,
                            const uint8_t *data, size_t data_len, tld_etw_data_descriptor d[3])
{
    describe(&d[0], traits, traits_len, TLD_ETW_DESCRIPTOR_PROVIDER_METADATA);
    describe(&d[1], meta, meta_len, TLD_ETW_DESCRIPTOR_EVENT_METADATA);
    describe(&d[2], data, data_len, TLD_ETW_DESCRIPTOR_DATA);
}

/* The -errno for a Win32 status of EventWriteTransfer (the sink
 * convention, sink.h): too large for a session's buffers or for ETW at all
 * is -EMSGSIZE as it is for our own sessions; buffers full (the event is
 * lost) -ENOMEM; the rest as near as errno gets. */
static int errno_of_etw_status(uint32_t status)
{
    switch (status) {
    case 0: return 0;
    case 234: return -EMSGSIZE;   /* ERROR_MORE_DATA: bigger than a session's buffer */
    case 534: return -EMSGSIZE;   /* ERROR_ARITHMETIC_OVERFLOW: bigger than 64 KiB */
    case 8: return -ENOMEM;       /* ERROR_NOT_ENOUGH_MEMORY: a session's buffers are full */
    case 14: return -ENOMEM;      /* ERROR_OUTOFMEMORY */
    case 6: return -EBADF;        /* ERROR_INVALID_HANDLE */
    case 87: return -EINVAL;      /* ERROR_INVALID_PARAMETER */
    default: return -EIO;
    }
}

/* EventWriteTransfer's status as -errno (0 when it was written, or when
 * nobody listens). */
static int etw_deliver(const tld_sink *sink, const tld_provider *p, const tld_event_view *ev)
{
    etw_registration *reg = tld_provider_sink_data(p, sink);
    if (reg == NULL || !tld_enable_state_allows(&reg->enable, ev->desc->level, ev->desc->keyword))
        return 0;
    uint64_t handle = atomic_load_explicit(&reg->handle, memory_order_relaxed);
    if (TLD_UNLIKELY(handle == 0))
        return 0;
    tld_etw_data_descriptor d[3];
    tld_etw_describe_event(ev->traits, ev->traits_len, ev->meta, ev->meta_len, ev->data, ev->data_len, d);
    return errno_of_etw_status(
        etw_api->event_write_transfer(handle, ev->desc, ev->activity_id, ev->related_activity_id, 3, d));
}
