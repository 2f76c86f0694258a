/*
 * portable.h — the compiler differences the core depends on beyond the
 * CPU's (cpu.h: branch hints, prefetch), one name each, so the same C
 * files build with gcc and clang (Linux, mingw-w64) and have a fair chance
 * with MSVC: inlining attributes and thread-local storage. Atomics are C11
 * <stdatomic.h> everywhere; MSVC has it from Visual Studio 2022 17.5 with
 * /std:c11 /experimental:c11atomics (meson.build adds both when it sees
 * MSVC).
 *
 * Thread-local storage: TLD_TLS_FAST asks for the initial-exec model where
 * it exists (ELF), which the per-event lookups need in a dlopen()ed module
 * (without it every access is a call). A Windows DLL's thread-locals are
 * reached without a call under MSVC; mingw-w64's gcc emulates them (a call
 * per access), which is correct, only slower.
 */
#ifndef TLD_PLATFORM_PORTABLE_H
#define TLD_PLATFORM_PORTABLE_H

#include "cpu.h"

#if defined(_MSC_VER) && !defined(__clang__)
#define TLD_NOINLINE __declspec(noinline)
#define TLD_ALWAYS_INLINE __forceinline
#define TLD_TLS_FAST __declspec(thread)
#elif defined(__ELF__)
#define TLD_NOINLINE __attribute__((noinline))
#define TLD_ALWAYS_INLINE inline __attribute__((always_inline))
#define TLD_TLS_FAST __thread __attribute__((tls_model("initial-exec")))
#else
#define TLD_NOINLINE __attribute__((noinline))
#define TLD_ALWAYS_INLINE inline __attribute__((always_inline))
#define TLD_TLS_FAST __thread
#endif

#endif
