/*
 * sampler_unavailable.c — the module's sampler functions where the
 * built-in sampler is not built (everything but Linux: it needs timers that
 * signal one thread, SIGEV_THREAD_ID): starting says so, nothing runs.
 */
#include "etwtrace.h"

PyObject *etw_sampler_start_py(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    (void)args;
    (void)kwargs;
    PyErr_SetString(PyExc_RuntimeError, "the built-in sampler needs per-thread timers (Linux); it is not "
                                        "available on this platform");
    return NULL;
}

PyObject *etw_sampler_stop_py(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    PyErr_SetString(PyExc_RuntimeError, "the sampler is not running");
    return NULL;
}

PyObject *etw_sampler_active_py(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    Py_RETURN_FALSE;
}

int etw_sampler_running(void) { return 0; }
