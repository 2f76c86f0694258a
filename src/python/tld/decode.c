/*
 * decode.c — _tld.decode_etl(path, format='json'): the core's .etl
 * reader and TraceLogging decoder (etl_reader.h, tl_decoder.h) as a Python
 * iterator of lines, one per event, decoded on demand so a large file never
 * needs all of its JSON in memory.
 *
 * The iterator also carries what the file says about itself (`header`, a
 * dict built from the logfile header when it is opened) and `errors`, a
 * list of sentences about damage that grows as the walk meets it: records
 * or buffers the reader gave up on, and events whose fields could not be
 * decoded (their line still comes out, with an "error" key). Damage never
 * stops the iteration; only a file that cannot be read or is not an .etl
 * file at all raises (OSError / ValueError) from decode_etl() itself.
 */
#include "binding.h"

#include "etl_reader.h"
#include "json_writer.h"
#include "tl_decoder.h"

#include <errno.h>
#include <string.h>
#include <structmember.h>

typedef struct {
    PyObject_HEAD
    uint8_t *data;          /* the whole file (etl_load_file) */
    size_t len;
    etl_reader reader;
    tl_decoder *decoder;
    jw_buf line;
    int format;             /* TL_FORMAT_JSON or TL_FORMAT_TEXT */
    uint64_t undecodable;   /* events whose line carries an "error" */
    PyObject *path;
    PyObject *header;       /* dict */
    PyObject *errors;       /* list of str */
} EtlReaderObject;

static PyTypeObject EtlReader_Type;

/* ---- header ---- */

static int set_item(PyObject *dict, const char *key, PyObject *value)
{
    if (value == NULL)
        return -1;
    int rc = PyDict_SetItemString(dict, key, value);
    Py_DECREF(value);
    return rc;
}

/* A FILETIME as an ISO 8601 string, or None for 0 (not recorded). */
static PyObject *filetime_str(uint64_t ft)
{
    if (ft == 0)
        Py_RETURN_NONE;
    jw_buf b;
    jw_init(&b);
    jw_filetime_text(&b, ft);
    PyObject *s = jw_failed(&b) ? PyErr_NoMemory() : PyUnicode_DecodeUTF8(b.data, (Py_ssize_t)b.len, "replace");
    jw_free(&b);
    return s;
}

/* A UTF-16LE name from the file, without its trailing NULs, or None. */
static PyObject *utf16_str(const uint8_t *p, size_t nbytes)
{
    if (p == NULL)
        Py_RETURN_NONE;
    nbytes &= ~(size_t)1;
    while (nbytes >= 2 && p[nbytes - 2] == 0 && p[nbytes - 1] == 0)
        nbytes -= 2;
    int order = -1; /* little-endian */
    return PyUnicode_DecodeUTF16((const char *)p, (Py_ssize_t)nbytes, "replace", &order);
}

static PyObject *header_dict(const EtlReaderObject *self)
{
    const etl_logfile_header *h = etl_reader_header(&self->reader);
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    if (set_item(d, "present", PyBool_FromLong(h->present)) < 0 ||
        set_item(d, "file_size", PyLong_FromSize_t(self->len)) < 0 ||
        set_item(d, "buffer_size", PyLong_FromUnsignedLong(self->reader.buffer_size)) < 0 ||
        set_item(d, "buffer_count", PyLong_FromSize_t(self->reader.buffer_count)) < 0)
        goto fail;
    if (!h->present)
        return d;
    if (set_item(d, "buffers_written", PyLong_FromUnsignedLong(h->buffers_written)) < 0 ||
        set_item(d, "events_lost", PyLong_FromUnsignedLong(h->events_lost)) < 0 ||
        set_item(d, "buffers_lost", PyLong_FromUnsignedLong(h->buffers_lost)) < 0 ||
        set_item(d, "start_time", filetime_str(h->start_time)) < 0 ||
        set_item(d, "end_time", filetime_str(h->end_time)) < 0 ||
        set_item(d, "boot_time", filetime_str(h->boot_time)) < 0 ||
        set_item(d, "pointer_size", PyLong_FromUnsignedLong(h->pointer_size)) < 0 ||
        set_item(d, "logger_name", utf16_str(h->logger_name, h->logger_name_bytes)) < 0 ||
        set_item(d, "logfile_name", utf16_str(h->logfile_name, h->logfile_name_bytes)) < 0 ||
        set_item(d, "version", PyLong_FromUnsignedLong(h->version)) < 0 ||
        set_item(d, "provider_version", PyLong_FromUnsignedLong(h->provider_version)) < 0 ||
        set_item(d, "number_of_processors", PyLong_FromUnsignedLong(h->number_of_processors)) < 0 ||
        set_item(d, "timer_resolution", PyLong_FromUnsignedLong(h->timer_resolution)) < 0 ||
        set_item(d, "maximum_file_size", PyLong_FromUnsignedLong(h->maximum_file_size)) < 0 ||
        set_item(d, "log_file_mode", PyLong_FromUnsignedLong(h->log_file_mode)) < 0 ||
        set_item(d, "start_buffers", PyLong_FromUnsignedLong(h->start_buffers)) < 0 ||
        set_item(d, "cpu_speed_mhz", PyLong_FromUnsignedLong(h->cpu_speed_mhz)) < 0 ||
        set_item(d, "perf_freq", PyLong_FromUnsignedLongLong(h->perf_freq)) < 0 ||
        set_item(d, "clock_type", PyLong_FromUnsignedLong(h->clock_type)) < 0)
        goto fail;
    return d;
fail:
    Py_DECREF(d);
    return NULL;
}

