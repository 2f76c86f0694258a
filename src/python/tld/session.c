/*
 * session.c — the Session type: an in-process trace session
 * (tld_session.h) recording the events of chosen providers into an .etl
 * file, as a Python object and context manager.
 *
 * What is Python here and what is C: provider specs are parsed and checked
 * by traceloggingdynamic/sessions.py (_coerce_spec, text handling is
 * naturally Python) and the counters come back as its SessionStats named
 * tuple; this file converts those into a tld_session_config, calls the
 * core, and turns its errors into exceptions.
 *
 * Lifetime: a running session is stopped by stop(), by leaving a `with`
 * block, when the object is finalized, or at interpreter exit (the module
 * registers _stop_all_sessions with atexit; every running session sits in
 * a list for it). Stopping flushes the file, so it can take a while: it
 * runs with the GIL released. A per-object lock keeps two threads from
 * stopping, flushing or starting the same session at once.
 */
#include "binding.h"

#include "tracelogging/tld_session.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <structmember.h>

typedef struct SessionObject {
    PyObject_HEAD
    tld_session *session;        /* NULL unless running */
    PyThread_type_lock lock;     /* held by start/stop/flush/stats (see top) */
    PyObject *path;              /* os.fspath(path): str or bytes */
    PyObject *path_bytes;        /* the file-system encoding of path */
    PyObject *providers;         /* tuple of the specs as given */
    PyObject *logger_name;       /* str or None */
    PyObject *flush_interval;    /* float seconds, as given */
    uint64_t stacks;
    uint32_t buffer_size;
    uint64_t max_size;           /* bytes; 0: no limit */
    uint32_t flush_ms;
    tld_session_stats last;      /* counters at the last stop() */
    PyObject *specs;             /* list of the ProviderSpecs of the running (or last) session */
    PyObject *unmatched;         /* list of sentences: entries no provider matched (at the last stop) */
    struct SessionObject *live_prev, *live_next; /* running sessions, for atexit */
    PyObject *weakrefs;
} SessionObject;

/* Running sessions (protected by the GIL). */
static SessionObject *live_head;

/* traceloggingdynamic.sessions: _coerce_spec, ProviderSpec, SessionStats. */
static PyObject *coerce_spec_fn, *provider_spec_type, *session_stats_type, *describe_unmatched_fn;

static int load_sessions_module(void)
{
    if (describe_unmatched_fn != NULL)
        return 0;
    PyObject *m = PyImport_ImportModule("traceloggingdynamic.sessions");
    if (m == NULL)
        return -1;
    coerce_spec_fn = PyObject_GetAttrString(m, "_coerce_spec");
    provider_spec_type = coerce_spec_fn ? PyObject_GetAttrString(m, "ProviderSpec") : NULL;
    session_stats_type = provider_spec_type ? PyObject_GetAttrString(m, "SessionStats") : NULL;
    describe_unmatched_fn = session_stats_type ? PyObject_GetAttrString(m, "_describe_unmatched") : NULL;
    Py_DECREF(m);
    if (describe_unmatched_fn == NULL) {
        Py_CLEAR(coerce_spec_fn);
        Py_CLEAR(provider_spec_type);
        Py_CLEAR(session_stats_type);
        return -1;
    }
    return 0;
}

/* Sentences for the running session's provider entries that no provider
 * of this process matched (sessions.py words them). A new list, or NULL
 * with an exception. */
