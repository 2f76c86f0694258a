/*
 * clock.h — the time sources an .etl file records, and the machine facts its
 * header carries beside them.
 *
 * Event timestamps are ticks of a monotonic clock (never stepped by NTP or
 * by the user), exactly like Windows' QueryPerformanceCounter. A reader turns
 * them into wall-clock time with the session's anchor pair (ticks and FILETIME
 * read together at session start) and the tick frequency:
 *     FILETIME = StartTime + (ticks - start_ticks) * 10^7 / frequency.
 * The ticks are either the CPU's invariant time-stamp counter (x86-64, when
 * the kernel's clocksource is the TSC: a GHz frequency, measured) or
 * CLOCK_MONOTONIC in 100 ns units (frequency 10,000,000, what QPC reports on
 * current Windows). Windows itself used the TSC rate as QPC frequency for
 * years, so readers handle both; ours computes the product above without
 * overflow. The choice is made once per process, at the first call of any
 * function below that needs it, and never changes: ticks from different
 * sources are never mixed.
 *
 * Platform implementations: clock_posix.c (Linux, macOS, BSDs).
 */
#ifndef TLD_CLOCK_H
#define TLD_CLOCK_H

#include <stdint.h>

/* Monotonic clock ticks since an arbitrary origin (boot on Linux). Cheap
 * (one instruction, or the vDSO: no system call), thread-safe, never
 * decreasing within a thread. The first call chooses the clock (a few
 * microseconds: no calibration wait). */
uint64_t tld_clock_ticks(void);

/* Ticks per second of tld_clock_ticks(): 10,000,000 for CLOCK_MONOTONIC; for
 * the TSC, the best estimate so far (measured against CLOCK_MONOTONIC_RAW
 * since the clock was chosen, so later calls are more exact). A call within
 * 2 ms of the choice waits until 2 ms have passed. */
uint64_t tld_clock_frequency(void);

/* "tsc" or "monotonic": which clock tld_clock_ticks() reads. */
const char *tld_clock_source_name(void);

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
