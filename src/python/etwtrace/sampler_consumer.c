/*
 * sampler_consumer.c — the built-in sampler's side that holds the GIL:
 * which threads are sampled, turning ring records into PythonSample
 * events, keeping code objects alive long enough, and start/stop for the
 * module (etwtrace._etwtrace.sampler_start/sampler_stop).
 *
 *   drain thread (C, every drain period or when a ring is a quarter full):
 *     take the GIL ─► threads: a timer for each new thread state of the
 *     interpreter, retire the slots of threads that are gone ─► drain every
 *     ring ─► release the GIL
 *   drain of a record: each frame's code object ─► its entry (registry.c)
 *     ─► the root frames of files in the ignore set (the CLI's runner,
 *     thread bootstrap) left out ─► PythonFunction the first time in this
 *     run, line (PyCode_Addr2Line, cached per FunctionID and offset) ─►
 *     PythonSample
 *
 * Code-object lifetime. A sample holds code object addresses without a
 * reference (the handler may not touch reference counts). A code object
 * cannot be freed while a frame runs it, and a sample only names the
 * frames that were running; but it can be freed after its frame returns
 * and before the sample is drained. So every code object's destruction
 * first drains every ring, while it is still whole: a code watcher
 * (PY_CODE_EVENT_DESTROY) on 3.12+, a wrapped PyCode_Type.tp_dealloc
 * before. Destruction and draining both hold the GIL, so one consumer
 * runs at a time; draining runs no Python code, so it never lets the GIL
 * go half-way. This costs a look at each ring per code object freed (most
 * are empty), and keeps nothing alive: no reference is ever taken, no
 * address is reused before its samples are resolved.
 *
 * Threads are found by polling the interpreter's thread states: a thread
 * started between two drains is sampled from the next one (the first
 * drain-period of its life is missed). A thread state is matched to its
 * thread by kernel id (recorded from 3.11, read from the pthread's CPU
 * clock before), one slot per kernel id, so a state preallocated for a
 * thread that has not started yet is not mistaken for its creator.
 */
#include "etwtrace.h"
#include "sampler.h"

#include "clock.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

uint32_t etw_sampler_walk(sampler_frame *out, uint32_t max, uint16_t *flags);
int etw_sampler_layout_agrees(char *why, size_t why_size);

/* ---- state (GIL) ---------------------------------------------------------- */

static int active;
static uint32_t run_id;
/* PythonFunction is written once per announcement round: a run, and again
 * after a session started listening during it (etw_listen_epoch), so every
 * session's file names the functions its samples name. */
static uint32_t announce_round, announce_rounds, rounds_listen_epoch;
static sampler_config config;
static PyInterpreterState *interp;
static uint32_t drain_period_ms;

static pthread_t drain_thread;
static int drain_started;
static atomic_int drain_stop;
static PyThreadState *drain_tstate;
static int32_t drain_tid;
static int wake_fd = -1;

static int draining; /* a drain is running (one consumer at a time) */
static uint64_t anchor_ticks, anchor_filetime, frequency;

static uint64_t *ids_buf;
static uint32_t *lines_buf;

static uint32_t seen_epoch[SAMPLER_MAX_SLOTS];
static uint32_t epoch;

static struct {
    uint64_t written;       /* PythonSample events delivered to a listener */
    uint64_t unheard;       /* drained while nobody listened to keyword 0x4000 */
    uint64_t write_failed;  /* the provider refused them */
    uint64_t hidden;        /* only frames left out at the root (the CLI's own) */
    uint64_t drained;       /* records taken out of the rings */
    uint64_t corrupt;       /* rings found corrupt (and emptied) */
    uint64_t threads;       /* threads sampled during the run */
    uint64_t add_failed;    /* threads whose timer could not be created */
    uint64_t drains;
} stats;

/* ---- lines ---------------------------------------------------------------- */

#define LINE_SLOTS 4096 /* a power of two */

struct line_slot {
    uint64_t id;
    int32_t lasti;
    uint32_t line;
};
static struct line_slot *line_cache;