static PyObject *unmatched_sentences(SessionObject *self, tld_session *s)
{
    PyObject *out = PyList_New(0);
    if (out == NULL || self->specs == NULL)
        return out;
    Py_ssize_t n = PyList_GET_SIZE(self->specs);
    size_t *indexes = PyMem_Calloc((size_t)n + 1, sizeof *indexes);
    if (indexes == NULL) {
        Py_DECREF(out);
        return PyErr_NoMemory();
    }
    size_t count = tld_session_unmatched_providers(s, indexes, (size_t)n);
    PyObject *known = NULL;
    if (count > 0) {
        char small[1024];
        size_t need = tld_provider_list_names(small, sizeof small);
        if (need < sizeof small) {
            known = PyUnicode_DecodeUTF8(small, (Py_ssize_t)need, "replace");
        } else {
            char *big = PyMem_Malloc(need + 1);
            if (big != NULL) {
                need = tld_provider_list_names(big, need + 1);
                known = PyUnicode_DecodeUTF8(big, (Py_ssize_t)need, "replace");
                PyMem_Free(big);
            } else {
                PyErr_NoMemory();
            }
        }
    }
    for (size_t i = 0; i < count && i < (size_t)n && known != NULL; i++) {
        Py_ssize_t k = (Py_ssize_t)indexes[i];
        PyObject *given = k < PyTuple_GET_SIZE(self->providers) ? PyTuple_GET_ITEM(self->providers, k) : Py_None;
        PyObject *line = PyObject_CallFunctionObjArgs(describe_unmatched_fn, PyList_GET_ITEM(self->specs, k), given,
                                                      known, NULL);
        if (line == NULL || PyList_Append(out, line) < 0) {
            Py_XDECREF(line);
            Py_CLEAR(out);
            break;
        }
        Py_DECREF(line);
    }
    PyMem_Free(indexes);
    if (count > 0 && known == NULL)
        Py_CLEAR(out);
    Py_XDECREF(known);
    return out;
}

static void live_add(SessionObject *s)
{
    s->live_prev = NULL;
    s->live_next = live_head;
    if (live_head != NULL)
        live_head->live_prev = s;
    live_head = s;
}

static void live_remove(SessionObject *s)
{
    if (s->live_prev != NULL)
        s->live_prev->live_next = s->live_next;
    else if (live_head == s)
        live_head = s->live_next;
    if (s->live_next != NULL)
        s->live_next->live_prev = s->live_prev;
    s->live_prev = s->live_next = NULL;
}

/* Takes the object's lock; waits with the GIL released so the thread that
 * holds it (itself waiting for the disk without the GIL) can finish. */
static void session_lock(SessionObject *self)
{
    if (!PyThread_acquire_lock(self->lock, NOWAIT_LOCK)) {
        Py_BEGIN_ALLOW_THREADS
        PyThread_acquire_lock(self->lock, WAIT_LOCK);
        Py_END_ALLOW_THREADS
    }
}

static PyObject *stats_tuple(const tld_session_stats *st)
{
    if (load_sessions_module() < 0)
        return NULL;
    return PyObject_CallFunction(session_stats_type, "KKKK", (unsigned long long)st->events_written,
                                 (unsigned long long)st->events_lost, (unsigned long long)st->buffers_written,
                                 (unsigned long long)st->events_pending);
}

/* OSError(errno, message, path), which Python turns into FileNotFoundError
 * etc. `why` is the core's sentence when it gave one, else `doing` plus the
 * system's words. */
