/*
 * decode.c — _tld.decode_etl(path, format='json', kernel=True): the
 * core's streaming .etl reader and decoder (etl_reader.h, tl_decoder.h,
 * etl_summary.h) as a Python iterator of lines, one per record, decoded on
 * demand. The file is read as the iteration goes, never held whole: memory
 * stays bounded (the reader's pool) whatever the file's size.
 *
 * The iterator also carries what the file says about itself (`header`, a
 * dict built from the logfile header when it is opened;
 * `session_not_stopped` and `last_flush`) and `errors`, a list of
 * sentences about damage that grows as the walk meets it (the first
 * MAX_LISTED; `error_count` counts them all): records or buffers the
 * reader gave up on, a file cut short, a session that was never stopped,
 * events whose fields could not be decoded (their line still comes out,
 * with an "error" key). Damage never stops the iteration; only a file that
 * cannot be read or is not an .etl file at all raises (OSError /
 * ValueError) from decode_etl() itself. summarize() walks the rest of the
 * file in C, without making lines, and returns the counts.
 */
#include "binding.h"

#include "etl_reader.h"
#include "etl_summary.h"
#include "json_writer.h"
#include "call_expander.h"
#include "tl_decoder.h"

#include <errno.h>
#include <string.h>
#include <structmember.h>

#define MAX_LISTED 1000

typedef struct {
    PyObject_HEAD
    etl_reader reader;
    int walking;            /* the reader is open and not at its end */
    tl_decoder *decoder;
    tl_call_expander *expander;   /* PythonCallBatch events come out as Push/Pop */
    jw_buf line;
    int format;             /* TL_FORMAT_JSON or TL_FORMAT_TEXT */
    uint64_t undecodable;   /* events whose line carries an "error" */
    uint64_t problems;      /* sentences met, listed or not */
    PyObject *path;
    PyObject *header;       /* dict */
    PyObject *errors;       /* list of str */
    PyObject *notes;        /* list of str: what is missing without damage (a session never stopped) */
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
    PyObject *s = jw_error(&b) ? PyErr_NoMemory() : PyUnicode_DecodeUTF8(b.data, (Py_ssize_t)b.len, "replace");
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
        set_item(d, "file_size", PyLong_FromUnsignedLongLong(self->reader.len)) < 0 ||
        set_item(d, "buffer_size", PyLong_FromUnsignedLong(self->reader.buffer_size)) < 0)
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
        set_item(d, "compressed", PyBool_FromLong((h->log_file_mode & ETL_LOG_FILE_MODE_COMPRESSED) != 0)) < 0 ||
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

static const char *const decode_params[] = {"path", "format", "kernel"};
static const tldpy_signature decode_sig = {"decode_etl", 3, 1, decode_params};

/* Raises what a failed open means: OSError for the system's refusals,
 * ValueError for files that are not .etl files or cannot be read as one. */
static void raise_open_error(EtlReaderObject *self, int rc, PyObject *fspath)
{
    if (rc == TLD_E_NO_MEMORY) {
        PyErr_NoMemory();
        return;
    }
    if (rc < 0 && rc > -1000) { /* -errno */
        int err = -rc;
        PyObject *exc = PyObject_CallFunction(PyExc_OSError, "isO", err, strerror(err), fspath);
        if (exc != NULL) {
            PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
            Py_DECREF(exc);
        }
        return;
    }
    const char *m = etl_reader_message(&self->reader);
    PyErr_SetObject(PyExc_ValueError, PyUnicode_DecodeUTF8(m, (Py_ssize_t)strlen(m), "replace"));
}

