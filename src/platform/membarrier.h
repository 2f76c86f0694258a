/*
 * membarrier.h — an asymmetric memory barrier: the rare side of a
 * synchronization (stopping a session) makes every running thread of the
 * process execute a full memory barrier, so the frequent side (writing an
 * event) needs only a compiler barrier where it would otherwise need a
 * fence or a locked instruction. See read_guard.c for the one user.
 *
 * Platform implementations: membarrier_linux.c (the membarrier system
 * call, private expedited: an IPI to the CPUs running our threads, about a
 * microsecond), membarrier_none.c (not available: callers keep their
 * fences).
 */
#ifndef TLD_MEMBARRIER_H
#define TLD_MEMBARRIER_H

/* Registers the process for tld_membarrier(). Returns 1 when it is
 * available, 0 when callers must use ordinary fences instead. Call again
 * in a forked child (registration is per address space). */
int tld_membarrier_init(void);

/* Every thread of the process running now executes a full memory barrier
 * before this returns, and the caller does too. Only after
 * tld_membarrier_init() returned 1. */
void tld_membarrier(void);

#endif