static void raise_os_error(SessionObject *self, int err, const char *why, const char *doing)
{
    PyObject *msg = why != NULL && why[0] ? PyUnicode_FromString(why)
                                          : PyUnicode_FromFormat("%s: %s", doing, strerror(err));
    if (msg == NULL)
        return;
    PyObject *exc = PyObject_CallFunction(PyExc_OSError, "iOO", err, msg, self->path);
    Py_DECREF(msg);
    if (exc != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
}

/* The RuntimeWarning stop() gives when events were dropped. Returns -1 if
 * warnings are errors and the warning was raised. */
static int warn_lost(SessionObject *self, const tld_session_stats *st)
{
    if (st->events_lost == 0)
        return 0;
    if (st->stop_reason == TLD_E_SIZE_LIMIT)
        return PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                                "trace session %R lost %llu event%s: the file reached its size limit "
                                "(max_size=%llu) and recording stopped there; the file holds what came before",
                                self->path, (unsigned long long)st->events_lost, st->events_lost == 1 ? "" : "s",
                                (unsigned long long)self->max_size);
    if (st->write_error != 0)
        return PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                                "trace session %R lost %llu event%s: writing the file failed (%s) and "
                                "recording stopped there; the file holds what came before; check the free "
                                "space and permissions where it is written",
                                self->path, (unsigned long long)st->events_lost, st->events_lost == 1 ? "" : "s",
                                tld_strerror(st->write_error));
    return PyErr_WarnFormat(PyExc_RuntimeWarning, 1,
                            "trace session %R lost %llu event%s: too large for one buffer "
                            "(%u bytes; at most 64 KiB per event); raise buffer_size or write smaller events",
                            self->path, (unsigned long long)st->events_lost, st->events_lost == 1 ? "" : "s",
                            (unsigned)(self->buffer_size ? self->buffer_size : TLD_SESSION_DEFAULT_BUFFER_SIZE));
}

/* Stops the session if it runs (stats in self->last). Returns 1 if it was
 * running, 0 if not. Never raises. */
static int stop_session(SessionObject *self)
{
    session_lock(self);
    tld_session *s = self->session;
    self->session = NULL;
    if (s != NULL) {
        live_remove(self);
        pyc_saved_error saved;
        pyc_error_save(&saved);
        PyObject *unmatched = unmatched_sentences(self, s);
        if (unmatched == NULL)
            PyErr_Clear(); /* only a diagnostic: stopping must not fail for it */
        Py_XSETREF(self->unmatched, unmatched);
        pyc_error_restore(&saved);
        tld_session_stats st;
        memset(&st, 0, sizeof st);
        Py_BEGIN_ALLOW_THREADS
        tld_session_stop(s, &st); /* a write error is counted in st; warn_lost reports it */
        Py_END_ALLOW_THREADS
        self->last = st;
    }
    PyThread_release_lock(self->lock);
    return s != NULL;
}

/* ---- construction ---- */

