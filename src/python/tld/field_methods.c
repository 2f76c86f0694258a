/*
 * field_methods.c — EventBuilder's add_* methods: one entry per method
 * in a table (in-type, value conversion, parameter names) and a one-line
 * wrapper per method, since a PyMethodDef needs a distinct C function.
 * The work is done by tldpy_add_field() in fields.c.
 */
#include "fields.h"

/* Parameter names (keyword arguments are accepted under exactly these). */
static const char *const params_val_bytes[] = {"name_utf8", "val_bytes", "out_type", "tag"};
static const char *const params_val_bytes_le[] = {"name_utf8", "val_bytes_le", "out_type", "tag"};
static const char *const params_val_bytes_utf16le[] = {"name_utf8", "val_bytes_utf16le", "out_type", "tag"};
static const char *const params_val_float[] = {"name_utf8", "val_float", "out_type", "tag"};
static const char *const params_val_int[] = {"name_utf8", "val_int", "out_type", "tag"};
static const char *const params_val_str[] = {"name_utf8", "val_str", "out_type", "tag"};
static const char *const params_val_uuid[] = {"name_utf8", "val_uuid", "out_type", "tag"};
static const char *const params_vals_bytes[] = {"name_utf8", "vals_bytes", "out_type", "tag"};
static const char *const params_vals_bytes_le[] = {"name_utf8", "vals_bytes_le", "out_type", "tag"};
static const char *const params_vals_bytes_utf16le[] = {"name_utf8", "vals_bytes_utf16le", "out_type", "tag"};
static const char *const params_vals_float[] = {"name_utf8", "vals_float", "out_type", "tag"};
static const char *const params_vals_int[] = {"name_utf8", "vals_int", "out_type", "tag"};
static const char *const params_vals_str[] = {"name_utf8", "vals_str", "out_type", "tag"};
static const char *const params_vals_uuid[] = {"name_utf8", "vals_uuid", "out_type", "tag"};

