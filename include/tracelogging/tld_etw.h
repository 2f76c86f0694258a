/*
 * tld_etw.h — what the core knows of a provider's registration with ETW
 * (Event Tracing for Windows), for C users and the Python binding.
 *
 * On Windows every provider is registered with ETW when it opens
 * (EventRegister, then EventSetInformation with its traits), beside the
 * in-process sessions; ETW's enable callback feeds tld_provider_is_enabled()
 * and tld_provider_write() hands each event to EventWriteTransfer when an
 * ETW session wants it. Like upstream TraceLoggingDynamic, a failed
 * registration does not fail tld_provider_open(): the provider works
 * without ETW, and tld_etw_registration() says what ETW answered.
 * Elsewhere (and on Windows with TRACELOGGING_ETW=0 in the environment)
 * there is no ETW, and tld_etw_registration() returns
 * TLD_E_ETW_NOT_REGISTERED.
 */
#ifndef TRACELOGGING_TLD_ETW_H
#define TRACELOGGING_TLD_ETW_H

#include "tracelogging/tld.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tld_etw_registration_info {
    uint64_t handle;            /* REGHANDLE; 0 when EventRegister failed */
    uint32_t register_status;   /* EventRegister's Win32 result (0 = ERROR_SUCCESS) */
    uint32_t traits_status;     /* EventSetInformation(EventProviderSetTraits)'s result */
    unsigned level_plus1;       /* what ETW's sessions ask for, as its enable callback said: */
    uint64_t match_any, match_all; /* 0 = none; else the level + 1 (256: every level) */
} tld_etw_registration_info;

/* Returns 0 with *out filled, or TLD_E_ETW_NOT_REGISTERED (no ETW in this
 * process, or `p` is NULL or closed). */
int tld_etw_registration(const tld_provider *p, tld_etw_registration_info *out);

#ifdef __cplusplus
}
#endif

#endif
