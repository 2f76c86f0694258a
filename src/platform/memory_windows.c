/*
 * memory_windows.c — aligned allocation (portable.h) with the C runtime's
 * _aligned_malloc / _aligned_free.
 */
#include "portable.h"

#include <malloc.h>

void *tld_aligned_alloc(size_t alignment, size_t size)
{
    return _aligned_malloc(size ? size : alignment, alignment);
}

void tld_aligned_free(void *p)
{
    _aligned_free(p);
}