static uint32_t frame_line(PyObject *code, uint64_t id, int32_t lasti)
{
    if (lasti < 0)
        return (uint32_t)((PyCodeObject *)code)->co_firstlineno;
    uint64_t h = (id * 0x9E3779B97F4A7C15ull) ^ (uint64_t)(uint32_t)lasti;
    struct line_slot *slot = &line_cache[(h ^ (h >> 29)) & (LINE_SLOTS - 1)];
    if (slot->id == id && slot->lasti == lasti)
        return slot->line;
    int line = PyCode_Addr2Line((PyCodeObject *)code, lasti);
    slot->id = id;
    slot->lasti = lasti;
    slot->line = line > 0 ? (uint32_t)line : 0;
    return slot->line;
}

/* ---- draining ------------------------------------------------------------- */

static uint64_t ticks_to_filetime(uint64_t ticks)
{
    if (ticks >= anchor_ticks)
        return anchor_filetime + (uint64_t)((unsigned __int128)(ticks - anchor_ticks) * 10000000u / frequency);
    uint64_t back = (uint64_t)((unsigned __int128)(anchor_ticks - ticks) * 10000000u / frequency);
    return back < anchor_filetime ? anchor_filetime - back : 0;
}

/* ---- frames left out at the root ---------------------------------------------- */

/* The run's root files (etwtrace's own, threading, the CLI's runner:
 * sampler_start's root_files) as a tuple of str, made at the start, outside
 * any drain: a drain may not allocate objects (that could start a garbage
 * collection, i.e. Python code). Frames of these files are left out where
 * they form the root of a stack: they are what ran the program's code. */
static PyObject *hidden_files;

static int set_hidden_files(PyObject *files)
{
    PyObject *t = files != NULL ? PySequence_Tuple(files) : PyTuple_New(0);
    if (t == NULL)
        return -1;
    Py_XSETREF(hidden_files, t);
    return 0;
}

static int in_hidden_files(PyObject *filename)
{
    if (hidden_files == NULL || filename == NULL || !PyUnicode_CheckExact(filename))
        return 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(hidden_files); i++) {
        PyObject *name = PyTuple_GET_ITEM(hidden_files, i);
        if (PyUnicode_CheckExact(name) && PyUnicode_Compare(name, filename) == 0)
            return 1;
    }
    return 0;
}

static int is_hidden(struct etw_func *f, PyObject *code)
{
    if (f->sampler_decided != run_id) {
        f->sampler_decided = run_id;
        f->sampler_hidden = (uint8_t)in_hidden_files(((PyCodeObject *)code)->co_filename);
    }
    return f->sampler_hidden;
}

/* ---- records to events ---------------------------------------------------------- */

/* A frame as resolved for the events; per slot, the last record's whole
 * stack, outermost first: the frames a record shares with the previous one
 * (sampler.h) are not resolved again. */
struct resolved {
    struct etw_func *func; /* NULL when memory ran out */
    PyObject *code;
    uint32_t line;
    uint8_t hidden;
};
static struct resolved *resolved[SAMPLER_MAX_SLOTS];

static void free_resolved(void)
{
    for (int i = 0; i < SAMPLER_MAX_SLOTS; i++) {
        free(resolved[i]);
        resolved[i] = NULL;
    }
}

static void write_record(int slot, int32_t tid, const sampler_record *r)
{
    stats.drained++;
    uint32_t depth = 0;
    const sampler_frame *stack = sampler_slot_stack(slot, r, &depth); /* outermost first */
    if (stack == NULL || depth > config.max_depth) {
        stats.corrupt++;
        return;
    }
    if (resolved[slot] == NULL &&
        (resolved[slot] = malloc((size_t)(config.max_depth ? config.max_depth : 1) * sizeof **resolved)) == NULL) {
        stats.write_failed++;
        return;
    }
    struct resolved *res = resolved[slot];
    for (uint32_t j = r->shared; j < depth; j++) {
        PyObject *code = (PyObject *)(uintptr_t)stack[j].code;
        struct etw_func *f = etw_registry_sampled_func(code);
        res[j].func = f;
        res[j].code = code;
        res[j].hidden = f != NULL && is_hidden(f, code);
        res[j].line = f != NULL ? frame_line(code, f->id, stack[j].lasti) : 0;
    }
    /* The outermost frames of files in the ignore set are the CLI's or a
     * thread bootstrap's: left out. */
    uint32_t root = 0;
    while (root < depth && res[root].hidden)
        root++;
    if (depth > 0 && root == depth) {
        stats.hidden++;
        return;
    }
    uint32_t kept = depth - root;
    for (uint32_t i = 0; i < kept; i++) { /* the event lists them innermost first */
        struct resolved *x = &res[depth - 1 - i];
        if (x->func == NULL) {
            ids_buf[i] = 0;
            lines_buf[i] = 0;
            continue;
        }
        etw_registry_announce_sampled(x->func, x->code, announce_round);
        ids_buf[i] = x->func->id;
        lines_buf[i] = x->line;
    }
    int heard = etw_event_on(TLD_LEVEL_VERBOSE, ETW_KW_SAMPLE);
    int rc = etw_write_sample(tid, ticks_to_filetime(r->ticks), r->weight, (uint8_t)config.clock, r->flags, ids_buf,
                              lines_buf, (uint16_t)kept);
    if (rc != 0)
        stats.write_failed++;
    else if (heard)
        stats.written++;
    else
        stats.unheard++;
}

