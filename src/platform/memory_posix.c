/*
 * memory_posix.c — aligned blocks for memory.c with posix_memalign, released
 * with free().
 */
#include "memory.h"
#include "memory_os.h"

#include <stdlib.h>

void *tld_os_alloc_aligned(size_t bytes, size_t alignment)
{
    void *p;
    return posix_memalign(&p, alignment, bytes) == 0 ? p : NULL;
}

void tld_free_aligned(void *p)
{
    free(p);
}
