/*
 * monitor.c — instrumented mode as a sys.monitoring tool of our
 * own (CPython 3.13 and 3.14), the cheapest hook those versions offer.
 *
 * CPython's C profile function runs on sys.monitoring too, but its shim
 * makes (or finds) a frame object for every event and we then ask that
 * frame object for its code and its caller's line; cProfile, itself a
 * sys.monitoring tool since 3.12, skips all of that. Our tool listens to the
 * events the shim listens to and maps them the same way onto the shadow
 * stacks:
 *   PY_START, PY_RESUME, PY_THROW      a Python function starts or resumes:
 *                                      Push (Caller: the shadow top,
 *                                      CallerLine: the calling frame's line)
 *   PY_RETURN, PY_YIELD, PY_UNWIND     it returns, yields or unwinds: Pop
 *   CALL of a builtin                  Push (CallerLine: the current line)
 *   C_RETURN, C_RAISE of a builtin     Pop
 * where a builtin is a PyCFunction, or a method descriptor called with its
 * self (lst.append(x)), exactly the calls the shim reports. The events are
 * interpreter-wide; threads whose shadow stack is not live return at once.
 *
 * The caller's line comes from the interpreter frames (interp_compat.h:
 * PyThreadState.current_frame, each frame's `previous`), cached per
 * (FunctionID, instruction offset) by lines.c.
 *
 * The tool takes sys.monitoring.PROFILER_ID (2), or 3 or 4 when 2 is taken
 * (cProfile running); with none free, or when the frame mirror disagrees
 * with PyEval_GetFrame()/PyFrame_GetBack(), instrumented mode uses the
 * profile function instead.
 */
#include "shadow.h"

#if ETW_HAVE_MONITORING_TOOL

#include <stdarg.h>
#include <stddef.h>

/* A callback object: sys.monitoring calls it through vectorcall. */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
} callback_object;

static PyTypeObject callback_type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "etwtrace._etwtrace.monitoring_callback",
    .tp_basicsize = sizeof(callback_object),
    .tp_vectorcall_offset = offsetof(callback_object, vectorcall),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL | Py_TPFLAGS_DISALLOW_INSTANTIATION,
    .tp_call = PyVectorcall_Call,
    .tp_doc = "etwtrace's sys.monitoring callback (instrumented mode).",
};

static int tool_id = -1;
static PyObject *missing; /* sys.monitoring.MISSING: a call without arguments */

/* ---- caller lines ---------------------------------------------------------- */

/* Line of the frame that called the innermost one (which runs `code`), as
 * PyFrame_GetLineNumber(PyFrame_GetBack(frame)) tells it; 0 when none. */
static uint64_t caller_line(PyObject *code)
{
    etw_frame *callee = etw_thread_current_frame(PyThreadState_GetUnchecked());
    if (ETW_UNLIKELY(callee == NULL || etw_frame_code(callee) != code))
        return 0;
    etw_frame *caller = etw_frame_first_complete(etw_frame_previous(callee));
    return caller ? etw_frame_line_cached(caller) : 0;
}

/* Line of the innermost frame, which runs `code` (a builtin's call site). */
static uint64_t current_line(PyObject *code)
{
    etw_frame *f = etw_thread_current_frame(PyThreadState_GetUnchecked());
    if (ETW_UNLIKELY(f == NULL || etw_frame_code(f) != code))
        return 0;
    return etw_frame_line_cached(f);
}

/* ---- events ---------------------------------------------------------------- */

static void python_started(struct etw_shadow *s, PyObject *code)
{
    uint64_t id = etw_shadow_code_id(code);
    int written = id != 0 && etw_event_on(TLD_LEVEL_VERBOSE, ETW_KW_PUSH);
    if (written) /* the caller's line is looked up only then */
        etw_write_push(id, etw_shadow_top(s), caller_line(code));
    etw_shadow_push(s, id, written);
}

/* PY_START, PY_RESUME (code, offset); PY_THROW (code, offset, exception) */
static PyObject *on_python_start(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    (void)self;
    (void)kwnames;
    struct etw_shadow *s = &etw_tls_shadow;
    if (etw_shadow_live(s) && PyVectorcall_NARGS(nargsf) >= 1)
        python_started(s, args[0]);
    Py_RETURN_NONE;
}

