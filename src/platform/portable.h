/*
 * portable.h — the compiler differences the core depends on, one name each,
 * so the same C files build with gcc and clang (Linux, mingw-w64) and have a
 * fair chance with MSVC: branch hints, inlining attributes, thread-local
 * storage, prefetching, the CPU's time-stamp counter and CPUID, and the C11
 * atomics every shared structure uses.
 *
 * Atomics are <stdatomic.h>. gcc and clang have it everywhere; MSVC has it
 * from Visual Studio 2022 17.5 with /std:c11 /experimental:c11atomics
 * (meson.build adds both when it sees MSVC).
 *
 * Thread-local storage: TLD_THREAD_LOCAL is the C11 keyword; TLD_TLS_FAST
 * also asks for the initial-exec model where it exists (ELF), which the
 * writer's per-event lookups need in a dlopen()ed module (without it every
 * access is a call). On Windows a DLL's __declspec(thread)/_Thread_local
 * variables are already reached without a call under MSVC; mingw-w64's gcc
 * emulates them (a call per access), which is correct, only slower.
 */
#ifndef TLD_PORTABLE_H
#define TLD_PORTABLE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#define TLD_LIKELY(x) (x)
#define TLD_UNLIKELY(x) (x)
#define TLD_NOINLINE __declspec(noinline)
#define TLD_ALWAYS_INLINE __forceinline
#define TLD_THREAD_LOCAL __declspec(thread)
#define TLD_TLS_FAST __declspec(thread)
/* Keeps the compiler from merging or moving the surrounding loads/stores. */
#define TLD_OPAQUE_U64(v) _ReadWriteBarrier()
#else
#define TLD_LIKELY(x) __builtin_expect(!!(x), 1)
#define TLD_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define TLD_NOINLINE __attribute__((noinline))
#define TLD_ALWAYS_INLINE inline __attribute__((always_inline))
#define TLD_THREAD_LOCAL __thread
#if defined(__ELF__)
#define TLD_TLS_FAST __thread __attribute__((tls_model("initial-exec")))
#else
#define TLD_TLS_FAST __thread
#endif
#define TLD_OPAQUE_U64(v) __asm__("" : "+r"(v))
#endif

/* ---- x86-64: time-stamp counter, CPUID, prefetch for store ------------------ */

#if defined(__x86_64__) || defined(_M_X64)
#define TLD_HAVE_X86_64 1
#if !(defined(_MSC_VER) && !defined(__clang__))
#include <cpuid.h>
#include <x86intrin.h>
#endif

static inline uint64_t tld_rdtsc(void)
{
    return __rdtsc();
}

/* CPUID leaf `leaf` (subleaf 0) into regs[eax, ebx, ecx, edx]; returns 0
 * when the CPU does not have that leaf. */
static inline int tld_cpuid(unsigned leaf, unsigned regs[4])
{
#if defined(_MSC_VER) && !defined(__clang__)
    int max[4], r[4];
    __cpuid(max, (int)(leaf & 0x80000000u));
    if ((unsigned)max[0] < leaf)
        return 0;
    __cpuidex(r, (int)leaf, 0);
    for (int i = 0; i < 4; i++)
        regs[i] = (unsigned)r[i];
    return 1;
#else
    return __get_cpuid(leaf, &regs[0], &regs[1], &regs[2], &regs[3]);
#endif
}

/* Brings the three cache lines at p, p + 64 and p + 128 in for writing
 * (PREFETCHW; callers check CPUID first, see etl_writer.c). */
static inline void tld_prefetch_for_store(const uint8_t *p)
{
#if defined(_MSC_VER) && !defined(__clang__)
    _m_prefetchw((void *)p);
    _m_prefetchw((void *)(p + 64));
    _m_prefetchw((void *)(p + 128));
#else
    __asm__ volatile("prefetchw %0" : : "m"(p[0]));
    __asm__ volatile("prefetchw %0" : : "m"(p[64]));
    __asm__ volatile("prefetchw %0" : : "m"(p[128]));
#endif
}
#else
#define TLD_HAVE_X86_64 0

static inline void tld_prefetch_for_store(const uint8_t *p)
{
#if defined(_MSC_VER) && !defined(__clang__)
    (void)p;
#else
    __builtin_prefetch(p, 1, 3);
    __builtin_prefetch(p + 64, 1, 3);
    __builtin_prefetch(p + 128, 1, 3);
#endif
}
#endif

/* ---- aligned allocation -------------------------------------------------------- */

/*
 * `size` bytes aligned to `alignment` (a power of two, at least
 * sizeof(void *)), uninitialized, or NULL. Free only with
 * tld_aligned_free(): on Windows these blocks come from _aligned_malloc,
 * which free() must not see.
 */
void *tld_aligned_alloc(size_t alignment, size_t size);
void tld_aligned_free(void *p);

#endif
