/*
 * fields.c — what every EventBuilder.add_* call does, in the order the
 * reference module does it (spec §5.3–§5.5), because that order decides
 * which exception wins and what is left in the buffers:
 *
 *   1. arrays and BINARY take their extra slot;
 *   2. the name is checked (type, NUL);
 *   3. slot limit and metadata room are checked, the field record appended;
 *   4. out_type/tag type errors (deferred from the start) are raised;
 *   5. the value is converted and its data appended in the reference's
 *      write steps (a failing step commits nothing; earlier steps stay).
 *
 * A builder is marked busy during a call: value conversion may run Python
 * code (__index__, __len__, ...), and a callback that re-entered the same
 * builder could move the buffer we are writing into.
 */
#include "fields.h"

#include "byteorder.h"

#include <limits.h>
#include <string.h>

/* ---- small data-writing steps ---- */

static int append_raw(tld_event_builder *b, const void *src, size_t n)
{
    int rc = tld_builder_data_append(b, src, n);
    return rc == TLD_OK ? 0 : tldpy_raise_int(rc);
}

/* Bytes-like (or sequence of ints) value, optionally with a u16 count. */
static int append_generic(tld_event_builder *b, PyObject *value, Py_ssize_t n, int counted)
{
    int rc;
    size_t prefix = counted ? 2 : 0;
    uint8_t *p = tld_builder_data_reserve(b, prefix + (size_t)n, &rc);
    if (p == NULL)
        return tldpy_raise_int(rc);
    if (counted)
        store_le16(p, (uint16_t)n); /* n <= 65534: the reserve enforced it */
    if (tldpy_copy_bytes(value, p + prefix, n) < 0)
        return -1;
    tld_builder_data_commit(b, prefix + (size_t)n);
    return 0;
}

/* The reference calls value.find(...) here; say what that would raise. */
static int raise_no_find(PyObject *value, int wants_str)
{
    int has_find = wants_str ? (PyBytes_Check(value) || PyByteArray_Check(value)) : PyUnicode_Check(value);
    if (has_find)
        PyErr_Format(PyExc_TypeError, "value must be %s, not %.100s", wants_str ? "str" : "bytes",
                     Py_TYPE(value)->tp_name);
    else
        PyErr_Format(PyExc_AttributeError, "'%.100s' object has no attribute 'find' (value must be %s)",
                     Py_TYPE(value)->tp_name, wants_str ? "str" : "bytes or bytearray");
    return -1;
}

static int raise_no_encode(PyObject *value)
{
    PyErr_Format(PyExc_AttributeError, "'%.100s' object has no attribute 'encode' (value must be str)",
                 Py_TYPE(value)->tp_name);
    return -1;
}

static int raise_odd_utf16(void)
{
    PyErr_SetString(PyExc_AssertionError, "len(val) must be even (expected utf-16le bytes)");
    return -1;
}

/* ---- strings ---- */

static int append_utf16(tld_event_builder *b, PyObject *s, Py_ssize_t len, int counted, int terminate)
{
    Py_ssize_t size = tldpy_utf16_size(s, len);
    if (size < 0)
        return -1;
    int rc;
    size_t prefix = counted ? 2 : 0, suffix = terminate ? 2 : 0;
    uint8_t *p = tld_builder_data_reserve(b, prefix + (size_t)size + suffix, &rc);
    if (p == NULL)
        return tldpy_raise_int(rc);
    if (counted)
        store_le16(p, (uint16_t)size);
    tldpy_utf16_write(s, len, p + prefix);
    if (terminate)
        p[prefix + size] = p[prefix + size + 1] = 0;
    tld_builder_data_commit(b, prefix + (size_t)size + suffix);
    return 0;
}

