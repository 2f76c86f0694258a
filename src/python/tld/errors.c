/*
 * errors.c — Python exceptions of the traceloggingdynamic binding.
 *
 * Which exception a failure raises is part of the reference module's
 * interface (spec §5.7): limit errors are ValueError, name and struct-count
 * checks are AssertionError, a short SID is IndexError. Where the reference
 * raises struct.error we raise FieldRangeError or FieldTypeError, which
 * subclass both struct.error and OverflowError / TypeError (deviation D4),
 * so `except struct.error` keeps working and the message says what was
 * wrong.
 */
#include "binding.h"

PyObject *tld_FieldRangeError;
PyObject *tld_FieldTypeError;

static PyObject *make_error(PyObject *module, const char *name, PyObject *struct_error,
                            PyObject *second_base, const char *doc)
{
    PyObject *bases = PyTuple_Pack(2, struct_error, second_base);
    if (bases == NULL)
        return NULL;
    char qualified[96];
    PyOS_snprintf(qualified, sizeof qualified, "traceloggingdynamic.%s", name);
    PyObject *type = PyErr_NewExceptionWithDoc(qualified, doc, bases, NULL);
    Py_DECREF(bases);
    if (type == NULL)
        return NULL;
    if (PyModule_AddObject(module, name, pyc_new_ref(type)) < 0) {
        Py_DECREF(type);
        Py_DECREF(type);
        return NULL;
    }
    return type;
}

int tldpy_errors_init(PyObject *module)
{
    PyObject *struct_module = PyImport_ImportModule("struct");
    if (struct_module == NULL)
        return -1;
    PyObject *struct_error = PyObject_GetAttrString(struct_module, "error");
    Py_DECREF(struct_module);
    if (struct_error == NULL)
        return -1;
    tld_FieldRangeError = make_error(module, "FieldRangeError", struct_error, PyExc_OverflowError,
                                     "A field value is outside the range of its type "
                                     "(subclass of struct.error and OverflowError).");
    tld_FieldTypeError = make_error(module, "FieldTypeError", struct_error, PyExc_TypeError,
                                    "A field value has the wrong type for its field "
                                    "(subclass of struct.error and TypeError).");
    Py_DECREF(struct_error);
    return tld_FieldRangeError && tld_FieldTypeError ? 0 : -1;
}

PyObject *tldpy_raise(int code)
{
    PyObject *type;
    switch (code) {
    case TLD_E_NO_MEMORY:
        return PyErr_NoMemory();
    case TLD_E_NAME_NUL:
    case TLD_E_STRUCT_COUNT:
    case TLD_E_ODD_UTF16:
        type = PyExc_AssertionError;
        break;
    case TLD_E_SID_SHORT:
        type = PyExc_IndexError;
        break;
    case TLD_E_COUNT_RANGE:
    case TLD_E_TRAITS_TOO_LONG: /* the reference's struct.pack of the u16 size fails */
        type = tld_FieldRangeError;
        break;
    case TLD_E_INVALID_ARG:
        type = PyExc_TypeError;
        break;
    default:
        /* limits, error state, tags, value lengths, provider names */
        type = PyExc_ValueError;
        break;
    }
    PyErr_SetString(type, tld_strerror(code));
    return NULL;
}

int tldpy_raise_int(int code)
{
    tldpy_raise(code);
    return -1;
}
