/*
 * memory_os.h — the one call memory.c needs from the system: an aligned
 * block. memory_posix.c and memory_windows.c implement it (and
 * tld_free_aligned(), which must match it); nothing else includes this.
 */
#ifndef TLD_PLATFORM_MEMORY_OS_H
#define TLD_PLATFORM_MEMORY_OS_H

#include <stddef.h>

/* `bytes` (a non-zero multiple of `alignment`) aligned to `alignment` (a
 * power of two, at least sizeof(void *)), uninitialized; NULL when memory
 * is short. Released with tld_free_aligned(). */
void *tld_os_alloc_aligned(size_t bytes, size_t alignment);

#endif
