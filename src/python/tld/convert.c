/*
 * convert.c — argument binding and value conversions for the
 * traceloggingdynamic binding.
 *
 * The reference module is pure Python: it packs integers with `struct`,
 * copies raw bytes with ctypes slice assignment, and finds NULs with
 * `.find()`. Each helper here reproduces what those protocols accept and
 * which exception they raise, with fast paths for the common types (int,
 * float, str, bytes, bytearray, uuid.UUID) so the hot path never builds a
 * temporary Python object.
 */
#include "binding.h"

#include "byteorder.h"
#include "utf16.h"

#include <math.h>
#include <string.h>
#include <structmember.h>

static PyObject *tldpy_uuid_type; /* uuid.UUID, once something needed it */

/* Where uuid.UUID keeps its `int` slot (it has __slots__), so add_guid can
 * read the value without an attribute lookup; -1 if UUID is not laid out
 * that way (then the attribute is looked up). */
static Py_ssize_t uuid_int_offset = -1;

/* uuid is imported on first need, not when the module loads: with the
 * platform module it pulls in, it costs a few milliseconds, and importers
 * such as etwtrace never touch a UUID. */
static int load_uuid_type(void)
{
    PyObject *uuid_module = PyImport_ImportModule("uuid");
    if (uuid_module == NULL)
        return -1;
    PyObject *type = PyObject_GetAttrString(uuid_module, "UUID");
    Py_DECREF(uuid_module);
    if (type == NULL)
        return -1;
    if (!PyType_Check(type)) {
        Py_DECREF(type);
        PyErr_SetString(PyExc_TypeError, "uuid.UUID is not a class");
        return -1;
    }
    PyObject *descr = PyDict_GetItemString(((PyTypeObject *)type)->tp_dict, "int");
    if (descr != NULL && Py_TYPE(descr) == &PyMemberDescr_Type) {
        PyMemberDef *member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type == T_OBJECT_EX)
            uuid_int_offset = member->offset;
    }
    tldpy_uuid_type = type;
    return 0;
}

static inline int uuid_type_ready(void)
{
    return tldpy_uuid_type != NULL || load_uuid_type() == 0 ? 0 : -1;
}

/* ---- argument binding ---- */

int tldpy_parse_args(const tldpy_signature *sig, PyObject *const *args, Py_ssize_t nargs,
                   PyObject *kwnames, PyObject **out)
{
    if (nargs > sig->count) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %d arguments (%zd given)",
                     sig->function, sig->count, nargs);
        return -1;
    }
    for (int i = 0; i < sig->count; i++)
        out[i] = i < nargs ? args[i] : NULL;
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, k);
        int found = -1;
        for (int i = 0; i < sig->count; i++) {
            if (PyUnicode_CompareWithASCIIString(key, sig->names[i]) == 0) {
                found = i;
                break;
            }
        }
        if (found < 0) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'",
                         sig->function, key);
            return -1;
        }
        if (out[found] != NULL) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'",
                         sig->function, sig->names[found]);
            return -1;
        }
        out[found] = args[nargs + k];
    }
    for (int i = 0; i < sig->required; i++) {
        if (out[i] == NULL) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s' (pos %d)",
                         sig->function, sig->names[i], i + 1);
            return -1;
        }
    }
    return 0;
}

/* ---- names and raw bytes ---- */

int tldpy_name_view(PyObject *name, const char **p, Py_ssize_t *len)
{
    if (PyBytes_Check(name)) {
        *p = PyBytes_AS_STRING(name);
        *len = PyBytes_GET_SIZE(name);
        return 0;
    }
    if (PyByteArray_Check(name)) {
        *p = PyByteArray_AS_STRING(name);
        *len = PyByteArray_GET_SIZE(name);
        return 0;
    }
    if (PyUnicode_Check(name)) {
        PyErr_SetString(PyExc_TypeError, "name must be UTF-8 bytes (e.g. b'name'), not str");
        return -1;
    }
    PyErr_Format(PyExc_AttributeError,
                 "'%.100s' object has no attribute 'find' (name must be UTF-8 bytes or bytearray)",
                 Py_TYPE(name)->tp_name);
    return -1;
}

Py_ssize_t tldpy_length(PyObject *value)
{
    if (PyBytes_Check(value))
        return PyBytes_GET_SIZE(value);
    if (PyByteArray_Check(value))
        return PyByteArray_GET_SIZE(value);
    return PyObject_Size(value);
}

