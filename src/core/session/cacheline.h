/*
 * cacheline.h — allocations that own their cache lines.
 *
 * Structures read or written on every event (a provider, a prepared event
 * and its sink encodings, the session set, a thread's reader record, a
 * writer's lanes and buffers) are allocated here: aligned to a line and
 * padded to whole lines, so no unrelated heap object shares a line with
 * them. Measured on the writer's lanes and buffer states (etl_writer.c):
 * sharing lines with other heap data, Push/Pop events into a 64 KiB-buffer
 * session ran ~3x slower for stretches of seconds; aligned, they did not.
 * The other structures follow the same rule as a precaution.
 */
#ifndef TLD_CACHELINE_H
#define TLD_CACHELINE_H

#include "portable.h"

#include <stdint.h>
#include <string.h>

#define TLD_CACHE_LINE 64u

/* calloc(count, size) rounded up to whole units of `alignment` (a power of
 * two, at least sizeof(void *)) and aligned to it. Free with tld_free_lines()
 * (Windows' aligned blocks must not reach free()). */
static inline void *tld_calloc_aligned(size_t count, size_t size, size_t alignment)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    size_t n = count * size;
    if (n > SIZE_MAX - alignment)
        return NULL;
    n = n == 0 ? alignment : (n + alignment - 1) / alignment * alignment;
    void *p = tld_aligned_alloc(alignment, n);
    if (p == NULL)
        return NULL;
    memset(p, 0, n);
    return p;
}

/* tld_calloc_aligned() to cache lines. */
static inline void *tld_calloc_lines(size_t count, size_t size)
{
    return tld_calloc_aligned(count, size, TLD_CACHE_LINE);
}

/* Frees what tld_calloc_aligned() or tld_calloc_lines() returned (NULL is
 * allowed). */
static inline void tld_free_lines(void *p)
{
    tld_aligned_free(p);
}

#endif
