/*
 * module.c — etwtrace._report: the Python face of the report core
 * (src/report). One type, Profile: created empty (input methods feed it,
 * as the perf adapter in Python does) or by load_etl(); finish() ends the
 * input; write() renders any format to a file or returns it as bytes;
 * info() and functions() give the numbers for summaries and tests.
 * Everything else is in python/etwtrace/report.py.
 */
#include "pycompat.h"

#include "etl_adapter.h"
#include "profile.h"
#include "report_writers.h"

#include <errno.h>
#include <string.h>

typedef struct ProfileObject {
    PyObject_HEAD
    rp_profile *p;
    rp_etl_counts counts;
    int loaded_etl;
} ProfileObject;

static PyTypeObject Profile_Type;

/* An OS error (-errno) of the core. */
static int is_os_error(int rc)
{
    return rc < 0 && rc > -1000;
}

static PyObject *raise_rp(ProfileObject *self, int rc)
{
    if (rc == TLD_E_NO_MEMORY)
        return PyErr_NoMemory();
    const char *msg = self && self->p && rp_profile_message(self->p)[0] ? rp_profile_message(self->p) : tld_strerror(rc);
    if (is_os_error(rc)) {
        PyObject *e = Py_BuildValue("(is)", -rc, msg);
        if (e) {
            PyErr_SetObject(PyExc_OSError, e);
            Py_DECREF(e);
        }
        return NULL;
    }
    PyErr_SetString(rc == TLD_E_REPORT_INVALID ? PyExc_ValueError : PyExc_RuntimeError, msg);
    return NULL;
}

static int profile_create(ProfileObject *self, int timeline, int python_only, int lines)
{
    rp_options opt = {.record_timeline = timeline, .python_only = python_only, .lines = lines};
    int rc = rp_profile_new(&self->p, &opt);
    if (rc) {
        raise_rp(NULL, rc);
        return -1;
    }
    return 0;
}

static int Profile_init(ProfileObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"timeline", "python_only", "lines", NULL};
    int timeline = 1, python_only = 0, lines = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|ppp:Profile", names, &timeline, &python_only, &lines))
        return -1;
    if (self->p) {
        PyErr_SetString(PyExc_RuntimeError, "Profile is already initialised");
        return -1;
    }
    return profile_create(self, timeline, python_only, lines);
}

static void Profile_dealloc(ProfileObject *self)
{
    rp_profile_free(self->p);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int usable(ProfileObject *self, int want_finished)
{
    if (!self->p) {
        PyErr_SetString(PyExc_RuntimeError, "Profile was not initialised");
        return 0;
    }
    if (want_finished && !self->p->finished) {
        PyErr_SetString(PyExc_RuntimeError, "call finish() before writing reports");
        return 0;
    }
    if (!want_finished && self->p->finished) {
        PyErr_SetString(PyExc_RuntimeError, "the profile is finished: it takes no more input");
        return 0;
    }
    return 1;
}

/* ---- input ---- */

static PyObject *Profile_define_function(ProfileObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"pid", "id", "name", "file", "line", "begin", "end", "is_python", NULL};
    unsigned int pid, line = 0;
    unsigned long long id, begin = 0, end = 0;
    const char *name, *file = "";
    Py_ssize_t name_len, file_len = 0;
    int is_python = 1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "IKs#|s#IKKp:define_function", names, &pid, &id, &name, &name_len,
                                     &file, &file_len, &line, &begin, &end, &is_python) ||
        !usable(self, 0))
        return NULL;
    int rc = rp_define_function(self->p, pid, id, name, (size_t)name_len, file, (size_t)file_len, line, begin, end,
                                is_python);
    return rc ? raise_rp(self, rc) : pyc_new_ref(Py_None);
}

static PyObject *Profile_call_enter(ProfileObject *self, PyObject *args)
{
    unsigned int pid, tid, line = 0;
    unsigned long long ts, id;
    if (!PyArg_ParseTuple(args, "IIKK|I:call_enter", &pid, &tid, &ts, &id, &line) || !usable(self, 0))
        return NULL;
    int rc = rp_call_enter(self->p, pid, tid, ts, id, line);
    return rc ? raise_rp(self, rc) : pyc_new_ref(Py_None);
}

static PyObject *Profile_call_exit(ProfileObject *self, PyObject *args)
{
    unsigned int pid, tid;
    unsigned long long ts, id;
    if (!PyArg_ParseTuple(args, "IIKK:call_exit", &pid, &tid, &ts, &id) || !usable(self, 0))
        return NULL;
    int rc = rp_call_exit(self->p, pid, tid, ts, id);
    return rc ? raise_rp(self, rc) : pyc_new_ref(Py_None);
}