static const field_kind field_kinds[] = {
    {{"add_zstr16", 4, 2, params_val_str}, TLD_IN_UNICODESTRING, K_ZSTR16, 0, 0, 0, 0},
    {{"add_zstr16_seq", 4, 2, params_vals_str}, TLD_IN_UNICODESTRING, K_ZSTR16, 0, 0, 1, 0},
    {{"add_zstr16_bytes_utf16le", 4, 2, params_val_bytes_utf16le}, TLD_IN_UNICODESTRING, K_ZSTR16_BYTES, 0, 0, 0, 0},
    {{"add_zstr16_bytes_utf16le_seq", 4, 2, params_vals_bytes_utf16le}, TLD_IN_UNICODESTRING, K_ZSTR16_BYTES, 0, 0, 1, 0},
    {{"add_zstr8", 4, 2, params_val_str}, TLD_IN_ANSISTRING, K_ZSTR8, 0, 0, 0, 35},
    {{"add_zstr8_seq", 4, 2, params_vals_str}, TLD_IN_ANSISTRING, K_ZSTR8, 0, 0, 1, 35},
    {{"add_zstr8_bytes", 4, 2, params_val_bytes}, TLD_IN_ANSISTRING, K_ZSTR8_BYTES, 0, 0, 0, 0},
    {{"add_zstr8_bytes_seq", 4, 2, params_vals_bytes}, TLD_IN_ANSISTRING, K_ZSTR8_BYTES, 0, 0, 1, 0},
    {{"add_int8", 4, 2, params_val_int}, TLD_IN_INT8, K_INT, 1, 1, 0, 0},
    {{"add_int8_seq", 4, 2, params_vals_int}, TLD_IN_INT8, K_INT, 1, 1, 1, 0},
    {{"add_uint8", 4, 2, params_val_int}, TLD_IN_UINT8, K_INT, 1, 0, 0, 0},
    {{"add_uint8_seq", 4, 2, params_vals_int}, TLD_IN_UINT8, K_INT, 1, 0, 1, 0},
    {{"add_int16", 4, 2, params_val_int}, TLD_IN_INT16, K_INT, 2, 1, 0, 0},
    {{"add_int16_seq", 4, 2, params_vals_int}, TLD_IN_INT16, K_INT, 2, 1, 1, 0},
    {{"add_uint16", 4, 2, params_val_int}, TLD_IN_UINT16, K_INT, 2, 0, 0, 0},
    {{"add_uint16_seq", 4, 2, params_vals_int}, TLD_IN_UINT16, K_INT, 2, 0, 1, 0},
    {{"add_int32", 4, 2, params_val_int}, TLD_IN_INT32, K_INT, 4, 1, 0, 0},
    {{"add_int32_seq", 4, 2, params_vals_int}, TLD_IN_INT32, K_INT, 4, 1, 1, 0},
    {{"add_uint32", 4, 2, params_val_int}, TLD_IN_UINT32, K_INT, 4, 0, 0, 0},
    {{"add_uint32_seq", 4, 2, params_vals_int}, TLD_IN_UINT32, K_INT, 4, 0, 1, 0},
    {{"add_int64", 4, 2, params_val_int}, TLD_IN_INT64, K_INT, 8, 1, 0, 0},
    {{"add_int64_seq", 4, 2, params_vals_int}, TLD_IN_INT64, K_INT, 8, 1, 1, 0},
    {{"add_uint64", 4, 2, params_val_int}, TLD_IN_UINT64, K_INT, 8, 0, 0, 0},
    {{"add_uint64_seq", 4, 2, params_vals_int}, TLD_IN_UINT64, K_INT, 8, 0, 1, 0},
    {{"add_intptr", 4, 2, params_val_int}, TLD_IN_INTPTR, K_INT, sizeof(void *), 1, 0, 0},
    {{"add_intptr_seq", 4, 2, params_vals_int}, TLD_IN_INTPTR, K_INT, sizeof(void *), 1, 1, 0},
    {{"add_uintptr", 4, 2, params_val_int}, TLD_IN_UINTPTR, K_INT, sizeof(void *), 0, 0, 0},
    {{"add_uintptr_seq", 4, 2, params_vals_int}, TLD_IN_UINTPTR, K_INT, sizeof(void *), 0, 1, 0},
    {{"add_float32", 4, 2, params_val_float}, TLD_IN_FLOAT, K_FLOAT32, 4, 0, 0, 0},
    {{"add_float32_seq", 4, 2, params_vals_float}, TLD_IN_FLOAT, K_FLOAT32, 4, 0, 1, 0},
    {{"add_float64", 4, 2, params_val_float}, TLD_IN_DOUBLE, K_FLOAT64, 8, 0, 0, 0},
    {{"add_float64_seq", 4, 2, params_vals_float}, TLD_IN_DOUBLE, K_FLOAT64, 8, 0, 1, 0},
    {{"add_bool32", 4, 2, params_val_int}, TLD_IN_BOOL32, K_INT, 4, 1, 0, 0},
    {{"add_bool32_seq", 4, 2, params_vals_int}, TLD_IN_BOOL32, K_INT, 4, 1, 1, 0},
    {{"add_binary_bytes", 4, 2, params_val_bytes}, TLD_IN_BINARY, K_COUNTED, 0, 0, 0, 0},
    {{"add_guid", 4, 2, params_val_uuid}, TLD_IN_GUID, K_GUID, 0, 0, 0, 0},
    {{"add_guid_seq", 4, 2, params_vals_uuid}, TLD_IN_GUID, K_GUID, 0, 0, 1, 0},
    {{"add_guid_bytes_le", 4, 2, params_val_bytes_le}, TLD_IN_GUID, K_GUID_BYTES, 0, 0, 0, 0},
    {{"add_guid_bytes_le_seq", 4, 2, params_vals_bytes_le}, TLD_IN_GUID, K_GUID_BYTES, 0, 0, 1, 0},
    {{"add_filetime_int64", 4, 2, params_val_int}, TLD_IN_FILETIME, K_INT, 8, 1, 0, 0},
    {{"add_filetime_int64_seq", 4, 2, params_vals_int}, TLD_IN_FILETIME, K_INT, 8, 1, 1, 0},
    {{"add_systemtime_bytes", 4, 2, params_val_bytes}, TLD_IN_SYSTEMTIME, K_SYSTEMTIME, 0, 0, 0, 0},
    {{"add_systemtime_bytes_seq", 4, 2, params_vals_bytes}, TLD_IN_SYSTEMTIME, K_SYSTEMTIME, 0, 0, 1, 0},
    {{"add_sid_bytes", 4, 2, params_val_bytes}, TLD_IN_SID, K_SID, 0, 0, 0, 0},
    {{"add_sid_bytes_seq", 4, 2, params_vals_bytes}, TLD_IN_SID, K_SID, 0, 0, 1, 0},
    {{"add_hexint32", 4, 2, params_val_int}, TLD_IN_HEXINT32, K_INT, 4, 0, 0, 0},
    {{"add_hexint32_seq", 4, 2, params_vals_int}, TLD_IN_HEXINT32, K_INT, 4, 0, 1, 0},
    {{"add_hexint64", 4, 2, params_val_int}, TLD_IN_HEXINT64, K_INT, 8, 0, 0, 0},
    {{"add_hexint64_seq", 4, 2, params_vals_int}, TLD_IN_HEXINT64, K_INT, 8, 0, 1, 0},
    {{"add_hexintptr", 4, 2, params_val_int}, TLD_IN_POINTER, K_INT, sizeof(void *), 0, 0, 0},
    {{"add_hexintptr_seq", 4, 2, params_vals_int}, TLD_IN_POINTER, K_INT, sizeof(void *), 0, 1, 0},
    {{"add_str16", 4, 2, params_val_str}, TLD_IN_COUNTEDSTRING, K_STR16, 0, 0, 0, 0},
    {{"add_str16_seq", 4, 2, params_vals_str}, TLD_IN_COUNTEDSTRING, K_STR16, 0, 0, 1, 0},
    {{"add_str16_bytes_utf16le", 4, 2, params_val_bytes_utf16le}, TLD_IN_COUNTEDSTRING, K_STR16_BYTES, 0, 0, 0, 0},
    {{"add_str16_bytes_utf16le_seq", 4, 2, params_vals_bytes_utf16le}, TLD_IN_COUNTEDSTRING, K_STR16_BYTES, 0, 0, 1, 0},
    {{"add_str8", 4, 2, params_val_str}, TLD_IN_COUNTEDANSISTRING, K_STR8, 0, 0, 0, 35},
    {{"add_str8_seq", 4, 2, params_vals_str}, TLD_IN_COUNTEDANSISTRING, K_STR8, 0, 0, 1, 35},
    {{"add_str8_bytes", 4, 2, params_val_bytes}, TLD_IN_COUNTEDANSISTRING, K_COUNTED, 0, 0, 0, 0},
    {{"add_str8_bytes_seq", 4, 2, params_vals_bytes}, TLD_IN_COUNTEDANSISTRING, K_COUNTED, 0, 0, 1, 0},
    {{"add_cbinary_bytes", 4, 2, params_val_bytes}, TLD_IN_COUNTEDBINARY, K_COUNTED, 0, 0, 0, 0},
    {{"add_cbinary_bytes_seq", 4, 2, params_vals_bytes}, TLD_IN_COUNTEDBINARY, K_COUNTED, 0, 0, 1, 0},
};

