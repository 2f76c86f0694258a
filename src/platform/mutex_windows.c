/*
 * mutex_windows.c — the registry lock on Windows (see mutex.h): an SRW lock,
 * which needs no initialization call and no cleanup.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "mutex.h"

static SRWLOCK registry_lock = SRWLOCK_INIT;

void tld_registry_lock(void)
{
    AcquireSRWLockExclusive(&registry_lock);
}

void tld_registry_unlock(void)
{
    ReleaseSRWLockExclusive(&registry_lock);
}