/* A sequence of ints as a malloc'd uint64 array. */
static uint64_t *u64_array(PyObject *seq, Py_ssize_t *count)
{
    PyObject *fast = PySequence_Fast(seq, "a stack must be a sequence of integers");
    if (!fast)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(fast);
    uint64_t *a = PyMem_Malloc((size_t)(n ? n : 1) * sizeof *a);
    if (!a) {
        Py_DECREF(fast);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned long long v = PyLong_AsUnsignedLongLong(PySequence_Fast_GET_ITEM(fast, i));
        if (v == (unsigned long long)-1 && PyErr_Occurred()) {
            PyMem_Free(a);
            Py_DECREF(fast);
            return NULL;
        }
        a[i] = v;
    }
    Py_DECREF(fast);
    *count = n;
    return a;
}

static PyObject *sample(ProfileObject *self, PyObject *args, int addresses)
{
    unsigned int pid, tid;
    unsigned long long ts;
    PyObject *stack;
    double weight = 1.0;
    if (!PyArg_ParseTuple(args, addresses ? "IIKO|d:sample_addresses" : "IIKO|d:sample", &pid, &tid, &ts, &stack,
                          &weight) ||
        !usable(self, 0))
        return NULL;
    Py_ssize_t n;
    uint64_t *a = u64_array(stack, &n);
    if (!a)
        return NULL;
    int rc = addresses ? rp_sample_addresses(self->p, pid, tid, ts, a, (size_t)n, weight)
                       : rp_sample_functions(self->p, pid, tid, ts, a, (size_t)n, weight);
    PyMem_Free(a);
    return rc ? raise_rp(self, rc) : pyc_new_ref(Py_None);
}

static PyObject *Profile_sample(ProfileObject *self, PyObject *args)
{
    return sample(self, args, 0);
}

static PyObject *Profile_sample_addresses(ProfileObject *self, PyObject *args)
{
    return sample(self, args, 1);
}

static PyObject *Profile_mark(ProfileObject *self, PyObject *args)
{
    unsigned int pid, tid;
    unsigned long long ts;
    int kind;
    const char *text;
    Py_ssize_t len;
    if (!PyArg_ParseTuple(args, "IIKis#:mark", &pid, &tid, &ts, &kind, &text, &len) || !usable(self, 0))
        return NULL;
    if (kind < RP_MARK_PLAIN || kind > RP_MARK_STOP) {
        PyErr_SetString(PyExc_ValueError, "mark kind must be 0 (plain), 1 (start) or 2 (stop)");
        return NULL;
    }
    int rc = rp_mark_add(self->p, pid, tid, ts, kind, text, (size_t)len);
    return rc ? raise_rp(self, rc) : pyc_new_ref(Py_None);
}

static PyObject *Profile_name_thread(ProfileObject *self, PyObject *args)
{
    unsigned int pid, tid;
    const char *name;
    Py_ssize_t len;
    if (!PyArg_ParseTuple(args, "IIs#:name_thread", &pid, &tid, &name, &len) || !usable(self, 0))
        return NULL;
    int rc = rp_thread_named(self->p, pid, tid, name, (size_t)len);
    return rc ? raise_rp(self, rc) : pyc_new_ref(Py_None);
}

static PyObject *Profile_note_damage(ProfileObject *self, PyObject *args)
{
    const char *text;
    if (!PyArg_ParseTuple(args, "s:note_damage", &text) || !usable(self, 0))
        return NULL;
    rp_note_damage(self->p, text);
    return pyc_new_ref(Py_None);
}

static PyObject *Profile_finish(ProfileObject *self, PyObject *Py_UNUSED(ignored))
{
    if (!self->p) {
        PyErr_SetString(PyExc_RuntimeError, "Profile was not initialised");
        return NULL;
    }
    int rc = rp_profile_finish(self->p);
    return rc ? raise_rp(self, rc) : pyc_new_ref((PyObject *)self);
}

/* ---- output ---- */

typedef struct bytes_sink {
    char *data;
    size_t len, cap;
} bytes_sink;

static int bytes_write(void *ctx, const char *data, size_t len)
{
    bytes_sink *b = ctx;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 65536;
        while (cap < b->len + len)
            cap *= 2;
        char *q = PyMem_RawRealloc(b->data, cap);
        if (!q)
            return TLD_E_NO_MEMORY;
        b->data = q;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return 0;
}

typedef int (*writer_fn)(rp_profile *, const rp_write_options *, const rp_output *);

