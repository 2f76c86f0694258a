/*
 * tld_pycompat.h — every difference between the CPython versions we build
 * for (3.9 .. 3.14) that the traceloggingdynamic binding touches, in one
 * place. Other files call these helpers and never test PY_VERSION_HEX.
 */
#ifndef TLD_PYCOMPAT_H
#define TLD_PYCOMPAT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>

/*
 * Writes the low 128 bits of a non-negative int, big-endian, into out[16].
 * 3.13 added the public PyLong_AsNativeBytes(); before it the same job is
 * done by the private _PyLong_AsByteArray(), whose signature gained a
 * `with_exceptions` argument in 3.13 (so we must not call it there).
 * Returns 0, or -1 with an exception set when the value needs more bits.
 */
static inline int tld_long_to_be128(PyObject *v, uint8_t out[16])
{
#if PY_VERSION_HEX >= 0x030D0000
    Py_ssize_t n = PyLong_AsNativeBytes(v, out, 16,
                                        Py_ASNATIVEBYTES_BIG_ENDIAN | Py_ASNATIVEBYTES_UNSIGNED_BUFFER |
                                            Py_ASNATIVEBYTES_REJECT_NEGATIVE);
    if (n < 0)
        return -1;
    if (n > 16) {
        PyErr_SetString(PyExc_OverflowError, "UUID int does not fit in 128 bits");
        return -1;
    }
    return 0;
#else
    return _PyLong_AsByteArray((PyLongObject *)v, out, 16, /*little_endian=*/0, /*is_signed=*/0);
#endif
}

/*
 * Py_NewRef appeared in 3.10.
 */
#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *tld_new_ref(PyObject *o)
{
    Py_INCREF(o);
    return o;
}
#else
#define tld_new_ref Py_NewRef
#endif

#endif
