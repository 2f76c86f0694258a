/*
 * stack_linux.c — stack.h on Linux with glibc: backtrace() for stacks (it
 * unwinds with the DWARF call-frame information every binary carries, so it
 * also walks code built without frame pointers, unlike a frame-pointer
 * walk that would read garbage there), gettid()/getpid() for ids.
 *
 * Ids are cached because a system call per event would cost more than the
 * rest of writing the event. A fork() child has the parent's thread-local
 * cache, so a fork generation counter, bumped by a pthread_atfork() child
 * handler, invalidates every cache at once.
 */
#include "stack.h"

#include <execinfo.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

static atomic_uint fork_generation = 1;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static _Thread_local uint32_t cached_tid;
static _Thread_local unsigned cached_tid_generation;
static uint32_t cached_pid;
static atomic_uint cached_pid_generation;

static void after_fork_in_child(void)
{
    atomic_fetch_add(&fork_generation, 1);
}

static void install_atfork(void)
{
    pthread_atfork(NULL, NULL, after_fork_in_child);
}

static unsigned current_generation(void)
{
    pthread_once(&atfork_once, install_atfork);
    return atomic_load_explicit(&fork_generation, memory_order_relaxed);
}

uint32_t tld_thread_id(void)
{
    unsigned gen = current_generation();
    if (cached_tid_generation != gen) {
        cached_tid = (uint32_t)syscall(SYS_gettid);
        cached_tid_generation = gen;
    }
    return cached_tid;
}

uint32_t tld_process_id(void)
{
    unsigned gen = current_generation();
    if (atomic_load_explicit(&cached_pid_generation, memory_order_acquire) != gen) {
        /* Racing threads store the same value; the generation is published
         * after the pid so a reader that sees it also sees the pid. */
        __atomic_store_n(&cached_pid, (uint32_t)getpid(), __ATOMIC_RELAXED);
        atomic_store_explicit(&cached_pid_generation, gen, memory_order_release);
    }
    return __atomic_load_n(&cached_pid, __ATOMIC_RELAXED);
}

/* noinline: __builtin_return_address(0) must be the return address into
 * our caller. backtrace() may add frames of its own before ours (sanitizer
 * interceptors do), so the caller's frame is found by that address rather
 * than by counting. */
__attribute__((noinline)) size_t tld_stack_capture(uint64_t *out, size_t max, unsigned skip)
{
    enum { SLACK = 8 }; /* frames of backtrace() itself and its interceptors */
    void *frames[TLD_STACK_MAX_FRAMES + 2 * SLACK];
    if (max == 0 || skip >= SLACK)
        return 0;
    if (max > TLD_STACK_MAX_FRAMES)
        max = TLD_STACK_MAX_FRAMES;
    int n = backtrace(frames, (int)(max + skip + SLACK));
    void *caller = __builtin_return_address(0);
    int first = -1;
    for (int i = 0; i < n && i < SLACK; i++)
        if (frames[i] == caller) {
            first = i;
            break;
        }
    if (first < 0)
        first = 1; /* frames[0] is in this function */
    first += (int)skip;
    if (n <= first)
        return 0;
    size_t count = (size_t)(n - first);
    if (count > max)
        count = max;
    for (size_t i = 0; i < count; i++)
        out[i] = (uint64_t)(uintptr_t)frames[first + (int)i];
    return count;
}

int tld_thread_stack_bounds(uintptr_t *low, uintptr_t *high)
{
    pthread_attr_t attr;
    int e = pthread_getattr_np(pthread_self(), &attr);
    if (e != 0)
        return -e;
    void *addr;
    size_t size;
    e = pthread_attr_getstack(&attr, &addr, &size);
    pthread_attr_destroy(&attr);
    if (e != 0)
        return -e;
    *low = (uintptr_t)addr;
    *high = (uintptr_t)addr + size;
    return 0;
}