enum {
    FK_ZSTR16 = 0,
    FK_ZSTR16_SEQ = 1,
    FK_ZSTR16_BYTES_UTF16LE = 2,
    FK_ZSTR16_BYTES_UTF16LE_SEQ = 3,
    FK_ZSTR8 = 4,
    FK_ZSTR8_SEQ = 5,
    FK_ZSTR8_BYTES = 6,
    FK_ZSTR8_BYTES_SEQ = 7,
    FK_INT8 = 8,
    FK_INT8_SEQ = 9,
    FK_UINT8 = 10,
    FK_UINT8_SEQ = 11,
    FK_INT16 = 12,
    FK_INT16_SEQ = 13,
    FK_UINT16 = 14,
    FK_UINT16_SEQ = 15,
    FK_INT32 = 16,
    FK_INT32_SEQ = 17,
    FK_UINT32 = 18,
    FK_UINT32_SEQ = 19,
    FK_INT64 = 20,
    FK_INT64_SEQ = 21,
    FK_UINT64 = 22,
    FK_UINT64_SEQ = 23,
    FK_INTPTR = 24,
    FK_INTPTR_SEQ = 25,
    FK_UINTPTR = 26,
    FK_UINTPTR_SEQ = 27,
    FK_FLOAT32 = 28,
    FK_FLOAT32_SEQ = 29,
    FK_FLOAT64 = 30,
    FK_FLOAT64_SEQ = 31,
    FK_BOOL32 = 32,
    FK_BOOL32_SEQ = 33,
    FK_BINARY_BYTES = 34,
    FK_GUID = 35,
    FK_GUID_SEQ = 36,
    FK_GUID_BYTES_LE = 37,
    FK_GUID_BYTES_LE_SEQ = 38,
    FK_FILETIME_INT64 = 39,
    FK_FILETIME_INT64_SEQ = 40,
    FK_SYSTEMTIME_BYTES = 41,
    FK_SYSTEMTIME_BYTES_SEQ = 42,
    FK_SID_BYTES = 43,
    FK_SID_BYTES_SEQ = 44,
    FK_HEXINT32 = 45,
    FK_HEXINT32_SEQ = 46,
    FK_HEXINT64 = 47,
    FK_HEXINT64_SEQ = 48,
    FK_HEXINTPTR = 49,
    FK_HEXINTPTR_SEQ = 50,
    FK_STR16 = 51,
    FK_STR16_SEQ = 52,
    FK_STR16_BYTES_UTF16LE = 53,
    FK_STR16_BYTES_UTF16LE_SEQ = 54,
    FK_STR8 = 55,
    FK_STR8_SEQ = 56,
    FK_STR8_BYTES = 57,
    FK_STR8_BYTES_SEQ = 58,
    FK_CBINARY_BYTES = 59,
    FK_CBINARY_BYTES_SEQ = 60,
};