static writer_fn writer_of(const char *format)
{
    static const struct { const char *name; writer_fn fn; } table[] = {
        {"top", rp_write_top}, {"tree", rp_write_tree}, {"collapsed", rp_write_collapsed},
        {"speedscope", rp_write_speedscope}, {"chrome", rp_write_chrome}, {"html", rp_write_html},
        {"summary", rp_write_summary},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(table[i].name, format))
            return table[i].fn;
    return NULL;
}

static int sort_of(const char *s)
{
    if (!s || !strcmp(s, "self"))
        return RP_SORT_SELF;
    if (!strcmp(s, "total") || !strcmp(s, "inclusive"))
        return RP_SORT_INCLUSIVE;
    if (!strcmp(s, "calls") || !strcmp(s, "samples"))
        return RP_SORT_CALLS;
    if (!strcmp(s, "name"))
        return RP_SORT_NAME;
    return -1;
}

static PyObject *Profile_write(ProfileObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"format", "path", "limit", "sort", "per_thread", "min_percent", "title", "all_frames",
                            "colour", NULL};
    const char *format, *sort = NULL, *title = NULL;
    PyObject *path = Py_None;
    unsigned int limit = 0;
    int per_thread = 0, all_frames = 0, colour = 0;
    double min_percent = 0.5;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|O$Izpdzpp:write", names, &format, &path, &limit, &sort, &per_thread,
                                     &min_percent, &title, &all_frames, &colour) ||
        !usable(self, 1))
        return NULL;
    writer_fn fn = writer_of(format);
    if (!fn)
        return PyErr_Format(PyExc_ValueError,
                            "unknown format '%s': choose top, tree, collapsed, speedscope, chrome or html", format);
    int s = sort_of(sort);
    if (s < 0)
        return PyErr_Format(PyExc_ValueError, "unknown sort '%s': choose self, total, calls or name", sort);
    if (!(min_percent >= 0 && min_percent <= 100))
        return PyErr_Format(PyExc_ValueError, "min_percent must be between 0 and 100");
    rp_write_options o = {.limit = limit, .sort = s, .per_thread = per_thread, .min_percent = min_percent,
                          .title = title, .all_frames = all_frames, .colour = colour};
    int rc;
    if (path == Py_None) {
        bytes_sink b = {0};
        rp_output out = {bytes_write, &b};
        Py_BEGIN_ALLOW_THREADS
        rc = fn(self->p, &o, &out);
        Py_END_ALLOW_THREADS
        PyObject *result = rc ? raise_rp(self, rc) : PyBytes_FromStringAndSize(b.data ? b.data : "", (Py_ssize_t)b.len);
        PyMem_RawFree(b.data);
        return result;
    }
    PyObject *encoded;
    if (!PyUnicode_FSConverter(path, &encoded))
        return NULL;
    FILE *f = fopen(PyBytes_AS_STRING(encoded), "wb");
    if (!f) {
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
        Py_DECREF(encoded);
        return NULL;
    }
    rp_output out = {rp_output_file_write, f};
    int closed;
    Py_BEGIN_ALLOW_THREADS
    rc = fn(self->p, &o, &out);
    closed = fclose(f);
    Py_END_ALLOW_THREADS
    Py_DECREF(encoded);
    if (!rc && closed != 0)
        rc = errno > 0 ? -errno : -EIO;
    if (is_os_error(rc)) {
        errno = -rc;
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, path);
        return NULL;
    }
    return rc ? raise_rp(self, rc) : pyc_new_ref(Py_None);
}

/* ---- numbers ---- */

static int set_u64(PyObject *d, const char *key, unsigned long long v)
{
    PyObject *o = PyLong_FromUnsignedLongLong(v);
    int rc = o ? PyDict_SetItemString(d, key, o) : -1;
    Py_XDECREF(o);
    return rc;
}

