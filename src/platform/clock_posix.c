/*
 * clock_posix.c — clock.h on POSIX systems: CLOCK_MONOTONIC for event
 * timestamps, CLOCK_REALTIME for FILETIMEs, CLOCK_BOOTTIME (where it exists)
 * for the boot time; Linux's sysfs or /proc/cpuinfo for the processor
 * speed (other systems fall back to the stand-in value).
 */
#include "clock.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Seconds from 1601-01-01 (FILETIME epoch) to 1970-01-01 (Unix epoch). */
#define FILETIME_UNIX_EPOCH_SECONDS 11644473600ull
#define TICKS_PER_SECOND 10000000ull

static uint64_t timespec_to_ticks(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * TICKS_PER_SECOND + (uint64_t)ts->tv_nsec / 100u;
}

uint64_t tld_clock_ticks(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return timespec_to_ticks(&ts);
}

uint64_t tld_clock_frequency(void)
{
    return TICKS_PER_SECOND;
}

uint64_t tld_clock_filetime_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return timespec_to_ticks(&ts) + FILETIME_UNIX_EPOCH_SECONDS * TICKS_PER_SECOND;
}

uint64_t tld_clock_boot_filetime(void)
{
#ifdef CLOCK_BOOTTIME
    struct timespec up;
    if (clock_gettime(CLOCK_BOOTTIME, &up) != 0)
        return 0;
    uint64_t now = tld_clock_filetime_now();
    uint64_t since_boot = timespec_to_ticks(&up);
    return now > since_boot ? now - since_boot : 0;
#else
    return 0;
#endif
}

unsigned tld_processor_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (unsigned)n : 1u;
}

/* Linux: the highest frequency cpufreq reports (kHz), else the first
 * "cpu MHz" line of /proc/cpuinfo. 0 when neither is there. */
static unsigned read_cpu_mhz(void)
{
    FILE *f = fopen("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq", "r");
    if (f != NULL) {
        unsigned long khz = 0;
        int ok = fscanf(f, "%lu", &khz) == 1;
        fclose(f);
        if (ok && khz >= 1000)
            return (unsigned)(khz / 1000);
    }
    f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return 0;
    char line[256];
    unsigned mhz = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "cpu MHz", 7) == 0) {
            const char *colon = strchr(line, ':');
            if (colon != NULL)
                mhz = (unsigned)strtod(colon + 1, NULL);
            break;
        }
    }
    fclose(f);
    return mhz;
}

unsigned tld_cpu_speed_mhz(void)
{
    static atomic_uint cached;
    unsigned mhz = atomic_load_explicit(&cached, memory_order_relaxed);
    if (mhz == 0) {
        mhz = read_cpu_mhz();
        if (mhz == 0)
            mhz = 1000;
        atomic_store_explicit(&cached, mhz, memory_order_relaxed);
    }
    return mhz;
}
