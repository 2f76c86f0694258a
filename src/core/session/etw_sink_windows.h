/*
 * etw_sink_windows.h — what etw_sink_windows.c offers beyond
 * platform_sinks.h, for tests that run on Windows (or under Wine): the entry-point table the ETW
 * sink calls, and ETW's enable callback, to be driven directly (Wine's ETW
 * never calls it).
 */
#ifndef TLD_ETW_SINK_WINDOWS_H
#define TLD_ETW_SINK_WINDOWS_H

#include <windows.h>
#include <evntprov.h>

#include "etw_sink.h"

/* The real EventRegister, EventSetInformation, EventWriteTransfer and
 * EventUnregister. Entries may be replaced (wrapped) before the first
 * provider opens, never after. */
extern tld_etw_api tld_etw_os_api;

/* The PENABLECALLBACK every registration passes to EventRegister; its
 * context is the registration (tld_etw_sink_enable). */
void NTAPI tld_etw_windows_enable_callback(LPCGUID source_id, ULONG control_code, UCHAR level,
                                           ULONGLONG match_any, ULONGLONG match_all,
                                           PEVENT_FILTER_DESCRIPTOR filter, PVOID context);

#endif
