/*
 * memory.h — allocations that own their cache lines or pages.
 *
 * Structures read or written on every event (a provider, a prepared event
 * and its sink encodings, the session set, a thread's reader record, a
 * writer's lanes and buffers) are allocated here: aligned to a line and
 * padded to whole lines, so no unrelated heap object shares a line with
 * them and every event does not pay for a line bouncing between cores
 * (docs/design.md, "Cache lines").
 *
 * Memory from these functions is released with tld_free_aligned(), never
 * free(): Windows keeps aligned blocks in a heap of their own.
 */
#ifndef TLD_PLATFORM_MEMORY_H
#define TLD_PLATFORM_MEMORY_H

#include <stddef.h>

#define TLD_CACHE_LINE 64u

/* calloc(count, size) rounded up to whole units of `alignment` (a power of
 * two, at least sizeof(void *)) and aligned to it; NULL on overflow or when
 * memory is short. */
void *tld_calloc_aligned(size_t count, size_t size, size_t alignment);

/* Releases a block of tld_calloc_aligned() (NULL does nothing). */
void tld_free_aligned(void *p);

/* tld_calloc_aligned() to cache lines. */
static inline void *tld_calloc_lines(size_t count, size_t size)
{
    return tld_calloc_aligned(count, size, TLD_CACHE_LINE);
}

#endif
