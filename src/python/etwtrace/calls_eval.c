/*
 * calls_eval.c — instrumented mode without builtins: a frame-evaluation
 * hook (PEP 523) writes PythonFunctionPush before each Python frame runs
 * and PythonFunctionPop when it returns (also by an exception) or yields.
 *
 * Why a second hook: the profile function (instrument.c) makes CPython
 * build a frame object and call out for every call and return, builtins
 * included, and on 3.11 keeps every instruction in its slow, traced form.
 * A PEP 523 hook costs one C call per Python frame and nothing for
 * builtins, because it does not see them. So this hook reports Python
 * functions only (IsPythonCode 1); `--no-builtins` and
 * set_instrumented_builtins(False) choose it where the interpreter frames'
 * layout is known (3.11, 3.13, 3.14: interp_compat.h), else the profile
 * function is used as before.
 *
 * A generator frame is evaluated again at each resume: Push at resume, Pop
 * at yield, as the profile function reports it; the evaluation that only
 * creates the generator is not reported. The caller of a frame is
 * the thread's current frame when the hook runs (the frame has not been
 * linked yet). Deep recursion parks the hook as stack mode's does
 * (deep.c). Threads: the enabling thread, and with with_threads every
 * thread whose state was created after enable(), traced from its first
 * frame (PythonThread start) to that frame's return (PythonThread stop).
 */
#include "shadow.h"

#if ETW_HAVE_FRAME_WALK

static int trace_new_threads;
static uint64_t thread_id_floor;

static PyObject *calls_eval_slow(PyThreadState *ts, etw_frame *fr, int throwflag);

/* Calling a generator, coroutine or async generator function runs its
 * frame only up to the instruction that makes the generator object: not a
 * call the profile function reports (it reports the first resume). */
static inline int starts_generator(PyObject *code, etw_frame *fr)
{
    return (((PyCodeObject *)code)->co_flags & (CO_GENERATOR | CO_COROUTINE | CO_ASYNC_GENERATOR)) &&
           etw_frame_not_started(fr);
}

static PyObject *calls_eval(PyThreadState *ts, etw_frame *fr, int throwflag)
{
    struct etw_shadow *s = &etw_tls_shadow;
    if (ETW_UNLIKELY(!etw_shadow_live(s)))
        return calls_eval_slow(ts, fr, throwflag);
    if (ETW_UNLIKELY(etw_thread_is_deep(ts)))
        return etw_eval_parked(ts, fr, throwflag, calls_eval);
    PyObject *code = etw_frame_code(fr);
    if (ETW_UNLIKELY(code == NULL || starts_generator(code, fr)))
        return etw_default_eval(ts, fr, throwflag);
    uint64_t id = etw_shadow_code_id(code);
    int written = id != 0 && etw_event_on(TLD_LEVEL_VERBOSE, ETW_KW_PUSH);
    if (written) {
        etw_frame *caller = etw_frame_first_complete(etw_thread_current_frame(ts));
        etw_write_push(id, etw_shadow_top(s), caller != NULL ? etw_frame_line_cached(caller) : 0);
    }
    etw_shadow_push(s, id, written);
    PyObject *result = etw_default_eval(ts, fr, throwflag);
    etw_shadow_pop(s);
    return result;
}

/* A thread not traced (yet): the first frame of a thread started after
 * enable() with with_threads starts its trace; other threads are marked
 * untraced and evaluate directly. */
static PyObject *calls_eval_slow(PyThreadState *ts, etw_frame *fr, int throwflag)
{
    if (etw_tls_thread != etw_thread_untraced_key() && trace_new_threads &&
        PyThreadState_GetID(ts) > thread_id_floor && etw_active_mode == ETW_MODE_INSTRUMENTED) {
        struct etw_shadow *s = &etw_tls_shadow;
        int32_t tid = (int32_t)PyThread_get_thread_native_id();
        etw_tls_thread = etw_thread_untraced_key(); /* once: the thread's later frames are inside this one */
        etw_set_stack_guard();
        etw_shadow_start(s, tid, NULL);
        etw_write_thread(TLD_OPCODE_START, tid);
        PyObject *result = calls_eval(ts, fr, throwflag);
        if (etw_shadow_live(s))
            etw_shadow_end_thread(s);
        return result;
    }
    etw_tls_thread = etw_thread_untraced_key();
    return etw_default_eval(ts, fr, throwflag);
}

int etw_calls_eval_available(void)
{
    return 1;
}

int etw_calls_eval_enable(int with_threads)
{
    if (etw_stack_check() < 0) /* another PEP 523 hook is installed */
        return -1;
    PyInterpreterState *interp = PyInterpreterState_Get();
    thread_id_floor = etw_newest_thread_id(interp);
    trace_new_threads = with_threads;
    etw_tls_thread = 0;
    etw_set_stack_guard();
    etw_parking_reset();
    etw_set_eval_func(interp, calls_eval);
    return 0;
}

void etw_calls_eval_disable(void)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    if (etw_get_eval_func(interp) == calls_eval)
        etw_set_eval_func(interp, etw_default_eval);
    etw_parking_reset();
    trace_new_threads = 0;
    etw_tls_thread = 0;
}

int etw_calls_eval_active(void)
{
    return etw_get_eval_func(PyInterpreterState_Get()) == calls_eval;
}

#else

int etw_calls_eval_available(void)
{
    return 0;
}

int etw_calls_eval_enable(int with_threads)
{
    (void)with_threads;
    PyErr_SetString(PyExc_RuntimeError, "instrumented mode without builtins needs CPython 3.11, 3.13 or 3.14");
    return -1;
}

void etw_calls_eval_disable(void)
{
}

int etw_calls_eval_active(void)
{
    return 0;
}

#endif
