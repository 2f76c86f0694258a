/*
 * clock_windows.c — clock.h on Windows: event timestamps are
 * QueryPerformanceCounter ticks, exactly what ETW itself records in a
 * session using the QPC clock (the header's ReservedFlags say so), at
 * QueryPerformanceFrequency; FILETIMEs from GetSystemTimePreciseAsFileTime;
 * the boot time from the unbiased interrupt time; the processor speed from
 * the registry value Windows itself fills at boot.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "clock.h"

#include <stdatomic.h>

uint64_t tld_clock_ticks(void)
{
    LARGE_INTEGER t;
    QueryPerformanceCounter(&t);
    return (uint64_t)t.QuadPart;
}

uint64_t tld_clock_frequency(void)
{
    LARGE_INTEGER f;
    QueryPerformanceFrequency(&f);
    return f.QuadPart > 0 ? (uint64_t)f.QuadPart : 1;
}

const char *tld_clock_source_name(void)
{
    return "qpc";
}

uint64_t tld_clock_filetime_now(void)
{
    FILETIME ft;
    GetSystemTimePreciseAsFileTime(&ft);
    return ((uint64_t)ft.dwHighDateTime << 32) | ft.dwLowDateTime;
}

uint64_t tld_clock_boot_filetime(void)
{
    ULONGLONG since_boot; /* 100 ns units, sleep excluded as in QPC */
    if (!QueryUnbiasedInterruptTime(&since_boot))
        return 0;
    uint64_t now = tld_clock_filetime_now();
    return now > since_boot ? now - since_boot : 0;
}

unsigned tld_processor_count(void)
{
    DWORD n = GetActiveProcessorCount(ALL_PROCESSOR_GROUPS);
    return n > 0 ? (unsigned)n : 1u;
}

unsigned tld_cpu_speed_mhz(void)
{
    static atomic_uint cached;
    unsigned mhz = atomic_load_explicit(&cached, memory_order_relaxed);
    if (mhz == 0) {
        DWORD value = 0, size = sizeof value;
        LSTATUS rc = RegGetValueW(HKEY_LOCAL_MACHINE, L"HARDWARE\\DESCRIPTION\\System\\CentralProcessor\\0",
                                  L"~MHz", RRF_RT_REG_DWORD, NULL, &value, &size);
        mhz = rc == ERROR_SUCCESS && value > 0 ? (unsigned)value : 1000u;
        atomic_store_explicit(&cached, mhz, memory_order_relaxed);
    }
    return mhz;
}
