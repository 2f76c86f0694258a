/*
 * cpu.h — the processor features the writer's hot path uses, per
 * architecture and compiler, in one place.
 */
#ifndef TLD_PLATFORM_CPU_H
#define TLD_PLATFORM_CPU_H

#include <stdint.h>

/* 1 when prefetch-for-write is worth issuing on this CPU (x86-64 PREFETCHW,
 * aarch64 PRFM PSTL1KEEP). Decided once, at writer creation. */
int tld_cpu_can_prefetch_for_store(void);

/* Asks for the three cache lines at p for writing. */
static inline void tld_prefetch_for_store(const uint8_t *p)
{
#if defined(__GNUC__) && defined(__x86_64__)
    __asm__ volatile("prefetchw %0" : : "m"(p[0]));
    __asm__ volatile("prefetchw %0" : : "m"(p[64]));
    __asm__ volatile("prefetchw %0" : : "m"(p[128]));
#elif defined(__GNUC__)
    __builtin_prefetch(p, 1, 3);
    __builtin_prefetch(p + 64, 1, 3);
    __builtin_prefetch(p + 128, 1, 3);
#else
    (void)p;
#endif
}

/* Keeps the compiler from merging or widening the moves of `v` (the
 * value stays in a register between a load and a store). */
#if defined(__GNUC__)
#define TLD_OPAQUE_U64(v) __asm__("" : "+r"(v))
#else
#define TLD_OPAQUE_U64(v) ((void)(v))
#endif

#if defined(__GNUC__)
#define TLD_LIKELY(x) __builtin_expect(!!(x), 1)
#define TLD_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define TLD_LIKELY(x) (x)
#define TLD_UNLIKELY(x) (x)
#endif

#endif
