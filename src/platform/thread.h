/*
 * thread.h — the threads, locks and per-thread hooks the core uses, behind
 * one small interface: thread_posix.c implements it with pthreads,
 * thread_windows.c with SRWLOCK, CONDITION_VARIABLE and Win32 threads. No
 * other core file includes <pthread.h> or <windows.h> for these.
 *
 * Contract: functions that can fail return 0 or a negative code (-errno,
 * see tracelogging/tld_errors.h); lock, unlock, wait and signal cannot
 * fail on a valid object and return nothing. A mutex or condition
 * variable may be defined statically with TLD_MUTEX_INIT; dynamically
 * created ones are initialized and destroyed with the calls below.
 */
#ifndef TLD_PLATFORM_THREAD_H
#define TLD_PLATFORM_THREAD_H

#include <stdint.h>

#ifdef _WIN32
#include "thread_types_windows.h"
#else
#include "thread_types_posix.h"
#endif

/* ---- mutexes ----------------------------------------------------------------- */

void tld_mutex_init(tld_mutex *m);
void tld_mutex_destroy(tld_mutex *m);
void tld_mutex_lock(tld_mutex *m);
void tld_mutex_unlock(tld_mutex *m);

/* ---- condition variables (timeouts measured on a monotonic clock) ------------- */

void tld_cond_init(tld_cond *c);
void tld_cond_destroy(tld_cond *c);
void tld_cond_wait(tld_cond *c, tld_mutex *m);
/* Waits until signalled or until tld_monotonic_ms() >= deadline_ms. */
void tld_cond_wait_until(tld_cond *c, tld_mutex *m, uint64_t deadline_ms);
void tld_cond_signal(tld_cond *c);
void tld_cond_broadcast(tld_cond *c);

/* Milliseconds of a clock that never goes back (not the event clock). */
uint64_t tld_monotonic_ms(void);

/* ---- threads ------------------------------------------------------------------ */

typedef void (*tld_thread_fn)(void *arg);

/* Starts fn(arg) on a new thread. Returns 0 or -errno. */
int tld_thread_start(tld_thread *t, tld_thread_fn fn, void *arg);
/* Waits for a thread started by tld_thread_start() to end. */
void tld_thread_join(tld_thread *t);
/* Gives the processor to another runnable thread. */
void tld_thread_yield(void);

/* Runs init exactly once in the process, whichever thread calls first. */
void tld_once(tld_once_flag *flag, void (*init)(void));

/* ---- thread exit and fork hooks ------------------------------------------------ */

/* A slot per thread whose value, when not NULL at thread exit, is passed
 * to `on_exit`. Returns 0 or -errno. */
int tld_thread_exit_hook_create(tld_thread_exit_hook *hook, void (*on_exit)(void *value));
/* Sets the calling thread's value. Returns 0 or -errno. */
int tld_thread_exit_hook_set(tld_thread_exit_hook *hook, void *value);

/* Registers handlers run around fork() (nothing on systems without fork).
 * Returns 0 or -errno. */
int tld_at_fork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

#endif
