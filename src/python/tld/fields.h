/*
 * fields.h — the table that drives EventBuilder's 61 add_* field
 * methods (add_struct is separate): which in-type each writes, how its value
 * is converted, and its Python signature.
 */
#ifndef TLD_FIELDS_H
#define TLD_FIELDS_H

#include "binding.h"

/* How a method turns its Python value into data bytes. */
typedef enum value_kind {
    K_INT,          /* struct-packed integer of `size` bytes */
    K_FLOAT32,
    K_FLOAT64,
    K_ZSTR16,       /* str -> UTF-16LE up to and including the first NUL, or + 00 00 */
    K_ZSTR16_BYTES, /* UTF-16LE bytes, cut after the first even-aligned 00 00 */
    K_ZSTR8,        /* str -> UTF-8 up to and including the first NUL, or + 00 */
    K_ZSTR8_BYTES,
    K_STR16,        /* str -> u16 byte count + UTF-16LE */
    K_STR16_BYTES,
    K_STR8,         /* str -> u16 byte count + UTF-8 */
    K_COUNTED,      /* bytes-like -> u16 count + bytes (str8_bytes, binary, cbinary) */
    K_GUID,         /* uuid.UUID -> bytes_le */
    K_GUID_BYTES,   /* exactly 16 bytes */
    K_SYSTEMTIME,   /* exactly 16 bytes */
    K_SID,          /* 8 + 4 * bytes[1] bytes */
} value_kind;

typedef struct field_kind {
    tldpy_signature sig;
    uint8_t in_type;     /* without TLD_IN_VCOUNT */
    value_kind kind;
    uint8_t size;        /* K_INT: bytes per value */
    uint8_t is_signed;   /* K_INT */
    uint8_t is_seq;
    uint8_t default_out; /* 35 (UTF8) for the str8/zstr8 methods, else 0 */
} field_kind;

/* Implements one add_* method call. */
PyObject *tldpy_add_field(EventBuilderObject *self, const field_kind *fk, PyObject *const *args,
                        Py_ssize_t nargs, PyObject *kwnames);

/* add_struct(name_utf8, field_count, tag=0). */
PyObject *tldpy_add_struct(EventBuilderObject *self, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames);

/* The 61 add_* methods (not NULL-terminated: use the count). */
extern PyMethodDef tldpy_field_methods[];
extern const int tldpy_field_method_count;

#endif