static PyObject *Session_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    (void)args;
    (void)kwds;
    SessionObject *self = (SessionObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->lock = PyThread_allocate_lock();
    if (self->lock == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    return (PyObject *)self;
}

static int parse_u64(PyObject *v, uint64_t *out, const char *what)
{
    if (!PyLong_Check(v) || PyBool_Check(v)) {
        PyErr_Format(PyExc_TypeError, "%s must be an int, not %.100s", what, Py_TYPE(v)->tp_name);
        return -1;
    }
    unsigned long long x = PyLong_AsUnsignedLongLong(v);
    if (x == (unsigned long long)-1 && PyErr_Occurred()) {
        PyErr_Format(PyExc_ValueError, "%s must be from 0 to 2**64-1, not %R", what, v);
        return -1;
    }
    *out = x;
    return 0;
}

static int Session_init(PyObject *op, PyObject *args, PyObject *kwds)
{
    SessionObject *self = (SessionObject *)op;
    static char *kwlist[] = {"path", "providers", "stacks", "buffer_size", "flush_interval", "logger_name",
                             "max_size", NULL};
    PyObject *path, *providers, *stacks = NULL, *buffer_size = NULL, *flush_interval = NULL;
    PyObject *logger_name = Py_None, *max_size = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OO|$OOOOO:Session", kwlist, &path, &providers, &stacks,
                                     &buffer_size, &flush_interval, &logger_name, &max_size))
        return -1;
    if (self->session != NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Session.__init__() called on a running session; stop() it first");
        return -1;
    }
    if (load_sessions_module() < 0)
        return -1;

    PyObject *fspath = PyOS_FSPath(path);
    if (fspath == NULL)
        return -1;
    PyObject *encoded = NULL;
    if (!PyUnicode_FSConverter(fspath, &encoded)) {
        Py_DECREF(fspath);
        return -1;
    }
    if (PyBytes_GET_SIZE(encoded) == 0) {
        Py_DECREF(fspath);
        Py_DECREF(encoded);
        PyErr_SetString(PyExc_ValueError, "the trace file path is empty; give the .etl file to write");
        return -1;
    }
    Py_XSETREF(self->path, fspath);
    Py_XSETREF(self->path_bytes, encoded);

    if (PyUnicode_Check(providers) || PyBytes_Check(providers) ||
        PyObject_IsInstance(providers, provider_spec_type) == 1) {
        PyErr_Format(PyExc_TypeError,
                     "providers must be an iterable of provider specs (e.g. [%R]), not one %.100s",
                     providers, Py_TYPE(providers)->tp_name);
        return -1;
    }
    PyObject *tuple = PySequence_Tuple(providers);
    if (tuple == NULL) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "providers must be an iterable of provider specs, not %.100s",
                         Py_TYPE(providers)->tp_name);
        }
        return -1;
    }
    Py_XSETREF(self->providers, tuple);

    self->stacks = 0;
    if (stacks != NULL && parse_u64(stacks, &self->stacks, "stacks (a keyword mask)") < 0)
        return -1;
    self->max_size = 0;
    if (max_size != Py_None) {
        if (parse_u64(max_size, &self->max_size, "max_size (bytes)") < 0)
            return -1;
        if (self->max_size == 0) {
            PyErr_SetString(PyExc_ValueError, "max_size must be a number of bytes above 0, or None for no limit");
            return -1;
        }
    }
    uint64_t bs = TLD_SESSION_DEFAULT_BUFFER_SIZE;
    if (buffer_size != NULL && parse_u64(buffer_size, &bs, "buffer_size") < 0)
        return -1;
    if (bs > UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "buffer_size must be a multiple of 1024 bytes between 4 KiB and 16 MiB");
        return -1;
    }
    self->buffer_size = (uint32_t)bs;
    double seconds = 1.0;
    if (flush_interval != NULL) {
        seconds = PyFloat_AsDouble(flush_interval);
        if (seconds == -1.0 && PyErr_Occurred())
            return -1;
    }
    if (!(seconds > 0.0 && seconds <= 86400.0)) {
        PyErr_Format(PyExc_ValueError, "flush_interval must be a number of seconds above 0 and at most 86400, not %R",
                     flush_interval);
        return -1;
    }
    double ms = ceil(seconds * 1000.0);
    self->flush_ms = ms < 1.0 ? 1u : (uint32_t)ms;
    PyObject *fi = PyFloat_FromDouble(seconds);
    if (fi == NULL)
        return -1;
    Py_XSETREF(self->flush_interval, fi);
    if (logger_name != Py_None) {
        if (!PyUnicode_Check(logger_name)) {
            PyErr_Format(PyExc_TypeError, "logger_name must be a str or None, not %.100s",
                         Py_TYPE(logger_name)->tp_name);
            return -1;
        }
        if (PyUnicode_FindChar(logger_name, 0, 0, PyUnicode_GET_LENGTH(logger_name), 1) != -1) {
            PyErr_SetString(PyExc_ValueError, "logger_name must not contain NUL characters");
            return -1;
        }
    }
    Py_INCREF(logger_name);
    Py_XSETREF(self->logger_name, logger_name);
    memset(&self->last, 0, sizeof self->last);
    return 0;
}

/* ---- methods ---- */

/* Fills one tld_session_provider from a ProviderSpec; name bytes and the id
 * are kept alive in `keep` / `ids[i]`. */