static int append_utf8(tld_event_builder *b, PyObject *s, int counted, int terminate)
{
    Py_ssize_t n;
    const char *u = PyUnicode_AsUTF8AndSize(s, &n);
    if (u == NULL)
        return -1;
    int rc;
    size_t prefix = counted ? 2 : 0, suffix = terminate ? 1 : 0;
    uint8_t *p = tld_builder_data_reserve(b, prefix + (size_t)n + suffix, &rc);
    if (p == NULL)
        return tldpy_raise_int(rc);
    if (counted)
        store_le16(p, (uint16_t)n);
    memcpy(p + prefix, u, (size_t)n);
    if (terminate)
        p[prefix + n] = 0;
    tld_builder_data_commit(b, prefix + (size_t)n + suffix);
    return 0;
}

/* zstr16/zstr8 from str: the prefix through the first NUL (only that prefix
 * is encoded, so a lone surrogate after it is fine), else all + NUL. */
static int append_zstr(tld_event_builder *b, PyObject *s, int utf16)
{
    if (!PyUnicode_Check(s))
        return raise_no_find(s, 1);
    Py_ssize_t len = PyUnicode_GET_LENGTH(s);
    Py_ssize_t nul = PyUnicode_FindChar(s, 0, 0, len, 1);
    if (nul == -2)
        return -1;
    if (nul < 0)
        return utf16 ? append_utf16(b, s, len, 0, 1) : append_utf8(b, s, 0, 1);
    if (utf16)
        return append_utf16(b, s, nul + 1, 0, 0);
    PyObject *prefix = PyUnicode_Substring(s, 0, nul + 1);
    if (prefix == NULL)
        return -1;
    int rc = append_utf8(b, prefix, 0, 0);
    Py_DECREF(prefix);
    return rc;
}

static int bytes_view(PyObject *v, const uint8_t **p, Py_ssize_t *n)
{
    if (PyBytes_Check(v)) {
        *p = (const uint8_t *)PyBytes_AS_STRING(v);
        *n = PyBytes_GET_SIZE(v);
        return 1;
    }
    if (PyByteArray_Check(v)) {
        *p = (const uint8_t *)PyByteArray_AS_STRING(v);
        *n = PyByteArray_GET_SIZE(v);
        return 1;
    }
    return 0;
}

static int append_zstr8_bytes(tld_event_builder *b, PyObject *v)
{
    const uint8_t *p;
    Py_ssize_t n;
    if (!bytes_view(v, &p, &n))
        return raise_no_find(v, 0);
    const uint8_t *nul = n ? memchr(p, 0, (size_t)n) : NULL;
    if (nul != NULL)
        return append_raw(b, p, (size_t)(nul - p) + 1);
    int rc;
    uint8_t *dst = tld_builder_data_reserve(b, (size_t)n + 1, &rc);
    if (dst == NULL)
        return tldpy_raise_int(rc);
    memcpy(dst, p, (size_t)n);
    dst[n] = 0;
    tld_builder_data_commit(b, (size_t)n + 1);
    return 0;
}

static int append_zstr16_bytes(tld_event_builder *b, PyObject *v)
{
    Py_ssize_t len = tldpy_length(v);
    if (len < 0)
        return -1;
    if (len & 1)
        return raise_odd_utf16();
    const uint8_t *p;
    Py_ssize_t n;
    if (!bytes_view(v, &p, &n))
        return raise_no_find(v, 0);
    for (Py_ssize_t i = 0; i + 1 < n; i += 2)
        if (p[i] == 0 && p[i + 1] == 0)
            return append_raw(b, p, (size_t)i + 2);
    int rc;
    uint8_t *dst = tld_builder_data_reserve(b, (size_t)n + 2, &rc);
    if (dst == NULL)
        return tldpy_raise_int(rc);
    memcpy(dst, p, (size_t)n);
    dst[n] = dst[n + 1] = 0;
    tld_builder_data_commit(b, (size_t)n + 2);
    return 0;
}

/* ---- fixed-layout values ---- */

static int append_fixed16(tld_event_builder *b, PyObject *v, int length_error)
{
    Py_ssize_t n = tldpy_length(v);
    if (n < 0)
        return -1;
    if (n != 16) {
        tld_builder_set_error_state(b);
        return tldpy_raise_int(length_error);
    }
    return append_generic(b, v, n, 0);
}

