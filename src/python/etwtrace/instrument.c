/*
 * instrument.c — instrumented mode: PythonFunctionPush/Pop for
 * every call of a Python function or builtin on a traced thread.
 *
 * Two hooks feed the shadow stacks of shadow.h:
 *   - on 3.13/3.14 a sys.monitoring tool of our own (monitor.c): the
 *     events CPython's profile-function shim listens to, without the frame
 *     object the shim makes for every event;
 *   - the C profile function (PyEval_SetProfile, this file): the cheapest
 *     hook up to 3.12, and the fallback when every tool id is taken.
 * Both keep the pairing we need: every call gets one return, also when an
 * exception unwinds the frame or a generator yields (return) and resumes
 * (call).
 *
 * Threads started while enabled with with_threads: threading.setprofile()
 * makes each new threading.Thread call our hook from _bootstrap_inner; the
 * hook writes PythonThread start, starts the thread's shadow stack (and,
 * for the profile-function hook, installs it on that thread) and
 * remembers _bootstrap_inner's frame, whose return ends the thread's trace
 * (Pops still owed, then PythonThread stop).
 */
#include "shadow.h"

#include <string.h>

ETW_TLS struct etw_shadow etw_tls_shadow;
static PyObject *saved_thread_profile; /* threading.getprofile() before enable */
static int hooked_threading;

/* 1 while the profile function may read frames through the interpreter
 * frame walk (interp_compat.h), decided at enable() by etw_frame_walk_agrees. */
static int walk_frames;

#if ETW_HAVE_FRAME_WALK
static inline etw_frame *frame_of(PyFrameObject *frame) { return ((etw_frame_object_mirror *)frame)->f_frame; }
#endif

/* The code object `frame` runs (borrowed: the frame holds it). */
static inline PyObject *code_of(PyFrameObject *frame)
{
#if ETW_HAVE_FRAME_WALK
    if (ETW_LIKELY(walk_frames))
        return etw_frame_code(frame_of(frame));
#endif
    PyCodeObject *co = PyFrame_GetCode(frame);
    Py_DECREF(co); /* still alive: the running frame holds it */
    return (PyObject *)co;
}

/* Line `frame` is at; of its caller (PyFrame_GetBack) when `of_caller`. */
static uint64_t line_of(PyFrameObject *frame, int of_caller)
{
#if ETW_HAVE_FRAME_WALK
    if (ETW_LIKELY(walk_frames)) {
        etw_frame *f = frame_of(frame);
        if (of_caller)
            f = etw_frame_first_complete(etw_frame_previous(f));
        return f != NULL ? etw_frame_line_cached(f) : 0;
    }
#endif
    if (!of_caller)
        return (uint64_t)PyFrame_GetLineNumber(frame);
    uint64_t line = 0;
    PyFrameObject *back = PyFrame_GetBack(frame);
    if (back != NULL) {
        line = (uint64_t)PyFrame_GetLineNumber(back);
        Py_DECREF(back);
    }
    return line;
}

static int profile(PyObject *obj, PyFrameObject *frame, int what, PyObject *arg)
{
    (void)obj;
    struct etw_shadow *s = &etw_tls_shadow;
    if (!etw_shadow_live(s))
        return 0;
    switch (what) {
    case PyTrace_CALL: {
        uint64_t id = etw_shadow_code_id(code_of(frame));
        int written = id != 0 && etw_event_on(TLD_LEVEL_VERBOSE, ETW_KW_PUSH);
        if (written) /* the caller's line is looked up only then */
            etw_write_push(id, etw_shadow_top(s), line_of(frame, 1));
        etw_shadow_push(s, id, written);
        return 0;
    }
    case PyTrace_C_CALL: {
        /* builtins called by ignored code (threading, etwtrace) are not reported */
        uint64_t id = (s->depth && etw_shadow_top(s) == 0) ? 0 : etw_registry_builtin_id(arg);
        int written = id != 0 && etw_event_on(TLD_LEVEL_VERBOSE, ETW_KW_PUSH);
        if (written) /* the caller's line is looked up only then */
            etw_write_push(id, etw_shadow_top(s), line_of(frame, 0));
        etw_shadow_push(s, id, written);
        return 0;
    }
    case PyTrace_RETURN:
        if (ETW_UNLIKELY(s->base != NULL && (const void *)frame == s->base)) {
            etw_shadow_end_thread(s);
            return 0;
        }
        etw_shadow_pop(s);
        return 0;
    case PyTrace_C_RETURN:
    case PyTrace_C_EXCEPTION:
        etw_shadow_pop(s);
        return 0;
    default:
        return 0;
    }
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
    struct etw_shadow *s = &etw_tls_shadow;
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
    int32_t tid = (int32_t)PyThread_get_thread_native_id();
    if (etw_monitor_tool_id() >= 0) {
        /* The tool reports this thread's calls from now on; the Python-level
         * hook is no longer needed here. */
        PyEval_SetProfile(NULL, NULL);
        etw_write_thread(TLD_OPCODE_START, tid);
        etw_monitor_thread_started(s, tid, what == PyTrace_CALL);
        Py_RETURN_NONE;
    }
    /* The frame whose return ends the thread: _bootstrap_inner, the caller
     * of a Python call event, else the frame reporting the event. */
    PyFrameObject *base = frame;
    PyFrameObject *back = NULL;
    if (what == PyTrace_CALL || what == PyTrace_RETURN) {
        back = PyFrame_GetBack(frame);
        base = back;
    }
    etw_shadow_start(s, tid, base);
    etw_write_thread(TLD_OPCODE_START, tid);
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

static void unhook_threading(void)
{
    if (!hooked_threading)
        return;
    hooked_threading = 0;
    pyc_saved_error saved;
    pyc_error_save(&saved);
    PyObject *r = threading_call("setprofile", saved_thread_profile ? saved_thread_profile : Py_None);
    Py_XDECREF(r);
    PyErr_Clear();
    pyc_error_restore(&saved);
    Py_CLEAR(saved_thread_profile);
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
    etw_shadow_start(&etw_tls_shadow, (int32_t)PyThread_get_thread_native_id(), NULL);
    int tool = etw_monitor_start();
    if (tool < 0) {
        etw_tls_shadow.gen = 0;
        unhook_threading();
        return -1;
    }
    if (tool == 0) {
#if ETW_HAVE_FRAME_WALK
        PyFrameObject *frame = PyEval_GetFrame(); /* borrowed */
        walk_frames = !etw_frame_api_forced() && frame != NULL && etw_frame_walk_agrees(frame_of(frame));
#endif
        PyEval_SetProfile(profile, NULL);
    }
    return 0;
}

void etw_instrument_disable(void)
{
    struct etw_shadow *s = &etw_tls_shadow;
    etw_monitor_stop();
    if (PyThreadState_Get()->c_profilefunc == profile)
        PyEval_SetProfile(NULL, NULL);
    if (s->gen == etw_gen)
        etw_shadow_unwind_all(s);
    s->gen = 0;
    unhook_threading();
}

int etw_instrument_walks_frames(void)
{
    return etw_monitor_tool_id() >= 0 || walk_frames;
}

const char *etw_instrument_hook_name(void)
{
    if (etw_monitor_tool_id() >= 0)
        return "sys.monitoring";
    if (etw_active_mode == ETW_MODE_INSTRUMENTED || !ETW_HAVE_MONITORING_TOOL)
        return "PyEval_SetProfile";
    return "sys.monitoring";
}
