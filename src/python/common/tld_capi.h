/*
 * tld_capi.h — the C functions of traceloggingdynamic._tld that other
 * extension modules of this distribution call (etwtrace._etwtrace).
 *
 * Providers and sessions live in ONE registry per process, _tld's: a
 * provider opened anywhere else would never see the sessions started
 * through traceloggingdynamic.Session. Other extensions do not link the
 * session library at all (meson.build); they take the provider functions
 * from _tld through this capsule, and pure functions (the event builder)
 * from their own copy of the encoder.
 */
#ifndef TLD_CAPI_H
#define TLD_CAPI_H

#include "pycompat.h"
#include "tracelogging/tld.h"
#include "tracelogging/tld_enable_state.h"

#define TLD_CAPI_NAME "traceloggingdynamic._tld._C_API"
#define TLD_CAPI_VERSION 6

typedef struct tld_capi {
    int version;
    int (*provider_open)(tld_provider **out, const char *name, size_t name_len, const tld_guid *id,
                         const tld_guid *group_id);
    void (*provider_close)(tld_provider *p);
    int (*provider_write)(tld_provider *p, tld_event_builder *b, const tld_guid *activity_id,
                          const tld_guid *related_activity_id);
    int (*prepared_event_create)(tld_prepared_event **out, tld_provider *p, tld_event_builder *b);
    int (*prepared_event_write)(tld_prepared_event *e, const void *data, size_t data_len);
    void (*prepared_event_destroy)(tld_prepared_event *e);
    /* The provider's enable state, for tld_enable_state_allows() inline:
     * the hot path of etwtrace's Push saves a call into this module. */
    const tld_enable_state *(*provider_enable_state)(const tld_provider *p);
    /* tld_provider_set_enable_callback (tld.h): etwtrace announces its
     * functions to each session that starts listening. */
    int (*provider_set_enable_callback)(tld_provider *p, tld_provider_enable_callback fn, void *context);
    /* tld_prepared_event_write_at and tld_clock_now (tld.h): etwtrace's
     * call batches carry times of the clock the sessions stamp events with. */
    int (*prepared_event_write_at)(tld_prepared_event *e, const void *data, size_t data_len, uint64_t timestamp);
    uint64_t (*clock_now)(void);
} tld_capi;

/* Imports the table (importing traceloggingdynamic._tld). Returns NULL with
 * an exception set on failure. */
static inline const tld_capi *tld_capi_import(void)
{
    const tld_capi *api = (const tld_capi *)PyCapsule_Import(TLD_CAPI_NAME, 0);
    if (api != NULL && api->version != TLD_CAPI_VERSION) {
        PyErr_SetString(PyExc_ImportError, "traceloggingdynamic._tld has another C API version");
        return NULL;
    }
    return api;
}

#endif
