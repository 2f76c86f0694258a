/*
 * memory_windows.c — memory.h with the C runtime's _aligned_malloc, whose
 * blocks only _aligned_free may release (hence tld_free_aligned()).
 */
#include "memory.h"

#include <malloc.h>
#include <stdint.h>
#include <string.h>

void *tld_calloc_aligned(size_t count, size_t size, size_t alignment)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    size_t n = count * size;
    if (n > SIZE_MAX - alignment)
        return NULL;
    n = n == 0 ? alignment : (n + alignment - 1) / alignment * alignment;
    void *p = _aligned_malloc(n, alignment);
    if (p != NULL)
        memset(p, 0, n);
    return p;
}

void tld_free_aligned(void *p)
{
    _aligned_free(p);
}
