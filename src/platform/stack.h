/*
 * stack.h — the calling thread as an event records it: its process and
 * thread ids (EVENT_HEADER.ProcessId/ThreadId) and its native call stack
 * (the STACK_TRACE64 extended item a session adds for chosen keywords).
 *
 * Platform implementations: stack_linux.c (glibc backtrace(), ids from the
 * kernel, cached per thread).
 */
#ifndef TLD_STACK_H
#define TLD_STACK_H

#include <stddef.h>
#include <stdint.h>

/* Most return addresses a session records per event (ETW records up to 192
 * frames; deeper stacks are cut at their outermost end). */
#define TLD_STACK_MAX_FRAMES 128

/*
 * Stores the calling thread's return addresses in out[0..max), innermost
 * first, and returns how many were stored (0 when the platform cannot walk
 * stacks). out[0] is the return address into the function `skip` frames
 * above the caller of tld_stack_capture(): skip 0 starts in the caller
 * itself, skip 1 in the caller's caller, and so on; the library uses it to
 * leave out its own frames (session delivery, tld_provider_write()).
 * Thread-safe. The first call on a thread may allocate (the unwinder loads
 * lazily); later calls do not. Not async-signal-safe.
 */
size_t tld_stack_capture(uint64_t *out, size_t max, unsigned skip);

/* The kernel's id of the calling thread (Linux: gettid()). Cached per
 * thread after the first call; correct again in a forked child. */
uint32_t tld_thread_id(void);

/* The id of the calling process (getpid()), cached; correct after fork(). */
uint32_t tld_process_id(void);

/* The calling thread's stack, [*low, *high) (it grows down towards low).
 * Returns 0, or -errno when the system does not say. Not cached. */
int tld_thread_stack_bounds(uintptr_t *low, uintptr_t *high);

#endif
