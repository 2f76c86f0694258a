/*
 * pycompat.h — the CPython version differences both extensions meet
 * (reference helpers, saving and restoring the error indicator), and the
 * one place that includes Python.h. Each extension keeps its own
 * version-specific code in one header of its folder (tld/number_compat.h,
 * etwtrace/interp_compat.h); nothing else tests PY_VERSION_HEX.
 */
#ifndef PYC_PYCOMPAT_H
#define PYC_PYCOMPAT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

/*
 * Py_NewRef appeared in 3.10.
 */
#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *pyc_new_ref(PyObject *o)
{
    Py_INCREF(o);
    return o;
}
#else
#define pyc_new_ref Py_NewRef
#endif

/*
 * Saving and restoring the pending exception around code that must not
 * disturb it (finalizers). 3.12 replaced the (type, value, traceback)
 * triple by one exception object and deprecated PyErr_Fetch/PyErr_Restore.
 */
typedef struct pyc_saved_error {
    PyObject *exc;
#if PY_VERSION_HEX < 0x030C0000
    PyObject *type, *tb;
#endif
} pyc_saved_error;

static inline void pyc_error_save(pyc_saved_error *saved)
{
#if PY_VERSION_HEX >= 0x030C0000
    saved->exc = PyErr_GetRaisedException();
#else
    PyErr_Fetch(&saved->type, &saved->exc, &saved->tb);
#endif
}

static inline void pyc_error_restore(pyc_saved_error *saved)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(saved->exc);
#else
    PyErr_Restore(saved->type, saved->exc, saved->tb);
#endif
}

/*
 * Subinterpreters. Both extensions keep process-wide state that belongs to
 * one interpreter: _tld one provider registry whose sessions outlive
 * imports, _etwtrace the frame-evaluation hook and a function registry of
 * code objects. So they run in the main interpreter only, enforced at
 * import: 3.12+ refuse them in other interpreters through the module's
 * Py_mod_multiple_interpreters slot, and on every version the module's exec
 * function checks again (pyc_require_main_interpreter).
 */
#if PY_VERSION_HEX >= 0x030C0000
#define PYC_SLOT_MAIN_INTERPRETER_ONLY {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_NOT_SUPPORTED},
#else
#define PYC_SLOT_MAIN_INTERPRETER_ONLY
#endif

static inline int pyc_require_main_interpreter(const char *module_name)
{
    if (PyInterpreterState_Get() != PyInterpreterState_Main()) {
        PyErr_Format(PyExc_ImportError, "%s can only be imported in the main interpreter, not in a subinterpreter",
                     module_name);
        return -1;
    }
    return 0;
}

/*
 * The object a weak reference points to, as a new reference, or NULL when
 * it is gone (no exception). 3.13 added PyWeakref_GetRef and deprecated
 * PyWeakref_GetObject, which returns a borrowed reference.
 */
static inline PyObject *pyc_weakref_target(PyObject *ref)
{
#if PY_VERSION_HEX >= 0x030D0000
    PyObject *target = NULL;
    if (PyWeakref_GetRef(ref, &target) < 0)
        PyErr_Clear();
    return target;
#else
    PyObject *target = PyWeakref_GetObject(ref);
    if (target == NULL) {
        PyErr_Clear();
        return NULL;
    }
    return target == Py_None ? NULL : pyc_new_ref(target);
#endif
}

/* 1 while the interpreter is finalizing (no new work may take the GIL). */
static inline int pyc_is_finalizing(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsFinalizing();
#else
    return _Py_IsFinalizing();
#endif
}

#endif
