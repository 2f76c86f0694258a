/*
 * platform_sinks.h — the sinks the operating system itself offers, beside
 * the in-process sessions: ETW on Windows (etw_sink_windows.c), none yet
 * elsewhere (platform_sinks_none.c; Linux user_events would go here).
 */
#ifndef TLD_PLATFORM_SINKS_H
#define TLD_PLATFORM_SINKS_H

/* Registers the platform's sinks, once per process; later calls return at
 * once. Called by tld_provider_open() before it takes the registry lock. */
void tld_platform_sinks_init(void);

#endif