PyObject *tldpy_decode_etl(PyObject *module, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    (void)module;
    PyObject *a[3];
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
    int kernel = 1;
    if (a[2] != NULL && (kernel = PyObject_IsTrue(a[2])) < 0)
        return NULL;
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
    memset(&self->reader, 0, sizeof self->reader);
    self->reader.file.handle = -1; /* etl_reader_close() is safe on it */
    self->walking = 0;
    self->decoder = NULL;
    self->expander = NULL;
    jw_init(&self->line);
    self->format = format;
    self->undecodable = 0;
    self->problems = 0;
    self->path = fspath;
    self->header = NULL;
    self->errors = PyList_New(0);
    self->notes = PyList_New(0);
    PyObject_GC_Track((PyObject *)self);
    if (self->errors == NULL || self->notes == NULL)
        goto fail;

    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = etl_reader_open_path(&self->reader, PyBytes_AS_STRING(encoded), kernel ? ETL_READ_SYSTEM_RECORDS : 0);
    Py_END_ALLOW_THREADS
    if (rc != 0) {
        raise_open_error(self, rc, fspath);
        goto fail;
    }
    self->walking = 1;
    if (tl_decoder_new(&self->decoder) != 0 || tl_call_expander_new(&self->expander) != 0) {
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

static void end_walk(EtlReaderObject *self)
{
    /* The counters and header numbers stay readable. */
    etl_reader_close(&self->reader);
    self->walking = 0;
}

/* Lists a sentence (the first MAX_LISTED of them) and counts it. */
static int add_error(EtlReaderObject *self, PyObject *message)
{
    if (message == NULL)
        return -1;
    self->problems++;
    int rc = 0;
    if (PyList_GET_SIZE(self->errors) < MAX_LISTED)
        rc = PyList_Append(self->errors, message);
    Py_DECREF(message);
    return rc;
}

/* A problem the reader returned: damage goes to `errors`, a session that
 * was never stopped to `notes`. */
static const char *problem_message(EtlReaderObject *self)
{
    const char *m = tl_call_expander_message(self->expander);
    return m[0] ? m : etl_reader_message(&self->reader);
}

static int add_reader_problem(EtlReaderObject *self, int code)
{
    const char *m = problem_message(self);
    PyObject *s = PyUnicode_DecodeUTF8(m, (Py_ssize_t)strlen(m), "replace");
    if (code != TLD_E_NOT_STOPPED)
        return add_error(self, s);
    if (s == NULL)
        return -1;
    int rc = PyList_Append(self->notes, s);
    Py_DECREF(s);
    return rc;
}

static int add_decode_error(EtlReaderObject *self, const etl_event *ev)
{
    self->undecodable++;
    const char *why = tl_decoder_error(self->decoder);
    PyObject *text = PyUnicode_DecodeUTF8(why, (Py_ssize_t)strlen(why), "replace");
    if (text == NULL)
        return -1;
    PyObject *msg = PyUnicode_FromFormat("buffer %u, offset 0x%x: event not fully decoded: %U",
                                         (unsigned)ev->buffer_index, (unsigned)ev->offset, text);
    Py_DECREF(text);
    return add_error(self, msg);
}

static PyObject *EtlReader_next(PyObject *op)
{
    EtlReaderObject *self = (EtlReaderObject *)op;
    if (!self->walking)
        return NULL;
    for (;;) {
        etl_event ev;
        int rc = tl_call_expander_next(self->expander, &self->reader, &ev);
        if (rc == TLD_E_END) { /* StopIteration */
            end_walk(self);
            return NULL;
        }
        if (rc < 0) {
            if (add_reader_problem(self, rc) < 0)
                return NULL;
            continue;
        }
        jw_clear(&self->line);
        rc = tl_decoder_format_event(self->decoder, &ev, self->format, &self->line);
        if (rc == TLD_E_NO_MEMORY)
            return PyErr_NoMemory();
        if (rc == TLD_E_DECODE_PARTIAL && add_decode_error(self, &ev) < 0)
            return NULL;
        size_t n = self->line.len;
        if (n > 0 && self->line.data[n - 1] == '\n')
            n--;
        return PyUnicode_DecodeUTF8(self->line.data, (Py_ssize_t)n, "replace");
    }
}

/* ---- summarize() ---- */

/* Sentences met while the GIL was released, added to `errors` after. */
typedef struct pending {
    char **msgs;
    int *codes;
    size_t count, cap;
    uint64_t more;          /* beyond what could be kept */
} pending;

static void pending_add(pending *p, const char *m, int code, size_t room)
{
    if (p->count >= room) {
        p->more++;
        return;
    }
    if (p->count == p->cap) {
        size_t c = p->cap ? p->cap * 2 : 16;
        char **n = realloc(p->msgs, c * sizeof *n);
        if (n)
            p->msgs = n;
        int *k = n ? realloc(p->codes, c * sizeof *k) : NULL;
        if (!k) {
            p->more++;
            return;
        }
        p->codes = k;
        p->cap = c;
    }
    char *s = strdup(m);
    if (!s) {
        p->more++;
        return;
    }
    p->codes[p->count] = code;
    p->msgs[p->count++] = s;
}

static PyObject *utf8(const char *s, size_t n)
{
    return PyUnicode_DecodeUTF8(s, (Py_ssize_t)n, "replace");
}

static PyObject *EtlReader_summarize(PyObject *op, PyObject *unused)
{
    (void)unused;
    EtlReaderObject *self = (EtlReaderObject *)op;
    etl_summary *s;
    if (etl_summary_new(&s) < 0)
        return PyErr_NoMemory();
    pending p = {NULL, NULL, 0, 0, 0};
    Py_ssize_t listed = PyList_GET_SIZE(self->errors);
    size_t room = listed < MAX_LISTED ? (size_t)(MAX_LISTED - listed) : 0;
    int oom = 0;
    if (self->walking) {
        Py_BEGIN_ALLOW_THREADS
        for (;;) {
            etl_event ev;
            int rc = tl_call_expander_next(self->expander, &self->reader, &ev);
            if (rc == TLD_E_END)
                break;
            if (rc < 0) {
                pending_add(&p, problem_message(self), rc, rc == TLD_E_NOT_STOPPED ? SIZE_MAX : room);
                continue;
            }
            if (etl_summary_add(s, &ev) < 0) {
                oom = 1;
                break;
            }
        }
        Py_END_ALLOW_THREADS
        if (!oom)
            end_walk(self);
    }
    PyObject *result = NULL, *rows = NULL;
    for (size_t i = 0; i < p.count; i++) {
        PyObject *m = PyUnicode_DecodeUTF8(p.msgs[i], (Py_ssize_t)strlen(p.msgs[i]), "replace");
        if (p.codes[i] == TLD_E_NOT_STOPPED) {
            int arc = m ? PyList_Append(self->notes, m) : -1;
            Py_XDECREF(m);
            if (arc < 0)
                goto done;
        } else if (add_error(self, m) < 0) {
            goto done;
        }
    }
    self->problems += p.more;
    if (oom) {
        PyErr_NoMemory();
        goto done;
    }
    rows = PyList_New(0);
    if (rows == NULL)
        goto done;
    for (size_t i = 0; i < etl_summary_rows(s); i++) {
        const etl_summary_row *r = etl_summary_row_at(s, i);
        static const char *const kinds[] = {"?", "event", "classic", "system", "message"};
        PyObject *t = Py_BuildValue("(NNKs)", utf8(r->provider, r->provider_len), utf8(r->event, r->event_len),
                                    (unsigned long long)r->count, kinds[r->kind >= 1 && r->kind <= 4 ? r->kind : 0]);
        if (t == NULL || PyList_Append(rows, t) < 0) {
            Py_XDECREF(t);
            goto done;
        }
        Py_DECREF(t);
    }
    result = PyDict_New();
    if (result == NULL)
        goto done;
    const etl_reader *r = &self->reader;
    if (set_item(result, "events", PyLong_FromUnsignedLongLong(etl_summary_count(s, ETL_KIND_EVENT_HEADER) +
                                                                etl_summary_count(s, ETL_KIND_CLASSIC))) < 0 ||
        set_item(result, "messages", PyLong_FromUnsignedLongLong(etl_summary_count(s, ETL_KIND_MESSAGE))) < 0 ||
        set_item(result, "system_records", PyLong_FromUnsignedLongLong(r->system_records)) < 0 ||
        set_item(result, "system_listed", PyLong_FromUnsignedLongLong(etl_summary_count(s, ETL_KIND_SYSTEM))) < 0 ||
        PyDict_SetItemString(result, "rows", rows) < 0 ||
        set_item(result, "first_time", filetime_str(etl_summary_first_time(s))) < 0 ||
        set_item(result, "last_time", filetime_str(etl_summary_last_time(s))) < 0) {
        Py_CLEAR(result);
        goto done;
    }
done:
    Py_XDECREF(rows);
    for (size_t i = 0; i < p.count; i++)
        free(p.msgs[i]);
    free(p.msgs);
    free(p.codes);
    etl_summary_free(s);
    return result;
}

/* Frees the reader early; the iterator then ends. */
static PyObject *EtlReader_close(PyObject *op, PyObject *unused)
{
    (void)unused;
    end_walk((EtlReaderObject *)op);
    Py_RETURN_NONE;
}

/* ---- attributes ---- */

#define COUNTER(name, expr)                                                                                  \
    static PyObject *get_##name(PyObject *op, void *c)                                                        \
    {                                                                                                         \
        (void)c;                                                                                              \
        EtlReaderObject *self = (EtlReaderObject *)op;                                                        \
        (void)self;                                                                                           \
        return PyLong_FromUnsignedLongLong((unsigned long long)(expr));                                       \
    }

COUNTER(events, self->reader.events)
COUNTER(damaged_records, self->reader.damaged_records)
COUNTER(damaged_buffers, self->reader.damaged_buffers)
COUNTER(system_records, self->reader.system_records)
COUNTER(undecodable, self->undecodable)
COUNTER(buffer_count, self->reader.buffer_count)
COUNTER(compressed_buffers, self->reader.compressed_buffers)
COUNTER(error_count, self->problems)

static PyObject *get_not_stopped(PyObject *op, void *c)
{
    (void)c;
    return PyBool_FromLong(etl_reader_not_stopped(&((EtlReaderObject *)op)->reader, NULL));
}

static PyObject *get_last_flush(PyObject *op, void *c)
{
    (void)c;
    uint64_t ft;
    if (!etl_reader_not_stopped(&((EtlReaderObject *)op)->reader, &ft))
        Py_RETURN_NONE;
    return filetime_str(ft);
}

static int EtlReader_traverse(PyObject *op, visitproc visit, void *arg)
{
    EtlReaderObject *self = (EtlReaderObject *)op;
    Py_VISIT(self->header);
    Py_VISIT(self->errors);
    Py_VISIT(self->notes);
    return 0;
}

static int EtlReader_clear(PyObject *op)
{
    EtlReaderObject *self = (EtlReaderObject *)op;
    Py_CLEAR(self->header);
    Py_CLEAR(self->errors);
    Py_CLEAR(self->notes);
    return 0;
}

static void EtlReader_dealloc(PyObject *op)
{
    EtlReaderObject *self = (EtlReaderObject *)op;
    PyObject_GC_UnTrack(op);
    etl_reader_close(&self->reader);
    tl_decoder_free(self->decoder);
    tl_call_expander_free(self->expander);
    jw_free(&self->line);
    EtlReader_clear(op);
    Py_CLEAR(self->path);
    PyObject_GC_Del(op);
}

static PyMethodDef etlreader_methods[] = {
    {"close", EtlReader_close, METH_NOARGS, "close($self, /)\n--\n\nCloses the file; iteration ends."},
    {"summarize", EtlReader_summarize, METH_NOARGS,
     "summarize($self, /)\n--\n\nWalks the rest of the file without making lines and returns counts: a dict\n"
     "with events, messages, system_records (kernel records met), system_listed (those counted in\n"
     "rows), rows (a list of (provider, event, count, kind) in first-seen order), first_time and\n"
     "last_time. Damage met is added to errors."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef etlreader_members[] = {
    {"path", T_OBJECT_EX, offsetof(EtlReaderObject, path), READONLY, "The file read."},
    {"header", T_OBJECT_EX, offsetof(EtlReaderObject, header), READONLY,
     "What the logfile header says: buffer_size, buffers_written, events_lost, start_time,\n"
     "end_time (ISO 8601 or None), pointer_size, logger_name, compressed, ... ('present' is False\n"
     "when buffer 0 held no usable header; then only file_size and buffer_size are set)."},
    {"errors", T_OBJECT_EX, offsetof(EtlReaderObject, errors), READONLY,
     "Sentences about damage met so far (grows during iteration; the first 1000, error_count counts all)."},
    {"notes", T_OBJECT_EX, offsetof(EtlReaderObject, notes), READONLY,
     "Sentences about what is missing without damage, met so far: a session that was never\n"
     "stopped is reported here at the end of the walk."},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef etlreader_getset[] = {
    {"events", get_events, NULL, "Event records returned so far (event-header, classic and WPP).", NULL},
    {"damaged_records", get_damaged_records, NULL, "Records reported as damaged so far.", NULL},
    {"damaged_buffers", get_damaged_buffers, NULL, "Buffers (or buffer tails) given up on so far.", NULL},
    {"system_records", get_system_records, NULL, "Kernel (system) records met so far.", NULL},
    {"undecodable_events", get_undecodable, NULL, "Events whose fields could not all be decoded.", NULL},
    {"buffer_count", get_buffer_count, NULL, "Buffers found (all of them once the first record came out).", NULL},
    {"compressed_buffers", get_compressed_buffers, NULL, "Compressed buffers found.", NULL},
    {"error_count", get_error_count, NULL, "Sentences met so far, listed in errors or not.", NULL},
    {"session_not_stopped", get_not_stopped, NULL,
     "True when the session that wrote the file was never stopped (killed): events after\n"
     "last_flush are missing.", NULL},
    {"last_flush", get_last_flush, NULL,
     "When session_not_stopped: the time of the session's last flush (ISO 8601), else None.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject EtlReader_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "traceloggingdynamic._tld.EtlReader",
    .tp_basicsize = sizeof(EtlReaderObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Iterator over the records of an .etl file as decoded lines; made by decode_etl().",
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
