/*
 * thread_posix.c — thread.h with pthreads. Condition variables wait on
 * CLOCK_MONOTONIC so a change of the wall clock never stretches or cuts a
 * flush interval.
 */
#include "thread.h"

#include <errno.h>
#include <sched.h>
#include <time.h>

void tld_mutex_init(tld_mutex *m)
{
    pthread_mutex_init(m, NULL);
}

void tld_mutex_destroy(tld_mutex *m)
{
    pthread_mutex_destroy(m);
}

void tld_mutex_lock(tld_mutex *m)
{
    pthread_mutex_lock(m);
}

void tld_mutex_unlock(tld_mutex *m)
{
    pthread_mutex_unlock(m);
}

void tld_cond_init(tld_cond *c)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
}

void tld_cond_destroy(tld_cond *c)
{
    pthread_cond_destroy(c);
}

void tld_cond_wait(tld_cond *c, tld_mutex *m)
{
    pthread_cond_wait(c, m);
}

void tld_cond_wait_until(tld_cond *c, tld_mutex *m, uint64_t deadline_ms)
{
    struct timespec ts = {.tv_sec = (time_t)(deadline_ms / 1000), .tv_nsec = (long)(deadline_ms % 1000) * 1000000L};
    pthread_cond_timedwait(c, m, &ts);
}

void tld_cond_signal(tld_cond *c)
{
    pthread_cond_signal(c);
}

void tld_cond_broadcast(tld_cond *c)
{
    pthread_cond_broadcast(c);
}

uint64_t tld_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *thread_main(void *arg)
{
    tld_thread *t = arg;
    t->fn(t->arg);
    return NULL;
}

int tld_thread_start(tld_thread *t, tld_thread_fn fn, void *arg)
{
    t->fn = fn;
    t->arg = arg;
    int e = pthread_create(&t->handle, NULL, thread_main, t);
    return e ? -e : 0;
}

void tld_thread_join(tld_thread *t)
{
    pthread_join(t->handle, NULL);
}

void tld_thread_yield(void)
{
    sched_yield();
}

void tld_once(tld_once_flag *flag, void (*init)(void))
{
    pthread_once(flag, init);
}

int tld_thread_exit_hook_create(tld_thread_exit_hook *hook, void (*on_exit)(void *value))
{
    int e = pthread_key_create(hook, on_exit);
    return e ? -e : 0;
}

int tld_thread_exit_hook_set(tld_thread_exit_hook *hook, void *value)
{
    int e = pthread_setspecific(*hook, value);
    return e ? -e : 0;
}

int tld_at_fork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    int e = pthread_atfork(prepare, parent, child);
    return e ? -e : 0;
}
