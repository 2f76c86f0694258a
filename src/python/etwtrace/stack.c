/*
 * stack.c — stack-sampling mode: the PEP 523 frame-evaluation
 * hook that runs every traced Python function through its own thunk.
 *
 *     _PyEval_EvalFrameDefault (caller's frame)     native stack, growing down
 *       -> stack_eval (this hook)                   tail-calls into the thunk
 *         -> thunk of "b"   [begin, end)            a real frame: its return
 *           -> _PyEval_EvalFrameDefault ("b")         address names "b"
 *             -> stack_eval
 *               -> thunk of "c" ...
 *
 * Hot path, per call of a Python function: is this thread traced (one TLS
 * word compared with the generation's key), the frame's code object (one
 * load, etw_frame_code), its co_extra entry (two loads), and a call through
 * the entry. Everything else — new code objects, new threads, untraced
 * threads — goes to stack_eval_slow.
 *
 * Threads: the hook is per interpreter, tracing is per thread. The
 * enabling thread is traced; with_threads also traces threads whose
 * PyThreadState was created after enable() (their ids are larger than any
 * id at enable time): such a thread is traced while its first (outermost)
 * frame runs, bracketed by PythonThread start/stop. Other threads are
 * marked untraced for this generation and evaluate directly.
 *
 * The hook is only installed over the default evaluator: another PEP 523
 * hook (CPython's own perf trampoline on 3.12+, a debugger, a JIT) makes
 * enable() fail instead of silently replacing it, and disable() only
 * removes the hook if it is still ours.
 *
 * Deep recursion: see deep.c.
 */
#include "etwtrace.h"

#include <stdio.h>

ETW_TLS uint64_t etw_tls_thread;

uint64_t etw_newest_thread_id(PyInterpreterState *interp)
{
    uint64_t newest = 0;
    for (PyThreadState *t = PyInterpreterState_ThreadHead(interp); t != NULL; t = PyThreadState_Next(t)) {
        uint64_t id = PyThreadState_GetID(t);
        if (id > newest)
            newest = id;
    }
    return newest;
}
static int trace_new_threads;
static uint64_t thread_id_floor;
static int layout_checked;

static PyObject *stack_eval_slow(PyThreadState *ts, etw_frame *fr, int throwflag);

static PyObject *stack_eval(PyThreadState *ts, etw_frame *fr, int throwflag)
{
    if (ETW_LIKELY(etw_tls_thread == etw_thread_traced_key() && !etw_thread_is_deep(ts))) {
        PyObject *code = etw_frame_code(fr);
        if (ETW_LIKELY(code != NULL)) {
            struct etw_func *f = etw_code_func(code);
            if (ETW_LIKELY(f != NULL && f->gen == etw_gen))
                return (PyObject *)f->entry(ts, fr, throwflag, (void *)etw_default_eval);
        }
    }
    return stack_eval_slow(ts, fr, throwflag);
}

/* Runs the outermost frame of a thread started while tracing with threads,
 * between its PythonThread start and stop events. */
static PyObject *run_new_thread(PyThreadState *ts, etw_frame *fr, int throwflag)
{
    uint64_t key = etw_thread_traced_key();
    int32_t tid = (int32_t)PyThread_get_thread_native_id();
    etw_tls_thread = key;
    etw_set_stack_guard();
    etw_write_thread(TLD_OPCODE_START, tid);
    PyObject *result = stack_eval(ts, fr, throwflag);
    if (etw_tls_thread == key && etw_active_mode == ETW_MODE_STACK)
        etw_write_thread(TLD_OPCODE_STOP, tid);
    etw_tls_thread = etw_thread_untraced_key();
    return result;
}

/* The mirrored frame layout disagrees with the interpreter: stop hooking
 * rather than misread frames. */
static void layout_mismatch(PyThreadState *ts)
{
    fprintf(stderr, "etwtrace: this Python's interpreter frames do not have the layout etwtrace was built "
                    "for; stack sampling is switched off\n");
    PyInterpreterState *interp = PyThreadState_GetInterpreter(ts);
    if (etw_get_eval_func(interp) == stack_eval)
        etw_set_eval_func(interp, etw_default_eval);
}

static PyObject *stack_eval_slow(PyThreadState *ts, etw_frame *fr, int throwflag)
{
    if (ETW_UNLIKELY(etw_tls_thread == etw_thread_traced_key() && etw_thread_is_deep(ts)))
        return etw_eval_parked(ts, fr, throwflag, stack_eval);
    if (etw_tls_thread != etw_thread_traced_key()) {
        if (etw_tls_thread != etw_thread_untraced_key() && trace_new_threads &&
            PyThreadState_GetID(ts) > thread_id_floor)
            return run_new_thread(ts, fr, throwflag);
        etw_tls_thread = etw_thread_untraced_key();
        return etw_default_eval(ts, fr, throwflag);
    }
    if (ETW_UNLIKELY(!layout_checked)) {
        layout_checked = 1;
        if (!etw_frame_code_checked(fr)) {
            layout_mismatch(ts);
            return etw_default_eval(ts, fr, throwflag);
        }
    }
    PyObject *code = etw_frame_code(fr);
    struct etw_func *f = code != NULL ? etw_registry_lookup_slow(code, ETW_MODE_STACK) : NULL;
    if (f == NULL)
        return etw_default_eval(ts, fr, throwflag);
    return (PyObject *)f->entry(ts, fr, throwflag, (void *)etw_default_eval);
}

int etw_stack_check(void)
{
    if (etw_get_eval_func(PyInterpreterState_Get()) != etw_default_eval) {
        PyErr_SetString(PyExc_RuntimeError,
                        "cannot enable stack sampling: another frame-evaluation hook (PEP 523) is already "
                        "installed in this interpreter, for example CPython's perf trampoline (-X perf, "
                        "-X perf_jit, PYTHONPERFSUPPORT, sys.activate_stack_trampoline()). Run without it, or "
                        "call sys.deactivate_stack_trampoline() first.");
        return -1;
    }
    return 0;
}

int etw_stack_enable(int with_threads)
{
    if (etw_stack_check() < 0)
        return -1;
    PyInterpreterState *interp = PyInterpreterState_Get();
    thread_id_floor = etw_newest_thread_id(interp);
    trace_new_threads = with_threads;
    etw_tls_thread = etw_thread_traced_key();
    etw_set_stack_guard();
    etw_parking_reset();
    etw_set_eval_func(interp, stack_eval);
    return 0;
}

void etw_stack_disable(void)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    if (etw_get_eval_func(interp) == stack_eval)
        etw_set_eval_func(interp, etw_default_eval);
    etw_parking_reset();
    trace_new_threads = 0;
    etw_tls_thread = 0;
}

/* The benchmark's floor: a PEP 523 hook that only forwards. */
static PyObject *forward_eval(PyThreadState *ts, etw_frame *fr, int throwflag)
{
    return etw_default_eval(ts, fr, throwflag);
}

int etw_forward_hook_set(int on)
{
    PyInterpreterState *interp = PyInterpreterState_Get();
    etw_eval_fn current = etw_get_eval_func(interp);
    if (on) {
        if (current == forward_eval)
            return 0;
        if (current != etw_default_eval) {
            PyErr_SetString(PyExc_RuntimeError, "another frame-evaluation hook is installed");
            return -1;
        }
        etw_set_eval_func(interp, forward_eval);
    } else if (current == forward_eval) {
        etw_set_eval_func(interp, etw_default_eval);
    }
    return 0;
}