static int append_guid(tld_event_builder *b, PyObject *v)
{
    uint8_t bytes_le[16];
    PyObject *generic;
    if (tldpy_uuid_bytes_le(v, bytes_le, &generic) < 0)
        return -1;
    if (generic == NULL)
        return append_raw(b, bytes_le, 16);
    /* A UUID look-alike: its bytes_le is written as is, whatever its length. */
    Py_ssize_t n = tldpy_length(generic);
    int rc = n < 0 ? -1 : append_generic(b, generic, n, 0);
    Py_DECREF(generic);
    return rc;
}

/* The SubAuthorityCount byte, as `val_bytes[1]` gives it. */
static int sid_subauthority_count(PyObject *v, long long *count)
{
    const uint8_t *p;
    Py_ssize_t n;
    if (bytes_view(v, &p, &n)) {
        if (n < 2)
            return tldpy_raise_int(TLD_E_SID_SHORT);
        *count = p[1];
        return 0;
    }
    PyObject *item = PySequence_GetItem(v, 1);
    if (item == NULL)
        return -1;
    int rc = 0;
    if (PyLong_Check(item)) {
        int overflow;
        *count = PyLong_AsLongLongAndOverflow(item, &overflow);
        if (overflow)
            *count = LLONG_MAX; /* cannot match any length */
    } else {
        PyErr_Format(PyExc_TypeError, "SID bytes must be integers, not %.100s", Py_TYPE(item)->tp_name);
        rc = -1;
    }
    Py_DECREF(item);
    return rc;
}

static int append_sid(tld_event_builder *b, PyObject *v)
{
    Py_ssize_t n = tldpy_length(v);
    if (n < 0)
        return -1;
    long long count = 0;
    if (sid_subauthority_count(v, &count) < 0)
        return -1;
    /* `len != 8 + 4 * b[1]` with Python ints: a list item may be any int. */
    int matches = count >= -(1LL << 40) && count <= (1LL << 40) && (long long)n == 8 + 4 * count;
    if (!matches) {
        tld_builder_set_error_state(b);
        return tldpy_raise_int(TLD_E_SID_LENGTH);
    }
    return append_generic(b, v, n, 0);
}

/* ---- one value ---- */

static size_t number_size(const field_kind *fk)
{
    return fk->kind == K_FLOAT64 ? 8 : fk->kind == K_FLOAT32 ? 4 : fk->size;
}

/* Packs one numeric value of the field's kind at dst. */
static int pack_number(const field_kind *fk, PyObject *v, uint8_t *dst)
{
    if (fk->kind == K_INT)
        return tldpy_pack_int(v, fk->size, fk->is_signed, dst);
    if (fk->kind == K_FLOAT32)
        return tldpy_pack_float32(v, dst);
    return tldpy_pack_float64(v, dst);
}

static int append_number(tld_event_builder *b, const field_kind *fk, PyObject *v)
{
    size_t size = number_size(fk);
    int rc;
    uint8_t *p = tld_builder_data_reserve(b, size, &rc);
    if (p == NULL)
        return tldpy_raise_int(rc);
    if (pack_number(fk, v, p) < 0)
        return -1;
    tld_builder_data_commit(b, size);
    return 0;
}

