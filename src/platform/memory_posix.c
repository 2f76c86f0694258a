/*
 * memory_posix.c — memory.h with posix_memalign.
 */
#include "memory.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void *tld_calloc_aligned(size_t count, size_t size, size_t alignment)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    size_t n = count * size;
    if (n > SIZE_MAX - alignment)
        return NULL;
    n = n == 0 ? alignment : (n + alignment - 1) / alignment * alignment;
    void *p;
    if (posix_memalign(&p, alignment, n) != 0)
        return NULL;
    memset(p, 0, n);
    return p;
}

void tld_free_aligned(void *p)
{
    free(p);
}