static void drain_slot(int slot)
{
    int32_t tid = sampler_slot_tid(slot);
    for (;;) {
        int corrupt = 0;
        const sampler_record *r = sampler_slot_peek(slot, &corrupt);
        if (corrupt)
            stats.corrupt++;
        if (r == NULL)
            break;
        write_record(slot, tid, r);
        sampler_slot_consume(slot, r);
    }
}

/* Drains every ring; frees the slots of threads that are gone once their
 * last records are out. Runs no Python code. */
static void drain_all(void)
{
    if (draining)
        return;
    draining = 1;
    pyc_saved_error saved;
    pyc_error_save(&saved);
    sampler_wake_reset();
    frequency = tld_clock_frequency();
    if (etw_listen_epoch != rounds_listen_epoch) {
        rounds_listen_epoch = etw_listen_epoch;
        announce_round = ++announce_rounds;
    }
    for (int i = 0; i < sampler_slot_limit(); i++) {
        if (!sampler_slot_in_use(i))
            continue;
        drain_slot(i);
        if (!sampler_slot_sampling(i))
            sampler_slot_release(i);
    }
    stats.drains++;
    pyc_error_restore(&saved);
    draining = 0;
}

/* ---- code-object lifetime ---------------------------------------------------- */

static void code_destroyed(void)
{
    if (active) {
        drain_all();          /* the samples naming it, while it is whole */
        sampler_code_freed(); /* and no later sample shares a frame with them */
    }
}

#if ETW_HAVE_CODE_WATCHERS
static int watcher_id = -1;

static int on_code_event(PyCodeEvent event, PyCodeObject *co)
{
    (void)co;
    if (event == PY_CODE_EVENT_DESTROY)
        code_destroyed();
    return 0;
}

static int watch_code_destruction(void)
{
    if (watcher_id >= 0)
        return 0;
    watcher_id = PyCode_AddWatcher(on_code_event);
    return watcher_id >= 0 ? 0 : -1;
}

static void unwatch_code_destruction(void)
{
    if (watcher_id >= 0 && PyCode_ClearWatcher(watcher_id) == 0)
        watcher_id = -1;
    PyErr_Clear();
}
#else
static destructor original_code_dealloc;

static void code_dealloc_first_drain(PyObject *code)
{
    code_destroyed();
    original_code_dealloc(code);
}

/* Wrapped once for the life of the process (another extension may wrap it
 * after us; unwrapping would cut it out); a no-op while not sampling. */
static int watch_code_destruction(void)
{
    if (PyCode_Type.tp_dealloc != code_dealloc_first_drain) {
        original_code_dealloc = PyCode_Type.tp_dealloc;
        PyCode_Type.tp_dealloc = code_dealloc_first_drain;
    }
    return 0;
}

static void unwatch_code_destruction(void) {}
#endif

/* ---- threads ---------------------------------------------------------------- */

/* Sampled threads by kernel id, rebuilt at each pass of find_threads():
 * open addressing, twice as many places as slots. */
#define TID_MAP_SIZE (2 * SAMPLER_MAX_SLOTS)
static struct {
    int32_t tid; /* 0: empty */
    int slot;
} tid_map[TID_MAP_SIZE];

