/*
 * deep.c — frame-evaluation hooks and deep recursion (stack mode's thunk
 * hook, instrumented mode's Python-calls hook).
 *
 * Deep recursion. With a PEP 523 hook installed, each Python call nests a C call
 * (hook, thunk, evaluator), so a recursion that plain Python runs in one C
 * frame would overflow the C stack (or, on 3.12/3.13, exhaust the C
 * recursion count). When a traced thread's stack pointer falls below its
 * guard (the last eighth of its stack, at least 64 KiB) or the count runs
 * low, the hook parks itself: it removes itself from the interpreter and
 * evaluates that frame directly, so deeper calls are inlined again and use
 * no more C stack. When the outermost such frame returns, the hook is put
 * back (unless tracing was disabled meanwhile). While parked, new frames of
 * every thread run without thunks: samples taken then show the deep part
 * of the stack inside the thunk of the frame where the hook parked (and, in
 * instrumented mode, without the calls made while parked).
 */
#include "etwtrace.h"

#include "stack.h"

ETW_TLS uintptr_t etw_tls_stack_guard;
uint64_t etw_deep_recursion_parks;
static int parked_depth;   /* frames evaluated directly because their thread was deep (GIL) */
static int hook_parked;    /* the hook removed itself for them and must come back */

void etw_set_stack_guard(void)
{
    uintptr_t low, high;
    if (tld_thread_stack_bounds(&low, &high) != 0 || high <= low) {
        etw_tls_stack_guard = 0;
        return;
    }
    uintptr_t size = high - low;
    uintptr_t reserve = size / 8 < 64 * 1024 ? 64 * 1024 : size / 8;
    if (reserve > size / 2)
        reserve = size / 2;
    etw_tls_stack_guard = low + reserve;
}

void etw_parking_reset(void)
{
    hook_parked = 0;
}

PyObject *etw_eval_parked(PyThreadState *ts, etw_frame *fr, int throwflag, etw_eval_fn hook)
{
    PyInterpreterState *interp = PyThreadState_GetInterpreter(ts);
    if (etw_get_eval_func(interp) == hook) {
        etw_set_eval_func(interp, etw_default_eval);
        hook_parked = 1;
        etw_deep_recursion_parks++;
    }
    parked_depth++;
    PyObject *result = etw_default_eval(ts, fr, throwflag);
    if (--parked_depth == 0 && hook_parked) {
        hook_parked = 0;
        if (etw_active_mode != ETW_MODE_NONE && etw_get_eval_func(interp) == etw_default_eval)
            etw_set_eval_func(interp, hook);
    }
    return result;
}
