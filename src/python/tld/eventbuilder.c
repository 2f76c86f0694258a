/*
 * eventbuilder.c — the EventBuilder type: construction, reset(), state,
 * str(), and the inspection hooks. The add_* methods live in
 * fields.c / field_methods.c.
 */
#include "fields.h"

#include <stddef.h>
#include <structmember.h>

static PyObject *EventBuilder_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)args;
    (void)kwds;
    EventBuilderObject *self = (EventBuilderObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->name_utf8 = PyBytes_FromStringAndSize("", 0);
    if (TLDPY_EAGER_INSTANCE_DICT)
        self->dict = PyDict_New();
    if (self->name_utf8 == NULL || (TLDPY_EAGER_INSTANCE_DICT && self->dict == NULL)) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

/* int(value) clamped to [lo, hi], as the reference sizes its buffers. */
static int clamped_size(PyObject *value, long lo, long hi, size_t *out)
{
    PyObject *i = PyNumber_Long(value);
    if (i == NULL)
        return -1;
    int overflow;
    long long v = PyLong_AsLongLongAndOverflow(i, &overflow);
    Py_DECREF(i);
    if (v == -1 && PyErr_Occurred())
        return -1;
    if (overflow)
        v = overflow > 0 ? hi : lo;
    *out = (size_t)(v < lo ? lo : v > hi ? hi : v);
    return 0;
}

static int EventBuilder_init(PyObject *op, PyObject *args, PyObject *kwds)
{
    EventBuilderObject *self = (EventBuilderObject *)op;
    static char *kwlist[] = {"initial_meta_len", "initial_data_len", NULL};
    PyObject *meta_obj = NULL, *data_obj = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|OO:EventBuilder", kwlist, &meta_obj, &data_obj))
        return -1;
    size_t meta_hint = 128, data_hint = 512;
    if (meta_obj && clamped_size(meta_obj, 64, TLD_MAX_META_SIZE, &meta_hint) < 0)
        return -1;
    if (data_obj && clamped_size(data_obj, 64, TLD_MAX_DATA_SIZE, &data_hint) < 0)
        return -1;
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "EventBuilder re-initialized while in use");
        return -1;
    }
    tld_builder_destroy(&self->builder);
    int rc = tld_builder_init(&self->builder, meta_hint, data_hint);
    if (rc != TLD_OK)
        return tldpy_raise_int(rc);
    PyObject *empty = PyBytes_FromStringAndSize("", 0);
    if (empty == NULL)
        return -1;
    Py_XSETREF(self->name_utf8, empty);
    return 0;
}

static int EventBuilder_traverse(PyObject *op, visitproc visit, void *arg)
{
    EventBuilderObject *self = (EventBuilderObject *)op;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(self->name_utf8);
    Py_VISIT(self->dict);
    return 0;
}

static int EventBuilder_clear(PyObject *op)
{
    EventBuilderObject *self = (EventBuilderObject *)op;
    Py_CLEAR(self->name_utf8);
    Py_CLEAR(self->dict);
    return 0;
}

static void EventBuilder_dealloc(PyObject *op)
{
    EventBuilderObject *self = (EventBuilderObject *)op;
    PyObject_GC_UnTrack(op);
    if (self->weakrefs != NULL)
        PyObject_ClearWeakRefs(op);
    EventBuilder_clear(op);
    tld_builder_destroy(&self->builder);
    Py_TYPE(op)->tp_free(op);
}

/* ---- reset ---- */

static const char *const reset_params[] = {"name_utf8", "level", "keyword", "opcode", "id",
                                           "version", "tag", "task", "channel"};
static const tldpy_signature reset_sig = {"reset", 9, 1, reset_params};

/* One descriptor field, packed in the reference's order: id, version,
 * channel, level, opcode, task, keyword. */
typedef struct desc_field {
    int arg;      /* index into reset's arguments */
    int size;     /* bytes */
    long dflt;
} desc_field;

static const desc_field desc_fields[] = {
    {4, 2, 0},  /* id */
    {5, 1, 0},  /* version */
    {8, 1, 11}, /* channel */
    {1, 1, 5},  /* level */
    {3, 1, 0},  /* opcode */
    {7, 2, 0},  /* task */
    {2, 8, 1},  /* keyword */
};

static int convert_descriptor(PyObject *const *a, tld_event_descriptor *d)
{
    uint64_t value[7];
    for (int i = 0; i < 7; i++) {
        PyObject *v = a[desc_fields[i].arg];
        long long small;
        if (v == NULL) {
            value[i] = (uint64_t)desc_fields[i].dflt;
        } else if (PyLong_CheckExact(v) && tldpy_compact_long(v, &small) && small >= 0 &&
                   (desc_fields[i].size == 8 || small >> (8 * desc_fields[i].size) == 0)) {
            value[i] = (uint64_t)small; /* the common case: a small int in range */
        } else {
            uint8_t packed[8] = {0};
            if (tldpy_pack_int(v, desc_fields[i].size, 0, packed) < 0)
                return -1;
            value[i] = 0;
            for (int k = 0; k < 8; k++)
                value[i] |= (uint64_t)packed[k] << (8 * k);
        }
    }
    d->id = (uint16_t)value[0];
    d->version = (uint8_t)value[1];
    d->channel = (uint8_t)value[2];
    d->level = (uint8_t)value[3];
    d->opcode = (uint8_t)value[4];
    d->task = (uint16_t)value[5];
    d->keyword = value[6];
    return 0;
}

