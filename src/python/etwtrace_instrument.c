/*
 * etwtrace_instrument.c — instrumented mode: PythonFunctionPush/Pop for
 * every call of a Python function or builtin on a traced thread.
 *
 * The hook is the C profile function (PyEval_SetProfile) on every version:
 * on 3.11 it is the cheapest hook there is; on 3.12+ CPython feeds it from
 * sys.monitoring (PY_START/PY_RESUME/PY_RETURN/PY_YIELD/PY_UNWIND, CALL,
 * C_RETURN/C_RAISE) and keeps the guarantees we need: every CALL gets one
 * RETURN, also when an exception unwinds the frame or a generator yields
 * (RETURN) and resumes (CALL). A hand-written sys.monitoring tool could
 * skip the frame objects CPython makes for the profile function, but it
 * would have to rebuild exactly that pairing from eight events; the
 * profile function is what upstream etwtrace uses too.
 *
 * Each traced thread keeps a shadow stack of FunctionIDs (0 = ignored
 * function: pushed for balance, no events). It gives Caller (the id on
 * top) and, on disable, the Pops still owed for frames that are running.
 * Returns seen with an empty shadow stack belong to frames that started
 * before tracing did and are skipped.
 *
 * Threads started while enabled with with_threads: threading.setprofile()
 * makes each new threading.Thread call our hook from _bootstrap_inner; the
 * hook writes PythonThread start, installs the profile function for that
 * thread and remembers _bootstrap_inner's frame, whose return ends the
 * thread's trace (Pops still owed, then PythonThread stop).
 */
#include "etwtrace.h"

#include <stdlib.h>
#include <string.h>

struct shadow {
    uint32_t gen;          /* traced in this generation */
    uint32_t depth, cap;
    uint32_t lost;         /* pushes that found no room (out of memory) */
    uint64_t *ids;
    PyFrameObject *base;   /* a hooked thread's _bootstrap_inner frame (compared, not owned) */
    int32_t tid;
};

static ETW_TLS struct shadow tls_shadow;
static PyObject *saved_thread_profile; /* threading.getprofile() before enable */
static int hooked_threading;

static int grow(struct shadow *s)
{
    uint32_t cap = s->cap ? s->cap * 2 : 64;
    uint64_t *ids = realloc(s->ids, cap * sizeof *ids);
    if (ids == NULL)
        return -1;
    s->ids = ids;
    s->cap = cap;
    return 0;
}

static inline void push(struct shadow *s, uint64_t id)
{
    if (ETW_UNLIKELY(s->depth == s->cap) && grow(s) < 0) {
        s->lost++;
        return;
    }
    s->ids[s->depth++] = id;
}

static inline void pop(struct shadow *s)
{
    if (ETW_UNLIKELY(s->lost)) {
        s->lost--;
        return;
    }
    if (s->depth == 0)
        return; /* a frame that began before tracing did */
    uint64_t id = s->ids[--s->depth];
    if (id != 0)
        etw_write_pop(id); /* checks whether anyone listens itself */
}

/* Pops owed for every frame still on the shadow stack, innermost first. */
static void unwind_all(struct shadow *s)
{
    s->lost = 0;
    while (s->depth > 0)
        pop(s);
}

static void end_thread(struct shadow *s)
{
    unwind_all(s);
    etw_write_thread(2, s->tid);
    s->gen = 0;
    s->base = NULL;
    free(s->ids);
    s->ids = NULL;
    s->cap = 0;
}

static int profile(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj;
    struct shadow *s = &tls_shadow;
    if (ETW_UNLIKELY(s->gen != etw_gen || etw_active_mode != ETW_MODE_INSTRUMENTED))
        return 0;
    switch (what) {
    case PyTrace_CALL: {
        PyCodeObject *co = PyFrame_GetCode(frame);
        struct etw_func *f = etw_code_func((PyObject *)co);
        if (ETW_UNLIKELY(f == NULL || f->gen != etw_gen))
            f = etw_registry_lookup_slow((PyObject *)co, ETW_MODE_INSTRUMENTED);
        Py_DECREF(co);
        uint64_t id = (f != NULL && f->traced) ? f->id : 0;
        if (id != 0 && etw_event_on(5, ETW_KW_PUSH)) {
            uint64_t caller = s->depth ? s->ids[s->depth - 1] : 0;
            uint64_t line = 0;
            PyFrameObject *back = PyFrame_GetBack(frame);
            if (back != NULL) {
                line = (uint64_t)PyFrame_GetLineNumber(back);
                Py_DECREF(back);
            }
            etw_write_push(id, caller, line);
        }
        push(s, id);
        return 0;
    }
    case PyTrace_C_CALL: {
        /* builtins called by ignored code (threading, etwtrace) are not reported */
        uint64_t id = (s->depth && s->ids[s->depth - 1] == 0) ? 0 : etw_registry_builtin_id(arg);
        if (id != 0 && etw_event_on(5, ETW_KW_PUSH)) {
            uint64_t caller = s->depth ? s->ids[s->depth - 1] : 0;
            etw_write_push(id, caller, (uint64_t)PyFrame_GetLineNumber(frame));
        }
        push(s, id);
        return 0;
    }
    case PyTrace_RETURN:
        if (ETW_UNLIKELY(s->base != NULL && frame == s->base)) {
            end_thread(s);
            return 0;
        }
        pop(s);
        return 0;
    case PyTrace_C_RETURN:
    case PyTrace_C_EXCEPTION:
        pop(s);
        return 0;
    default:
        return 0;
    }
}

