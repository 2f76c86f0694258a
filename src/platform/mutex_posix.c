/*
 * mutex_posix.c — the registry lock on POSIX systems (see mutex.h).
 */
#include "mutex.h"

#include <pthread.h>

static pthread_mutex_t registry_mutex = PTHREAD_MUTEX_INITIALIZER;

void tld_registry_lock(void)
{
    pthread_mutex_lock(&registry_mutex);
}

void tld_registry_unlock(void)
{
    pthread_mutex_unlock(&registry_mutex);
}
