/*
 * memory.c — tld_calloc_aligned(): the size of the block (overflow checked,
 * rounded up to whole units of the alignment) and zeroing it; the block
 * itself comes from the system (memory_os.h).
 */
#include "memory.h"

#include <stdint.h>
#include <string.h>

#include "memory_os.h"

void *tld_calloc_aligned(size_t count, size_t size, size_t alignment)
{
    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    size_t n = count * size;
    if (n > SIZE_MAX - alignment)
        return NULL;
    n = n == 0 ? alignment : (n + alignment - 1) / alignment * alignment;
    void *p = tld_os_alloc_aligned(n, alignment);
    if (p != NULL)
        memset(p, 0, n);
    return p;
}