static PyObject *Profile_info(ProfileObject *self, PyObject *Py_UNUSED(ignored))
{
    if (!usable(self, 1))
        return NULL;
    rp_profile *p = self->p;
    PyObject *d = PyDict_New(), *threads = PyList_New(0);
    if (!d || !threads)
        goto fail;
    if (set_u64(d, "duration_ns", p->have_time ? p->last_ns - p->first_ns : 0) < 0 ||
        set_u64(d, "start_ns", p->first_ns) < 0 ||
        set_u64(d, "events", p->events) < 0 || set_u64(d, "calls", p->calls) < 0 ||
        set_u64(d, "samples", p->samples) < 0 || set_u64(d, "marks", p->mark_count) < 0 ||
        set_u64(d, "functions", p->function_count) < 0 || set_u64(d, "nodes", p->tree.count) < 0 ||
        set_u64(d, "unmatched_exits", p->unmatched_exits) < 0 || set_u64(d, "lost_exits", p->lost_exits) < 0 ||
        set_u64(d, "closed_at_end", p->closed_at_end) < 0 || set_u64(d, "damage_count", p->damage_count) < 0 ||
        PyDict_SetItemString(d, "has_calls", rp_profile_has_calls(p) ? Py_True : Py_False) < 0 ||
        PyDict_SetItemString(d, "has_timeline", p->timeline ? Py_True : Py_False) < 0)
        goto fail;
    PyObject *damage = PyUnicode_DecodeUTF8(p->damage, (Py_ssize_t)strlen(p->damage), "replace");
    if (!damage || PyDict_SetItemString(d, "damage", damage) < 0) {
        Py_XDECREF(damage);
        goto fail;
    }
    Py_DECREF(damage);
    if (self->loaded_etl) {
        PyObject *c = Py_BuildValue("{sKsKsKsKsKsK}", "events", self->counts.events, "python_events",
                                    self->counts.python_events, "stacks", self->counts.stacks, "other_events",
                                    self->counts.other_events, "reader_errors", self->counts.reader_errors,
                                    "events_lost", self->counts.events_lost);
        if (!c || PyDict_SetItemString(d, "etl", c) < 0) {
            Py_XDECREF(c);
            goto fail;
        }
        Py_DECREF(c);
    }
    char name[128];
    for (uint32_t i = 0; i < p->thread_count; i++) {
        const rp_thread *t = &p->threads[i];
        PyObject *row = Py_BuildValue("{sIsIsssKsKsKsK}", "pid", t->pid, "tid", t->tid, "name",
                                      rp_thread_display_name(p, i, name, sizeof name), "calls", t->calls, "samples",
                                      t->samples, "first_ns", t->first_ns, "last_ns", t->last_ns);
        if (!row || PyList_Append(threads, row) < 0) {
            Py_XDECREF(row);
            goto fail;
        }
        Py_DECREF(row);
    }
    if (PyDict_SetItemString(d, "threads", threads) < 0)
        goto fail;
    Py_DECREF(threads);
    return d;
fail:
    Py_XDECREF(d);
    Py_XDECREF(threads);
    return NULL;
}

/* Per-function totals of the merged tree (or one thread's), as dicts. */
static PyObject *Profile_functions(ProfileObject *self, PyObject *args, PyObject *kw)
{
    static char *names[] = {"thread", NULL};
    int thread = -1;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|i:functions", names, &thread) || !usable(self, 1))
        return NULL;
    rp_profile *p = self->p;
    if (thread >= (int)p->thread_count)
        return PyErr_Format(PyExc_IndexError, "thread index %d out of range", thread);
    rp_tree view;
    int rc = rp_tree_build_view(p, thread < 0 ? RP_NONE : (uint32_t)thread, &view);
    if (rc)
        return raise_rp(self, rc);
    rp_function_total *tot = PyMem_Malloc(((size_t)p->function_count + 1) * sizeof *tot);
    PyObject *list = PyList_New(0);
    if (!tot || !list || rp_function_totals(p, &view, tot) != 0) {
        PyMem_Free(tot);
        Py_XDECREF(list);
        rp_tree_free(&view);
        return PyErr_NoMemory();
    }
    for (uint32_t i = 0; i < p->function_count; i++) {
        if (!tot[i].present)
            continue;
        const rp_function *f = &p->functions[i];
        PyObject *row = Py_BuildValue("{sssssIsisisdsdsK}", "name", f->name, "file", f->file, "line", f->line,
                                      "is_python", f->is_python, "is_address", f->is_address, "self", tot[i].self,
                                      "total", tot[i].inclusive, "calls", tot[i].calls);
        if (!row || PyList_Append(list, row) < 0) {
            Py_XDECREF(row);
            Py_CLEAR(list);
            break;
        }
        Py_DECREF(row);
    }
    PyMem_Free(tot);
    rp_tree_free(&view);
    return list;
}