static size_t tid_place(int32_t tid) { return ((uint32_t)tid * 2654435761u) & (TID_MAP_SIZE - 1); }

static void tid_map_add(int32_t tid, int slot)
{
    size_t i = tid_place(tid);
    while (tid_map[i].tid != 0 && tid_map[i].tid != tid)
        i = (i + 1) & (TID_MAP_SIZE - 1);
    tid_map[i].tid = tid;
    tid_map[i].slot = slot;
}

static void tid_map_rebuild(void)
{
    memset(tid_map, 0, sizeof tid_map);
    for (int i = 0; i < sampler_slot_limit(); i++)
        if (sampler_slot_sampling(i))
            tid_map_add(sampler_slot_tid(i), i);
}

static int slot_of_tid(int32_t tid)
{
    for (size_t i = tid_place(tid); tid_map[i].tid != 0; i = (i + 1) & (TID_MAP_SIZE - 1))
        if (tid_map[i].tid == tid)
            return tid_map[i].slot;
    return -1;
}

/* The kernel id of thread state `t`'s thread (0 when unknown), and in
 * *pthread_id the pthread_t to take its CPU clock from, or 0 when the
 * kernel id says it. From 3.11 the thread state records the kernel id, so
 * no pthread_t (which may outlive its thread) is read at all; before, the
 * id is read from the pthread's CPU clock. A thread state preallocated
 * for a thread that has not started yet holds its creator's ids (or none),
 * and the creator has its slot already (see find_threads). */
static int32_t thread_state_tid(PyThreadState *t, unsigned long *pthread_id)
{
    unsigned long native = etw_thread_state_native_id(t);
    *pthread_id = 0;
    if (native != 0)
        return native <= INT32_MAX ? (int32_t)native : 0;
    unsigned long pt = etw_thread_state_pthread(t);
    if (pt == 0)
        return 0;
    *pthread_id = pt;
    return sampler_tid_of_pthread(pt);
}

/* Samples thread states that have no slot yet; retires slots whose thread
 * state is gone. */
/* A new thread is found before threading registers it under its name:
 * names are looked for in this many passes after a thread appears. */
#define NAMING_PASSES 10
static int naming_passes;

static void find_threads(void)
{
    if (++epoch == 0)
        epoch = 1;
    tid_map_rebuild();
    for (PyThreadState *t = PyInterpreterState_ThreadHead(interp); t != NULL; t = PyThreadState_Next(t)) {
        if (t == drain_tstate)
            continue;
        unsigned long pthread_id;
        int32_t tid = thread_state_tid(t, &pthread_id);
        if (tid <= 0 || tid == drain_tid)
            continue;
        int slot = slot_of_tid(tid);
        if (slot < 0) {
            slot = sampler_thread_add(tid, pthread_id, PyThreadState_GetID(t));
            if (slot < 0) {
                stats.add_failed++;
                continue;
            }
            tid_map_add(tid, slot);
            stats.threads++;
            naming_passes = NAMING_PASSES;
        }
        seen_epoch[slot] = epoch;
    }
    for (int i = 0; i < sampler_slot_limit(); i++)
        if (sampler_slot_sampling(i) && seen_epoch[i] != epoch)
            sampler_thread_retire(i); /* drained and released by the next drain_all */
    if (naming_passes > 0) {
        naming_passes--;
        etw_thread_names_write();
    }
}

/* ---- the drain thread -------------------------------------------------------- */

static void *drain_main(void *arg)
{
    (void)arg;
    PyGILState_STATE g = PyGILState_Ensure();
    drain_tstate = PyThreadState_Get();
    drain_tid = (int32_t)PyThread_get_thread_native_id();
    PyThreadState *ts = PyEval_SaveThread();
    while (!atomic_load(&drain_stop)) {
        struct pollfd p = {.fd = wake_fd, .events = POLLIN};
        poll(&p, 1, (int)drain_period_ms);
        if (atomic_load(&drain_stop) || etw_interpreter_finalizing())
            break;
        PyEval_RestoreThread(ts);
        if (!atomic_load(&drain_stop) && active) {
            find_threads();
            drain_all();
        }
        ts = PyEval_SaveThread();
    }
    PyEval_RestoreThread(ts);
    drain_tstate = NULL;
    PyGILState_Release(g);
    return NULL;
}

