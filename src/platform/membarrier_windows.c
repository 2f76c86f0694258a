/*
 * membarrier_windows.c — membarrier.h with FlushProcessWriteBuffers
 * (Vista and later): every processor running a thread of the process
 * executes a full barrier (an IPI), which is what tld_membarrier() promises.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "membarrier.h"

#include <stdatomic.h>

int tld_membarrier_init(void)
{
    return 1;
}

void tld_membarrier(void)
{
    atomic_thread_fence(memory_order_seq_cst);
    FlushProcessWriteBuffers();
}
