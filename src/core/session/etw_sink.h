/*
 * etw_sink.h — the sink that hands providers' events to ETW (Event Tracing
 * for Windows), written against a table of ETW's four provider entry
 * points so that everything but the calls themselves is plain portable C.
 *
 *   tld_provider_open ──► provider_opened ──► api->event_register(id, reg)
 *                                             api->event_set_information(traits)
 *   ETW enable callback ──► tld_etw_sink_enable(reg, code, level, any, all)
 *        (any thread, any time)      └──► the provider's enable slot for this sink
 *   tld_provider_write ──► deliver ──► reg's own ETW filter ──► api->event_write_transfer(
 *                                        descriptor, activity ids, 3 data descriptors)
 *   tld_provider_close ──► provider_closing ──► api->event_unregister
 *
 * On Windows, etw_sink_windows.c registers this sink at the first provider with
 * the real entry points (tld_etw_os_api, which tests may swap before any
 * provider opens). Elsewhere nothing registers it; tests register it with
 * an entry-point table of their own, which is how the Linux build checks
 * the descriptors byte for byte.
 *
 * ETW's enable rules, as native TraceLogging providers apply them: the
 * callback's Level 0 means every level; control code 1 enables (or changes
 * the settings), 0 disables, 2 (capture state) leaves them as they are.
 * An event passes when its level is below level_plus1 and its keyword is 0
 * or has a bit of MatchAny and every bit of MatchAll. A MatchAny of 0 is
 * taken as all ones, as the in-process sessions take it: it keeps the
 * check conservative, and ETW filters each of its sessions exactly anyway.
 */
#ifndef TLD_ETW_SINK_H
#define TLD_ETW_SINK_H

#include "tracelogging/tld.h"
#include "tracelogging/tld_etw.h"

#include <stdint.h>

/* EVENT_DATA_DESCRIPTOR, field for field (etw_sink_windows.c checks the layout). */
typedef struct tld_etw_data_descriptor {
    uint64_t ptr;
    uint32_t size;
    uint8_t type;       /* TLD_ETW_DESCRIPTOR_* */
    uint8_t reserved1;
    uint16_t reserved2;
} tld_etw_data_descriptor;

/* The descriptor types of EventWriteTransfer's data (mingw-w64 calls the
 * byte Reserved; the Windows SDK names the values EVENT_DATA_DESCRIPTOR_TYPE_*). */
#define TLD_ETW_DESCRIPTOR_DATA 0u
#define TLD_ETW_DESCRIPTOR_EVENT_METADATA 1u
#define TLD_ETW_DESCRIPTOR_PROVIDER_METADATA 2u

/* EVENT_INFO_CLASS EventProviderSetTraits, for event_set_information. */
#define TLD_ETW_PROVIDER_SET_TRAITS 2u

/* The enable callback's control codes. */
#define TLD_ETW_CONTROL_DISABLE 0u
#define TLD_ETW_CONTROL_ENABLE 1u
#define TLD_ETW_CONTROL_CAPTURE_STATE 2u

/*
 * ETW's provider entry points, each returning a Win32 error code (0 =
 * ERROR_SUCCESS). event_register must arrange for ETW's enable callback to
 * call tld_etw_sink_enable(context, ...) until event_unregister returns.
 */
typedef struct tld_etw_api {
    uint32_t (*event_register)(const tld_guid *provider_id, void *context, uint64_t *handle);
    uint32_t (*event_set_information)(uint64_t handle, uint32_t info_class, const void *info, uint32_t len);
    uint32_t (*event_write_transfer)(uint64_t handle, const tld_event_descriptor *desc,
                                     const tld_guid *activity_id, const tld_guid *related_activity_id,
                                     uint32_t count, const tld_etw_data_descriptor *data);
    uint32_t (*event_unregister)(uint64_t handle);
} tld_etw_api;

/*
 * Registers the ETW sink, calling `api` from now on (the table must stay
 * valid and unchanged for the life of the process). Once per process: a
 * second call returns TLD_E_INVALID_ARG. Every provider already open is
 * registered with ETW now, every later one when it opens.
 */
int tld_etw_sink_register(const tld_etw_api *api);

/*
 * What ETW's enable callback reports for the registration `context` (the
 * pointer event_register received). Updates the registration's own filter
 * and the provider's enable state. Thread-safe; valid from the start of
 * event_register until event_unregister returns.
 */
void tld_etw_sink_enable(void *context, uint32_t control_code, uint8_t level, uint64_t match_any,
                         uint64_t match_all);

/*
 * Fills d[0..3) with the three descriptors EventWriteTransfer takes for a
 * TraceLogging event: provider traits (type 2), event metadata (type 1),
 * field data (type 0, possibly 0 bytes). Pointers stay borrowed.
 */
void tld_etw_describe_event(const uint8_t *traits, size_t traits_len, const uint8_t *meta, size_t meta_len,
                            const uint8_t *data, size_t data_len, tld_etw_data_descriptor d[3]);

/*
 * Unregisters every provider from ETW and stops the sink from registering
 * or writing more (process exit: etw_sink_windows.c calls it from atexit).
 * Registrations are not freed: a thread still writing may hold one.
 */
void tld_etw_sink_shutdown(void);

#endif
