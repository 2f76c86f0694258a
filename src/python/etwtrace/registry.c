/*
 * registry.c — which Python function is which.
 *
 * Every code object the tracer meets gets a struct etw_func in a co_extra
 * slot: its FunctionID (1, 2, 3, ... for the life of the process, shared
 * with builtins) and, in stack-sampling mode, its own native thunk. The
 * slot is read on every call (etw_code_func, inline in etwtrace.h); this
 * file is the slow path that fills it:
 *
 *   first sight of a code object in this tracing generation
 *     -> ignored?  (co_filename in the trace's ignore set, or not under any
 *                   of its include prefixes when that list is non-empty; both
 *                   belong to the trace: enable() installs the tracer's
 *                   own, disable() drops them): entry calls the
 *                   evaluator directly, no event
 *     -> stack mode: take a thunk from the arenas (thunk_arena.h), name it
 *                   in the perf map ("py::<qualname>:<filename>") and, when
 *                   asked, in the jitdump file
 *     -> write PythonFunction (thunk range, or 0..0 without a thunk)
 *
 * A generation is one enable(): each enable re-decides entries (the ignore
 * set may have changed) and writes PythonFunction again for the new trace,
 * keeping FunctionID and thunk.
 *
 * Every entry is also on one list (and every builtin in the table keeps its
 * names), so a session that starts listening mid-trace can be told every
 * function announced so far (etw_registry_announce_all, from the
 * provider's enable callback in events.c).
 *
 * Builtins (instrumented mode) have no co_extra: a small open-addressing
 * table keyed by their PyMethodDef maps them to FunctionIDs.
 *
 * When the system refuses executable memory the first refusal is sticky:
 * functions are evaluated directly and enable() says so once (a
 * RuntimeWarning raised by module.c, never from inside the hook).
 */
#include "etwtrace.h"
#include "pointer_table.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if ETW_HAVE_PERF_MAP
#include <unistd.h>

#include "jitdump_linux.h"
#include "perfmap_linux.h"
#endif

Py_ssize_t etw_extra_index = -1;
int etw_extra_inline_ok;
uint32_t etw_gen = 1;
int etw_perfmap_enabled = 1;
int etw_perfmap_error;

static uint64_t next_function_id = 1;
static PyObject *ignored_files;     /* set of str */
static PyObject *include_prefixes;  /* list of str */
static int thunks_refused;          /* sticky: executable memory refused */
static char thunks_error[256];
static struct thunk spare_thunk;    /* made by the probe, used first */
static int have_spare;

void *etw_call_direct(void *tstate, void *frame, int throwflag, void *real_eval)
{
    return ((thunk_eval_fn)real_eval)(tstate, frame, throwflag);
}

/* The value the import-time check stores (SetExtra frees what it replaces). */
static char check_marker;

/* Every live entry (the GIL guards it): creation links, free_func unlinks. */
static struct etw_func *all_funcs;

static void free_func(void *p)
{
    if (p == NULL || p == &check_marker) /* some versions free empty slots too */
        return;
    struct etw_func *f = p;
    if (f->prev != NULL)
        f->prev->next = f->next;
    else if (all_funcs == f)
        all_funcs = f->next;
    if (f->next != NULL)
        f->next->prev = f->prev;
    free(f); /* the thunk, if any, is never reused: nothing else to do */
}

PyObject *etw_ignored_files(void) { return ignored_files; }
PyObject *etw_include_prefixes(void) { return include_prefixes; }

int etw_registry_set_filters(PyObject *ignored, PyObject *prefixes)
{
    PyObject *new_ignored = ignored ? pyc_new_ref(ignored) : PySet_New(NULL);
    PyObject *new_prefixes = prefixes ? pyc_new_ref(prefixes) : PyList_New(0);
    if (new_ignored == NULL || new_prefixes == NULL) {
        Py_XDECREF(new_ignored);
        Py_XDECREF(new_prefixes);
        return -1;
    }
    Py_XSETREF(ignored_files, new_ignored);
    Py_XSETREF(include_prefixes, new_prefixes);
    return 0;
}