/* Starts the drain thread with every signal blocked: process signals go
 * to Python's threads, and it is never sampled. */
static int start_drain_thread(void)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    atomic_store(&drain_stop, 0);
    int rc = pthread_create(&drain_thread, NULL, drain_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -rc;
    drain_started = 1;
    return 0;
}

static void stop_drain_thread(void)
{
    if (!drain_started)
        return;
    atomic_store(&drain_stop, 1);
    uint64_t one = 1;
    ssize_t ignored = write(wake_fd, &one, sizeof one);
    (void)ignored;
    Py_BEGIN_ALLOW_THREADS
    pthread_join(drain_thread, NULL);
    Py_END_ALLOW_THREADS
    drain_started = 0;
}

/* ---- fork ------------------------------------------------------------------- */

/* The child has neither the drain thread nor timers (sampler.h): the run
 * is over there, its samples are the parent's. */
static void consumer_after_fork_child(void)
{
    active = 0;
    drain_started = 0;
    drain_tstate = NULL;
    draining = 0;
}

/* ---- start and stop (the module's functions) ------------------------------------ */

static int parse_clock(const char *text, enum sampler_clock *out)
{
    if (strcmp(text, "cpu") == 0)
        *out = SAMPLER_CLOCK_CPU;
    else if (strcmp(text, "wall") == 0)
        *out = SAMPLER_CLOCK_WALL;
    else
        return -1;
    return 0;
}

static PyObject *sampler_error(int rc, const char *msg)
{
    if (rc == TLD_E_SAMPLER_BAD_ARGUMENT)
        return PyErr_Format(PyExc_ValueError, "%s", msg);
    if (rc < 0 && rc > -4096)
        return PyErr_Format(PyExc_OSError, "%s: %s", msg, strerror(-rc));
    return PyErr_Format(PyExc_RuntimeError, "%s", msg);
}

PyObject *etw_sampler_start_py(PyObject *module, PyObject *args, PyObject *kwargs)
{
    (void)module;
    static char *kwlist[] = {"rate", "clock", "max_depth", "ring_kib", "drain_ms", "root_files", NULL};
    unsigned int rate = 1000, max_depth = 2048, ring_kib = 512, drain_ms = 20;
    const char *clock_text = "cpu";
    PyObject *root_files = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "|IsIIIO:sampler_start", kwlist, &rate, &clock_text, &max_depth,
                                     &ring_kib, &drain_ms, &root_files))
        return NULL;
    if (active)
        return PyErr_Format(PyExc_RuntimeError, "the sampler is already running; stop it first");
    enum sampler_clock clock;
    if (parse_clock(clock_text, &clock) < 0)
        return PyErr_Format(PyExc_ValueError, "'%s' is not a sampler clock; use 'cpu' or 'wall'", clock_text);
    if (drain_ms < 1 || drain_ms > 10000)
        return PyErr_Format(PyExc_ValueError, "drain_ms must be 1..10000, not %u", drain_ms);
    if (ring_kib < 64 || ring_kib > 65536)
        return PyErr_Format(PyExc_ValueError, "ring_kib must be 64..65536, not %u", ring_kib);
    char why[256] = "";
    if (!etw_sampler_layout_agrees(why, sizeof why))
        return PyErr_Format(PyExc_RuntimeError,
                            "the built-in sampler cannot read this Python's frames (%s); it is built for CPython "
                            "3.9 to 3.14",
                            why);
    if (line_cache == NULL && (line_cache = calloc(LINE_SLOTS, sizeof *line_cache)) == NULL)
        return PyErr_NoMemory();
    uint64_t *ids = realloc(ids_buf, (size_t)(max_depth ? max_depth : 1) * sizeof *ids);
    if (ids == NULL)
        return PyErr_NoMemory();
    ids_buf = ids;
    uint32_t *lines = realloc(lines_buf, (size_t)(max_depth ? max_depth : 1) * sizeof *lines);
    if (lines == NULL)
        return PyErr_NoMemory();
    lines_buf = lines;
    if (set_hidden_files(root_files) < 0)
        return NULL;

    sampler_config cfg = {
        .clock = clock,
        .rate_hz = rate,
        .max_depth = max_depth,
        .ring_bytes = ring_kib * 1024u,
        .walk = etw_sampler_walk,
    };
    char msg[256] = "";
    int rc = sampler_start(&cfg, msg, sizeof msg);
    if (rc != 0)
        return sampler_error(rc, msg);
    static int atfork_done;
    if (!atfork_done && pthread_atfork(NULL, NULL, consumer_after_fork_child) == 0)
        atfork_done = 1;
    config = cfg;
    drain_period_ms = drain_ms;
    interp = PyInterpreterState_Get();
    wake_fd = sampler_wake_fd();
    memset(&stats, 0, sizeof stats);
    if (++run_id == 0)
        run_id = 1;
    announce_round = ++announce_rounds;
    rounds_listen_epoch = etw_listen_epoch;
    anchor_ticks = tld_clock_ticks();
    anchor_filetime = tld_clock_filetime_now();
    frequency = tld_clock_frequency();
    if (watch_code_destruction() < 0) {
        sampler_stop();
        sampler_release_all();
        return NULL;
    }
    active = 1;
    struct etw_sampler_summary start = {.clock = (uint8_t)clock, .rate = rate, .max_depth = max_depth};
    etw_write_sampler(1, &start);
    etw_thread_names_reset();
    find_threads();
    rc = start_drain_thread();
    if (rc != 0) {
        active = 0;
        sampler_stop();
        sampler_release_all();
        unwatch_code_destruction();
        errno = -rc;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    Py_RETURN_NONE;
}

