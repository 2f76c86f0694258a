/*
 * thread_posix.c — thread.h with pthreads (Linux, macOS, the BSDs).
 */
#include "thread.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

void tld_mutex_init(tld_mutex *m)
{
    pthread_mutex_init(&m->m, NULL);
}

void tld_mutex_destroy(tld_mutex *m)
{
    pthread_mutex_destroy(&m->m);
}

void tld_mutex_lock(tld_mutex *m)
{
    pthread_mutex_lock(&m->m);
}

void tld_mutex_unlock(tld_mutex *m)
{
    pthread_mutex_unlock(&m->m);
}

void tld_cond_init(tld_cond *c)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
#if !defined(__APPLE__)
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
#endif
    pthread_cond_init(&c->c, &ca);
    pthread_condattr_destroy(&ca);
}

void tld_cond_destroy(tld_cond *c)
{
    pthread_cond_destroy(&c->c);
}

void tld_cond_wait(tld_cond *c, tld_mutex *m)
{
    pthread_cond_wait(&c->c, &m->m);
}

void tld_cond_wait_ms(tld_cond *c, tld_mutex *m, uint32_t ms)
{
    struct timespec ts;
#if defined(__APPLE__)
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    pthread_cond_timedwait_relative_np(&c->c, &m->m, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&c->c, &m->m, &ts);
#endif
}

void tld_cond_signal(tld_cond *c)
{
    pthread_cond_signal(&c->c);
}

void tld_cond_broadcast(tld_cond *c)
{
    pthread_cond_broadcast(&c->c);
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

int tld_thread_start(tld_thread *t, void (*fn)(void *arg), void *arg)
{
    t->fn = fn;
    t->arg = arg;
    int rc = pthread_create(&t->handle, NULL, thread_main, t);
    return rc == 0 ? 0 : -rc;
}

void tld_thread_join(tld_thread *t)
{
    pthread_join(t->handle, NULL);
}

void tld_thread_yield(void)
{
    sched_yield();
}

void tld_once_run(tld_once *once, void (*fn)(void))
{
    pthread_once(&once->o, fn);
}

int tld_thread_key_create(tld_thread_key *key, void (*on_exit)(void *value))
{
    int rc = pthread_key_create(&key->key, on_exit);
    return rc == 0 ? 0 : -rc;
}

int tld_thread_key_set(tld_thread_key key, void *value)
{
    int rc = pthread_setspecific(key.key, value);
    return rc == 0 ? 0 : -rc;
}

int tld_atfork(void (*prepare)(void), void (*parent)(void), void (*child)(void))
{
    int rc = pthread_atfork(prepare, parent, child);
    return rc == 0 ? 0 : -rc;
}