/* PY_RETURN, PY_YIELD (code, offset, value); PY_UNWIND (code, offset, exception) */
static PyObject *on_python_end(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    (void)self;
    (void)args;
    (void)nargsf;
    (void)kwnames;
    struct etw_shadow *s = &etw_tls_shadow;
    if (!etw_shadow_live(s))
        Py_RETURN_NONE;
    if (ETW_UNLIKELY(s->base != NULL) &&
        (const void *)etw_thread_current_frame(PyThreadState_GetUnchecked()) == s->base)
        etw_shadow_end_thread(s);
    else
        etw_shadow_pop(s);
    Py_RETURN_NONE;
}

/* 1 when a call of `callable` with first argument `arg0` is one the
 * profile function reports as a C call. */
static inline int is_builtin_call(PyObject *callable, PyObject *arg0)
{
    return PyCFunction_Check(callable) || (Py_TYPE(callable) == &PyMethodDescr_Type && arg0 != missing);
}

/* CALL (code, offset, callable, arg0) */
static PyObject *on_call(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    (void)self;
    (void)kwnames;
    struct etw_shadow *s = &etw_tls_shadow;
    if (!etw_shadow_live(s) || PyVectorcall_NARGS(nargsf) < 4 || !is_builtin_call(args[2], args[3]))
        Py_RETURN_NONE;
    uint64_t id = 0;
    /* builtins called by ignored code (threading, etwtrace) are not reported */
    if (s->depth == 0 || etw_shadow_top(s) != 0)
        id = PyCFunction_Check(args[2]) ? etw_registry_builtin_id(args[2]) : etw_registry_method_descr_id(args[2]);
    int written = id != 0 && etw_event_on(TLD_LEVEL_VERBOSE, ETW_KW_PUSH);
    if (written) /* the caller's line is looked up only then */
        etw_write_push(id, etw_shadow_top(s), current_line(args[0]));
    etw_shadow_push(s, id, written);
    Py_RETURN_NONE;
}

/* C_RETURN, C_RAISE (code, offset, callable, arg0) */
static PyObject *on_builtin_end(PyObject *self, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    (void)self;
    (void)kwnames;
    struct etw_shadow *s = &etw_tls_shadow;
    if (etw_shadow_live(s) && PyVectorcall_NARGS(nargsf) >= 4 && is_builtin_call(args[2], args[3]))
        etw_shadow_pop(s);
    Py_RETURN_NONE;
}

static const struct {
    const char *event; /* attribute of sys.monitoring.events */
    vectorcallfunc fn;
} handlers[] = {
    {"PY_START", on_python_start},  {"PY_RESUME", on_python_start}, {"PY_THROW", on_python_start},
    {"PY_RETURN", on_python_end},   {"PY_YIELD", on_python_end},    {"PY_UNWIND", on_python_end},
    {"CALL", on_call},              {"C_RETURN", on_builtin_end},   {"C_RAISE", on_builtin_end},
};
#define N_HANDLERS (sizeof handlers / sizeof handlers[0])

void etw_monitor_thread_started(struct etw_shadow *s, int32_t tid, int is_call)
{
    etw_frame *current = etw_thread_current_frame(PyThreadState_GetUnchecked());
    current = etw_frame_first_complete(current);
    const void *base = current;
    if (is_call && current != NULL)
        base = etw_frame_first_complete(etw_frame_previous(current));
    etw_shadow_start(s, tid, base);
    if (is_call && current != NULL) /* the call that brought us here is traced too */
        python_started(s, etw_frame_code(current));
}

/* ---- registration ---------------------------------------------------------- */

static PyObject *monitoring_call(PyObject *monitoring, const char *method, const char *format, ...)
{
    PyObject *fn = PyObject_GetAttrString(monitoring, method);
    if (fn == NULL)
        return NULL;
    va_list va;
    va_start(va, format);
    PyObject *args = Py_VaBuildValue(format, va);
    va_end(va);
    PyObject *r = args ? PyObject_Call(fn, args, NULL) : NULL;
    Py_XDECREF(args);
    Py_DECREF(fn);
    return r;
}

/* Claims the first free tool id of PROFILER_ID (2), 3, 4: the id, 0 when
 * all are taken, -1 on error. */
