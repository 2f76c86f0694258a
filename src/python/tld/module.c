/*
 * module.c — the traceloggingdynamic._tld extension module: the
 * provider-id functions and the registration of EventBuilder, Provider,
 * Session, decode_etl and the exception classes (and of the atexit hook
 * that stops sessions left running). The package's __init__.py re-exports
 * them.
 */
#include "binding.h"
#include "clock.h"
#include "tld_capi.h"
#include "tracelogging/tld_enable_state.h"
#include "tracelogging/tld_session.h"

int tldpy_eventbuilder_prepare(void);

PyGetSetDef tldpy_dict_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyObject *providerid_from_name(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    (void)module;
    static const char *const names[] = {"providername"};
    static const tldpy_signature sig = {"providerid_from_name", 1, 1, names};
    PyObject *a[1];
    if (tldpy_parse_args(&sig, args, nargs, kwnames, a) < 0)
        return NULL;
    return tldpy_providerid_from_str(a[0]);
}

static PyObject *providerid_from_name_bytes_utf8(PyObject *module, PyObject *const *args, Py_ssize_t nargs,
                                                 PyObject *kwnames)
{
    (void)module;
    static const char *const names[] = {"providername_utf8"};
    static const tldpy_signature sig = {"providerid_from_name_bytes_utf8", 1, 1, names};
    PyObject *a[1];
    if (tldpy_parse_args(&sig, args, nargs, kwnames, a) < 0)
        return NULL;
    /* str(providername_utf8, encoding='utf-8') */
    PyObject *text = PyUnicode_FromEncodedObject(a[0], "utf-8", "strict");
    if (text == NULL)
        return NULL;
    PyObject *id = tldpy_providerid_from_str(text);
    Py_DECREF(text);
    return id;
}

/* A C method that does nothing: the baseline the is_enabled benchmark
 * compares against. */
static PyObject *noop(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    (void)module;
    (void)args;
    (void)nargs;
    (void)kwnames;
    Py_RETURN_FALSE;
}

static PyMethodDef module_methods[] = {
    {"providerid_from_name", (PyCFunction)(void (*)(void))providerid_from_name, METH_FASTCALL | METH_KEYWORDS,
     "providerid_from_name(providername)\n--\n\n"
     "The provider id (uuid.UUID) ETW tools derive from a provider name: SHA-1 of a fixed\n"
     "namespace and the upper-cased UTF-16BE name. Not case-sensitive."},
    {"providerid_from_name_bytes_utf8", (PyCFunction)(void (*)(void))providerid_from_name_bytes_utf8,
     METH_FASTCALL | METH_KEYWORDS,
     "providerid_from_name_bytes_utf8(providername_utf8)\n--\n\n"
     "providerid_from_name() for a UTF-8 encoded name (bytes-like)."},
    {"decode_etl", (PyCFunction)(void (*)(void))tldpy_decode_etl, METH_FASTCALL | METH_KEYWORDS,
     "decode_etl(path, format='json', kernel=True)\n--\n\n"
     "Opens an .etl file and returns an iterator of str lines, one per record: JSON objects\n"
     "(format='json') or one-line text (format='text'), read and decoded as the iteration goes\n"
     "(the file is never held whole). kernel=False leaves out kernel (system) records. The\n"
     "iterator's `header` is a dict of the logfile header and `errors` a list of sentences\n"
     "about damage, growing as it is met. OSError when the file cannot be opened, ValueError\n"
     "when it is not a regular file or not an .etl file."},
    {"_stop_all_sessions", tldpy_stop_all_sessions, METH_NOARGS,
     "_stop_all_sessions($module, /)\n--\n\nStops every running Session (registered with atexit)."},
    {"_noop", (PyCFunction)(void (*)(void))noop, METH_FASTCALL | METH_KEYWORDS,
     "_noop($module, /, *args, **kwargs)\n--\n\nDoes nothing (benchmark baseline)."},
    {NULL, NULL, 0, NULL},
};


/* atexit.register(module._stop_all_sessions): sessions left running are
 * stopped (their files completed) before the interpreter shuts down. */
static int register_atexit(PyObject *module)
{
    PyObject *atexit = PyImport_ImportModule("atexit");
    if (atexit == NULL)
        return -1;
    PyObject *hook = PyObject_GetAttrString(module, "_stop_all_sessions");
    PyObject *r = hook ? PyObject_CallMethod(atexit, "register", "O", hook) : NULL;
    Py_XDECREF(r);
    Py_XDECREF(hook);
    Py_DECREF(atexit);
    return r ? 0 : -1;
}

/* Providers and sessions for the other extensions of this distribution
 * (see tld_capi.h). */
static const tld_capi capi = {
    TLD_CAPI_VERSION, tld_provider_open, tld_provider_close, tld_provider_write,
    tld_prepared_event_create, tld_prepared_event_write, tld_prepared_event_destroy, tld_provider_enable_state,
    tld_provider_set_enable_callback, tld_prepared_event_write_at, tld_clock_now, tld_clock_source_name,
};

static int exec_module(PyObject *m)
{
    if (pyc_require_main_interpreter("traceloggingdynamic._tld") < 0 ||
        tldpy_eventbuilder_prepare() < 0 || PyType_Ready(&Provider_Type) < 0 || PyType_Ready(&Session_Type) < 0 ||
        tldpy_decode_prepare() < 0)
        return -1;
    if (tldpy_errors_init(m) < 0 ||
        PyModule_AddObject(m, "EventBuilder", pyc_new_ref((PyObject *)&EventBuilder_Type)) < 0 ||
        PyModule_AddObject(m, "Provider", pyc_new_ref((PyObject *)&Provider_Type)) < 0 ||
        PyModule_AddObject(m, "Session", pyc_new_ref((PyObject *)&Session_Type)) < 0 ||
        register_atexit(m) < 0 ||
        PyModule_AddObject(m, "_C_API", PyCapsule_New((void *)&capi, TLD_CAPI_NAME, NULL)) < 0 ||
        PyModule_AddIntConstant(m, "POINTER_SIZE", (long)sizeof(void *)) < 0 ||
        PyModule_AddIntConstant(m, "DEFAULT_BUFFER_SIZE", TLD_SESSION_DEFAULT_BUFFER_SIZE) < 0)
        return -1;
    return 0;
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, (void *)exec_module},
    PYC_SLOT_MAIN_INTERPRETER_ONLY
    {0, NULL},
};

/* The state is process-wide (the provider registry and its sessions), so
 * the module object holds none (pycompat.h: main interpreter only). */
static struct PyModuleDef tld_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "traceloggingdynamic._tld",
    .m_doc = "C core of traceloggingdynamic: TraceLogging event encoding, providers, sessions, .etl decoding.",
    .m_size = 0,
    .m_methods = module_methods,
    .m_slots = module_slots,
};

PyMODINIT_FUNC PyInit__tld(void)
{
    return PyModuleDef_Init(&tld_module);
}
