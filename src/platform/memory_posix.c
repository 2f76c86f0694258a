/*
 * memory_posix.c — aligned allocation (portable.h) with posix_memalign.
 */
#include "portable.h"

#include <stdlib.h>

void *tld_aligned_alloc(size_t alignment, size_t size)
{
    void *p;
    if (posix_memalign(&p, alignment, size ? size : alignment) != 0)
        return NULL;
    return p;
}

void tld_aligned_free(void *p)
{
    free(p);
}