static int claim_tool_id(PyObject *monitoring)
{
    for (int id = 2; id <= 4; id++) {
        PyObject *owner = monitoring_call(monitoring, "get_tool", "(i)", id);
        if (owner == NULL)
            return -1;
        int is_free = owner == Py_None;
        Py_DECREF(owner);
        if (!is_free)
            continue;
        PyObject *r = monitoring_call(monitoring, "use_tool_id", "(is)", id, "etwtrace");
        if (r == NULL)
            return -1;
        Py_DECREF(r);
        return id;
    }
    return 0;
}

static void release_tool(PyObject *monitoring, int id)
{
    PyObject *events = PyObject_GetAttrString(monitoring, "events");
    Py_XDECREF(monitoring_call(monitoring, "set_events", "(ii)", id, 0));
    PyErr_Clear();
    for (size_t i = 0; events != NULL && i < N_HANDLERS; i++) {
        PyObject *ev = PyObject_GetAttrString(events, handlers[i].event);
        if (ev != NULL)
            Py_XDECREF(monitoring_call(monitoring, "register_callback", "(iOO)", id, ev, Py_None));
        Py_XDECREF(ev);
        PyErr_Clear();
    }
    Py_XDECREF(events);
    Py_XDECREF(monitoring_call(monitoring, "free_tool_id", "(i)", id));
    PyErr_Clear();
}

static int register_handlers(PyObject *monitoring, int id)
{
    PyObject *events = PyObject_GetAttrString(monitoring, "events");
    if (events == NULL)
        return -1;
    long mask = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < N_HANDLERS; i++) {
        callback_object *cb = PyObject_New(callback_object, &callback_type);
        PyObject *ev = PyObject_GetAttrString(events, handlers[i].event);
        PyObject *r = NULL;
        if (cb != NULL && ev != NULL) {
            cb->vectorcall = handlers[i].fn;
            mask |= PyLong_AsLong(ev);
            r = PyErr_Occurred() ? NULL : monitoring_call(monitoring, "register_callback", "(iOO)", id, ev, cb);
        }
        rc = r ? 0 : -1;
        Py_XDECREF(r);
        Py_XDECREF(ev);
        Py_XDECREF((PyObject *)cb);
    }
    Py_DECREF(events);
    if (rc == 0) {
        PyObject *r = monitoring_call(monitoring, "set_events", "(il)", id, mask);
        rc = r ? 0 : -1;
        Py_XDECREF(r);
    }
    return rc;
}

int etw_monitor_start(void)
{
    if (tool_id >= 0 || etw_frame_api_forced() ||
        !etw_frame_walk_agrees(etw_thread_current_frame(PyThreadState_Get())))
        return 0;
    if (!(callback_type.tp_flags & Py_TPFLAGS_READY) && PyType_Ready(&callback_type) < 0)
        return -1;
    PyObject *monitoring = PySys_GetObject("monitoring"); /* borrowed */
    if (monitoring == NULL)
        return 0;
    Py_INCREF(monitoring);
    if (missing == NULL)
        missing = PyObject_GetAttrString(monitoring, "MISSING");
    int id = missing ? claim_tool_id(monitoring) : -1;
    if (id > 0 && register_handlers(monitoring, id) < 0) {
        pyc_saved_error saved;
        pyc_error_save(&saved);
        release_tool(monitoring, id);
        pyc_error_restore(&saved);
        id = -1;
    }
    Py_DECREF(monitoring);
    if (id <= 0)
        return id;
    tool_id = id;
    return 1;
}

void etw_monitor_stop(void)
{
    if (tool_id < 0)
        return;
    pyc_saved_error saved;
    pyc_error_save(&saved);
    PyObject *monitoring = PySys_GetObject("monitoring");
    if (monitoring != NULL) {
        Py_INCREF(monitoring);
        release_tool(monitoring, tool_id);
        Py_DECREF(monitoring);
    }
    PyErr_Clear();
    pyc_error_restore(&saved);
    tool_id = -1;
}

int etw_monitor_tool_id(void) { return tool_id; }

#else /* no sys.monitoring tool on this CPython: the profile function is used */

int etw_monitor_start(void) { return 0; }
void etw_monitor_stop(void) {}
int etw_monitor_tool_id(void) { return -1; }
void etw_monitor_thread_started(struct etw_shadow *s, int32_t tid, int is_call)
{
    (void)s;
    (void)tid;
    (void)is_call;
}

#endif
