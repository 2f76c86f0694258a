/*
 * clock.h — the time sources an .etl file records, and the machine facts its
 * header carries beside them.
 *
 * Event timestamps are ticks of a monotonic clock (never stepped by NTP or
 * by the user), exactly like Windows' QueryPerformanceCounter. A reader turns
 * them into wall-clock time with the session's anchor pair (ticks and FILETIME
 * read together at session start) and the tick frequency:
 *     FILETIME = StartTime + (ticks - start_ticks) * 10^7 / frequency.
 * We count in 100 ns units (frequency 10,000,000, what QPC reports on current
 * Windows) so that this product cannot overflow 64 bits for ~58 years of
 * trace, whatever arithmetic a reader uses.
 *
 * Platform implementations: clock_posix.c (Linux, macOS, BSDs).
 */
#ifndef TLD_CLOCK_H
#define TLD_CLOCK_H

#include <stdint.h>

/* Monotonic clock ticks since an arbitrary origin (boot on Linux). Cheap
 * (vDSO, no system call), thread-safe, never decreasing within a thread. */
uint64_t tld_clock_ticks(void);

/* Ticks per second of tld_clock_ticks(): always 10,000,000. */
uint64_t tld_clock_frequency(void);

/* The current wall-clock time as a Windows FILETIME: 100 ns intervals since
 * 1601-01-01 UTC. */
uint64_t tld_clock_filetime_now(void);

/* When the machine booted, as a FILETIME (wall clock now minus the time
 * since boot); 0 when the platform cannot tell. */
uint64_t tld_clock_boot_filetime(void);

/* Number of online processors (at least 1). */
unsigned tld_processor_count(void);

/* Nominal processor speed in MHz, for the header's CpuSpeedInMHz. Never 0:
 * some readers divide by it even when timestamps do not use it (dissect.etl
 * does), so 1000 stands in when the platform does not say. Reads files the
 * first time; cached afterwards. */
unsigned tld_cpu_speed_mhz(void);

#endif