/* The event tag as reset() validates it: `tag & 0x0FFFFFFF == tag`, so a
 * negative tag or one of 2**28 or more is a ValueError. */
static int convert_event_tag(PyObject *tag_obj, uint32_t *tag)
{
    *tag = 0;
    if (tag_obj == NULL)
        return 0;
    if (PyLong_Check(tag_obj)) {
        int overflow;
        long long t = PyLong_AsLongLongAndOverflow(tag_obj, &overflow);
        if (t == -1 && PyErr_Occurred())
            return -1;
        if (overflow || t < 0 || t > (long long)TLD_MAX_TAG)
            return tldpy_raise_int(TLD_E_EVENT_TAG);
        *tag = (uint32_t)t;
        return 0;
    }
    uint64_t low;
    if (tldpy_int_and_mask(tag_obj, TLD_MAX_TAG, &low) < 0)
        return -1;
    PyObject *low_obj = PyLong_FromUnsignedLongLong(low);
    if (low_obj == NULL)
        return -1;
    int same = PyObject_RichCompareBool(low_obj, tag_obj, Py_EQ);
    Py_DECREF(low_obj);
    if (same < 0)
        return -1;
    if (!same)
        return tldpy_raise_int(TLD_E_EVENT_TAG);
    *tag = (uint32_t)low;
    return 0;
}

static PyObject *EventBuilder_reset(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    EventBuilderObject *self = (EventBuilderObject *)op;
    PyObject *a[9];
    if (tldpy_parse_args(&reset_sig, args, nargs, kwnames, a) < 0)
        return NULL;
    if (self->builder.meta == NULL) {
        PyErr_SetString(PyExc_ValueError, "EventBuilder.__init__() was not called");
        return NULL;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "EventBuilder reset while in use");
        return NULL;
    }
    /* Reference order: tag check, name check, descriptor packing. The
     * descriptor is converted before the name is looked at (conversions can
     * run Python code that could resize a bytearray name) and its error, if
     * any, raised after the name check. */
    uint32_t tag;
    if (convert_event_tag(a[6], &tag) < 0)
        return NULL;
    tld_event_descriptor desc;
    PyObject *pending_type = NULL, *pending_value = NULL, *pending_tb = NULL;
    int desc_failed = convert_descriptor(a, &desc) < 0;
    if (desc_failed)
        PyErr_Fetch(&pending_type, &pending_value, &pending_tb);

    const char *name;
    Py_ssize_t name_len;
    int name_ok = tldpy_name_view(a[0], &name, &name_len) == 0;
    if (name_ok && memchr(name, 0, (size_t)name_len) != NULL) {
        PyErr_SetString(PyExc_AssertionError, "Event name must not contain 0x00 bytes.");
        name_ok = 0;
    }
    if (!name_ok || desc_failed) {
        if (!name_ok) {
            Py_XDECREF(pending_type);
            Py_XDECREF(pending_value);
            Py_XDECREF(pending_tb);
        } else {
            /* D5: a reset that fails validation leaves the error state. */
            tld_builder_set_error_state(&self->builder);
            PyErr_Restore(pending_type, pending_value, pending_tb);
        }
        return NULL;
    }
    int rc = tld_builder_reset(&self->builder, name, (size_t)name_len, &desc, tag);
    if (rc != TLD_OK)
        return tldpy_raise(rc);
    Py_INCREF(a[0]);
    Py_XSETREF(self->name_utf8, a[0]);
    Py_RETURN_NONE;
}

/* ---- state and inspection ---- */

static PyObject *raise_error_state(void)
{
    PyErr_SetString(PyExc_ValueError, "EventBuilder is in an error state. Call builder.reset().");
    return NULL;
}

static PyObject *EventBuilder_check_state(PyObject *op, PyObject *unused)
{
    (void)unused;
    EventBuilderObject *self = (EventBuilderObject *)op;
    if (tld_builder_check_state(&self->builder) != TLD_OK)
        return raise_error_state();
    Py_RETURN_NONE;
}

static PyObject *EventBuilder_get_event_desc(PyObject *op, PyObject *unused)
{
    (void)unused;
    EventBuilderObject *self = (EventBuilderObject *)op;
    if (tld_builder_check_state(&self->builder) != TLD_OK)
        return raise_error_state();
    uint8_t packed[16];
    tld_event_descriptor_pack(&self->builder.desc, packed);
    return PyBytes_FromStringAndSize((const char *)packed, 16);
}