static int append_value(tld_event_builder *b, const field_kind *fk, PyObject *v)
{
    Py_ssize_t n;
    switch (fk->kind) {
    case K_INT:
    case K_FLOAT32:
    case K_FLOAT64:
        return append_number(b, fk, v);
    case K_ZSTR16:
        return append_zstr(b, v, 1);
    case K_ZSTR8:
        return append_zstr(b, v, 0);
    case K_ZSTR16_BYTES:
        return append_zstr16_bytes(b, v);
    case K_ZSTR8_BYTES:
        return append_zstr8_bytes(b, v);
    case K_STR16:
        if (!PyUnicode_Check(v))
            return raise_no_encode(v);
        return append_utf16(b, v, PyUnicode_GET_LENGTH(v), 1, 0);
    case K_STR8:
        if (!PyUnicode_Check(v))
            return raise_no_encode(v);
        return append_utf8(b, v, 1, 0);
    case K_STR16_BYTES:
        n = tldpy_length(v);
        if (n < 0)
            return -1;
        if (n & 1)
            return raise_odd_utf16();
        return append_generic(b, v, n, 1);
    case K_COUNTED:
        n = tldpy_length(v);
        return n < 0 ? -1 : append_generic(b, v, n, 1);
    case K_GUID:
        return append_guid(b, v);
    case K_GUID_BYTES:
        return append_fixed16(b, v, TLD_E_GUID_LENGTH);
    case K_SYSTEMTIME:
        return append_fixed16(b, v, TLD_E_SYSTEMTIME_LENGTH);
    case K_SID:
        return append_sid(b, v);
    }
    PyErr_SetString(PyExc_SystemError, "unknown field kind");
    return -1;
}

/* ---- arrays ---- */

static int raise_length_changed(void)
{
    PyErr_SetString(PyExc_AssertionError, "sequence length changed while it was being written");
    return -1;
}

/* Numeric arrays are one write step: count and every element, or nothing. */
static int append_number_array(tld_event_builder *b, const field_kind *fk, PyObject *vals)
{
    Py_ssize_t n = tldpy_length(vals);
    if (n < 0)
        return -1;
    size_t size = number_size(fk);
    /* Anything longer than the data limit fails the reserve; clamp first so
     * the multiplication cannot overflow. */
    size_t total = (size_t)n > TLD_MAX_DATA_SIZE ? (size_t)TLD_MAX_DATA_SIZE + 1 : 2 + (size_t)n * size;
    int rc;
    uint8_t *p = tld_builder_data_reserve(b, total, &rc);
    if (p == NULL)
        return tldpy_raise_int(rc);
    store_le16(p, (uint16_t)n);
    if (PyList_CheckExact(vals) || PyTuple_CheckExact(vals)) {
        /* Bounds for the small-int fast path (compact ints are < 2**30). */
        long long lo = fk->is_signed ? (fk->size == 1 ? -128 : fk->size == 2 ? -32768 : -(1LL << 31)) : 0;
        long long hi = fk->size == 1 ? (fk->is_signed ? 127 : 255) : fk->size == 2 ? (fk->is_signed ? 32767 : 65535)
                                                                                   : (1LL << 31) - 1;
        for (Py_ssize_t i = 0; i < n; i++) {
            /* An element's __index__ may shrink the list: re-check each time. */
            if (i >= PySequence_Fast_GET_SIZE(vals))
                return raise_length_changed();
            PyObject *item = PySequence_Fast_GET_ITEM(vals, i);
            long long x;
            if (fk->kind == K_INT && PyLong_CheckExact(item) && tldpy_compact_long(item, &x) && x >= lo && x <= hi) {
                uint8_t *dst = p + 2 + i * size;
                switch (size) {
                case 1: dst[0] = (uint8_t)x; break;
                case 2: store_le16(dst, (uint16_t)x); break;
                case 4: store_le32(dst, (uint32_t)x); break;
                default: store_le64(dst, (uint64_t)x); break;
                }
                continue;
            }
            Py_INCREF(item);
            rc = pack_number(fk, item, p + 2 + i * size);
            Py_DECREF(item);
            if (rc < 0)
                return -1;
        }
        /* The reference iterates: a list that grew meanwhile has more
         * elements than its count, which it reports as an assertion. */
        if (PySequence_Fast_GET_SIZE(vals) != n)
            return raise_length_changed();
    } else {
        PyObject *it = PyObject_GetIter(vals);
        if (it == NULL)
            return -1;
        Py_ssize_t i = 0;
        PyObject *item;
        while ((item = PyIter_Next(it)) != NULL) {
            if (i >= n) {
                Py_DECREF(item);
                Py_DECREF(it);
                return raise_length_changed();
            }
            rc = pack_number(fk, item, p + 2 + i * size);
            Py_DECREF(item);
            if (rc < 0) {
                Py_DECREF(it);
                return -1;
            }
            i++;
        }
        Py_DECREF(it);
        if (PyErr_Occurred())
            return -1;
        if (i != n)
            return raise_length_changed();
    }
    tld_builder_data_commit(b, total);
    return 0;
}