#if ETW_HAVE_PERF_MAP
/* CPython's perf map writer (3.12+), shared with its own trampolines. In a
 * forked child it still holds the parent's file until told otherwise, and
 * the child's first entries may come before any after-fork hook of ours
 * runs (threading's runs Python code first): so the pid is checked here. */
static etw_perfmap_writer_fn python_writer;
static pid_t writer_pid;

static int shared_writer(const void *code, unsigned int size, const char *name)
{
    pid_t pid = getpid();
    if (pid != writer_pid) {
        etw_python_perfmap_after_fork_child();
        writer_pid = pid;
    }
    return python_writer(code, size, name);
}
#endif

int etw_registry_init(PyObject *module)
{
    (void)module;
    if (etw_extra_index < 0) {
        etw_extra_index = etw_request_code_extra_index(free_func);
        if (etw_extra_index < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_RuntimeError, "no code-object extra slot is left for etwtrace");
            return -1;
        }
        /* Check the inline co_extra reader against the API on a scratch
         * code object before trusting it on the hot path. */
        PyObject *code = Py_CompileString("0", "<etwtrace-check>", Py_eval_input);
        if (code == NULL)
            return -1;
        void *marker = &check_marker;
        etw_extra_inline_ok = 0;
        if (etw_code_set_extra(code, etw_extra_index, NULL) == 0 &&
            etw_code_get_extra_inline(code, etw_extra_index) == NULL) {
            /* set a value the free function must not free, compare, reset */
            if (etw_code_set_extra(code, etw_extra_index, marker) == 0) {
                void *via_api = NULL;
                etw_code_get_extra_api(code, etw_extra_index, &via_api);
                etw_extra_inline_ok = via_api == marker && etw_code_get_extra_inline(code, etw_extra_index) == marker;
                etw_code_set_extra(code, etw_extra_index, NULL);
            }
        }
        PyErr_Clear();
        Py_DECREF(code);
    }
    if (ignored_files == NULL && (ignored_files = PySet_New(NULL)) == NULL)
        return -1;
    if (include_prefixes == NULL && (include_prefixes = PyList_New(0)) == NULL)
        return -1;
#if ETW_HAVE_PERF_MAP
    python_writer = etw_python_perfmap_writer();
    if (python_writer != NULL) {
        writer_pid = getpid();
        perfmap_set_writer(shared_writer);
    }
#endif
    return 0;
}

/* ---- thunks ---------------------------------------------------------------- */

static void note_refusal(int rc)
{
    thunks_refused = -rc;
#if ETW_HAVE_THUNKS
    const char *why = thunk_arena_error();
#else
    const char *why = "";
#endif
    if (why == NULL || why[0] == '\0')
        why = tld_strerror(rc);
    snprintf(thunks_error, sizeof thunks_error, "%s", why);
}

static int make_thunk(uintptr_t key, struct thunk *out)
{
    if (have_spare) {
        *out = spare_thunk;
        have_spare = 0;
        return 0;
    }
    if (thunks_refused)
        return -thunks_refused;
#if ETW_HAVE_THUNKS
    int rc = thunk_arena_create(key, out);
#else
    (void)key;
    (void)out;
    int rc = -ENOSYS;
#endif
    if (rc == -EACCES || rc == -EPERM || rc == -ENOSYS)
        note_refusal(rc);
    return rc;
}

int etw_thunks_available(void) { return !thunks_refused; }

const char *etw_thunks_error(void) { return thunks_error; }

int etw_thunks_probe(void)
{
    if (have_spare || thunks_refused)
        return thunks_refused ? -thunks_refused : 0;
    int rc = make_thunk((uintptr_t)&spare_thunk, &spare_thunk);
    if (rc == 0)
        have_spare = 1;
    return rc;
}