static PyObject *EventBuilder_get_meta_data(PyObject *op, PyObject *unused)
{
    (void)unused;
    EventBuilderObject *self = (EventBuilderObject *)op;
    if (self->builder.meta == NULL)
        return Py_BuildValue("(y#y#)", "", (Py_ssize_t)0, "", (Py_ssize_t)0);
    size_t meta_len, data_len;
    const uint8_t *meta = tld_builder_meta(&self->builder, &meta_len);
    const uint8_t *data = tld_builder_data(&self->builder, &data_len);
    return Py_BuildValue("(y#y#)", meta, (Py_ssize_t)meta_len, data, (Py_ssize_t)data_len);
}

static PyObject *EventBuilder_str(PyObject *op)
{
    EventBuilderObject *self = (EventBuilderObject *)op;
    if (self->name_utf8 == NULL) {
        PyErr_SetString(PyExc_AttributeError, "name_utf8");
        return NULL;
    }
    PyObject *name = PyUnicode_FromEncodedObject(self->name_utf8, "utf-8", "strict");
    if (name == NULL)
        return NULL;
    PyObject *s = PyUnicode_FromFormat("EventBuilder \"%U\"", name);
    Py_DECREF(name);
    return s;
}

static PyObject *EventBuilder_add_struct(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_struct((EventBuilderObject *)op, args, nargs, kwnames);
}

static PyMethodDef builder_methods[] = {
    {"reset", (PyCFunction)(void (*)(void))EventBuilder_reset, METH_FASTCALL | METH_KEYWORDS,
     "reset($self, /, name_utf8, level=5, keyword=1, opcode=0, id=0, version=0, tag=0, task=0, channel=11)\n--\n\n"
     "Starts a new event named name_utf8 (UTF-8 bytes without 0x00). level is 1 (fatal) .. 5 (verbose);\n"
     "keyword is a 64-bit category mask; tag is a 28-bit event tag. Clears the error state."},
    {"check_state", EventBuilder_check_state, METH_NOARGS,
     "check_state($self, /)\n--\n\nRaises ValueError if the builder is in the error state."},
    {"add_struct", (PyCFunction)(void (*)(void))EventBuilder_add_struct, METH_FASTCALL | METH_KEYWORDS,
     "add_struct($self, /, name_utf8, field_count, tag=0)\n--\n\n"
     "Groups the next field_count (1..127) logical fields into a struct named name_utf8."},
    {"_get_event_desc", EventBuilder_get_event_desc, METH_NOARGS,
     "_get_event_desc($self, /)\n--\n\nThe 16-byte EVENT_DESCRIPTOR (ValueError in the error state)."},
    {"_get_meta_data", EventBuilder_get_meta_data, METH_NOARGS,
     "_get_meta_data($self, /)\n--\n\n(meta, data): the metadata blob with its size filled in, and the data blob."},
};

/* tp_methods must be one array: the fixed methods above plus the 61 add_*
 * methods of field_methods.c, joined once at import. */
static PyMethodDef all_methods[sizeof builder_methods / sizeof builder_methods[0] + 64];

static PyMemberDef builder_members[] = {
    {"name_utf8", T_OBJECT_EX, offsetof(EventBuilderObject, name_utf8), 0,
     "Name given to the last successful reset() (b'' before the first)."},
    {NULL, 0, 0, 0, NULL},
};

PyTypeObject EventBuilder_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "traceloggingdynamic.EventBuilder",
    .tp_basicsize = sizeof(EventBuilderObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "EventBuilder(initial_meta_len=128, initial_data_len=512)\n--\n\n"
              "Builds one TraceLogging event: reset() it with the event's name and descriptor,\n"
              "add fields with the add_* methods, then send it with Provider.write(). A builder\n"
              "can be reused for many events. The sizes are capacity hints only: metadata may\n"
              "grow to 32768 bytes and data to 65536 bytes whatever they are.",
    .tp_new = EventBuilder_new,
    .tp_init = EventBuilder_init,
    .tp_dealloc = EventBuilder_dealloc,
    .tp_traverse = EventBuilder_traverse,
    .tp_clear = EventBuilder_clear,
    .tp_str = EventBuilder_str,
    .tp_methods = all_methods,
    .tp_members = builder_members,
    .tp_dictoffset = offsetof(EventBuilderObject, dict),
    .tp_weaklistoffset = offsetof(EventBuilderObject, weakrefs),
    .tp_getset = tldpy_dict_getset,
};

int tldpy_eventbuilder_prepare(void);
int tldpy_eventbuilder_prepare(void)
{
    size_t fixed = sizeof builder_methods / sizeof builder_methods[0];
    if (fixed + (size_t)tldpy_field_method_count + 1 > sizeof all_methods / sizeof all_methods[0]) {
        PyErr_SetString(PyExc_SystemError, "EventBuilder method table too small");
        return -1;
    }
    memcpy(all_methods, builder_methods, sizeof builder_methods);
    memcpy(all_methods + fixed, tldpy_field_methods, sizeof(PyMethodDef) * (size_t)tldpy_field_method_count);
    /* all_methods is zero-initialized, so the entry after the last is the sentinel. */
    return PyType_Ready(&EventBuilder_Type);
}
