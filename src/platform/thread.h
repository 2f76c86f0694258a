/*
 * thread.h — the threading services the core uses (mutexes, condition
 * variables, the session writers' flush thread, run-once initialization,
 * a per-thread exit hook, fork handlers), behind one small interface.
 *
 * Implementations: thread_posix.c (pthreads), thread_windows.c (SRWLOCK,
 * CONDITION_VARIABLE, CreateThread, InitOnceExecuteOnce, fiber-local
 * storage for the exit hook). The types are declared here, per platform,
 * only so they can be embedded in structures and initialized statically;
 * their fields are private to the implementation.
 *
 * Errors: functions that can fail return 0 or a negative errno (-EAGAIN
 * when the system has no thread to give, -ENOMEM).
 */
#ifndef TLD_THREAD_H
#define TLD_THREAD_H

#include <stdint.h>

#if defined(_WIN32)
/* An SRWLOCK, a CONDITION_VARIABLE, an INIT_ONCE: one pointer each, zero
 * when unused (thread_windows.c checks the sizes). */
typedef struct tld_mutex { void *opaque; } tld_mutex;
typedef struct tld_cond { void *opaque; } tld_cond;
typedef struct tld_once { void *opaque; } tld_once;
typedef struct tld_thread_key { unsigned long index; } tld_thread_key;
#define TLD_MUTEX_INIT {0}
#define TLD_ONCE_INIT {0}
typedef struct tld_thread {
    void *handle;
    void (*fn)(void *arg);
    void *arg;
} tld_thread;
#else
#include <pthread.h>
typedef struct tld_mutex { pthread_mutex_t m; } tld_mutex;
typedef struct tld_cond { pthread_cond_t c; } tld_cond;
typedef struct tld_once { pthread_once_t o; } tld_once;
typedef struct tld_thread_key { pthread_key_t key; } tld_thread_key;
#define TLD_MUTEX_INIT {PTHREAD_MUTEX_INITIALIZER}
#define TLD_ONCE_INIT {PTHREAD_ONCE_INIT}
typedef struct tld_thread {
    pthread_t handle;
    void (*fn)(void *arg);
    void *arg;
} tld_thread;
#endif

/* ---- mutexes (not recursive) --------------------------------------------------- */

/* For mutexes that are not statically initialized with TLD_MUTEX_INIT. */
void tld_mutex_init(tld_mutex *m);
void tld_mutex_destroy(tld_mutex *m);
void tld_mutex_lock(tld_mutex *m);
void tld_mutex_unlock(tld_mutex *m);

/* ---- condition variables --------------------------------------------------------- */

/* Timed waits measure a monotonic clock (never stepped). */
void tld_cond_init(tld_cond *c);
void tld_cond_destroy(tld_cond *c);
/* Waits for a signal; `m` is held by the caller, released while waiting
 * and held again on return. Wakeups may be spurious: callers loop on
 * their condition. */
void tld_cond_wait(tld_cond *c, tld_mutex *m);
/* The same, giving up after `ms` milliseconds. */
void tld_cond_wait_ms(tld_cond *c, tld_mutex *m, uint32_t ms);
void tld_cond_signal(tld_cond *c);
void tld_cond_broadcast(tld_cond *c);

/* Milliseconds of a monotonic clock, for deadlines of tld_cond_wait_ms(). */
uint64_t tld_monotonic_ms(void);

/* ---- threads ------------------------------------------------------------------------ */

/* Starts fn(arg) on a new thread; `t` must stay where it is until joined.
 * Returns 0, -EAGAIN or -ENOMEM. */
int tld_thread_start(tld_thread *t, void (*fn)(void *arg), void *arg);
/* Waits for the thread to return and releases it. */
void tld_thread_join(tld_thread *t);
/* Lets another runnable thread have the CPU. */
void tld_thread_yield(void);

/* ---- run once ------------------------------------------------------------------------ */

/* Calls fn() exactly once per `once` in the process; every caller returns
 * after it has completed. */
void tld_once_run(tld_once *once, void (*fn)(void));

/* ---- per-thread exit hook ---------------------------------------------------------------- */

/* A key whose non-NULL value is passed to `on_exit` when its thread ends.
 * Returns 0 or a negative errno. */
int tld_thread_key_create(tld_thread_key *key, void (*on_exit)(void *value));
/* Sets the calling thread's value. Returns 0 or a negative errno. */
int tld_thread_key_set(tld_thread_key key, void *value);

/* ---- fork ----------------------------------------------------------------------------------- */

/* pthread_atfork() where processes fork; Windows has no fork, and this
 * does nothing there. Returns 0 or a negative errno. */
int tld_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void));

#endif