int etw_jitdump_set(int on)
{
#if ETW_HAVE_PERF_MAP
    if (!on) {
        jitdump_disable();
        return 0;
    }
    return jitdump_enable();
#else
    return on ? -ENOSYS : 0;
#endif
}

/* "py::<qualname>:<filename>" for perf. */
static void name_thunk(const struct thunk *t, PyObject *qualname, PyObject *filename)
{
#if ETW_HAVE_PERF_MAP
    int jit = jitdump_enabled();
    if (!etw_perfmap_enabled && !jit)
        return;
    const char *q = qualname && PyUnicode_Check(qualname) ? PyUnicode_AsUTF8(qualname) : NULL;
    if (q == NULL) {
        PyErr_Clear();
        q = "?";
    }
    const char *f = filename && PyUnicode_Check(filename) ? PyUnicode_AsUTF8(filename) : NULL;
    if (f == NULL) {
        PyErr_Clear();
        f = "?";
    }
    char name[1024];
    snprintf(name, sizeof name, "py::%s:%s", q, f);
    if (etw_perfmap_enabled && etw_perfmap_error == 0) {
        int rc = perfmap_add((const void *)t->begin, t->end - t->begin, name);
        if (rc != 0) {
            /* Once: perf will not name Python frames of this process. Not a
             * Python warning: this runs inside the eval hook. */
            char path[64];
            etw_perfmap_error = rc;
            if (perfmap_path(path, sizeof path) == 0)
                fprintf(stderr, "etwtrace: not writing the perf map %s: %s; perf will not name Python "
                                "functions of this process\n", path,
                        rc == -EPERM ? "it exists and is not a private regular file of this user" : tld_strerror(rc));
        }
    }
    if (jit)
        jitdump_add((const void *)t->begin, t->end - t->begin, name);
#else
    (void)t;
    (void)qualname;
    (void)filename;
#endif
}

/* ---- the ignore set and include prefixes ------------------------------------ */

static int is_ignored(PyObject *filename)
{
    if (filename == NULL || !PyUnicode_Check(filename))
        return 0;
    int r = PySet_Contains(ignored_files, filename);
    if (r != 0) {
        PyErr_Clear();
        return r > 0;
    }
    Py_ssize_t n = PyList_GET_SIZE(include_prefixes);
    if (n == 0)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *prefix = PyList_GET_ITEM(include_prefixes, i);
        if (!PyUnicode_Check(prefix))
            continue;
        Py_ssize_t m = PyUnicode_Tailmatch(filename, prefix, 0, PY_SSIZE_T_MAX, -1);
        if (m > 0)
            return 0;
        if (m < 0)
            PyErr_Clear();
    }
    return 1;
}

/* ---- the slow path ---------------------------------------------------------- */

static void announce(const struct etw_func *f, enum etw_mode mode)
{
    PyCodeObject *co = (PyCodeObject *)f->code;
    int stack = mode == ETW_MODE_STACK && f->has_thunk;
    etw_write_function(f->id, stack ? f->begin : 0, stack ? f->end : 0, co->co_firstlineno, co->co_filename,
                       etw_code_qualname(co), 1);
}

/* An entry for `code`: a new FunctionID, evaluated directly, decided in no
 * generation yet. NULL when memory ran out. */
static struct etw_func *alloc_func(PyObject *code)
{
    struct etw_func *f = calloc(1, sizeof *f);
    if (f == NULL)
        return NULL;
    f->entry = etw_call_direct;
    f->id = next_function_id++;
    f->code = code;
    return f;
}

/* A new entry for `code`, in its code extra and in the list of every entry.
 * NULL when memory ran out (no exception is left set). */
static struct etw_func *new_func(PyObject *code)
{
    struct etw_func *f = alloc_func(code);
    if (f == NULL)
        return NULL;
    if (etw_code_set_extra(code, etw_extra_index, f) < 0) {
        PyErr_Clear();
        free(f);
        return NULL;
    }
    f->next = all_funcs;
    if (all_funcs != NULL)
        all_funcs->prev = f;
    all_funcs = f;
    return f;
}

