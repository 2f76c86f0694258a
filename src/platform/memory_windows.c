/*
 * memory_windows.c — aligned blocks for memory.c with the C runtime's
 * _aligned_malloc, whose blocks only _aligned_free may release (hence
 * tld_free_aligned()).
 */
#include "memory.h"
#include "memory_os.h"

#include <malloc.h>

void *tld_os_alloc_aligned(size_t bytes, size_t alignment)
{
    return _aligned_malloc(bytes, alignment);
}

void tld_free_aligned(void *p)
{
    _aligned_free(p);
}