static PyMethodDef Profile_methods[] = {
    {"define_function", (PyCFunction)(void (*)(void))Profile_define_function, METH_VARARGS | METH_KEYWORDS,
     "define_function(pid, id, name, file='', line=0, begin=0, end=0, is_python=True)"},
    {"call_enter", (PyCFunction)Profile_call_enter, METH_VARARGS, "call_enter(pid, tid, ts_ns, id, caller_line=0)"},
    {"call_exit", (PyCFunction)Profile_call_exit, METH_VARARGS, "call_exit(pid, tid, ts_ns, id)"},
    {"sample", (PyCFunction)Profile_sample, METH_VARARGS, "sample(pid, tid, ts_ns, ids_root_first, weight=1.0)"},
    {"sample_addresses", (PyCFunction)Profile_sample_addresses, METH_VARARGS,
     "sample_addresses(pid, tid, ts_ns, addresses_innermost_first, weight=1.0)"},
    {"mark", (PyCFunction)Profile_mark, METH_VARARGS, "mark(pid, tid, ts_ns, kind, text)"},
    {"name_thread", (PyCFunction)Profile_name_thread, METH_VARARGS, "name_thread(pid, tid, name)"},
    {"note_damage", (PyCFunction)Profile_note_damage, METH_VARARGS, "note_damage(sentence)"},
    {"finish", (PyCFunction)Profile_finish, METH_NOARGS, "finish() -> self: ends the input"},
    {"write", (PyCFunction)(void (*)(void))Profile_write, METH_VARARGS | METH_KEYWORDS,
     "write(format, path=None, *, limit=0, sort='self', per_thread=False, min_percent=0.5, title=None, all_frames=False, colour=False)"},
    {"info", (PyCFunction)Profile_info, METH_NOARGS, "info() -> dict of counts, threads and damage"},
    {"functions", (PyCFunction)(void (*)(void))Profile_functions, METH_VARARGS | METH_KEYWORDS,
     "functions(thread=-1) -> list of per-function totals"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject Profile_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "etwtrace._report.Profile",
    .tp_basicsize = sizeof(ProfileObject),
    .tp_dealloc = (destructor)Profile_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "A profile: functions, threads, call trees, marks (see etwtrace.report).",
    .tp_methods = Profile_methods,
    .tp_init = (initproc)Profile_init,
    .tp_new = PyType_GenericNew,
};

static PyObject *load_etl(PyObject *Py_UNUSED(module), PyObject *args, PyObject *kw)
{
    static char *names[] = {"path", "timeline", "python_only", "lines", NULL};
    PyObject *path;
    int timeline = 1, python_only = 0, lines = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|ppp:load_etl", names, PyUnicode_FSConverter, &path, &timeline,
                                     &python_only, &lines))
        return NULL;
    ProfileObject *self = PyObject_New(ProfileObject, &Profile_Type);
    if (!self) {
        Py_DECREF(path);
        return NULL;
    }
    self->p = NULL;
    self->loaded_etl = 1;
    memset(&self->counts, 0, sizeof self->counts);
    if (profile_create(self, timeline, python_only, lines) < 0) {
        Py_DECREF(path);
        Py_DECREF(self);
        return NULL;
    }
    char message[512];
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = rp_etl_load_file(self->p, PyBytes_AS_STRING(path), &self->counts, message, sizeof message);
    if (!rc)
        rc = rp_profile_finish(self->p);
    Py_END_ALLOW_THREADS
    Py_DECREF(path);
    if (rc) {
        if (is_os_error(rc)) {
            PyObject *e = Py_BuildValue("(is)", -rc, message);
            if (e) {
                PyErr_SetObject(PyExc_OSError, e);
                Py_DECREF(e);
            }
        } else if (rc == TLD_E_NOT_ETL) {
            PyErr_SetString(PyExc_ValueError, message);
        } else {
            raise_rp(self, rc);
        }
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static PyMethodDef module_methods[] = {
    {"load_etl", (PyCFunction)(void (*)(void))load_etl, METH_VARARGS | METH_KEYWORDS,
     "load_etl(path, timeline=True, python_only=False) -> Profile (finished)"},
    {NULL, NULL, 0, NULL},
};

static int exec_module(PyObject *m)
{
    if (pyc_require_main_interpreter("etwtrace._report") < 0 || PyType_Ready(&Profile_Type) < 0)
        return -1;
    if (PyModule_AddObject(m, "Profile", pyc_new_ref((PyObject *)&Profile_Type)) < 0 ||
        PyModule_AddStringConstant(m, "__version__", ETW_VERSION) < 0)
        return -1;
    return 0;
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, (void *)exec_module},
    PYC_SLOT_MAIN_INTERPRETER_ONLY
    {0, NULL},
};

/* Profile is a static type, shared by every module object: like the other
 * extensions, this one loads in the main interpreter only (pycompat.h). */
static struct PyModuleDef report_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "etwtrace._report",
    .m_doc = "C core of etwtrace.report: the profile model and report writers.",
    .m_size = 0,
    .m_methods = module_methods,
    .m_slots = module_slots,
};

PyMODINIT_FUNC PyInit__report(void)
{
    return PyModuleDef_Init(&report_module);
}
