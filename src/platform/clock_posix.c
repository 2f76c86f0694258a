/*
 * clock_posix.c — clock.h on POSIX systems: event timestamps from the x86-64
 * time-stamp counter when the kernel itself trusts it, else CLOCK_MONOTONIC;
 * CLOCK_REALTIME for FILETIMEs, CLOCK_BOOTTIME (where it exists) for the
 * boot time; Linux's sysfs or /proc/cpuinfo for the processor speed (other
 * systems fall back to the stand-in value).
 *
 * Why the TSC: an event costs a few tens of nanoseconds in all, and
 * clock_gettime() through the vDSO is a large share of that on a VM (it
 * reads the TSC too, then scales it and checks the sequence count); RDTSC
 * alone is about half of it (docs/performance.md). It is used only when the CPU says the counter is invariant
 * (constant rate, runs in deep C-states) and the kernel's own clocksource is
 * "tsc", i.e. the kernel checked that the counters of all CPUs agree and
 * keeps watching them. TLD_CLOCK=monotonic in the environment forces
 * clock_gettime().
 *
 * Its frequency is measured, not looked up (CPUID leaf 0x15 is absent on
 * most VMs): ticks and CLOCK_MONOTONIC_RAW nanoseconds are sampled together
 * when the clock is chosen and again at each tld_clock_frequency() call, so
 * the estimate improves as the process runs; the .etl writer records the
 * latest one in the file header each time it rewrites it. An estimate needs
 * at least 2 ms between the two samples. Only a frequency asked for sooner
 * than that waits for the rest: choosing the clock never waits, because
 * every extension module carries its own copy of this file and importing
 * them would otherwise spend 2 ms each.
 */
#include "clock.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <cpuid.h>
#include <x86intrin.h>
#define HAVE_TSC 1
#else
#define HAVE_TSC 0
#endif

/* Seconds from 1601-01-01 (FILETIME epoch) to 1970-01-01 (Unix epoch). */
#define FILETIME_UNIX_EPOCH_SECONDS 11644473600ull
#define TICKS_PER_SECOND 10000000ull
#define CALIBRATION_NS 2000000ull

static uint64_t timespec_to_ticks(const struct timespec *ts)
{
    return (uint64_t)ts->tv_sec * TICKS_PER_SECOND + (uint64_t)ts->tv_nsec / 100u;
}

static uint64_t monotonic_ticks(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return timespec_to_ticks(&ts);
}

enum clock_source { SOURCE_UNDECIDED = 0, SOURCE_MONOTONIC = 1, SOURCE_TSC = 2 };
static atomic_int source;
static pthread_once_t choose_once = PTHREAD_ONCE_INIT;

#if HAVE_TSC
/* A (TSC, CLOCK_MONOTONIC_RAW) pair read as close together as we can: the
 * TSC read halfway between two clock reads, keeping the tightest of a few
 * tries so an interrupt in between does not skew it. */
typedef struct tsc_pair {
    uint64_t tsc, ns;
} tsc_pair;

static uint64_t raw_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static tsc_pair sample_pair(void)
{
    tsc_pair best = {0, 0};
    uint64_t best_gap = UINT64_MAX;
    for (int i = 0; i < 5; i++) {
        uint64_t a = raw_ns();
        uint64_t t = __rdtsc();
        uint64_t b = raw_ns();
        if (b - a < best_gap) {
            best_gap = b - a;
            best.tsc = t;
            best.ns = a + (b - a) / 2;
        }
    }
    return best;
}

static tsc_pair anchor;

static int cpu_has_invariant_tsc(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000007u)
        return 0;
    __get_cpuid(0x80000007u, &a, &b, &c, &d);
    return (d >> 8) & 1;
}

static int kernel_uses_tsc(void)
{
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (f == NULL)
        return 0;
    char name[32] = "";
    int ok = fgets(name, sizeof name, f) != NULL;
    fclose(f);
    return ok && strcmp(name, "tsc\n") == 0;
}

static int tsc_wanted(void)
{
    const char *forced = getenv("TLD_CLOCK");
    if (forced != NULL && strcmp(forced, "monotonic") == 0)
        return 0;
    return cpu_has_invariant_tsc() && kernel_uses_tsc();
}
#endif

static void choose_source(void)
{
    int chosen = SOURCE_MONOTONIC;
#if HAVE_TSC
    if (tsc_wanted()) {
        anchor = sample_pair();
        tsc_pair now = sample_pair();
        if (now.tsc > anchor.tsc && now.ns > anchor.ns)
            chosen = SOURCE_TSC;
    }
#endif
    atomic_store_explicit(&source, chosen, memory_order_release);
}

static int current_source(void)
{
    int s = atomic_load_explicit(&source, memory_order_acquire);
    if (__builtin_expect(s == SOURCE_UNDECIDED, 0)) {
        pthread_once(&choose_once, choose_source);
        s = atomic_load_explicit(&source, memory_order_acquire);
    }
    return s;
}

uint64_t tld_clock_ticks(void)
{
#if HAVE_TSC
    if (__builtin_expect(current_source() == SOURCE_TSC, 1))
        return __rdtsc();
#else
    (void)current_source();
#endif
    return monotonic_ticks();
}

uint64_t tld_clock_frequency(void)
{
#if HAVE_TSC
    if (current_source() == SOURCE_TSC) {
        tsc_pair now;
        do
            now = sample_pair();
        while (now.ns - anchor.ns < CALIBRATION_NS);
        uint64_t ns = now.ns - anchor.ns, ticks = now.tsc - anchor.tsc;
        unsigned __int128 f = (unsigned __int128)ticks * 1000000000u / ns;
        return f > 0 ? (uint64_t)f : 1;
    }
#endif
    (void)current_source();
    return TICKS_PER_SECOND;
}

const char *tld_clock_source_name(void)
{
    return current_source() == SOURCE_TSC ? "tsc" : "monotonic";
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