/* Low 8 bits of one item, as a ctypes c_byte element assignment takes it:
 * ints and objects with __index__, but not floats. */
static int item_low_byte(PyObject *item, uint8_t *out)
{
    if (PyFloat_Check(item)) {
        PyErr_SetString(PyExc_TypeError, "byte values must be integers, not float");
        return -1;
    }
    PyObject *v = PyLong_Check(item) ? pyc_new_ref(item) : PyNumber_Index(item);
    if (v == NULL)
        return -1;
    unsigned long long x = PyLong_AsUnsignedLongLongMask(v);
    Py_DECREF(v);
    if (x == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    *out = (uint8_t)x;
    return 0;
}

int tldpy_copy_bytes(PyObject *value, uint8_t *dst, Py_ssize_t n)
{
    if (PyBytes_Check(value) && PyBytes_GET_SIZE(value) == n) {
        memcpy(dst, PyBytes_AS_STRING(value), (size_t)n);
        return 0;
    }
    if (PyByteArray_Check(value) && PyByteArray_GET_SIZE(value) == n) {
        memcpy(dst, PyByteArray_AS_STRING(value), (size_t)n);
        return 0;
    }
    /* ctypes slice assignment needs a real sequence; for anything else
     * (a dict, say) it reports a size mismatch. */
    PySequenceMethods *sq = Py_TYPE(value)->tp_as_sequence;
    if (sq == NULL || sq->sq_length == NULL || sq->sq_item == NULL) {
        PyErr_Format(PyExc_ValueError, "Can only assign sequence of same size (got %.100s)",
                     Py_TYPE(value)->tp_name);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_GetItem(value, i);
        if (item == NULL)
            return -1;
        int rc = item_low_byte(item, &dst[i]);
        Py_DECREF(item);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- integers ---- */

int tldpy_int_and_mask(PyObject *value, uint64_t mask, uint64_t *out)
{
    if (PyLong_Check(value)) {
        unsigned long long v = PyLong_AsUnsignedLongLongMask(value);
        if (v == (unsigned long long)-1 && PyErr_Occurred())
            return -1;
        *out = v & mask;
        return 0;
    }
    /* Anything else behaves as Python's `&` does with it (numpy integers
     * work; floats, None and mere __index__ objects raise TypeError). */
    PyObject *mask_obj = PyLong_FromUnsignedLongLong(mask);
    if (mask_obj == NULL)
        return -1;
    PyObject *r = PyNumber_And(value, mask_obj);
    Py_DECREF(mask_obj);
    if (r == NULL)
        return -1;
    int rc = -1;
    if (PyLong_Check(r))
        rc = tldpy_int_and_mask(r, mask, out);
    else
        PyErr_Format(PyExc_TypeError, "%.100s & int did not give an int", Py_TYPE(value)->tp_name);
    Py_DECREF(r);
    return rc;
}

/* The integer value of `value` as struct's pack does it: ints and objects
 * with __index__; anything else is a FieldTypeError. New reference. */
static PyObject *struct_integer(PyObject *value)
{
    if (PyLong_Check(value))
        return pyc_new_ref(value);
    if (!PyFloat_Check(value) && Py_TYPE(value)->tp_as_number != NULL &&
        Py_TYPE(value)->tp_as_number->nb_index != NULL)
        return PyNumber_Index(value);
    PyErr_Format(tld_FieldTypeError, "required argument is not an integer (got %.100s)",
                 Py_TYPE(value)->tp_name);
    return NULL;
}

static int range_error(PyObject *v, int size, int is_signed)
{
    if (is_signed)
        PyErr_Format(tld_FieldRangeError, "int%d field requires -2**%d <= number < 2**%d, got %R",
                     size * 8, size * 8 - 1, size * 8 - 1, v);
    else
        PyErr_Format(tld_FieldRangeError, "uint%d field requires 0 <= number < 2**%d, got %R",
                     size * 8, size * 8, v);
    return -1;
}

static void store_int(uint8_t *dst, int size, uint64_t bits)
{
    switch (size) {
    case 1: dst[0] = (uint8_t)bits; break;
    case 2: store_le16(dst, (uint16_t)bits); break;
    case 4: store_le32(dst, (uint32_t)bits); break;
    default: store_le64(dst, bits); break;
    }
}

int tldpy_pack_int(PyObject *value, int size, int is_signed, uint8_t *dst)
{
    /* Fast path: an exact int that fits in a long long (no Python code can
     * run, nothing to reference-count). Out-of-range values take the slow
     * path, which reports them. */
    if (PyLong_CheckExact(value)) {
        int overflow = 0;
        long long x;
        if (!tldpy_compact_long(value, &x))
            x = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (!overflow && !(x == -1 && PyErr_Occurred())) {
            int fits;
            if (size == 8)
                fits = is_signed || x >= 0;
            else if (is_signed)
                fits = x >= -(1LL << (size * 8 - 1)) && x < (1LL << (size * 8 - 1));
            else
                fits = x >= 0 && x < (1LL << (size * 8));
            if (fits) {
                store_int(dst, size, (uint64_t)x);
                return 0;
            }
        }
        PyErr_Clear();
    }
    PyObject *v = struct_integer(value);
    if (v == NULL)
        return -1;
    uint64_t bits;
    int rc = 0;
    if (is_signed) {
        int overflow;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (x == -1 && PyErr_Occurred()) {
            rc = -1;
        } else {
            long long lim = size == 8 ? 0 : (1LL << (size * 8 - 1));
            if (overflow || (size < 8 && (x < -lim || x >= lim)))
                rc = range_error(v, size, 1);
            bits = (uint64_t)x;
        }
    } else {
        /* Negative values and values above 2**64-1 both raise OverflowError. */
        unsigned long long x = PyLong_AsUnsignedLongLong(v);
        if (x == (unsigned long long)-1 && PyErr_Occurred()) {
            if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
                PyErr_Clear();
                rc = range_error(v, size, 0);
            } else {
                rc = -1;
            }
        } else if (size < 8 && x >> (size * 8) != 0) {
            rc = range_error(v, size, 0);
        }
        bits = x;
    }
    Py_DECREF(v);
    if (rc < 0)
        return -1;
    store_int(dst, size, bits);
    return 0;
}

/* ---- floats ---- */

static int struct_double(PyObject *value, double *out)
{
    if (PyFloat_CheckExact(value)) {
        *out = PyFloat_AS_DOUBLE(value);
        return 0;
    }
    double x = PyFloat_AsDouble(value);
    if (x == -1.0 && PyErr_Occurred()) {
        /* struct reports every conversion failure as struct.error. */
        int overflow = PyErr_ExceptionMatches(PyExc_OverflowError);
        PyErr_Clear();
        PyErr_Format(overflow ? tld_FieldRangeError : tld_FieldTypeError,
                     overflow ? "number too large to convert to float (got %.100s)"
                              : "required argument is not a float (got %.100s)",
                     Py_TYPE(value)->tp_name);
        return -1;
    }
    *out = x;
    return 0;
}

int tldpy_pack_float32(PyObject *value, uint8_t *dst)
{
    double x;
    if (struct_double(value, &x) < 0)
        return -1;
    /* Finite doubles at or beyond the midpoint between FLT_MAX and 2**128
     * round to infinity. struct reports that as OverflowError for a float
     * argument and as struct.error for an int one; FieldRangeError is both.
     * Checking first also keeps the C conversion defined. */
    if (isfinite(x) && fabs(x) >= 0x1.ffffffp127) {
        PyErr_Format(tld_FieldRangeError, "float32 field cannot hold %R (too large for 32-bit float)", value);
        return -1;
    }
    return tldpy_pack_float32_bits(x, dst);
}

int tldpy_pack_float64(PyObject *value, uint8_t *dst)
{
    double x;
    if (struct_double(value, &x) < 0)
        return -1;
    uint64_t bits;
    memcpy(&bits, &x, 8);
    store_le64(dst, bits);
    return 0;
}

/* ---- UTF-16 ---- */

static int raise_utf16_error(PyObject *s, Py_ssize_t len)
{
    /* Let the codec build the exact UnicodeEncodeError the reference shows. */
    PyObject *prefix = PyUnicode_Substring(s, 0, len);
    if (prefix == NULL)
        return -1;
    PyObject *encoded = PyUnicode_AsEncodedString(prefix, "utf-16-le", "strict");
    Py_DECREF(prefix);
    if (encoded != NULL) {
        Py_DECREF(encoded);
        PyErr_SetString(PyExc_SystemError, "UTF-16 encoder disagreed about a surrogate");
    }
    return -1;
}

Py_ssize_t tldpy_utf16_size(PyObject *s, Py_ssize_t len)
{
    int kind = PyUnicode_KIND(s);
    const void *data = PyUnicode_DATA(s);
    if (kind == PyUnicode_1BYTE_KIND)
        return len * 2;
    Py_ssize_t units = len;
    if (kind == PyUnicode_2BYTE_KIND) {
        const Py_UCS2 *u = data;
        for (Py_ssize_t i = 0; i < len; i++)
            if (u[i] >= 0xD800 && u[i] <= 0xDFFF)
                return raise_utf16_error(s, len);
    } else {
        const Py_UCS4 *u = data;
        for (Py_ssize_t i = 0; i < len; i++) {
            if (u[i] >= 0xD800 && u[i] <= 0xDFFF)
                return raise_utf16_error(s, len);
            if (u[i] > 0xFFFF)
                units++;
        }
    }
    return units * 2;
}

void tldpy_utf16_write(PyObject *s, Py_ssize_t len, uint8_t *dst)
{
    tld_utf16le_from_chars(PyUnicode_DATA(s), (size_t)len, (unsigned)PyUnicode_KIND(s), dst, SIZE_MAX);
}

/* ---- UUIDs and provider ids ---- */

int tldpy_uuid_bytes_le(PyObject *value, uint8_t out[16], PyObject **generic)
{
    *generic = NULL;
    if (uuid_type_ready() < 0)
        return -1;
    if (Py_TYPE(value) == (PyTypeObject *)tldpy_uuid_type) {
        /* Read the UUID's 128-bit `int` slot instead of calling the
         * bytes_le property, which runs Python code. */
        PyObject *iv;
        if (uuid_int_offset >= 0 && *(PyObject **)((char *)value + uuid_int_offset) != NULL) {
            iv = pyc_new_ref(*(PyObject **)((char *)value + uuid_int_offset));
        } else {
            iv = PyObject_GetAttrString(value, "int");
            if (iv == NULL)
                return -1;
        }
        uint8_t be[16];
        int rc = PyLong_Check(iv) ? tldpy_long_to_be128(iv, be) : -1;
        if (rc < 0 && !PyErr_Occurred())
            PyErr_SetString(PyExc_TypeError, "UUID.int is not an int");
        Py_DECREF(iv);
        if (rc < 0)
            return -1;
        /* bytes_le: the first three GUID fields little-endian, the rest as is. */
        static const uint8_t order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
        for (int i = 0; i < 16; i++)
            out[i] = be[order[i]];
        return 0;
    }
    *generic = PyObject_GetAttrString(value, "bytes_le");
    return *generic ? 0 : -1;
}

PyObject *tldpy_uuid_from_bytes_le(const uint8_t bytes_le[16])
{
    if (uuid_type_ready() < 0)
        return NULL;
    PyObject *b = PyBytes_FromStringAndSize((const char *)bytes_le, 16);
    if (b == NULL)
        return NULL;
    PyObject *args = PyTuple_New(0);
    PyObject *kwargs = args ? Py_BuildValue("{sO}", "bytes_le", b) : NULL;
    PyObject *u = kwargs ? PyObject_Call(tldpy_uuid_type, args, kwargs) : NULL;
    Py_XDECREF(kwargs);
    Py_XDECREF(args);
    Py_DECREF(b);
    return u;
}

PyObject *tldpy_providerid_from_str(PyObject *name)
{
    /* name.upper().encode('utf_16_be'), called as methods so that any
     * object behaves (and fails) as it does with the reference. */
    PyObject *upper = PyObject_CallMethod(name, "upper", NULL);
    if (upper == NULL)
        return NULL;
    PyObject *encoded = PyUnicode_Check(upper)
                            ? PyUnicode_AsEncodedString(upper, "utf-16-be", "strict")
                            : PyObject_CallMethod(upper, "encode", "s", "utf_16_be");
    Py_DECREF(upper);
    if (encoded == NULL)
        return NULL;
    if (!PyBytes_Check(encoded)) {
        Py_DECREF(encoded);
        PyErr_SetString(PyExc_TypeError, "encode() did not return bytes");
        return NULL;
    }
    tld_guid id;
    tld_providerid_from_utf16be((const uint8_t *)PyBytes_AS_STRING(encoded),
                                (size_t)PyBytes_GET_SIZE(encoded), &id);
    Py_DECREF(encoded);
    return tldpy_uuid_from_bytes_le(id.bytes_le);
}
