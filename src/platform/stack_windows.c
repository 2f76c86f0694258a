/*
 * stack_windows.c — stack.h on Windows: RtlCaptureStackBackTrace (it walks
 * with the unwind tables of every module and of registered function tables,
 * such as etwtrace's thunk arenas), and the ids the kernel gives the
 * process and the thread (no fork, so nothing to invalidate).
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "stack.h"
#include "portable.h"

#include <errno.h>

uint32_t tld_thread_id(void)
{
    return (uint32_t)GetCurrentThreadId();
}

uint32_t tld_process_id(void)
{
    return (uint32_t)GetCurrentProcessId();
}

int tld_thread_stack_bounds(uintptr_t *low, uintptr_t *high)
{
    ULONG_PTR lo = 0, hi = 0;
    GetCurrentThreadStackLimits(&lo, &hi); /* the whole reservation, guard pages included */
    if (hi <= lo)
        return -ENOSYS;
    *low = (uintptr_t)lo;
    *high = (uintptr_t)hi;
    return 0;
}

/* noinline: frame 0 of the capture is this function's caller, so `skip`
 * counts from there as stack.h says. */
TLD_NOINLINE size_t tld_stack_capture(uint64_t *out, size_t max, unsigned skip)
{
    void *frames[TLD_STACK_MAX_FRAMES];
    if (max == 0)
        return 0;
    if (max > TLD_STACK_MAX_FRAMES)
        max = TLD_STACK_MAX_FRAMES;
    /* Skipping 1 more frame leaves out this function: frames[0] is then the
     * return address into our caller, as skip 0 asks. */
    USHORT n = RtlCaptureStackBackTrace((DWORD)skip + 1, (DWORD)max, frames, NULL);
    for (USHORT i = 0; i < n; i++)
        out[i] = (uint64_t)(uintptr_t)frames[i];
    return n;
}