static PyObject *EventBuilder_add_zstr16(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_ZSTR16], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_zstr16_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_ZSTR16_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_zstr16_bytes_utf16le(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_ZSTR16_BYTES_UTF16LE], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_zstr16_bytes_utf16le_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_ZSTR16_BYTES_UTF16LE_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_zstr8(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_ZSTR8], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_zstr8_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_ZSTR8_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_zstr8_bytes(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_ZSTR8_BYTES], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_zstr8_bytes_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_ZSTR8_BYTES_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_int8(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_INT8], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_int8_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_INT8_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_uint8(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_UINT8], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_uint8_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_UINT8_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_int16(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_INT16], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_int16_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_INT16_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_uint16(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_UINT16], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_uint16_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_UINT16_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_int32(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_INT32], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_int32_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_INT32_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_uint32(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_UINT32], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_uint32_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_UINT32_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_int64(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_INT64], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_int64_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_INT64_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_uint64(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_UINT64], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_uint64_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_UINT64_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_intptr(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_INTPTR], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_intptr_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_INTPTR_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_uintptr(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_UINTPTR], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_uintptr_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_UINTPTR_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_float32(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_FLOAT32], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_float32_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_FLOAT32_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_float64(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_FLOAT64], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_float64_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_FLOAT64_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_bool32(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_BOOL32], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_bool32_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_BOOL32_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_binary_bytes(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_BINARY_BYTES], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_guid(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_GUID], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_guid_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_GUID_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_guid_bytes_le(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_GUID_BYTES_LE], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_guid_bytes_le_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_GUID_BYTES_LE_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_filetime_int64(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_FILETIME_INT64], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_filetime_int64_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_FILETIME_INT64_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_systemtime_bytes(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_SYSTEMTIME_BYTES], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_systemtime_bytes_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_SYSTEMTIME_BYTES_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_sid_bytes(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_SID_BYTES], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_sid_bytes_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_SID_BYTES_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_hexint32(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_HEXINT32], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_hexint32_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_HEXINT32_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_hexint64(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_HEXINT64], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_hexint64_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_HEXINT64_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_hexintptr(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_HEXINTPTR], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_hexintptr_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_HEXINTPTR_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_str16(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_STR16], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_str16_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_STR16_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_str16_bytes_utf16le(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_STR16_BYTES_UTF16LE], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_str16_bytes_utf16le_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_STR16_BYTES_UTF16LE_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_str8(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_STR8], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_str8_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_STR8_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_str8_bytes(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_STR8_BYTES], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_str8_bytes_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_STR8_BYTES_SEQ], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_cbinary_bytes(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_CBINARY_BYTES], args, nargs, kwnames);
}

static PyObject *EventBuilder_add_cbinary_bytes_seq(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    return tldpy_add_field((EventBuilderObject *)self, &field_kinds[FK_CBINARY_BYTES_SEQ], args, nargs, kwnames);
}

#define FIELD_METHOD_FLAGS (METH_FASTCALL | METH_KEYWORDS)

