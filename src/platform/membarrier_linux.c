/*
 * membarrier_linux.c — membarrier.h with Linux's membarrier(2) (4.14+):
 * MEMBARRIER_CMD_PRIVATE_EXPEDITED after registering for it.
 */
#include "membarrier.h"

#include <linux/membarrier.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

static long membarrier(int cmd)
{
    return syscall(SYS_membarrier, cmd, 0, 0);
}

int tld_membarrier_init(void)
{
    long supported = membarrier(MEMBARRIER_CMD_QUERY);
    if (supported < 0 || !(supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED))
        return 0;
    return membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
}

void tld_membarrier(void)
{
    if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0)
        return;
    /* Registered, so this cannot fail short of a kernel change under us;
     * the slow global command needs no registration. */
    if (membarrier(MEMBARRIER_CMD_GLOBAL) == 0)
        return;
    /* Without a barrier, a session's memory could be freed under a writer. */
    fprintf(stderr, "tracelogging: membarrier() failed after it was registered; stopping\n");
    abort();
}