static int fill_provider(PyObject *spec, tld_session_provider *out, tld_guid *id, uint64_t stacks, PyObject *keep)
{
    PyObject *name = PyTuple_GetItem(spec, 0), *uid = PyTuple_GetItem(spec, 1), *level = PyTuple_GetItem(spec, 2),
             *any = PyTuple_GetItem(spec, 3), *all = PyTuple_GetItem(spec, 4);
    if (all == NULL)
        return -1;
    memset(out, 0, sizeof *out);
    if (uid != Py_None) {
        PyObject *generic;
        if (tldpy_uuid_bytes_le(uid, id->bytes_le, &generic) < 0)
            return -1;
        if (generic != NULL) {
            int rc = tldpy_length(generic) == 16 ? tldpy_copy_bytes(generic, id->bytes_le, 16) : -1;
            Py_DECREF(generic);
            if (rc < 0) {
                if (!PyErr_Occurred())
                    PyErr_SetString(PyExc_ValueError, "a provider id's bytes_le must be 16 bytes");
                return -1;
            }
        }
        out->id = id;
    } else {
        PyObject *utf8 = PyUnicode_AsUTF8String(name);
        if (utf8 == NULL || PyList_Append(keep, utf8) < 0) {
            Py_XDECREF(utf8);
            return -1;
        }
        out->name = PyBytes_AS_STRING(utf8);
        out->name_len = (size_t)PyBytes_GET_SIZE(utf8);
        Py_DECREF(utf8); /* `keep` holds it */
    }
    uint64_t lv;
    if (parse_u64(level, &lv, "level") < 0 || parse_u64(any, &out->match_any, "match_any") < 0 ||
        parse_u64(all, &out->match_all, "match_all") < 0)
        return -1;
    out->level = (uint8_t)lv;
    out->stack_keywords = stacks;
    return 0;
}

