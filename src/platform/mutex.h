/*
 * mutex.h — the one lock the core needs (the provider registry), behind
 * a tiny interface so the Windows build can supply its own implementation
 * (mutex_windows.c, SRWLOCK) beside mutex_posix.c.
 */
#ifndef TLD_MUTEX_H
#define TLD_MUTEX_H

void tld_registry_lock(void);
void tld_registry_unlock(void);

#endif
