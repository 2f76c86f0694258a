/*
 * binding.h — what the files of the traceloggingdynamic extension share:
 * the two types, the exception classes, argument parsing and the value
 * conversions that reproduce the reference module's Python semantics.
 */
#ifndef TLD_BINDING_H
#define TLD_BINDING_H

#include "number_compat.h"

#include "tracelogging/tld.h"

/* A macro's value as a string literal (for docstrings). */
#define TLDPY_STR_(x) #x
#define TLDPY_STR(x) TLDPY_STR_(x)

/* ---- types ----
 * Both have an instance __dict__ like the reference's Python classes (see
 * TLDPY_EAGER_INSTANCE_DICT for why it may be created up front). */

typedef struct {
    PyObject_HEAD
    tld_event_builder builder;
    int busy;            /* inside an add_*: see fields.c */
    PyObject *name_utf8; /* what the last successful reset() was given */
    PyObject *dict;
    PyObject *weakrefs;
} EventBuilderObject;

typedef struct {
    PyObject_HEAD
    tld_provider *provider; /* NULL when closed ("handle 0") */
    PyObject *name_utf8;
    PyObject *id;
    PyObject *group_id;
    PyObject *traits;    /* bytes; kept after close(), as the reference keeps it */
    PyObject *dict;
    PyObject *weakrefs;
} ProviderObject;

extern PyTypeObject EventBuilder_Type;
extern PyGetSetDef tldpy_dict_getset[]; /* __dict__ for both types */
extern PyTypeObject Provider_Type;
extern PyTypeObject Session_Type;       /* session.c */

/* atexit hook stopping every running Session (session.c). */
PyObject *tldpy_stop_all_sessions(PyObject *module, PyObject *unused);
/* _tld.decode_etl() and its iterator type (decode.c). */
PyObject *tldpy_decode_etl(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
int tldpy_decode_prepare(void);

/* ---- module-wide objects (set up by tldpy_binding_init) ---- */

extern PyObject *tld_FieldRangeError; /* struct.error + OverflowError (D4) */
extern PyObject *tld_FieldTypeError;  /* struct.error + TypeError (D4) */

int tldpy_errors_init(PyObject *module);

/* Raises the Python exception matching a core error code; returns NULL. */
PyObject *tldpy_raise(int code);
/* Same, returning -1 (for int-returning helpers). */
int tldpy_raise_int(int code);

/* ---- argument parsing ---- */

/* A signature: parameter names in order; the first `required` are required. */
typedef struct tldpy_signature {
    const char *function;
    int count;
    int required;
    const char *const *names;
} tldpy_signature;

/* Binds vectorcall arguments to `sig`: out[i] is a borrowed reference or
 * NULL for an omitted optional parameter. Returns 0, or -1 with TypeError. */
int tldpy_parse_args(const tldpy_signature *sig, PyObject *const *args, Py_ssize_t nargs,
                   PyObject *kwnames, PyObject **out);

/* ---- names and bytes ---- */

/* View of a name given as bytes or bytearray. Other types raise what the
 * reference's `name.find(b'\0')` raises (TypeError for str, AttributeError
 * otherwise). */
int tldpy_name_view(PyObject *name, const char **p, Py_ssize_t *len);

/* len(value) as the reference calls it. */
Py_ssize_t tldpy_length(PyObject *value);

/* Copies `n` items of a bytes-like or sequence-of-ints value into dst, each
 * item reduced to its low 8 bits (what the reference's ctypes slice
 * assignment does). */
int tldpy_copy_bytes(PyObject *value, uint8_t *dst, Py_ssize_t n);

/* ---- numbers, with struct-module semantics (D4 exceptions) ---- */

/* A signed or unsigned integer of `size` bytes, written little-endian. */
int tldpy_pack_int(PyObject *value, int size, int is_signed, uint8_t *dst);
int tldpy_pack_float32(PyObject *value, uint8_t *dst);
int tldpy_pack_float64(PyObject *value, uint8_t *dst);

/* Python `value & mask` for an int-like value, as an unsigned 64-bit
 * result (two's complement for negatives). TypeError for non-integers. */
int tldpy_int_and_mask(PyObject *value, uint64_t mask, uint64_t *out);

/* ---- strings ---- */

/* Size in bytes of str `s[0:len]` in UTF-16LE; raises the codec's
 * UnicodeEncodeError for a lone surrogate. */
Py_ssize_t tldpy_utf16_size(PyObject *s, Py_ssize_t len);
/* Writes str `s[0:len]` as UTF-16LE (after tldpy_utf16_size succeeded). */
void tldpy_utf16_write(PyObject *s, Py_ssize_t len, uint8_t *dst);

/* uuid.UUID -> bytes_le; any other object: its `bytes_le` attribute copied
 * with tldpy_copy_bytes semantics. Returns 0, or -1. For the generic case
 * `*generic` receives a new reference to the attribute value instead. */
int tldpy_uuid_bytes_le(PyObject *value, uint8_t out[16], PyObject **generic);

/* providerid_from_name() for a str-like object, as a uuid.UUID. */
PyObject *tldpy_providerid_from_str(PyObject *name);
/* bytes_le -> uuid.UUID. */
PyObject *tldpy_uuid_from_bytes_le(const uint8_t bytes_le[16]);

#endif
