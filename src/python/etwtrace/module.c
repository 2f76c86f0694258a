/*
 * module.c — the etwtrace._etwtrace extension module: enable and
 * disable either mode, marks, the ignore set and include prefixes, info()
 * for `python -m etwtrace --info`, and the benchmark's forward-only hook.
 * The Python package (python/etwtrace/) builds both API generations on top.
 *
 * One trace at a time per process: enable() hands out a token, disable()
 * takes it back. Each enable() starts a new generation (etw_gen), so the
 * PythonFunction events of a trace are complete even when code objects
 * were seen by an earlier trace.
 */
#include "etwtrace.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#if ETW_HAVE_PERF_MAP
#include "jitdump_linux.h"
#include "perfmap_linux.h"
#endif

#ifndef ETW_VERSION
#define ETW_VERSION "0"
#endif

enum etw_mode etw_active_mode;
int etw_with_threads;
int32_t etw_enabling_thread;

static long token_counter;
static long active_token;
static int warned_no_thunks;

/* ASCII case-insensitive equality (strcasecmp is POSIX, not C). */
static int same_word(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a + 32) : *a;
        char y = (*b >= 'A' && *b <= 'Z') ? (char)(*b + 32) : *b;
        if (x != y)
            return 0;
    }
    return *a == *b;
}

int etw_env_true(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0 && !same_word(v, "no") && !same_word(v, "false");
}

static int env_false(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && (strcmp(v, "0") == 0 || same_word(v, "no") || same_word(v, "false"));
}

static const char *mode_name(enum etw_mode m)
{
    return m == ETW_MODE_STACK ? "stack" : m == ETW_MODE_INSTRUMENTED ? "instrumented" : NULL;
}

/* Executable memory refused: say so once, as a warning, from enable()
 * (a normal Python call), never from inside the hook. */
static int check_thunks(void)
{
    if (etw_thunks_probe() == 0 || warned_no_thunks)
        return 0;
    warned_no_thunks = 1;
    return PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                            "etwtrace: executable memory is refused (%s); Python frames are evaluated directly "
                            "and will not appear in native stacks (PythonFunction events are still written, "
                            "with empty address ranges)",
                            etw_thunks_error());
}

static PyObject *mod_enable(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"mode", "with_threads", "ignored_files", "include_prefixes", NULL};
    const char *mode_text = "stack";
    int with_threads = 0;
    PyObject *ignored = Py_None, *prefixes = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|spOO:enable", kwlist, &mode_text, &with_threads, &ignored,
                                     &prefixes))
        return NULL;
    if (ignored != Py_None && !PySet_Check(ignored))
        return PyErr_Format(PyExc_TypeError, "ignored_files must be a set, not %.100s", Py_TYPE(ignored)->tp_name);
    if (prefixes != Py_None && !PyList_Check(prefixes))
        return PyErr_Format(PyExc_TypeError, "include_prefixes must be a list, not %.100s",
                            Py_TYPE(prefixes)->tp_name);
    enum etw_mode mode;
    if (strcmp(mode_text, "stack") == 0)
        mode = ETW_MODE_STACK;
    else if (strcmp(mode_text, "instrumented") == 0)
        mode = ETW_MODE_INSTRUMENTED;
    else
        return PyErr_Format(PyExc_ValueError, "'%s' is not a trace mode; use 'stack' or 'instrumented'", mode_text);
    if (etw_active_mode != ETW_MODE_NONE)
        return PyErr_Format(PyExc_RuntimeError, "etwtrace is already enabled (%s mode); disable it first",
                            mode_name(etw_active_mode));
    if (mode == ETW_MODE_STACK) {
        if (etw_stack_check() < 0)
            return NULL;
        if (check_thunks() < 0)
            return NULL;
        if (etw_env_true("ETWTRACE_JITDUMP"))
            etw_jitdump_set(1);
    }
    if (etw_registry_set_filters(ignored == Py_None ? NULL : ignored, prefixes == Py_None ? NULL : prefixes) < 0)
        return NULL;
    etw_gen++;
    if (etw_gen == 0)
        etw_gen = 1;
    etw_enabling_thread = (int32_t)PyThread_get_thread_native_id();
    etw_with_threads = with_threads;
    etw_thread_names_reset();   /* a new trace names every thread again */
    etw_write_thread(TLD_OPCODE_START, etw_enabling_thread);    /* and names those threading knows */
    int rc;
    if (mode == ETW_MODE_STACK) {
        rc = etw_stack_enable(with_threads);
    } else {
        PyObject *hook = PyObject_GetAttrString(module, "_instrument_thread_hook");
        rc = hook ? etw_instrument_enable(with_threads, hook) : -1;
        Py_XDECREF(hook);
    }
    if (rc < 0) {
        etw_write_thread(TLD_OPCODE_STOP, etw_enabling_thread);
        etw_registry_set_filters(NULL, NULL);
        return NULL;
    }
    etw_active_mode = mode;
    active_token = ++token_counter;
    return PyLong_FromLong(active_token);
}

