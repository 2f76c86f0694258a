/*
 * thread_names.c — PythonThreadName: the name threading gave each traced
 * thread, so that reports say "worker-3" instead of a thread id.
 *
 * The names live on threading.Thread objects, which the hooks never see: a
 * new thread's first frame runs before threading registers it. So names
 * are collected at moments that are not hot — enable, disable, each
 * PythonThread event, the sampler finding a thread — from threading's
 * registry of running threads (_active) and from its weak set of every
 * Thread object still alive (_dangling), which keeps finished threads the
 * program still holds. Both are read with C-level calls only: no Python
 * code runs, so nothing here is itself traced. A thread is named once per
 * trace, again only if its name changed (or its id was reused).
 */
#include "etwtrace.h"

#include <stdlib.h>

struct named_thread {
    int32_t tid;
    PyObject *name; /* strong */
};
static struct named_thread *named;
static size_t named_count, named_cap;

void etw_thread_names_reset(void)
{
    for (size_t i = 0; i < named_count; i++)
        Py_DECREF(named[i].name);
    named_count = 0;
}

/* Writes `name` for `tid` unless that is what was written last for it. */
static void note_name(int32_t tid, PyObject *name)
{
    size_t i = 0;
    while (i < named_count && named[i].tid != tid)
        i++;
    if (i < named_count) {
        int same = PyUnicode_Compare(named[i].name, name);
        if (same == -1 && PyErr_Occurred())
            PyErr_Clear();
        if (same == 0)
            return;
        Py_SETREF(named[i].name, pyc_new_ref(name));
    } else {
        if (named_count == named_cap) {
            size_t cap = named_cap ? named_cap * 2 : 16;
            struct named_thread *t = realloc(named, cap * sizeof *t);
            if (t == NULL)
                return; /* the name is left out; the thread keeps its id */
            named = t;
            named_cap = cap;
        }
        named[named_count].tid = tid;
        named[named_count].name = pyc_new_ref(name);
        named_count++;
    }
    etw_write_thread_name(tid, name);
}

/* A Thread object's native id and name, when it has started. */
static void name_thread_object(PyObject *thread)
{
    PyObject *native = PyObject_GetAttrString(thread, "_native_id");
    PyObject *name = native != NULL ? PyObject_GetAttrString(thread, "_name") : NULL;
    if (native != NULL && name != NULL && PyLong_Check(native) && PyUnicode_Check(name)) {
        long tid = PyLong_AsLong(native);
        if (tid > 0 && tid <= INT32_MAX)
            note_name((int32_t)tid, name);
    }
    Py_XDECREF(native);
    Py_XDECREF(name);
    PyErr_Clear();
}

static void name_running_threads(PyObject *threading)
{
    PyObject *active = PyObject_GetAttrString(threading, "_active");
    if (active == NULL || !PyDict_Check(active)) {
        Py_XDECREF(active);
        PyErr_Clear();
        return;
    }
    PyObject *threads = PyDict_Values(active); /* a copy: reading attributes cannot change it */
    Py_DECREF(active);
    if (threads == NULL) {
        PyErr_Clear();
        return;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(threads); i++)
        name_thread_object(PyList_GET_ITEM(threads, i));
    Py_DECREF(threads);
}

static void name_living_thread_objects(PyObject *threading)
{
    PyObject *dangling = PyObject_GetAttrString(threading, "_dangling");
    PyObject *refs = dangling != NULL ? PyObject_GetAttrString(dangling, "data") : NULL; /* a set of weakrefs */
    Py_XDECREF(dangling);
    PyObject *copy = refs != NULL && PyAnySet_Check(refs) ? PySequence_List(refs) : NULL;
    Py_XDECREF(refs);
    if (copy == NULL) {
        PyErr_Clear();
        return;
    }
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(copy); i++) {
        PyObject *ref = PyList_GET_ITEM(copy, i);
        PyObject *thread = PyWeakref_Check(ref) ? pyc_weakref_target(ref) : NULL;
        if (thread != NULL) {
            name_thread_object(thread);
            Py_DECREF(thread);
        }
    }
    Py_DECREF(copy);
}

void etw_thread_names_write(void)
{
    if (!etw_event_on(TLD_LEVEL_INFO, ETW_KW_THREAD))
        return;
    pyc_saved_error saved;
    pyc_error_save(&saved);
    static PyObject *module_name;
    if (module_name == NULL)
        module_name = PyUnicode_InternFromString("threading");
    /* Only when the program has imported threading: importing runs code. */
    PyObject *threading = module_name != NULL ? PyImport_GetModule(module_name) : NULL;
    if (threading != NULL) {
        name_running_threads(threading);
        name_living_thread_objects(threading);
        Py_DECREF(threading);
    }
    PyErr_Clear();
    pyc_error_restore(&saved);
}