/* ---- decode_etl() ---- */

static const char *const decode_params[] = {"path", "format"};
static const tldpy_signature decode_sig = {"decode_etl", 2, 1, decode_params};

PyObject *tldpy_decode_etl(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    (void)module;
    PyObject *a[2];
    if (tldpy_parse_args(&decode_sig, args, nargs, kwnames, a) < 0)
        return NULL;
    int format = TL_FORMAT_JSON;
    if (a[1] != NULL) {
        if (PyUnicode_Check(a[1]) && PyUnicode_CompareWithASCIIString(a[1], "json") == 0)
            format = TL_FORMAT_JSON;
        else if (PyUnicode_Check(a[1]) && PyUnicode_CompareWithASCIIString(a[1], "text") == 0)
            format = TL_FORMAT_TEXT;
        else {
            PyErr_Format(PyExc_ValueError, "format must be 'json' or 'text', not %R", a[1]);
            return NULL;
        }
    }
    PyObject *fspath = PyOS_FSPath(a[0]);
    if (fspath == NULL)
        return NULL;
    PyObject *encoded = NULL;
    if (!PyUnicode_FSConverter(fspath, &encoded)) {
        Py_DECREF(fspath);
        return NULL;
    }
    EtlReaderObject *self = PyObject_GC_New(EtlReaderObject, &EtlReader_Type);
    if (self == NULL) {
        Py_DECREF(fspath);
        Py_DECREF(encoded);
        return NULL;
    }
    self->data = NULL;
    self->len = 0;
    memset(&self->reader, 0, sizeof self->reader); /* etl_reader_close() is safe on it */
    self->decoder = NULL;
    jw_init(&self->line);
    self->format = format;
    self->undecodable = 0;
    self->path = fspath;
    self->header = NULL;
    self->errors = PyList_New(0);
    PyObject_GC_Track((PyObject *)self);
    if (self->errors == NULL)
        goto fail;

    int rc, saved_errno = 0;
    Py_BEGIN_ALLOW_THREADS
    rc = etl_load_file(PyBytes_AS_STRING(encoded), &self->data, &self->len);
    saved_errno = errno;
    Py_END_ALLOW_THREADS
    if (rc == TLD_E_NO_MEMORY) {
        PyErr_NoMemory();
        goto fail;
    }
    if (rc != 0) {
        int err = saved_errno ? saved_errno : EIO;
        PyObject *exc = PyObject_CallFunction(PyExc_OSError, "isO", err, strerror(err), fspath);
        if (exc != NULL) {
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
            Py_DECREF(exc);
        }
        goto fail;
    }
    rc = etl_reader_open(&self->reader, self->data, self->len);
    if (rc == TLD_E_NO_MEMORY) {
        PyErr_NoMemory();
        goto fail;
    }
    if (rc != 0) {
        PyErr_Format(PyExc_ValueError, "%R: %s", fspath, etl_reader_message(&self->reader));
        goto fail;
    }
    if (tl_decoder_new(&self->decoder) != 0) {
        PyErr_NoMemory();
        goto fail;
    }
    self->header = header_dict(self);
    if (self->header == NULL)
        goto fail;
    Py_DECREF(encoded);
    return (PyObject *)self;
fail:
    Py_DECREF(encoded);
    Py_DECREF(self);
    return NULL;
}

/* ---- iteration ---- */

static int add_error(EtlReaderObject *self, PyObject *message)
{
    if (message == NULL)
        return -1;
    int rc = PyList_Append(self->errors, message);
    Py_DECREF(message);
    return rc;
}

static PyObject *EtlReader_next(PyObject *op)
{
    EtlReaderObject *self = (EtlReaderObject *)op;
    if (self->data == NULL)
        return NULL;
    for (;;) {
        etl_event ev;
        int rc = etl_reader_next(&self->reader, &ev);
        if (rc == 0) { /* StopIteration; the counters stay readable */
            etl_reader_close(&self->reader);
            etl_free_file(self->data);
            self->data = NULL;
            return NULL;
        }
        if (rc < 0) {
            if (add_error(self, PyUnicode_DecodeUTF8(etl_reader_message(&self->reader),
                                                     (Py_ssize_t)strlen(etl_reader_message(&self->reader)),
                                                     "replace")) < 0)
                return NULL;
            continue;
        }
        jw_clear(&self->line);
        rc = tl_decoder_format_event(self->decoder, &ev, self->format, &self->line);
        if (rc == TLD_E_NO_MEMORY)
            return PyErr_NoMemory();
        if (rc == TL_DECODED_WITH_ERROR) {
            self->undecodable++;
            const char *why = tl_decoder_error(self->decoder);
            PyObject *text = PyUnicode_DecodeUTF8(why, (Py_ssize_t)strlen(why), "replace");
            if (text == NULL)
                return NULL;
            PyObject *msg = PyUnicode_FromFormat("buffer %u, offset 0x%x: event not fully decoded: %U",
                                                 (unsigned)ev.buffer_index, (unsigned)ev.offset, text);
            Py_DECREF(text);
            if (add_error(self, msg) < 0)
                return NULL;
        }
        size_t n = self->line.len;
        if (n > 0 && self->line.data[n - 1] == '\n')
            n--;
        return PyUnicode_DecodeUTF8(self->line.data, (Py_ssize_t)n, "replace");
    }
}