static void start_shadow(struct shadow *s, int32_t tid, PyFrameObject *base)
{
    s->gen = etw_gen;
    s->depth = 0;
    s->lost = 0;
    s->tid = tid;
    s->base = base;
}

/*
 * threading.setprofile() hook, called as a Python profile function
 * (frame, event, arg) in each thread started while enabled.
 */
PyObject *etw_instrument_thread_hook(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    (void)module;
    if (etw_active_mode != ETW_MODE_INSTRUMENTED || nargs != 3 || !PyFrame_Check(args[0]) ||
        !PyUnicode_Check(args[1])) {
        PyEval_SetProfile(NULL, NULL);
        Py_RETURN_NONE;
    }
    struct shadow *s = &tls_shadow;
    PyFrameObject *frame = (PyFrameObject *)args[0];
    const char *event = PyUnicode_AsUTF8(args[1]);
    if (event == NULL)
        return NULL;
    int what = -1;
    if (strcmp(event, "call") == 0)
        what = PyTrace_CALL;
    else if (strcmp(event, "return") == 0)
        what = PyTrace_RETURN;
    else if (strcmp(event, "c_call") == 0)
        what = PyTrace_C_CALL;
    else if (strcmp(event, "c_return") == 0)
        what = PyTrace_C_RETURN;
    else if (strcmp(event, "c_exception") == 0)
        what = PyTrace_C_EXCEPTION;
    /* The frame whose return ends the thread: _bootstrap_inner, the caller
     * of a Python call event, else the frame reporting the event. */
    PyFrameObject *base = frame;
    PyFrameObject *back = NULL;
    if (what == PyTrace_CALL || what == PyTrace_RETURN) {
        back = PyFrame_GetBack(frame);
        base = back;
    }
    int32_t tid = (int32_t)PyThread_get_thread_native_id();
    start_shadow(s, tid, base);
    etw_write_thread(1, tid);
    PyEval_SetProfile(profile, NULL);
    if (what == PyTrace_CALL) /* the call that brought us here is traced too */
        profile(NULL, frame, what, args[2]);
    Py_XDECREF(back); /* still alive: it is running */
    Py_RETURN_NONE;
}

static PyObject *threading_call(const char *method, PyObject *arg)
{
    PyObject *threading = PyImport_ImportModule("threading");
    if (threading == NULL)
        return NULL;
    PyObject *r = arg ? PyObject_CallMethod(threading, method, "O", arg) : PyObject_CallMethod(threading, method, NULL);
    Py_DECREF(threading);
    return r;
}

int etw_instrument_enable(int with_threads, PyObject *thread_hook)
{
    if (with_threads) {
        PyObject *previous = threading_call("getprofile", NULL);
        if (previous == NULL)
            return -1;
        PyObject *r = threading_call("setprofile", thread_hook);
        if (r == NULL) {
            Py_DECREF(previous);
            return -1;
        }
        Py_DECREF(r);
        Py_XSETREF(saved_thread_profile, previous);
        hooked_threading = 1;
    }
    start_shadow(&tls_shadow, (int32_t)PyThread_get_thread_native_id(), NULL);
    PyEval_SetProfile(profile, NULL);
    return 0;
}

void etw_instrument_disable(void)
{
    struct shadow *s = &tls_shadow;
    if (PyThreadState_Get()->c_profilefunc == profile)
        PyEval_SetProfile(NULL, NULL);
    if (s->gen == etw_gen)
        unwind_all(s);
    s->gen = 0;
    if (hooked_threading) {
        hooked_threading = 0;
        tld_saved_error saved;
        tld_error_save(&saved);
        PyObject *r = threading_call("setprofile", saved_thread_profile ? saved_thread_profile : Py_None);
        Py_XDECREF(r);
        PyErr_Clear();
        tld_error_restore(&saved);
        Py_CLEAR(saved_thread_profile);
    }
}
