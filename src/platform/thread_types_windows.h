/*
 * thread_types_windows.h — the types behind thread.h on Windows: an
 * SRWLOCK, a CONDITION_VARIABLE and an INIT_ONCE are one pointer each
 * (thread_windows.c checks), zero when unused, so they are declared here
 * without <windows.h>. Included only by thread.h.
 */
#ifndef TLD_PLATFORM_THREAD_TYPES_WINDOWS_H
#define TLD_PLATFORM_THREAD_TYPES_WINDOWS_H

typedef struct tld_mutex {
    void *srwlock;
} tld_mutex;
typedef struct tld_cond {
    void *condition_variable;
} tld_cond;
typedef struct tld_thread {
    void *handle;
    void (*fn)(void *);
    void *arg;
} tld_thread;
typedef struct tld_once_flag {
    void *init_once;
} tld_once_flag;
/* Index into thread_windows.c's table of fiber-local slots. */
typedef unsigned long tld_thread_exit_hook;

#define TLD_MUTEX_INIT {0}
#define TLD_ONCE_INIT {0}

#endif
