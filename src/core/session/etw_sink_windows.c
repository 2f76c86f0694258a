/*
 * etw_sink_windows.c — ETW's provider entry points for the ETW sink
 * (etw_sink.h), and the platform sinks of Windows (platform_sinks.h): the
 * ETW sink, registered once per process at the first provider, and
 * unregistered from ETW at process exit.
 *
 * The entry points are called through tld_etw_os_api, a table tests may
 * replace entries of (to capture what reaches EventWriteTransfer, or to
 * check every return code) before the first provider opens.
 *
 * ETW's callback (PENABLECALLBACK, WINAPI) is tld_etw_windows_enable_callback:
 * it passes the control code, level and keyword masks on to the sink. Its
 * filter data and source id are not used (ETW's own filtering applies
 * them). mingw-w64 lacks a few names the Windows SDK has; they are spelled
 * out here with their documented values.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#include <evntprov.h>
#include <evntrace.h>

#include "etw_sink.h"
#include "etw_sink_windows.h"
#include "platform_sinks.h"
#include "thread.h"

#include <stddef.h>
#include <stdlib.h>

/* The portable descriptor and descriptor types are ETW's, byte for byte. */
_Static_assert(sizeof(tld_etw_data_descriptor) == sizeof(EVENT_DATA_DESCRIPTOR), "EVENT_DATA_DESCRIPTOR size");
_Static_assert(offsetof(tld_etw_data_descriptor, ptr) == offsetof(EVENT_DATA_DESCRIPTOR, Ptr), "Ptr");
_Static_assert(offsetof(tld_etw_data_descriptor, size) == offsetof(EVENT_DATA_DESCRIPTOR, Size), "Size");
_Static_assert(offsetof(tld_etw_data_descriptor, type) == offsetof(EVENT_DATA_DESCRIPTOR, Reserved),
               "Type is the first byte of the Reserved word");
_Static_assert(sizeof(tld_event_descriptor) == sizeof(EVENT_DESCRIPTOR), "EVENT_DESCRIPTOR size");
_Static_assert(offsetof(tld_event_descriptor, level) == offsetof(EVENT_DESCRIPTOR, Level), "Level");
_Static_assert(offsetof(tld_event_descriptor, task) == offsetof(EVENT_DESCRIPTOR, Task), "Task");
_Static_assert(offsetof(tld_event_descriptor, keyword) == offsetof(EVENT_DESCRIPTOR, Keyword), "Keyword");
_Static_assert(sizeof(tld_guid) == sizeof(GUID), "GUID");
_Static_assert(TLD_ETW_CONTROL_ENABLE == EVENT_CONTROL_CODE_ENABLE_PROVIDER, "enable");

void NTAPI tld_etw_windows_enable_callback(LPCGUID source_id, ULONG control_code, UCHAR level,
                                           ULONGLONG match_any, ULONGLONG match_all,
                                           PEVENT_FILTER_DESCRIPTOR filter, PVOID context)
{
    (void)source_id;
    (void)filter;
    if (context != NULL)
        tld_etw_sink_enable(context, control_code, level, match_any, match_all);
}

static uint32_t os_event_register(const tld_guid *provider_id, void *context, uint64_t *handle)
{
    REGHANDLE h = 0;
    ULONG rc = EventRegister((LPCGUID)provider_id, tld_etw_windows_enable_callback, context, &h);
    *handle = rc == ERROR_SUCCESS ? (uint64_t)h : 0;
    return rc;
}

static uint32_t os_event_set_information(uint64_t handle, uint32_t info_class, const void *info, uint32_t len)
{
    /* EVENT_INFO_CLASS 2 = EventProviderSetTraits (not named by mingw-w64). */
    return EventSetInformation((REGHANDLE)handle, (EVENT_INFO_CLASS)info_class, (PVOID)info, len);
}

static uint32_t os_event_write_transfer(uint64_t handle, const tld_event_descriptor *desc,
                                        const tld_guid *activity_id, const tld_guid *related_activity_id,
                                        uint32_t count, const tld_etw_data_descriptor *data)
{
    EVENT_DESCRIPTOR d;
    EventDescCreate(&d, desc->id, desc->version, desc->channel, desc->level, desc->task, desc->opcode,
                    desc->keyword);
    return EventWriteTransfer((REGHANDLE)handle, &d, (LPCGUID)activity_id, (LPCGUID)related_activity_id,
                              count, (PEVENT_DATA_DESCRIPTOR)data);
}

static uint32_t os_event_unregister(uint64_t handle)
{
    return EventUnregister((REGHANDLE)handle);
}

tld_etw_api tld_etw_os_api = {
    .event_register = os_event_register,
    .event_set_information = os_event_set_information,
    .event_write_transfer = os_event_write_transfer,
    .event_unregister = os_event_unregister,
};

static void unregister_at_exit(void)
{
    tld_etw_sink_shutdown();
}

static void register_platform_sinks(void)
{
    /* TRACELOGGING_ETW=0 leaves ETW out (the in-process sessions still work). */
    const char *etw = getenv("TRACELOGGING_ETW");
    if (etw != NULL && etw[0] == '0' && etw[1] == '\0')
        return;
    if (tld_etw_sink_register(&tld_etw_os_api) == TLD_OK)
        atexit(unregister_at_exit);
}

static tld_once_flag platform_sinks_once = TLD_ONCE_INIT;

void tld_platform_sinks_init(void)
{
    tld_once(&platform_sinks_once, register_platform_sinks);
}
