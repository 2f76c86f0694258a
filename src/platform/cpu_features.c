/*
 * cpu_features.c — run-time CPU feature checks of cpu.h.
 */
#include "cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#endif

int tld_cpu_can_prefetch_for_store(void)
{
#if defined(__x86_64__) && defined(__GNUC__)
    unsigned a, b, c, d;
    if (!__get_cpuid(0x80000000u, &a, &b, &c, &d) || a < 0x80000001u)
        return 0;
    __get_cpuid(0x80000001u, &a, &b, &c, &d);
    return (c >> 8) & 1; /* PRFCHW */
#elif defined(__aarch64__)
    return 1;
#else
    return 0;
#endif
}