static PyObject *mod_disable(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *kwlist[] = {"token", NULL};
    PyObject *token = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|O:disable", kwlist, &token))
        return NULL;
    if (etw_active_mode == ETW_MODE_NONE) {
        PyErr_SetString(PyExc_RuntimeError, "etwtrace is not enabled");
        return NULL;
    }
    if (token != Py_None) {
        long t = PyLong_Check(token) ? PyLong_AsLong(token) : -1;
        if (t == -1 && PyErr_Occurred())
            PyErr_Clear();
        if (t != active_token)
            return PyErr_Format(PyExc_RuntimeError, "%R is not the token of the active trace (from enable())", token);
    }
    if (etw_active_mode == ETW_MODE_STACK)
        etw_stack_disable();
    else
        etw_instrument_disable();
    etw_thread_names_write(); /* threads started during the trace, now registered with threading */
    etw_write_thread(TLD_OPCODE_STOP, etw_enabling_thread);
    etw_batches_flush_all(); /* threads still running owe what they recorded */
    etw_active_mode = ETW_MODE_NONE;
    active_token = 0;
    /* The filters were the trace's: the next one starts from its own. */
    if (etw_registry_set_filters(NULL, NULL) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *mod_active(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    const char *name = mode_name(etw_active_mode);
    if (name == NULL)
        Py_RETURN_NONE;
    return PyUnicode_FromString(name);
}

static PyObject *mod_write_mark(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *text;
    int opcode = TLD_OPCODE_INFO;
    if (!PyArg_ParseTuple(args, "O|i:write_mark", &text, &opcode))
        return NULL;
    int rc;
    if (etw_active_mode == ETW_MODE_NONE && !etw_sampler_running() &&
        (opcode == ETW_MARK_STACK || opcode == TLD_OPCODE_INFO ||
                                             opcode == TLD_OPCODE_START || opcode == TLD_OPCODE_STOP)) {
        /* No trace and no sampler: nothing is written (the package warns, as upstream). */
        if (!PyUnicode_Check(text))
            return PyErr_Format(PyExc_TypeError, "mark text must be a str, not %.100s", Py_TYPE(text)->tp_name);
        Py_RETURN_FALSE;
    }
    if (opcode == ETW_MARK_STACK)
        rc = etw_write_stack_sample(text);
    else if (opcode == TLD_OPCODE_INFO || opcode == TLD_OPCODE_START || opcode == TLD_OPCODE_STOP)
        rc = etw_write_mark(opcode, text);
    else
        return PyErr_Format(PyExc_ValueError, "mark opcode must be 0 (mark), 1 (start), 2 (stop) or 3 (stack), not %d",
                            opcode);
    if (rc < 0)
        return NULL;
    Py_RETURN_TRUE;
}

static PyObject *mod_stack_mark(PyObject *module, PyObject *text)
{
    (void)module;
    if (etw_active_mode == ETW_MODE_NONE && !etw_sampler_running()) {
        if (!PyUnicode_Check(text))
            return PyErr_Format(PyExc_TypeError, "mark text must be a str, not %.100s", Py_TYPE(text)->tp_name);
        if (PyErr_WarnEx(PyExc_RuntimeWarning, "Unable to mark when global tracer is not enabled", 1) < 0)
            return NULL;
        Py_RETURN_NONE;
    }
    if (etw_write_stack_sample(text) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *mod_get_ignored_files(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return pyc_new_ref(etw_ignored_files());
}

static PyObject *mod_get_include_prefixes(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return pyc_new_ref(etw_include_prefixes());
}

static PyObject *mod_forward_only_hook(PyObject *module, PyObject *arg)
{
    (void)module;
    int on = PyObject_IsTrue(arg);
    if (on < 0)
        return NULL;
    if (on && etw_active_mode == ETW_MODE_STACK) {
        PyErr_SetString(PyExc_RuntimeError, "stack sampling is enabled; disable it first");
        return NULL;
    }
    if (etw_forward_hook_set(on) < 0)
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *mod_set_perf_map(PyObject *module, PyObject *arg)
{
    (void)module;
    int on = PyObject_IsTrue(arg);
    if (on < 0)
        return NULL;
    etw_perfmap_enabled = on;
    Py_RETURN_NONE;
}

static PyObject *mod_set_jitdump(PyObject *module, PyObject *args)
{
    (void)module;
    int on;
    const char *directory = NULL;
    if (!PyArg_ParseTuple(args, "p|z:set_jitdump", &on, &directory))
        return NULL;
    if (directory != NULL) {
#if ETW_HAVE_PERF_MAP
        int rd = jitdump_set_directory(directory);
#else
        int rd = -ENOSYS;
#endif
        if (rd < 0) {
            errno = -rd;
            return PyErr_SetFromErrnoWithFilename(PyExc_OSError, directory);
        }
    }
    int rc = etw_jitdump_set(on);
    if (rc < 0) {
#if ETW_HAVE_PERF_MAP
        char path[4200];
        if (jitdump_path(path, sizeof path) == 0) {
            PyObject *msg = PyUnicode_FromFormat(
                "cannot write the jitdump file %s: %s", path,
                rc == -EPERM ? "it exists and is not a private regular file of this user" : tld_strerror(rc));
            PyObject *exc = msg ? PyObject_CallFunction(PyExc_OSError, "iOs", -rc, msg, path) : NULL;
            Py_XDECREF(msg);
            if (exc != NULL) {
                PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
                Py_DECREF(exc);
            }
            return NULL;
        }
#endif
        errno = -rc;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_RETURN_NONE;
}

static PyObject *mod_set_call_events(PyObject *module, PyObject *arg)
{
    (void)module;
    const char *kind = PyUnicode_Check(arg) ? PyUnicode_AsUTF8(arg) : NULL;
    if (kind == NULL) {
        PyErr_Clear();
        return PyErr_Format(PyExc_TypeError, "call events must be 'compact' or 'push-pop', not %R", arg);
    }
    int compact;
    if (strcmp(kind, "compact") == 0)
        compact = 1;
    else if (strcmp(kind, "push-pop") == 0)
        compact = 0;
    else
        return PyErr_Format(PyExc_ValueError, "call events must be 'compact' or 'push-pop', not %R", arg);
    if (etw_active_mode == ETW_MODE_INSTRUMENTED && compact != etw_compact_calls)
        return PyErr_Format(PyExc_RuntimeError, "cannot change the form of call events while an instrumented "
                                                "trace is active; disable it first");
    if (compact && etw_batches_prepare() != 0)
        return PyErr_NoMemory();
    etw_compact_calls = compact;
    Py_RETURN_NONE;
}

static PyObject *mod_set_instrumented_builtins(PyObject *module, PyObject *arg)
{
    (void)module;
    int on = PyObject_IsTrue(arg);
    if (on < 0)
        return NULL;
    if (etw_active_mode == ETW_MODE_INSTRUMENTED && on != etw_instrumented_builtins)
        return PyErr_Format(PyExc_RuntimeError, "cannot change whether builtins are reported while an "
                                                "instrumented trace is active; disable it first");
    etw_instrumented_builtins = on;
    Py_RETURN_NONE;
}

static PyObject *mod_after_fork_child(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
#if ETW_HAVE_PERF_MAP
    perfmap_after_fork_child(); /* replays the parent's entries if still owed */
#endif
    etw_batches_after_fork_child();
    Py_RETURN_NONE;
}

static int set_item(PyObject *d, const char *key, PyObject *value)
{
    if (value == NULL)
        return -1;
    int rc = PyDict_SetItemString(d, key, value);
    Py_DECREF(value);
    return rc;
}

static PyObject *mod_info(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    char path[256];
#if ETW_HAVE_THUNKS
    struct thunk_arena_info ti;
    thunk_arena_info(&ti);
#else
    struct thunk_arena_info ti = {"none", "unsupported", 0, 0, 0, 0, 0, 0, 0, 0};
#endif
#if ETW_HAVE_PERF_MAP
    const char *perf_map = perfmap_path(path, sizeof path) == 0 ? path : "";
    PyObject *perf_map_obj = etw_perfmap_enabled && etw_perfmap_error == 0 ? PyUnicode_FromString(perf_map)
                                                                           : pyc_new_ref(Py_None);
    char jpath[4200];
    PyObject *jit_obj = jitdump_enabled() && jitdump_path(jpath, sizeof jpath) == 0 ? PyUnicode_FromString(jpath)
                                                                                     : pyc_new_ref(Py_None);
#else
    (void)path;
    PyObject *perf_map_obj = pyc_new_ref(Py_None);
    PyObject *jit_obj = pyc_new_ref(Py_None);
#endif
    const char *mode = mode_name(etw_active_mode);
    if (set_item(d, "version", PyUnicode_FromString(ETW_VERSION)) < 0 ||
        set_item(d, "arch", PyUnicode_FromString(ti.arch)) < 0 ||
        set_item(d, "python", PyUnicode_FromFormat("%d.%d.%d", PY_MAJOR_VERSION, PY_MINOR_VERSION,
                                                   PY_MICRO_VERSION)) < 0 ||
        set_item(d, "python_build", PyUnicode_FromString(Py_GetVersion())) < 0 ||
        set_item(d, "backend", PyUnicode_FromString(ti.backend)) < 0 ||
        set_item(d, "thunk_size", PyLong_FromSize_t(ti.thunk_size)) < 0 ||
        set_item(d, "thunk_stride", PyLong_FromSize_t(ti.stride)) < 0 ||
        set_item(d, "arena_size", PyLong_FromSize_t(ti.arena_size)) < 0 ||
        set_item(d, "unwind_size", PyLong_FromSize_t(ti.unwind_size)) < 0 ||
        set_item(d, "thunks_per_arena", PyLong_FromSize_t(ti.thunks_per_arena)) < 0 ||
        set_item(d, "arenas_used", PyLong_FromSize_t(ti.arenas_used)) < 0 ||
        set_item(d, "thunks_created", PyLong_FromUnsignedLongLong(ti.thunks_created)) < 0 ||
        set_item(d, "exec_refused", PyBool_FromLong(ti.exec_refused != 0 || !etw_thunks_available())) < 0 ||
        set_item(d, "exec_refused_reason", PyUnicode_FromString(etw_thunks_error())) < 0 ||
        set_item(d, "perf_map", perf_map_obj) < 0 || set_item(d, "jitdump", jit_obj) < 0 ||
        set_item(d, "perf_map_error", etw_perfmap_error ? PyUnicode_FromString(tld_strerror(etw_perfmap_error))
                                                        : pyc_new_ref(Py_None)) < 0 ||
        set_item(d, "eval_hook", PyUnicode_FromString("PEP 523 (_PyInterpreterState_SetEvalFrameFunc)")) < 0 ||
        set_item(d, "instrumented_hook", PyUnicode_FromString(etw_instrument_hook_name())) < 0 ||
        set_item(d, "instrumented_frame_walk", PyBool_FromLong(mode != NULL && strcmp(mode, "instrumented") == 0 &&
                                                               etw_instrument_walks_frames())) < 0 ||
        set_item(d, "monitoring_tool_id", etw_monitor_tool_id() >= 0 ? PyLong_FromLong(etw_monitor_tool_id()) : pyc_new_ref(Py_None)) < 0 ||
        set_item(d, "code_extra_index", PyLong_FromSsize_t(etw_extra_index)) < 0 ||
        set_item(d, "code_extra_inline", PyBool_FromLong(etw_extra_inline_ok)) < 0 ||
        set_item(d, "provider", PyUnicode_FromString("Python")) < 0 ||
        set_item(d, "provider_id", PyUnicode_FromString(ETW_PROVIDER_ID_TEXT)) < 0 ||
        set_item(d, "deep_recursion_parks", PyLong_FromUnsignedLongLong(etw_deep_recursion_parks)) < 0 ||
        set_item(d, "call_events", PyUnicode_FromString(etw_compact_calls ? "compact" : "push-pop")) < 0 ||
        set_item(d, "instrumented_builtins", PyBool_FromLong(etw_instrumented_builtins ||
                                                             !etw_calls_eval_available())) < 0 ||
        set_item(d, "active", mode ? PyUnicode_FromString(mode) : pyc_new_ref(Py_None)) < 0) {
        Py_DECREF(d);
        return NULL;
    }
    return d;
}

static PyMethodDef methods[] = {
    {"enable", (PyCFunction)(void (*)(void))mod_enable, METH_VARARGS | METH_KEYWORDS,
     "enable(mode='stack', with_threads=False, ignored_files=None, include_prefixes=None)\n--\n\n"
     "Starts tracing the calling thread (and, with with_threads, threads started later) in\n"
     "'stack' (stack-sampling) or 'instrumented' mode. Returns a token for disable().\n"
     "ignored_files (a set) and include_prefixes (a list) are the trace's filters, used live\n"
     "until disable() (None: empty ones).\n"
     "RuntimeError when already enabled, or in stack mode when another frame-evaluation hook\n"
     "(e.g. CPython's -X perf) is active."},
    {"disable", (PyCFunction)(void (*)(void))mod_disable, METH_VARARGS | METH_KEYWORDS,
     "disable(token=None)\n--\n\nStops the active trace (RuntimeError when none is active or the token is another's)."},
    {"active", mod_active, METH_NOARGS, "active()\n--\n\n'stack', 'instrumented' or None."},
    {"write_mark", mod_write_mark, METH_VARARGS,
     "write_mark(text, opcode=0)\n--\n\n"
     "PythonMark with opcode 0 (mark), 1 (range start) or 2 (range stop); 3 writes PythonStackSample.\n"
     "Returns False, writing nothing, when no trace is active."},
    {"_stack_mark", mod_stack_mark, METH_O,
     "_stack_mark(text)\n--\n\nWrites PythonStackSample (its stack is the point); a RuntimeWarning and\n"
     "nothing written when no trace is active and the built-in sampler does not run."},
    {"get_ignored_files", mod_get_ignored_files, METH_NOARGS,
     "get_ignored_files()\n--\n\nThe active trace's set of file names whose functions are never traced\n"
     "(an empty one when no trace is active)."},
    {"get_include_prefixes", mod_get_include_prefixes, METH_NOARGS,
     "get_include_prefixes()\n--\n\nThe active trace's list of prefixes; when non-empty only files under them\n"
     "are traced (an empty one when no trace is active)."},
    {"info", mod_info, METH_NOARGS, "info()\n--\n\nTechnical information for bug reports (python -m etwtrace --info)."},
    {"_forward_only_hook", mod_forward_only_hook, METH_O,
     "_forward_only_hook(enable)\n--\n\nInstalls/removes a PEP 523 hook that only forwards (benchmark floor)."},
    {"set_perf_map", mod_set_perf_map, METH_O,
     "set_perf_map(on)\n--\n\nWhether new thunks are written to /tmp/perf-<pid>.map (default on)."},
    {"set_jitdump", mod_set_jitdump, METH_VARARGS,
     "set_jitdump(on, directory=None)\n--\n\nStarts/stops <directory>/jit-<pid>.dump (default /tmp) for perf DWARF\n"
     "mode (also ETWTRACE_JITDUMP=1). perf inject writes its jitted .so files beside it."},
    {"set_instrumented_builtins", mod_set_instrumented_builtins, METH_O,
     "set_instrumented_builtins(on)\n--\n\nWhether instrumented mode reports calls of builtins too (the default). Off,\n"
     "it reports Python functions only, through a frame-evaluation hook that costs far less\n"
     "than the profile function (CPython 3.11, 3.13, 3.14; elsewhere builtins stay on)."},
    {"set_call_events", mod_set_call_events, METH_O,
     "set_call_events(kind)\n--\n\nHow instrumented mode records calls and returns: 'compact' (PythonCallBatch\n"
     "events, the default for in-process sessions) or 'push-pop' (one PythonFunctionPush/Pop\n"
     "event each, what ETW consumers expect; the default on Windows)."},
    {"_after_fork_child", mod_after_fork_child, METH_NOARGS,
     "_after_fork_child()\n--\n\nos.register_at_fork(after_in_child=...) hook."},
    {"sampler_start", (PyCFunction)(void (*)(void))etw_sampler_start_py, METH_VARARGS | METH_KEYWORDS,
     "sampler_start(rate=1000, clock='cpu', max_depth=2048, ring_kib=512, drain_ms=20, root_files=())\n--\n\n"
     "Starts the built-in sampler: every thread of the interpreter gets a timer of its CPU time\n"
     "('cpu') or of elapsed time ('wall'), `rate` times a second, and each sample becomes a\n"
     "PythonSample event; frames of root_files are left out at the root of stacks. RuntimeError\n"
     "when it is running already or cannot read this Python's\n"
     "frames; OSError when the system refuses timers or signals."},
    {"sampler_stop", etw_sampler_stop_py, METH_NOARGS,
     "sampler_stop()\n--\n\nStops the sampler, writes the last samples and returns its counts (a dict)."},
    {"sampler_active", etw_sampler_active_py, METH_NOARGS, "sampler_active()\n--\n\nTrue while the sampler runs."},
    {"_instrument_thread_hook", (PyCFunction)(void (*)(void))etw_instrument_thread_hook, METH_FASTCALL,
     "_instrument_thread_hook(frame, event, arg)\n--\n\nthreading.setprofile() hook of instrumented mode."},
    {NULL, NULL, 0, NULL},
};

static int exec_module(PyObject *m)
{
    if (pyc_require_main_interpreter("etwtrace._etwtrace") < 0 || etw_events_init() < 0)
        return -1;
    if (etw_registry_init(m) < 0 || PyModule_AddStringConstant(m, "__version__", ETW_VERSION) < 0 ||
        PyModule_AddStringConstant(m, "PROVIDER_ID", ETW_PROVIDER_ID_TEXT) < 0)
        return -1;
    if (env_false("ETWTRACE_PERF_MAP"))
        etw_perfmap_enabled = 0;
    return 0;
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, (void *)exec_module},
    PYC_SLOT_MAIN_INTERPRETER_ONLY
    {0, NULL},
};

/* The state is process-wide (the eval hook, the code-object registry, the
 * provider), so the module object holds none (pycompat.h: main interpreter
 * only). */
static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "etwtrace._etwtrace",
    .m_doc = "C core of etwtrace: stack-sampling and instrumented tracing, marks.",
    .m_size = 0,
    .m_methods = methods,
    .m_slots = module_slots,
};

PyMODINIT_FUNC PyInit__etwtrace(void)
{
    return PyModuleDef_Init(&module_def);
}
