/*
 * number_compat.h — CPython version differences of the traceloggingdynamic
 * binding: converting ints and floats to their wire form, and how instance
 * dictionaries are created (3.9 .. 3.14).
 */
#ifndef TLDPY_NUMBER_COMPAT_H
#define TLDPY_NUMBER_COMPAT_H

#include "pycompat.h"

/*
 * Writes the low 128 bits of a non-negative int, big-endian, into out[16].
 * 3.13 added the public PyLong_AsNativeBytes(); before it the same job is
 * done by the private _PyLong_AsByteArray(), whose signature gained a
 * `with_exceptions` argument in 3.13 (so we must not call it there).
 * Returns 0, or -1 with an exception set when the value needs more bits.
 */
static inline int tldpy_long_to_be128(PyObject *v, uint8_t out[16])
{
#if PY_VERSION_HEX < 0x030C0000
    /* Before 3.12 an int is Py_SIZE 30-bit digits, least significant first
     * (a UUID has at most 5): assemble them directly, the hot path of
     * add_guid. */
    Py_ssize_t ndigits = Py_SIZE(v);
    if (ndigits >= 0 && ndigits <= 5 && PyLong_SHIFT == 30) {
        const digit *d = ((PyLongObject *)v)->ob_digit;
        uint64_t lo = 0, hi = 0;
        for (Py_ssize_t i = ndigits - 1; i >= 0; i--) {
            hi = (hi << 30) | (lo >> 34);
            lo = (lo << 30) | d[i];
        }
        if (ndigits < 5 || (d[4] >> 8) == 0) { /* 4*30 + 8 = 128 bits */
            for (int i = 0; i < 8; i++) {
                out[i] = (uint8_t)(hi >> (56 - 8 * i));
                out[8 + i] = (uint8_t)(lo >> (56 - 8 * i));
            }
            return 0;
        }
    }
#endif
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
 * Value of a small ("compact") exact int without a function call: the hot
 * path of every integer field. 3.12 published PyUnstable_Long_IsCompact /
 * PyUnstable_Long_CompactValue (the int layout changed to lv_tag); before
 * it, an int of one 30-bit digit has Py_SIZE -1, 0 or 1. Returns 1 and sets
 * *out when `v` (an exact int) is compact, else 0.
 */
static inline int tldpy_compact_long(PyObject *v, long long *out)
{
#if PY_VERSION_HEX >= 0x030C0000
    if (!PyUnstable_Long_IsCompact((PyLongObject *)v))
        return 0;
    *out = (long long)PyUnstable_Long_CompactValue((PyLongObject *)v);
    return 1;
#else
    Py_ssize_t size = Py_SIZE(v);
    if (size < -1 || size > 1)
        return 0;
    *out = (long long)size * (long long)((PyLongObject *)v)->ob_digit[0];
    return 1;
#endif
}

/*
 * Instance __dict__ of our types. On 3.11 the interpreter specializes
 * `obj.method()` only when the type has no dict slot or the dict already
 * exists; a slot left NULL until first use keeps every call on the slow
 * generic path. 3.12+ specializes the lazy case
 * (LOAD_ATTR_METHOD_LAZY_DICT) and handles a materialized dict worse, so
 * the dict is created eagerly only before 3.12.
 */
#define TLDPY_EAGER_INSTANCE_DICT (PY_VERSION_HEX < 0x030C0000)

/*
 * Packs a double as a little-endian IEEE float32, bit for bit as the struct
 * module does on the running Python (the reference packs with struct). This
 * matters for NaNs: 3.14 keeps a signaling NaN signaling, older versions
 * quiet it. PyFloat_Pack4 became public in 3.11 (_PyFloat_Pack4 before).
 * The caller has already rejected finite values that overflow float32.
 */
static inline int tldpy_pack_float32_bits(double x, uint8_t out[4])
{
#if PY_VERSION_HEX >= 0x030B0000
    return PyFloat_Pack4(x, (char *)out, /*le=*/1);
#else
    return _PyFloat_Pack4(x, out, /*le=*/1);
#endif
}

#endif