struct etw_func *etw_registry_lookup_slow(PyObject *code, enum etw_mode mode)
{
    /* Code run by the registry itself (a str subclass's __eq__ in the
     * ignore set, an allocation's finalizer) is evaluated untraced. */
    static int busy;
    if (busy)
        return NULL;
    busy = 1;
    pyc_saved_error saved;
    pyc_error_save(&saved);
    struct etw_func *f = etw_code_func(code);
    if (f == NULL && (f = new_func(code)) == NULL)
        goto out;
    if (f->gen == etw_gen)
        goto out;
    PyCodeObject *co = (PyCodeObject *)code;
    f->traced = !is_ignored(co->co_filename);
    f->entry = etw_call_direct;
    if (f->traced && mode == ETW_MODE_STACK) {
        if (!f->has_thunk) {
            struct thunk t;
            if (make_thunk((uintptr_t)code, &t) == 0) {
                f->has_thunk = 1;
                f->thunk = t.entry;
                f->begin = t.begin;
                f->end = t.end;
                name_thunk(&t, etw_code_qualname(co), co->co_filename);
            }
        }
        if (f->has_thunk)
            f->entry = f->thunk;
    }
    f->gen = etw_gen;
    if (f->traced)
        announce(f, mode);
out:
    PyErr_Clear();
    pyc_error_restore(&saved);
    busy = 0;
    return f;
}

/* Entries of static code objects (etw_code_is_static), by address: they
 * are never freed, and no code extra can be set on some of them. */
struct static_slot {
    const void *code; /* PyObject *, the key */
    struct etw_func *func;
};
static pointer_table static_funcs = POINTER_TABLE_INIT(struct static_slot, 64);

static struct etw_func *static_func(PyObject *code)
{
    struct static_slot *slot = pointer_table_get(&static_funcs, code, NULL);
    if (slot == NULL)
        return NULL;
    if (slot->func == NULL) /* new, or its allocation failed before */
        slot->func = alloc_func(code);
    return slot->func;
}

struct etw_func *etw_registry_sampled_func(PyObject *code)
{
    if (etw_code_is_static(code))
        return static_func(code);
    struct etw_func *f = etw_code_func(code);
    if (f == NULL) {
        pyc_saved_error saved;
        pyc_error_save(&saved);
        f = new_func(code);
        pyc_error_restore(&saved);
    }
    return f;
}

void etw_registry_announce_sampled(struct etw_func *f, PyObject *code, uint32_t round)
{
    if (f->sampler_announced == round)
        return;
    f->sampler_announced = round;
    if (!etw_event_on(TLD_LEVEL_VERBOSE, ETW_KW_FUNCTION))
        return;
    pyc_saved_error saved;
    pyc_error_save(&saved);
    PyCodeObject *co = (PyCodeObject *)code;
    etw_write_function(f->id, f->has_thunk ? f->begin : 0, f->has_thunk ? f->end : 0, co->co_firstlineno,
                       co->co_filename, etw_code_qualname(co), 1);
    PyErr_Clear();
    pyc_error_restore(&saved);
}

/* ---- builtins ---------------------------------------------------------------- */

struct builtin_slot {
    const void *key; /* PyMethodDef * */
    uint64_t id;
    uint32_t gen;
    PyObject *qualname, *module; /* what PythonFunction says (strong; builtins live on) */
};
static pointer_table builtins = POINTER_TABLE_INIT(struct builtin_slot, 256);

static struct builtin_slot *builtin_find(const void *key)
{
    int created;
    struct builtin_slot *slot = pointer_table_get(&builtins, key, &created);
    if (slot != NULL && created)
        slot->id = next_function_id++;
    return slot;
}

/* Module name shown as the SourceFile of a builtin: its __module__, or for
 * a method the module of the type it is bound to ("builtins"). */