/* Frees the file early; the iterator then ends. */
static PyObject *EtlReader_close(PyObject *op, PyObject *unused)
{
    (void)unused;
    EtlReaderObject *self = (EtlReaderObject *)op;
    etl_reader_close(&self->reader);
    etl_free_file(self->data);
    self->data = NULL;
    self->len = 0;
    Py_RETURN_NONE;
}

static PyObject *counter(uint64_t v)
{
    return PyLong_FromUnsignedLongLong(v);
}

static PyObject *get_events(PyObject *op, void *c)
{
    (void)c;
    return counter(((EtlReaderObject *)op)->reader.events);
}

static PyObject *get_damaged_records(PyObject *op, void *c)
{
    (void)c;
    return counter(((EtlReaderObject *)op)->reader.damaged_records);
}

static PyObject *get_damaged_buffers(PyObject *op, void *c)
{
    (void)c;
    return counter(((EtlReaderObject *)op)->reader.damaged_buffers);
}

static PyObject *get_system_records(PyObject *op, void *c)
{
    (void)c;
    return counter(((EtlReaderObject *)op)->reader.system_records);
}

static PyObject *get_undecodable(PyObject *op, void *c)
{
    (void)c;
    return counter(((EtlReaderObject *)op)->undecodable);
}

static int EtlReader_traverse(PyObject *op, visitproc visit, void *arg)
{
    EtlReaderObject *self = (EtlReaderObject *)op;
    Py_VISIT(self->header);
    Py_VISIT(self->errors);
    return 0;
}

static int EtlReader_clear(PyObject *op)
{
    EtlReaderObject *self = (EtlReaderObject *)op;
    Py_CLEAR(self->header);
    Py_CLEAR(self->errors);
    return 0;
}

static void EtlReader_dealloc(PyObject *op)
{
    EtlReaderObject *self = (EtlReaderObject *)op;
    PyObject_GC_UnTrack(op);
    etl_reader_close(&self->reader);
    etl_free_file(self->data);
    tl_decoder_free(self->decoder);
    jw_free(&self->line);
    EtlReader_clear(op);
    Py_CLEAR(self->path);
    PyObject_GC_Del(op);
}

static PyMethodDef etlreader_methods[] = {
    {"close", EtlReader_close, METH_NOARGS, "close($self, /)\n--\n\nReleases the file's memory; iteration ends."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef etlreader_members[] = {
    {"path", T_OBJECT_EX, offsetof(EtlReaderObject, path), READONLY, "The file read."},
    {"header", T_OBJECT_EX, offsetof(EtlReaderObject, header), READONLY,
     "What the logfile header says: buffer_size, buffers_written, events_lost, start_time,\n"
     "end_time (ISO 8601 or None), pointer_size, logger_name, ... ('present' is False when\n"
     "buffer 0 held no usable header; then only file_size/buffer_size/buffer_count are set)."},
    {"errors", T_OBJECT_EX, offsetof(EtlReaderObject, errors), READONLY,
     "Sentences about damage met so far (grows during iteration)."},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef etlreader_getset[] = {
    {"events", get_events, NULL, "Event records returned so far.", NULL},
    {"damaged_records", get_damaged_records, NULL, "Records reported as damaged so far.", NULL},
    {"damaged_buffers", get_damaged_buffers, NULL, "Buffers (or buffer tails) given up on so far.", NULL},
    {"system_records", get_system_records, NULL, "System records stepped over so far.", NULL},
    {"undecodable_events", get_undecodable, NULL, "Events whose fields could not all be decoded.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject EtlReader_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "traceloggingdynamic._tld.EtlReader",
    .tp_basicsize = sizeof(EtlReaderObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Iterator over the events of an .etl file as decoded lines; made by decode_etl().",
    .tp_dealloc = EtlReader_dealloc,
    .tp_traverse = EtlReader_traverse,
    .tp_clear = EtlReader_clear,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = EtlReader_next,
    .tp_methods = etlreader_methods,
    .tp_members = etlreader_members,
    .tp_getset = etlreader_getset,
};

int tldpy_decode_prepare(void)
{
    return PyType_Ready(&EtlReader_Type);
}
