/*
 * membarrier_none.c — membarrier.h where the platform has no asymmetric
 * barrier: callers use ordinary fences on both sides.
 */
#include "membarrier.h"

#include <stdatomic.h>

int tld_membarrier_init(void)
{
    return 0;
}

void tld_membarrier(void)
{
    atomic_thread_fence(memory_order_seq_cst);
}