static PyObject *builtin_module(PyCFunctionObject *fn)
{
    PyObject *m = fn->m_module;
    if (m != NULL && PyUnicode_Check(m))
        return pyc_new_ref(m);
    if (m != NULL && PyModule_Check(m)) {
        PyObject *name = PyModule_GetNameObject(m);
        if (name != NULL)
            return name;
        PyErr_Clear();
    }
    PyObject *self = fn->m_self;
    if (self != NULL && !PyModule_Check(self)) {
        PyTypeObject *tp = PyType_Check(self) ? (PyTypeObject *)self : Py_TYPE(self);
        PyObject *name = PyObject_GetAttrString((PyObject *)tp, "__module__");
        if (name != NULL && PyUnicode_Check(name))
            return name;
        Py_XDECREF(name);
        PyErr_Clear();
    }
    return PyUnicode_FromString("builtins");
}

/* FunctionID of a builtin keyed by its PyMethodDef (shared by the function
 * and every bound or unbound form of it); writes PythonFunction on first
 * sight in this generation. `named` supplies __qualname__; `module` is the
 * SourceFile (a new reference, or NULL). */
static uint64_t builtin_id(const PyMethodDef *ml, PyObject *named, PyObject *(*module_of)(PyObject *))
{
    struct builtin_slot *s = builtin_find(ml);
    if (s == NULL)
        return 0;
    if (s->gen != etw_gen) {
        s->gen = etw_gen;
        pyc_saved_error saved;
        pyc_error_save(&saved);
        if (s->qualname == NULL) { /* names are kept for announce_all */
            s->qualname = PyObject_GetAttrString(named, "__qualname__");
            if (s->qualname == NULL) {
                PyErr_Clear();
                s->qualname = PyUnicode_FromString(ml->ml_name);
            }
            s->module = module_of(named);
            PyErr_Clear();
        }
        etw_write_function(s->id, 0, 0, 0, s->module, s->qualname, 0);
        PyErr_Clear();
        pyc_error_restore(&saved);
    }
    return s->id;
}

static PyObject *cfunction_module(PyObject *cfunc) { return builtin_module((PyCFunctionObject *)cfunc); }

uint64_t etw_registry_builtin_id(PyObject *cfunc)
{
    if (!PyCFunction_Check(cfunc))
        return 0;
    return builtin_id(((PyCFunctionObject *)cfunc)->m_ml, cfunc, cfunction_module);
}

/* A method descriptor's module: that of the type defining it ("builtins"
 * for list.append), as its bound form reports for instances of that type. */
static PyObject *method_descr_module(PyObject *descr)
{
    PyObject *name = PyObject_GetAttrString((PyObject *)PyDescr_TYPE(descr), "__module__");
    if (name != NULL && PyUnicode_Check(name))
        return name;
    Py_XDECREF(name);
    PyErr_Clear();
    return PyUnicode_FromString("builtins");
}

uint64_t etw_registry_method_descr_id(PyObject *descr)
{
    if (Py_TYPE(descr) != &PyMethodDescr_Type)
        return 0;
    return builtin_id(((PyMethodDescrObject *)descr)->d_method, descr, method_descr_module);
}

/* ---- announcing again -------------------------------------------------------- */

void etw_registry_announce_all(void)
{
    if (!etw_event_on(TLD_LEVEL_VERBOSE, ETW_KW_FUNCTION))
        return;
    for (const struct etw_func *f = all_funcs; f != NULL; f = f->next)
        if (f->gen == etw_gen && f->traced)
            announce(f, etw_active_mode);
    for (size_t i = 0; i < builtins.cap; i++) {
        const struct builtin_slot *s = pointer_table_slot(&builtins, i);
        if (s != NULL && s->gen == etw_gen && s->qualname != NULL)
            etw_write_function(s->id, 0, 0, 0, s->module, s->qualname, 0);
    }
}
