/*
 * provider.c — the Provider type: a named event source registered with
 * the core (which delivers to ETW on Windows and to in-process sessions),
 * with the reference module's constructor order, attributes and str().
 */
#include "binding.h"

#include "tracelogging/tld_etw.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <structmember.h>

#ifdef _WIN32
#define CLOSED_PROVIDER_STATUS 6 /* ERROR_INVALID_HANDLE, what ETW returns */
#else
#define CLOSED_PROVIDER_STATUS EBADF
#endif

static PyObject *Provider_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)args;
    (void)kwds;
    ProviderObject *self = (ProviderObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->name_utf8 = pyc_new_ref(Py_None);
    self->id = pyc_new_ref(Py_None);
    self->group_id = pyc_new_ref(Py_None);
    if (TLDPY_EAGER_INSTANCE_DICT && (self->dict = PyDict_New()) == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void provider_close(ProviderObject *self)
{
    tld_provider *p = self->provider;
    self->provider = NULL;
    tld_provider_close(p);
}

/* 16 bytes of `obj.bytes_le` (a uuid.UUID or look-alike). */
static int guid_of(PyObject *obj, tld_guid *out)
{
    PyObject *generic;
    if (tldpy_uuid_bytes_le(obj, out->bytes_le, &generic) < 0)
        return -1;
    if (generic == NULL)
        return 0;
    Py_ssize_t n = tldpy_length(generic);
    int rc = -1;
    if (n == 16)
        rc = tldpy_copy_bytes(generic, out->bytes_le, 16);
    else if (n >= 0)
        PyErr_SetString(PyExc_ValueError, "bytes_le of a provider or group id must be 16 bytes");
    Py_DECREF(generic);
    return rc;
}

static int raise_name_error(const char *message, PyObject *name)
{
    PyObject *exc = PyObject_CallFunction(PyExc_ValueError, "sO", message, name);
    if (exc != NULL) {
        PyErr_SetObject(PyExc_ValueError, exc);
        Py_DECREF(exc);
    }
    return -1;
}

static int Provider_init(PyObject *op, PyObject *args, PyObject *kwds)
{
    ProviderObject *self = (ProviderObject *)op;
    static char *kwlist[] = {"name_utf8", "id", "group_id", "throw_on_error", NULL};
    PyObject *name = NULL, *id = Py_None, *group_id = Py_None, *throw_obj = Py_False;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|OOO:Provider", kwlist, &name, &id, &group_id, &throw_obj))
        return -1;
    provider_close(self);

    /* Reference order: attributes, id (derived ids decode the name first),
     * name checks, traits (group id), registration (id). */
    Py_INCREF(name);
    Py_SETREF(self->name_utf8, name);
    if (id == Py_None) {
        PyObject *text = PyUnicode_FromEncodedObject(name, "utf-8", "strict");
        if (text == NULL)
            return -1;
        id = tldpy_providerid_from_str(text);
        Py_DECREF(text);
        if (id == NULL)
            return -1;
    } else {
        Py_INCREF(id);
    }
    Py_SETREF(self->id, id);
    Py_INCREF(group_id);
    Py_SETREF(self->group_id, group_id);

    Py_ssize_t name_len = tldpy_length(name);
    if (name_len < 0)
        return -1;
    if (name_len == 0)
        return raise_name_error("Provider name must not be empty.", name);
    const char *name_p;
    if (tldpy_name_view(name, &name_p, &name_len) < 0)
        return -1;
    if (memchr(name_p, 0, (size_t)name_len) != NULL)
        return raise_name_error("Field name must not contain 0x00 bytes.", name);
    int have_group = group_id != Py_None;
    if (tld_provider_traits_size((size_t)name_len, have_group) > 0xFFFF)
        return tldpy_raise_int(TLD_E_TRAITS_TOO_LONG);
    /* Copy the name: the id conversions below may run Python code. */
    PyObject *name_copy = PyBytes_FromStringAndSize(name_p, name_len);
    if (name_copy == NULL)
        return -1;
    tld_guid group, provider_id;
    int rc = -1;
    if ((!have_group || guid_of(group_id, &group) == 0) && guid_of(id, &provider_id) == 0) {
        int status = tld_provider_open(&self->provider, PyBytes_AS_STRING(name_copy), (size_t)name_len,
                                       &provider_id, have_group ? &group : NULL);
        if (status == TLD_OK) {
            size_t traits_len;
            const uint8_t *traits = tld_provider_traits(self->provider, &traits_len);
            Py_XSETREF(self->traits, PyBytes_FromStringAndSize((const char *)traits, (Py_ssize_t)traits_len));
            if (self->traits == NULL) {
                Py_DECREF(name_copy);
                return -1;
            }
        }
        int throw_on_error = PyObject_IsTrue(throw_obj);
        /* On Windows, ETW's answers to the registration, as upstream's
         * throw_on_error reports them (Win32 codes); the provider works for
         * in-process sessions either way. */
        const char *etw_call = NULL;
        int etw_status = 0;
        tld_etw_registration_info etw;
        if (status == TLD_OK && throw_on_error > 0 && tld_etw_registration(self->provider, &etw) == 0) {
            if (etw.register_status != 0) {
                etw_call = "EventRegister error";
                etw_status = (int)etw.register_status;
            } else if (etw.traits_status != 0) {
                etw_call = "EventSetInformation error";
                etw_status = (int)etw.traits_status;
            }
        }
        if (throw_on_error < 0) {
            rc = -1;
        } else if ((status != TLD_OK || etw_call != NULL) && throw_on_error) {
            PyObject *exc = PyObject_CallFunction(PyExc_OSError, "si", etw_call ? etw_call : "EventRegister error",
                                                  etw_call ? etw_status : -status);
            if (exc != NULL) {
                PyErr_SetObject(PyExc_OSError, exc);
                Py_DECREF(exc);
            }
        } else {
            rc = 0; /* without throw_on_error a failed registration stays closed */
        }
    }
    Py_DECREF(name_copy);
    return rc;
}

static int Provider_traverse(PyObject *op, visitproc visit, void *arg)
{
    ProviderObject *self = (ProviderObject *)op;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(self->name_utf8);
    Py_VISIT(self->id);
    Py_VISIT(self->group_id);
    Py_VISIT(self->traits);
    Py_VISIT(self->dict);
    return 0;
}

static int Provider_clear(PyObject *op)
{
    ProviderObject *self = (ProviderObject *)op;
    Py_CLEAR(self->name_utf8);
    Py_CLEAR(self->id);
    Py_CLEAR(self->group_id);
    Py_CLEAR(self->traits);
    Py_CLEAR(self->dict);
    return 0;
}

static void Provider_dealloc(PyObject *op)
{
    ProviderObject *self = (ProviderObject *)op;
    PyObject_GC_UnTrack(op);
    if (self->weakrefs != NULL)
        PyObject_ClearWeakRefs(op);
    provider_close(self);
    Provider_clear(op);
    Py_TYPE(op)->tp_free(op);
}

static PyObject *Provider_close(PyObject *op, PyObject *unused)
{
    (void)unused;
    provider_close((ProviderObject *)op);
    Py_RETURN_NONE;
}

static PyObject *Provider_is_open(PyObject *op, PyObject *unused)
{
    (void)unused;
    return PyBool_FromLong(((ProviderObject *)op)->provider != NULL);
}

/* ctypes' c_byte / c_uint64 argument conversion: ints, truncated. */
static int masked_arg(PyObject *v, uint64_t mask, uint64_t *out, const char *what)
{
    if (PyLong_Check(v)) {
        unsigned long long x = PyLong_AsUnsignedLongLongMask(v);
        if (x == (unsigned long long)-1 && PyErr_Occurred())
            return -1;
        *out = x & mask;
        return 0;
    }
    PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", what, Py_TYPE(v)->tp_name);
    return -1;
}

static const char *const is_enabled_params[] = {"level", "keyword"};
static const tldpy_signature is_enabled_sig = {"is_enabled", 2, 0, is_enabled_params};

static PyObject *Provider_is_enabled(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    ProviderObject *self = (ProviderObject *)op;
    PyObject *a[2] = {NULL, NULL};
    if (kwnames != NULL || nargs > 2) {
        if (tldpy_parse_args(&is_enabled_sig, args, nargs, kwnames, a) < 0)
            return NULL;
    } else {
        for (Py_ssize_t i = 0; i < nargs; i++)
            a[i] = args[i];
    }
    uint64_t level = 0, keyword = 0;
    if (a[0] != NULL && masked_arg(a[0], 0xFF, &level, "level") < 0)
        return NULL;
    if (a[1] != NULL && masked_arg(a[1], UINT64_MAX, &keyword, "keyword") < 0)
        return NULL;
    if (self->provider == NULL)
        Py_RETURN_FALSE;
    return PyBool_FromLong(tld_provider_is_enabled(self->provider, (uint8_t)level, keyword));
}

static const char *const write_params[] = {"event", "activity_id", "related_activity_id"};
static const tldpy_signature write_sig = {"write", 3, 1, write_params};

static PyObject *Provider_write(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    ProviderObject *self = (ProviderObject *)op;
    PyObject *a[3];
    if (tldpy_parse_args(&write_sig, args, nargs, kwnames, a) < 0)
        return NULL;
    if (!PyObject_TypeCheck(a[0], &EventBuilder_Type)) {
        PyErr_Format(PyExc_TypeError, "write() needs an EventBuilder, not %.100s", Py_TYPE(a[0])->tp_name);
        return NULL;
    }
    EventBuilderObject *eb = (EventBuilderObject *)a[0];
    if (eb->builder.meta == NULL) {
        PyErr_SetString(PyExc_ValueError, "EventBuilder.__init__() was not called");
        return NULL;
    }
    size_t meta_len;
    tld_builder_meta(&eb->builder, &meta_len); /* fills the size slot, as the reference does first */
    if (tld_builder_check_state(&eb->builder) != TLD_OK) {
        PyErr_SetString(PyExc_ValueError, "EventBuilder is in an error state. Call builder.reset().");
        return NULL;
    }
    tld_guid activity, related;
    int have_activity = a[1] != NULL && a[1] != Py_None;
    int have_related = a[2] != NULL && a[2] != Py_None;
    if (have_activity && guid_of(a[1], &activity) < 0)
        return NULL;
    if (have_related && guid_of(a[2], &related) < 0)
        return NULL;
    if (self->provider == NULL)
        return PyLong_FromLong(CLOSED_PROVIDER_STATUS);
    if (eb->busy) {
        PyErr_SetString(PyExc_RuntimeError, "EventBuilder written while it is being modified");
        return NULL;
    }
    int status = tld_provider_write(self->provider, &eb->builder, have_activity ? &activity : NULL,
                                    have_related ? &related : NULL);
    /* Like ETW's EventWrite, a failure to deliver is a status (an errno
     * here), not an exception: a session whose file reached its size limit
     * says EFBIG. */
    if (status == TLD_E_SIZE_LIMIT)
        return PyLong_FromLong(EFBIG);
    if (status <= TLD_E_END)
        return tldpy_raise(status);
    return PyLong_FromLong(-status);
}

static PyObject *Provider_get_traits(PyObject *op, PyObject *unused)
{
    (void)unused;
    ProviderObject *self = (ProviderObject *)op;
    if (self->traits == NULL) {
        PyErr_SetString(PyExc_ValueError, "the provider was never registered");
        return NULL;
    }
    return pyc_new_ref(self->traits);
}

static PyObject *Provider_str(PyObject *op)
{
    ProviderObject *self = (ProviderObject *)op;
    if (self->name_utf8 == NULL || self->id == NULL) {
        PyErr_SetString(PyExc_AttributeError, "Provider has no name_utf8 or id");
        return NULL;
    }
    PyObject *name = PyUnicode_FromEncodedObject(self->name_utf8, "utf-8", "strict");
    if (name == NULL)
        return NULL;
    PyObject *s = PyUnicode_FromFormat("Provider \"%U\" {%S}", name, self->id);
    Py_DECREF(name);
    return s;
}

static PyObject *Provider_enter(PyObject *op, PyObject *unused)
{
    (void)unused;
    return pyc_new_ref(op);
}

static PyObject *Provider_exit(PyObject *op, PyObject *args)
{
    (void)args;
    provider_close((ProviderObject *)op);
    Py_RETURN_FALSE;
}

static PyMethodDef provider_methods[] = {
    {"close", Provider_close, METH_NOARGS, "close($self, /)\n--\n\nUnregisters the provider. Safe to call more than once."},
    {"is_open", Provider_is_open, METH_NOARGS, "is_open($self, /)\n--\n\nTrue until close()."},
    {"is_enabled", (PyCFunction)(void (*)(void))Provider_is_enabled, METH_FASTCALL | METH_KEYWORDS,
     "is_enabled($self, /, level=0, keyword=0)\n--\n\n"
     "True if some session may want events of this level and keyword (lock-free; may be\n"
     "conservatively true). Level is truncated to 8 bits and keyword to 64 bits."},
    {"write", (PyCFunction)(void (*)(void))Provider_write, METH_FASTCALL | METH_KEYWORDS,
     "write($self, /, event, activity_id=None, related_activity_id=None)\n--\n\n"
     "Sends the EventBuilder's event to every session that wants it. Returns 0 when delivered\n"
     "or when nobody listens, an OS error number otherwise. ValueError in the error state."},
    {"_get_traits", Provider_get_traits, METH_NOARGS, "_get_traits($self, /)\n--\n\nThe provider traits blob."},
    {"__enter__", Provider_enter, METH_NOARGS, NULL},
    {"__exit__", Provider_exit, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef provider_members[] = {
    {"name_utf8", T_OBJECT_EX, offsetof(ProviderObject, name_utf8), 0, "The provider name (UTF-8 bytes)."},
    {"id", T_OBJECT_EX, offsetof(ProviderObject, id), 0, "The provider id (uuid.UUID)."},
    {"group_id", T_OBJECT_EX, offsetof(ProviderObject, group_id), 0, "The provider group id, or None."},
    {NULL, 0, 0, 0, NULL},
};

PyTypeObject Provider_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "traceloggingdynamic.Provider",
    .tp_basicsize = sizeof(ProviderObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Provider(name_utf8, id=None, group_id=None, throw_on_error=False)\n--\n\n"
              "A named source of TraceLogging events. The id defaults to the hash of the name\n"
              "(providerid_from_name). Events written to it reach every session that enables it:\n"
              "ETW sessions on Windows, in-process .etl sessions everywhere. Usable as a context\n"
              "manager (closes on exit).",
    .tp_new = Provider_new,
    .tp_init = Provider_init,
    .tp_dealloc = Provider_dealloc,
    .tp_traverse = Provider_traverse,
    .tp_clear = Provider_clear,
    .tp_str = Provider_str,
    .tp_methods = provider_methods,
    .tp_members = provider_members,
    .tp_dictoffset = offsetof(ProviderObject, dict),
    .tp_weaklistoffset = offsetof(ProviderObject, weakrefs),
    .tp_getset = tldpy_dict_getset,
};
