/*
 * thread_types_posix.h — the types behind thread.h on POSIX systems.
 * Included only by thread.h.
 */
#ifndef TLD_PLATFORM_THREAD_TYPES_POSIX_H
#define TLD_PLATFORM_THREAD_TYPES_POSIX_H

#include <pthread.h>

typedef pthread_mutex_t tld_mutex;
typedef pthread_cond_t tld_cond;
typedef struct tld_thread {
    pthread_t handle;
    void (*fn)(void *);
    void *arg;
} tld_thread;
typedef pthread_once_t tld_once_flag;
typedef pthread_key_t tld_thread_exit_hook;

#define TLD_MUTEX_INIT PTHREAD_MUTEX_INITIALIZER
#define TLD_ONCE_INIT PTHREAD_ONCE_INIT

#endif