static PyObject *Session_start(PyObject *op, PyObject *unused)
{
    (void)unused;
    SessionObject *self = (SessionObject *)op;
    if (self->path_bytes == NULL) {
        PyErr_SetString(PyExc_ValueError, "Session.__init__() was not called");
        return NULL;
    }
    if (self->session != NULL)
        goto already;
    if (load_sessions_module() < 0)
        return NULL;

    /* Specs first (Python code; the lock is not held yet). */
    Py_ssize_t n = PyTuple_GET_SIZE(self->providers);
    PyObject *keep = PyList_New(0);
    PyObject *specs = NULL;
    tld_session_provider *entries = PyMem_Calloc((size_t)n + 1, sizeof *entries);
    tld_guid *ids = PyMem_Calloc((size_t)n + 1, sizeof *ids);
    PyObject *result = NULL;
    if (keep == NULL || entries == NULL || ids == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    specs = PyList_New(0);
    if (specs == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *spec = PyObject_CallOneArg(coerce_spec_fn, PyTuple_GET_ITEM(self->providers, i));
        if (spec == NULL || PyList_Append(keep, spec) < 0 || PyList_Append(specs, spec) < 0) {
            Py_XDECREF(spec);
            goto done;
        }
        Py_DECREF(spec);
        if (fill_provider(spec, &entries[i], &ids[i], self->stacks, keep) < 0)
            goto done;
    }

    char why[512] = "";
    tld_session_config cfg = {
        .path = PyBytes_AS_STRING(self->path_bytes),
        .buffer_size = self->buffer_size,
        .flush_interval_ms = self->flush_ms,
        .max_file_size = self->max_size,
        .providers = entries,
        .provider_count = (size_t)n,
        .error_message = why,
        .error_message_size = sizeof why,
    };
    if (self->logger_name != Py_None && (cfg.logger_name = PyUnicode_AsUTF8(self->logger_name)) == NULL)
        goto done;

    session_lock(self);
    if (self->session != NULL) {
        PyThread_release_lock(self->lock);
        goto already_cleanup;
    }
    tld_session *s = NULL;
    /* With the GIL held: providers' enable callbacks (tld.h) run in this
     * thread before start returns, and no Python thread writes events
     * between the session going live and those callbacks (etwtrace's
     * announcements and its Push/Pop balance rely on it). */
    int rc = tld_session_start(&s, &cfg);
    if (rc == 0) {
        self->session = s;
        memset(&self->last, 0, sizeof self->last);
        Py_XSETREF(self->specs, pyc_new_ref(specs));
        Py_CLEAR(self->unmatched);
        live_add(self);
    }
    PyThread_release_lock(self->lock);
    if (rc < 0 && rc > TLD_E_END)
        raise_os_error(self, -rc, why, "cannot create the trace file");
    else if (rc == TLD_E_NO_MEMORY)
        PyErr_NoMemory();
    else if (rc < 0)
        PyErr_Format(PyExc_ValueError, "cannot start the trace session: %s",
                     why[0] ? why : tld_strerror(rc));
    else
        result = pyc_new_ref(Py_None);
done:
    Py_XDECREF(keep);
    Py_XDECREF(specs);
    PyMem_Free(entries);
    PyMem_Free(ids);
    return result;
already_cleanup:
    Py_XDECREF(keep);
    Py_XDECREF(specs);
    PyMem_Free(entries);
    PyMem_Free(ids);
already:
    PyErr_Format(PyExc_RuntimeError, "the trace session writing %R is already running; stop() it first", self->path);
    return NULL;
}

/* The RuntimeWarning stop() gives for each provider entry that no provider
 * matched. Returns -1 if warnings are errors and one was raised. */
static int warn_unmatched(SessionObject *self)
{
    for (Py_ssize_t i = 0; self->unmatched != NULL && i < PyList_GET_SIZE(self->unmatched); i++)
        if (PyErr_WarnFormat(PyExc_RuntimeWarning, 1, "trace session %R: %U", self->path,
                             PyList_GET_ITEM(self->unmatched, i)) < 0)
            return -1;
    return 0;
}

static PyObject *Session_stop(PyObject *op, PyObject *unused)
{
    (void)unused;
    SessionObject *self = (SessionObject *)op;
    if (stop_session(self) && (warn_lost(self, &self->last) < 0 || warn_unmatched(self) < 0))
        return NULL;
    return stats_tuple(&self->last);
}

static PyObject *Session_unmatched_providers(PyObject *op, PyObject *unused)
{
    (void)unused;
    SessionObject *self = (SessionObject *)op;
    session_lock(self);
    PyObject *r;
    if (self->session != NULL)
        r = unmatched_sentences(self, self->session);
    else
        r = self->unmatched ? PyList_GetSlice(self->unmatched, 0, PyList_GET_SIZE(self->unmatched)) : PyList_New(0);
    PyThread_release_lock(self->lock);
    return r;
}

static PyObject *Session_flush(PyObject *op, PyObject *unused)
{
    (void)unused;
    SessionObject *self = (SessionObject *)op;
    session_lock(self);
    tld_session *s = self->session;
    int rc = 0;
    if (s != NULL) {
        Py_BEGIN_ALLOW_THREADS
        rc = tld_session_flush(s);
        Py_END_ALLOW_THREADS
    }
    PyThread_release_lock(self->lock);
    if (s == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the trace session is not running; start() it before flush()");
        return NULL;
    }
    if (rc == TLD_E_NOT_OURS) {
        PyErr_SetString(PyExc_RuntimeError, "the trace session was started by the parent process (this process "
                                            "is a forked child); start a session of its own to record here");
        return NULL;
    }
    if (rc != 0) {
        raise_os_error(self, rc < 0 && rc > TLD_E_END ? -rc : EIO, NULL, "cannot write the trace file");
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *Session_stats(PyObject *op, PyObject *unused)
{
    (void)unused;
    SessionObject *self = (SessionObject *)op;
    tld_session_stats st;
    session_lock(self);
    if (self->session != NULL)
        tld_session_get_stats(self->session, &st);
    else
        st = self->last;
    PyThread_release_lock(self->lock);
    return stats_tuple(&st);
}

static PyObject *Session_enter(PyObject *op, PyObject *unused)
{
    PyObject *r = Session_start(op, unused);
    if (r == NULL)
        return NULL;
    Py_DECREF(r);
    return pyc_new_ref(op);
}

static PyObject *Session_exit(PyObject *op, PyObject *args)
{
    (void)args;
    PyObject *r = Session_stop(op, NULL);
    if (r == NULL)
        return NULL;
    Py_DECREF(r);
    Py_RETURN_FALSE;
}

static PyObject *Session_get_running(PyObject *op, void *closure)
{
    (void)closure;
    return PyBool_FromLong(((SessionObject *)op)->session != NULL);
}

static PyObject *Session_repr(PyObject *op)
{
    SessionObject *self = (SessionObject *)op;
    return PyUnicode_FromFormat("<traceloggingdynamic.Session %R %s>", self->path ? self->path : Py_None,
                                self->session ? "running" : "stopped");
}

/* ---- lifetime ---- */

static void Session_finalize(PyObject *op)
{
    SessionObject *self = (SessionObject *)op;
    if (self->session == NULL || self->lock == NULL)
        return;
    pyc_saved_error saved;
    pyc_error_save(&saved);
    if (stop_session(self) && warn_lost(self, &self->last) < 0)
        PyErr_WriteUnraisable(op);
    pyc_error_restore(&saved);
}

static int Session_traverse(PyObject *op, visitproc visit, void *arg)
{
    SessionObject *self = (SessionObject *)op;
    Py_VISIT(Py_TYPE(op));
    Py_VISIT(self->providers);
    Py_VISIT(self->specs);
    Py_VISIT(self->unmatched);
    return 0;
}

static int Session_clear(PyObject *op)
{
    Py_CLEAR(((SessionObject *)op)->providers);
    Py_CLEAR(((SessionObject *)op)->specs);
    Py_CLEAR(((SessionObject *)op)->unmatched);
    return 0;
}

static void Session_dealloc(PyObject *op)
{
    SessionObject *self = (SessionObject *)op;
    if (PyObject_CallFinalizerFromDealloc(op) < 0)
        return; /* resurrected */
    PyObject_GC_UnTrack(op);
    if (self->weakrefs != NULL)
        PyObject_ClearWeakRefs(op);
    if (self->session != NULL) { /* finalizer skipped (e.g. at shutdown) */
        live_remove(self);
        tld_session_stop(self->session, NULL);
        self->session = NULL;
    }
    if (self->lock != NULL)
        PyThread_free_lock(self->lock);
    Session_clear(op);
    Py_CLEAR(self->path);
    Py_CLEAR(self->path_bytes);
    Py_CLEAR(self->logger_name);
    Py_CLEAR(self->flush_interval);
    Py_TYPE(op)->tp_free(op);
}

/* atexit hook: stops every session still running. */
PyObject *tldpy_stop_all_sessions(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    while (live_head != NULL) {
        PyObject *s = pyc_new_ref((PyObject *)live_head);
        PyObject *r = Session_stop(s, NULL);
        if (r == NULL) {
            PyErr_WriteUnraisable(s);
            if (((SessionObject *)s)->session == NULL && live_head == (SessionObject *)s)
                live_remove((SessionObject *)s);
        }
        Py_XDECREF(r);
        Py_DECREF(s);
    }
    Py_RETURN_NONE;
}

static PyMethodDef session_methods[] = {
    {"start", Session_start, METH_NOARGS,
     "start($self, /)\n--\n\n"
     "Creates the .etl file and starts recording. Raises OSError (with the path) when the file\n"
     "cannot be created, ValueError for a malformed provider spec or setting (naming it), and\n"
     "RuntimeError when the session is already running."},
    {"stop", Session_stop, METH_NOARGS,
     "stop($self, /)\n--\n\n"
     "Stops recording, writes every buffered event and closes the file; returns its\n"
     "SessionStats. Calling it again returns the same stats. Issues a RuntimeWarning saying\n"
     "how many events were lost and why, if any were."},
    {"flush", Session_flush, METH_NOARGS,
     "flush($self, /)\n--\n\nWrites every event recorded so far to the file now. RuntimeError if not running."},
    {"unmatched_providers", Session_unmatched_providers, METH_NOARGS,
     "unmatched_providers($self, /)\n--\n\n"
     "One sentence for each provider spec that no provider of this process has matched, by name\n"
     "or id, while the session ran (so far, while it runs), naming the providers that exist:\n"
     "\"no provider named 'Pyhton' was seen; known: Python\". stop() warns with the same sentences."},
    {"stats", Session_stats, METH_NOARGS,
     "stats($self, /)\n--\n\nThe current SessionStats (those of the last stop() when not running)."},
    {"__enter__", Session_enter, METH_NOARGS, "Starts the session and returns it."},
    {"__exit__", Session_exit, METH_VARARGS, "Stops the session."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef session_members[] = {
    {"path", T_OBJECT_EX, offsetof(SessionObject, path), READONLY, "The .etl file written (str or bytes)."},
    {"providers", T_OBJECT_EX, offsetof(SessionObject, providers), READONLY, "The provider specs, as given."},
    {"stacks", T_ULONGLONG, offsetof(SessionObject, stacks), READONLY,
     "Keyword mask of the events that carry the writing thread's stack."},
    {"buffer_size", T_UINT, offsetof(SessionObject, buffer_size), READONLY, "Bytes per buffer."},
    {"max_size", T_ULONGLONG, offsetof(SessionObject, max_size), READONLY,
     "Size limit of the file in bytes (0: none); recording stops there."},
    {"flush_interval", T_OBJECT_EX, offsetof(SessionObject, flush_interval), READONLY,
     "Seconds between flushes to the file."},
    {"logger_name", T_OBJECT_EX, offsetof(SessionObject, logger_name), READONLY,
     "Name recorded in the file header (None: the default, \"tld-session\")."},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef session_getset[] = {
    {"running", Session_get_running, NULL, "True between start() and stop().", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject Session_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "traceloggingdynamic.Session",
    .tp_basicsize = sizeof(SessionObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "Session(path, providers, *, stacks=0, buffer_size=" TLDPY_STR(TLD_SESSION_DEFAULT_BUFFER_SIZE)
              ", flush_interval=1.0, logger_name=None, max_size=None)\n"
              "--\n\n"
              "An in-process trace session: records the events of the given providers into the .etl\n"
              "file `path` (created or truncated) on any platform, without administrator rights.\n\n"
              "providers: iterable of ProviderSpec or str specs NAME_OR_GUID[:LEVEL[:ANY[:ALL]]]\n"
              "  (a GUID, *Name for the GUID hashed from Name, or a provider name; LEVEL 0..255,\n"
              "  default 5; ANY/ALL keyword masks, default 0). Checked by start().\n"
              "stacks: keyword mask; events with one of these keywords carry the writing thread's\n"
              "  native stack (STACK_TRACE64). buffer_size: bytes per buffer, a multiple of 1024\n"
              "  from 4 KiB to 16 MiB. flush_interval: seconds; at least this often, events reach\n"
              "  the file (and survive a crash). logger_name: recorded in the file header.\n"
              "  max_size: bytes the file may grow to (whole buffers); recording stops there, the\n"
              "  file stays readable, and later events are counted as lost. A failed write (a full\n"
              "  disk) stops recording the same way.\n\n"
              "`with Session(...) as s:` starts on entry and stops on exit. A session still running\n"
              "is stopped when it is garbage-collected and at interpreter exit.",
    .tp_new = Session_new,
    .tp_init = Session_init,
    .tp_dealloc = Session_dealloc,
    .tp_finalize = Session_finalize,
    .tp_traverse = Session_traverse,
    .tp_clear = Session_clear,
    .tp_repr = Session_repr,
    .tp_methods = session_methods,
    .tp_members = session_members,
    .tp_getset = session_getset,
    .tp_weaklistoffset = offsetof(SessionObject, weakrefs),
};