PyMethodDef tldpy_field_methods[] = {
    {"add_zstr16", (PyCFunction)(void (*)(void))EventBuilder_add_zstr16, FIELD_METHOD_FLAGS,
     "add_zstr16($self, /, name_utf8, val_str, out_type=0, tag=0)\n--\n\nAdds a field holding a NUL-terminated UTF-16LE string (str)."},
    {"add_zstr16_seq", (PyCFunction)(void (*)(void))EventBuilder_add_zstr16_seq, FIELD_METHOD_FLAGS,
     "add_zstr16_seq($self, /, name_utf8, vals_str, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a NUL-terminated UTF-16LE string (str)."},
    {"add_zstr16_bytes_utf16le", (PyCFunction)(void (*)(void))EventBuilder_add_zstr16_bytes_utf16le, FIELD_METHOD_FLAGS,
     "add_zstr16_bytes_utf16le($self, /, name_utf8, val_bytes_utf16le, out_type=0, tag=0)\n--\n\nAdds a field holding a NUL-terminated UTF-16LE string (bytes)."},
    {"add_zstr16_bytes_utf16le_seq", (PyCFunction)(void (*)(void))EventBuilder_add_zstr16_bytes_utf16le_seq, FIELD_METHOD_FLAGS,
     "add_zstr16_bytes_utf16le_seq($self, /, name_utf8, vals_bytes_utf16le, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a NUL-terminated UTF-16LE string (bytes)."},
    {"add_zstr8", (PyCFunction)(void (*)(void))EventBuilder_add_zstr8, FIELD_METHOD_FLAGS,
     "add_zstr8($self, /, name_utf8, val_str, out_type=35, tag=0)\n--\n\nAdds a field holding a NUL-terminated UTF-8 string (str)."},
    {"add_zstr8_seq", (PyCFunction)(void (*)(void))EventBuilder_add_zstr8_seq, FIELD_METHOD_FLAGS,
     "add_zstr8_seq($self, /, name_utf8, vals_str, out_type=35, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a NUL-terminated UTF-8 string (str)."},
    {"add_zstr8_bytes", (PyCFunction)(void (*)(void))EventBuilder_add_zstr8_bytes, FIELD_METHOD_FLAGS,
     "add_zstr8_bytes($self, /, name_utf8, val_bytes, out_type=0, tag=0)\n--\n\nAdds a field holding a NUL-terminated 8-bit string (bytes)."},
    {"add_zstr8_bytes_seq", (PyCFunction)(void (*)(void))EventBuilder_add_zstr8_bytes_seq, FIELD_METHOD_FLAGS,
     "add_zstr8_bytes_seq($self, /, name_utf8, vals_bytes, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a NUL-terminated 8-bit string (bytes)."},
    {"add_int8", (PyCFunction)(void (*)(void))EventBuilder_add_int8, FIELD_METHOD_FLAGS,
     "add_int8($self, /, name_utf8, val_int, out_type=0, tag=0)\n--\n\nAdds a field holding a signed 8-bit integer."},
    {"add_int8_seq", (PyCFunction)(void (*)(void))EventBuilder_add_int8_seq, FIELD_METHOD_FLAGS,
     "add_int8_seq($self, /, name_utf8, vals_int, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a signed 8-bit integer."},
    {"add_uint8", (PyCFunction)(void (*)(void))EventBuilder_add_uint8, FIELD_METHOD_FLAGS,
     "add_uint8($self, /, name_utf8, val_int, out_type=0, tag=0)\n--\n\nAdds a field holding an unsigned 8-bit integer."},
    {"add_uint8_seq", (PyCFunction)(void (*)(void))EventBuilder_add_uint8_seq, FIELD_METHOD_FLAGS,
     "add_uint8_seq($self, /, name_utf8, vals_int, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element an unsigned 8-bit integer."},
    {"add_int16", (PyCFunction)(void (*)(void))EventBuilder_add_int16, FIELD_METHOD_FLAGS,
     "add_int16($self, /, name_utf8, val_int, out_type=0, tag=0)\n--\n\nAdds a field holding a signed 16-bit integer."},
    {"add_int16_seq", (PyCFunction)(void (*)(void))EventBuilder_add_int16_seq, FIELD_METHOD_FLAGS,
     "add_int16_seq($self, /, name_utf8, vals_int, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a signed 16-bit integer."},
    {"add_uint16", (PyCFunction)(void (*)(void))EventBuilder_add_uint16, FIELD_METHOD_FLAGS,
     "add_uint16($self, /, name_utf8, val_int, out_type=0, tag=0)\n--\n\nAdds a field holding an unsigned 16-bit integer."},
    {"add_uint16_seq", (PyCFunction)(void (*)(void))EventBuilder_add_uint16_seq, FIELD_METHOD_FLAGS,
     "add_uint16_seq($self, /, name_utf8, vals_int, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element an unsigned 16-bit integer."},
    {"add_int32", (PyCFunction)(void (*)(void))EventBuilder_add_int32, FIELD_METHOD_FLAGS,
     "add_int32($self, /, name_utf8, val_int, out_type=0, tag=0)\n--\n\nAdds a field holding a signed 32-bit integer."},
    {"add_int32_seq", (PyCFunction)(void (*)(void))EventBuilder_add_int32_seq, FIELD_METHOD_FLAGS,
     "add_int32_seq($self, /, name_utf8, vals_int, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a signed 32-bit integer."},
    {"add_uint32", (PyCFunction)(void (*)(void))EventBuilder_add_uint32, FIELD_METHOD_FLAGS,
     "add_uint32($self, /, name_utf8, val_int, out_type=0, tag=0)\n--\n\nAdds a field holding an unsigned 32-bit integer."},
    {"add_uint32_seq", (PyCFunction)(void (*)(void))EventBuilder_add_uint32_seq, FIELD_METHOD_FLAGS,
     "add_uint32_seq($self, /, name_utf8, vals_int, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element an unsigned 32-bit integer."},
    {"add_int64", (PyCFunction)(void (*)(void))EventBuilder_add_int64, FIELD_METHOD_FLAGS,
     "add_int64($self, /, name_utf8, val_int, out_type=0, tag=0)\n--\n\nAdds a field holding a signed 64-bit integer."},
    {"add_int64_seq", (PyCFunction)(void (*)(void))EventBuilder_add_int64_seq, FIELD_METHOD_FLAGS,
     "add_int64_seq($self, /, name_utf8, vals_int, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a signed 64-bit integer."},
    {"add_uint64", (PyCFunction)(void (*)(void))EventBuilder_add_uint64, FIELD_METHOD_FLAGS,
     "add_uint64($self, /, name_utf8, val_int, out_type=0, tag=0)\n--\n\nAdds a field holding an unsigned 64-bit integer."},
    {"add_uint64_seq", (PyCFunction)(void (*)(void))EventBuilder_add_uint64_seq, FIELD_METHOD_FLAGS,
     "add_uint64_seq($self, /, name_utf8, vals_int, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element an unsigned 64-bit integer."},
    {"add_intptr", (PyCFunction)(void (*)(void))EventBuilder_add_intptr, FIELD_METHOD_FLAGS,
     "add_intptr($self, /, name_utf8, val_int, out_type=0, tag=0)\n--\n\nAdds a field holding a pointer-sized signed integer."},
    {"add_intptr_seq", (PyCFunction)(void (*)(void))EventBuilder_add_intptr_seq, FIELD_METHOD_FLAGS,
     "add_intptr_seq($self, /, name_utf8, vals_int, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a pointer-sized signed integer."},
    {"add_uintptr", (PyCFunction)(void (*)(void))EventBuilder_add_uintptr, FIELD_METHOD_FLAGS,
     "add_uintptr($self, /, name_utf8, val_int, out_type=0, tag=0)\n--\n\nAdds a field holding a pointer-sized unsigned integer."},
    {"add_uintptr_seq", (PyCFunction)(void (*)(void))EventBuilder_add_uintptr_seq, FIELD_METHOD_FLAGS,
     "add_uintptr_seq($self, /, name_utf8, vals_int, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a pointer-sized unsigned integer."},
    {"add_float32", (PyCFunction)(void (*)(void))EventBuilder_add_float32, FIELD_METHOD_FLAGS,
     "add_float32($self, /, name_utf8, val_float, out_type=0, tag=0)\n--\n\nAdds a field holding a 32-bit float."},
    {"add_float32_seq", (PyCFunction)(void (*)(void))EventBuilder_add_float32_seq, FIELD_METHOD_FLAGS,
     "add_float32_seq($self, /, name_utf8, vals_float, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a 32-bit float."},
    {"add_float64", (PyCFunction)(void (*)(void))EventBuilder_add_float64, FIELD_METHOD_FLAGS,
     "add_float64($self, /, name_utf8, val_float, out_type=0, tag=0)\n--\n\nAdds a field holding a 64-bit float."},
    {"add_float64_seq", (PyCFunction)(void (*)(void))EventBuilder_add_float64_seq, FIELD_METHOD_FLAGS,
     "add_float64_seq($self, /, name_utf8, vals_float, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a 64-bit float."},
    {"add_bool32", (PyCFunction)(void (*)(void))EventBuilder_add_bool32, FIELD_METHOD_FLAGS,
     "add_bool32($self, /, name_utf8, val_int, out_type=0, tag=0)\n--\n\nAdds a field holding a 32-bit boolean (the int is stored as given)."},
    {"add_bool32_seq", (PyCFunction)(void (*)(void))EventBuilder_add_bool32_seq, FIELD_METHOD_FLAGS,
     "add_bool32_seq($self, /, name_utf8, vals_int, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a 32-bit boolean (the int is stored as given)."},
    {"add_binary_bytes", (PyCFunction)(void (*)(void))EventBuilder_add_binary_bytes, FIELD_METHOD_FLAGS,
     "add_binary_bytes($self, /, name_utf8, val_bytes, out_type=0, tag=0)\n--\n\nAdds a field holding a binary blob (BINARY; uses two field slots)."},
    {"add_guid", (PyCFunction)(void (*)(void))EventBuilder_add_guid, FIELD_METHOD_FLAGS,
     "add_guid($self, /, name_utf8, val_uuid, out_type=0, tag=0)\n--\n\nAdds a field holding a GUID (uuid.UUID)."},
    {"add_guid_seq", (PyCFunction)(void (*)(void))EventBuilder_add_guid_seq, FIELD_METHOD_FLAGS,
     "add_guid_seq($self, /, name_utf8, vals_uuid, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a GUID (uuid.UUID)."},
    {"add_guid_bytes_le", (PyCFunction)(void (*)(void))EventBuilder_add_guid_bytes_le, FIELD_METHOD_FLAGS,
     "add_guid_bytes_le($self, /, name_utf8, val_bytes_le, out_type=0, tag=0)\n--\n\nAdds a field holding a GUID given as 16 bytes_le bytes."},
    {"add_guid_bytes_le_seq", (PyCFunction)(void (*)(void))EventBuilder_add_guid_bytes_le_seq, FIELD_METHOD_FLAGS,
     "add_guid_bytes_le_seq($self, /, name_utf8, vals_bytes_le, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a GUID given as 16 bytes_le bytes."},
    {"add_filetime_int64", (PyCFunction)(void (*)(void))EventBuilder_add_filetime_int64, FIELD_METHOD_FLAGS,
     "add_filetime_int64($self, /, name_utf8, val_int, out_type=0, tag=0)\n--\n\nAdds a field holding a FILETIME (100 ns units since 1601)."},
    {"add_filetime_int64_seq", (PyCFunction)(void (*)(void))EventBuilder_add_filetime_int64_seq, FIELD_METHOD_FLAGS,
     "add_filetime_int64_seq($self, /, name_utf8, vals_int, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a FILETIME (100 ns units since 1601)."},
    {"add_systemtime_bytes", (PyCFunction)(void (*)(void))EventBuilder_add_systemtime_bytes, FIELD_METHOD_FLAGS,
     "add_systemtime_bytes($self, /, name_utf8, val_bytes, out_type=0, tag=0)\n--\n\nAdds a field holding a 16-byte Win32 SYSTEMTIME."},
    {"add_systemtime_bytes_seq", (PyCFunction)(void (*)(void))EventBuilder_add_systemtime_bytes_seq, FIELD_METHOD_FLAGS,
     "add_systemtime_bytes_seq($self, /, name_utf8, vals_bytes, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a 16-byte Win32 SYSTEMTIME."},
    {"add_sid_bytes", (PyCFunction)(void (*)(void))EventBuilder_add_sid_bytes, FIELD_METHOD_FLAGS,
     "add_sid_bytes($self, /, name_utf8, val_bytes, out_type=0, tag=0)\n--\n\nAdds a field holding a binary Win32 SID (8 + 4 * SubAuthorityCount bytes)."},
    {"add_sid_bytes_seq", (PyCFunction)(void (*)(void))EventBuilder_add_sid_bytes_seq, FIELD_METHOD_FLAGS,
     "add_sid_bytes_seq($self, /, name_utf8, vals_bytes, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a binary Win32 SID (8 + 4 * SubAuthorityCount bytes)."},
    {"add_hexint32", (PyCFunction)(void (*)(void))EventBuilder_add_hexint32, FIELD_METHOD_FLAGS,
     "add_hexint32($self, /, name_utf8, val_int, out_type=0, tag=0)\n--\n\nAdds a field holding a 32-bit integer shown in hex."},
    {"add_hexint32_seq", (PyCFunction)(void (*)(void))EventBuilder_add_hexint32_seq, FIELD_METHOD_FLAGS,
     "add_hexint32_seq($self, /, name_utf8, vals_int, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a 32-bit integer shown in hex."},
    {"add_hexint64", (PyCFunction)(void (*)(void))EventBuilder_add_hexint64, FIELD_METHOD_FLAGS,
     "add_hexint64($self, /, name_utf8, val_int, out_type=0, tag=0)\n--\n\nAdds a field holding a 64-bit integer shown in hex."},
    {"add_hexint64_seq", (PyCFunction)(void (*)(void))EventBuilder_add_hexint64_seq, FIELD_METHOD_FLAGS,
     "add_hexint64_seq($self, /, name_utf8, vals_int, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a 64-bit integer shown in hex."},
    {"add_hexintptr", (PyCFunction)(void (*)(void))EventBuilder_add_hexintptr, FIELD_METHOD_FLAGS,
     "add_hexintptr($self, /, name_utf8, val_int, out_type=0, tag=0)\n--\n\nAdds a field holding a pointer-sized integer shown in hex."},
    {"add_hexintptr_seq", (PyCFunction)(void (*)(void))EventBuilder_add_hexintptr_seq, FIELD_METHOD_FLAGS,
     "add_hexintptr_seq($self, /, name_utf8, vals_int, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a pointer-sized integer shown in hex."},
    {"add_str16", (PyCFunction)(void (*)(void))EventBuilder_add_str16, FIELD_METHOD_FLAGS,
     "add_str16($self, /, name_utf8, val_str, out_type=0, tag=0)\n--\n\nAdds a field holding a counted UTF-16LE string (str)."},
    {"add_str16_seq", (PyCFunction)(void (*)(void))EventBuilder_add_str16_seq, FIELD_METHOD_FLAGS,
     "add_str16_seq($self, /, name_utf8, vals_str, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a counted UTF-16LE string (str)."},
    {"add_str16_bytes_utf16le", (PyCFunction)(void (*)(void))EventBuilder_add_str16_bytes_utf16le, FIELD_METHOD_FLAGS,
     "add_str16_bytes_utf16le($self, /, name_utf8, val_bytes_utf16le, out_type=0, tag=0)\n--\n\nAdds a field holding a counted UTF-16LE string (bytes)."},
    {"add_str16_bytes_utf16le_seq", (PyCFunction)(void (*)(void))EventBuilder_add_str16_bytes_utf16le_seq, FIELD_METHOD_FLAGS,
     "add_str16_bytes_utf16le_seq($self, /, name_utf8, vals_bytes_utf16le, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a counted UTF-16LE string (bytes)."},
    {"add_str8", (PyCFunction)(void (*)(void))EventBuilder_add_str8, FIELD_METHOD_FLAGS,
     "add_str8($self, /, name_utf8, val_str, out_type=35, tag=0)\n--\n\nAdds a field holding a counted UTF-8 string (str)."},
    {"add_str8_seq", (PyCFunction)(void (*)(void))EventBuilder_add_str8_seq, FIELD_METHOD_FLAGS,
     "add_str8_seq($self, /, name_utf8, vals_str, out_type=35, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a counted UTF-8 string (str)."},
    {"add_str8_bytes", (PyCFunction)(void (*)(void))EventBuilder_add_str8_bytes, FIELD_METHOD_FLAGS,
     "add_str8_bytes($self, /, name_utf8, val_bytes, out_type=0, tag=0)\n--\n\nAdds a field holding a counted 8-bit string (bytes)."},
    {"add_str8_bytes_seq", (PyCFunction)(void (*)(void))EventBuilder_add_str8_bytes_seq, FIELD_METHOD_FLAGS,
     "add_str8_bytes_seq($self, /, name_utf8, vals_bytes, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a counted 8-bit string (bytes)."},
    {"add_cbinary_bytes", (PyCFunction)(void (*)(void))EventBuilder_add_cbinary_bytes, FIELD_METHOD_FLAGS,
     "add_cbinary_bytes($self, /, name_utf8, val_bytes, out_type=0, tag=0)\n--\n\nAdds a field holding a counted binary blob."},
    {"add_cbinary_bytes_seq", (PyCFunction)(void (*)(void))EventBuilder_add_cbinary_bytes_seq, FIELD_METHOD_FLAGS,
     "add_cbinary_bytes_seq($self, /, name_utf8, vals_bytes, out_type=0, tag=0)\n--\n\nAdds an array field (u16 count, then elements), each element a counted binary blob."},
};

const int tldpy_field_method_count = (int)(sizeof tldpy_field_methods / sizeof tldpy_field_methods[0]);