/* Other arrays: the count is its own step, then each element is written
 * (and stays written) one at a time. */
static int append_value_array(tld_event_builder *b, const field_kind *fk, PyObject *vals)
{
    Py_ssize_t n = tldpy_length(vals);
    if (n < 0)
        return -1;
    int rc;
    uint8_t *p = tld_builder_data_reserve(b, 2, &rc);
    if (p == NULL)
        return tldpy_raise_int(rc);
    if (n > 0xFFFF) {
        PyErr_Format(tld_FieldRangeError, "an array holds at most 65535 elements, got %zd", n);
        return -1;
    }
    store_le16(p, (uint16_t)n);
    tld_builder_data_commit(b, 2);
    PyObject *it = PyObject_GetIter(vals);
    if (it == NULL)
        return -1;
    PyObject *item;
    while ((item = PyIter_Next(it)) != NULL) {
        rc = append_value(b, fk, item);
        Py_DECREF(item);
        if (rc < 0) {
            Py_DECREF(it);
            return -1;
        }
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

/* ---- field record ---- */

/* Python's `value != 0`. */
static int is_nonzero(PyObject *value)
{
    if (PyLong_CheckExact(value)) {
        int overflow;
        long long x = PyLong_AsLongLongAndOverflow(value, &overflow);
        return overflow || x != 0;
    }
    static PyObject *zero;
    if (zero == NULL && (zero = PyLong_FromLong(0)) == NULL)
        return -1;
    return PyObject_RichCompareBool(value, zero, Py_NE);
}

/* The record's layout from out_type and tag as passed (spec §5.3). Masking
 * errors (a None or float out_type/tag) are left pending in *deferred: the
 * reference raises them only after the slot and metadata checks. */
typedef struct field_record {
    unsigned flags;
    uint64_t out_type, tag;
} field_record;

static int describe_record(PyObject *out_obj, uint8_t default_out, PyObject *tag_obj,
                           field_record *r, int *deferred)
{
    r->flags = 0;
    r->out_type = r->tag = 0;
    *deferred = 0;
    int tag_nonzero = tag_obj ? is_nonzero(tag_obj) : 0;
    if (tag_nonzero < 0)
        return -1;
    int out_nonzero = 0;
    if (!tag_nonzero) {
        out_nonzero = out_obj ? is_nonzero(out_obj) : default_out != 0;
        if (out_nonzero < 0)
            return -1;
    }
    if (tag_nonzero)
        r->flags = TLD_FIELD_HAS_TAG;
    else if (out_nonzero)
        r->flags = TLD_FIELD_HAS_OUT;
    if (r->flags == 0)
        return 0;
    int failed = 0;
    if (out_obj == NULL)
        r->out_type = default_out;
    else if (tldpy_int_and_mask(out_obj, 0x7F, &r->out_type) < 0)
        failed = 1;
    if (!failed && tag_nonzero && tldpy_int_and_mask(tag_obj, TLD_MAX_TAG, &r->tag) < 0)
        failed = 1;
    *deferred = failed;
    return 0;
}

/* Steps 1-4 of the header comment. */
static int begin_field(tld_event_builder *b, PyObject *name_obj, uint8_t in_type, PyObject *out_obj,
                       uint8_t default_out, PyObject *tag_obj)
{
    field_record r;
    int deferred;
    if (describe_record(out_obj, default_out, tag_obj, &r, &deferred) < 0) {
        tld_builder_note_failed_field(b, in_type);
        return -1;
    }
    PyObject *pending_type = NULL, *pending_value = NULL, *pending_tb = NULL;
    if (deferred)
        PyErr_Fetch(&pending_type, &pending_value, &pending_tb);

    const char *name;
    Py_ssize_t name_len;
    int rc;
    if (tldpy_name_view(name_obj, &name, &name_len) < 0) {
        tld_builder_note_failed_field(b, in_type);
        rc = -1;
    } else {
        int core = deferred ? tld_builder_reserve_field(b, name, (size_t)name_len, in_type, r.flags)
                            : tld_builder_add_field(b, name, (size_t)name_len, in_type, r.out_type, r.tag, r.flags);
        rc = core == TLD_OK ? 0 : tldpy_raise_int(core);
    }
    if (deferred) {
        if (rc == 0) {
            PyErr_Restore(pending_type, pending_value, pending_tb);
            return -1;
        }
        Py_XDECREF(pending_type);
        Py_XDECREF(pending_value);
        Py_XDECREF(pending_tb);
    }
    return rc;
}

static int enter(EventBuilderObject *self)
{
    if (self->builder.meta == NULL) {
        PyErr_SetString(PyExc_ValueError, "EventBuilder.__init__() was not called");
        return -1;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError,
                        "EventBuilder used from inside one of its own value conversions");
        return -1;
    }
    self->busy = 1;
    return 0;
}

PyObject *tldpy_add_field(EventBuilderObject *self, const field_kind *fk, PyObject *const *args,
                        Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *a[4] = {NULL, NULL, NULL, NULL};
    if (nargs == 2 && kwnames == NULL) {
        a[0] = args[0];
        a[1] = args[1];
    } else if (tldpy_parse_args(&fk->sig, args, nargs, kwnames, a) < 0) {
        return NULL;
    }
    if (enter(self) < 0)
        return NULL;
    tld_event_builder *b = &self->builder;
    uint8_t in_type = (uint8_t)(fk->in_type | (fk->is_seq ? TLD_IN_VCOUNT : 0));
    int rc = begin_field(b, a[0], in_type, a[2], fk->default_out, a[3]);
    if (rc == 0) {
        if (!fk->is_seq)
            rc = append_value(b, fk, a[1]);
        else if (fk->kind == K_INT || fk->kind == K_FLOAT32 || fk->kind == K_FLOAT64)
            rc = append_number_array(b, fk, a[1]);
        else
            rc = append_value_array(b, fk, a[1]);
    }
    self->busy = 0;
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* `1 <= field_count <= 127`, evaluated as Python would. */
static int struct_count_ok(PyObject *count, int *ok)
{
    if (PyLong_Check(count)) {
        int overflow;
        long long c = PyLong_AsLongLongAndOverflow(count, &overflow);
        *ok = !overflow && c >= 1 && c <= (long long)TLD_MAX_STRUCT_FIELDS;
        return 0;
    }
    PyObject *one = PyLong_FromLong(1), *max = PyLong_FromLong(TLD_MAX_STRUCT_FIELDS);
    int lo = one ? PyObject_RichCompareBool(one, count, Py_LE) : -1;
    int hi = (lo == 1 && max) ? PyObject_RichCompareBool(count, max, Py_LE) : 0;
    Py_XDECREF(one);
    Py_XDECREF(max);
    if (lo < 0 || hi < 0)
        return -1;
    *ok = lo && hi;
    return 0;
}

static const char *const struct_params[] = {"name_utf8", "field_count", "tag"};
static const tldpy_signature struct_sig = {"add_struct", 3, 2, struct_params};

PyObject *tldpy_add_struct(EventBuilderObject *self, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames)
{
    PyObject *a[3];
    if (tldpy_parse_args(&struct_sig, args, nargs, kwnames, a) < 0)
        return NULL;
    /* The member-count check comes before everything else, even the name. */
    int ok;
    if (struct_count_ok(a[1], &ok) < 0)
        return NULL;
    if (!ok)
        return tldpy_raise(TLD_E_STRUCT_COUNT);
    if (enter(self) < 0)
        return NULL;
    /* The count travels in the out-type byte. */
    int rc = begin_field(&self->builder, a[0], TLD_IN_STRUCT, a[1], 0, a[2]);
    self->busy = 0;
    if (rc < 0)
        return NULL;
    Py_RETURN_NONE;
}