static int set_count(PyObject *d, const char *key, uint64_t v)
{
    PyObject *o = PyLong_FromUnsignedLongLong(v);
    if (o == NULL)
        return -1;
    int rc = PyDict_SetItemString(d, key, o);
    Py_DECREF(o);
    return rc;
}

PyObject *etw_sampler_stop_py(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    if (!active)
        return PyErr_Format(PyExc_RuntimeError, "the sampler is not running");
    int guard_replaced = sampler_guard_replaced();
    sampler_stop();       /* no timer, no handler in flight */
    stop_drain_thread();
    drain_all();          /* the last records */
    etw_thread_names_write();
    active = 0;
    sampler_counts c;
    sampler_total_counts(&c);
    sampler_release_all();
    free_resolved();
    unwatch_code_destruction();
    struct etw_sampler_summary end = {
        .clock = (uint8_t)config.clock,
        .rate = config.rate_hz,
        .max_depth = config.max_depth,
        .threads = (uint32_t)stats.threads,
        .samples = c.taken,
        .written = stats.written,
        .dropped = c.dropped,
        .unreadable = c.unreadable,
    };
    etw_write_sampler(2, &end);
    PyObject *d = PyDict_New();
    if (d == NULL)
        return NULL;
    if (set_count(d, "samples", c.taken) < 0 || set_count(d, "weight", c.weight) < 0 ||
        set_count(d, "written", stats.written) < 0 || set_count(d, "unheard", stats.unheard) < 0 ||
        set_count(d, "write_failed", stats.write_failed) < 0 || set_count(d, "hidden", stats.hidden) < 0 ||
        set_count(d, "drained", stats.drained) < 0 || set_count(d, "dropped", c.dropped) < 0 ||
        set_count(d, "unreadable", c.unreadable) < 0 || set_count(d, "corrupt", stats.corrupt) < 0 ||
        set_count(d, "threads", stats.threads) < 0 || set_count(d, "thread_add_failed", stats.add_failed) < 0 ||
        set_count(d, "drains", stats.drains) < 0 || set_count(d, "rate", config.rate_hz) < 0 ||
        set_count(d, "signal", (uint64_t)sampler_signal_number()) < 0 ||
        set_count(d, "fault_guard_replaced", (uint64_t)guard_replaced) < 0) {
        Py_DECREF(d);
        return NULL;
    }
    PyObject *clock = PyUnicode_FromString(config.clock == SAMPLER_CLOCK_CPU ? "cpu" : "wall");
    if (clock == NULL || PyDict_SetItemString(d, "clock", clock) < 0) {
        Py_XDECREF(clock);
        Py_DECREF(d);
        return NULL;
    }
    Py_DECREF(clock);
    return d;
}

int etw_sampler_running(void) { return active; }

PyObject *etw_sampler_active_py(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    return PyBool_FromLong(active);
}
