/*
 * etwtrace.h — shared declarations of the etwtrace._etwtrace extension.
 *
 * Files:
 *   events.c      the six "Python" provider events, built with our
 *                          TraceLogging encoder
 *   registry.c    function registry: one struct etw_func per code
 *                          object in a co_extra slot (FunctionID, thunk),
 *                          builtins in a small hash table; ignore set and
 *                          include prefixes; perf map / jitdump entries
 *   stack.c       stack-sampling mode: the PEP 523 hook, per-thread
 *                          enablement, the forward-only benchmark hook
 *   instrument.c  instrumented mode: picks its hook, the C
 *                          profile function, threads started while enabled
 *   monitor.c     instrumented mode's sys.monitoring tool (3.13, 3.14)
 *   shadow.h      per-thread shadow stacks of both hooks
 *   lines.c       callers' lines from interpreter frames, cached
 *   sampler.h, sampler_ring.c, sampler_signal_linux.c (sampler_signal_none.c)
 *                 the built-in sampler's async-signal-safe core (plain C)
 *   sampler_frames.c   its walker: a thread's own frames, from the handler
 *   sampler_consumer.c its consumer: threads, rings -> PythonSample events,
 *                 code-object lifetime, start/stop
 *   module.c      the module: enable/disable, marks, info()
 *
 * Everything runs with the GIL held (the registry, the one event builder,
 * the shadow stacks); free-threaded builds are not supported.
 */
#ifndef ETWTRACE_H
#define ETWTRACE_H

#include "interp_compat.h"

#include <stdint.h>

#include "call_batch.h"
#include "portable.h"
#include "tld_capi.h"
#include "thunk_arena.h"

struct etw_shadow;

#define ETW_LIKELY(x) TLD_LIKELY(x)
#define ETW_UNLIKELY(x) TLD_UNLIKELY(x)

/* Per-thread state lives in static TLS: the hot paths read it without a
 * __tls_get_addr call. The extension uses a few words of the static TLS
 * surplus glibc reserves for dlopen()ed modules (portable.h). */
#define ETW_TLS TLD_TLS_FAST

/* ---- events (events.c) ------------------------------------------ */

/* write_mark()'s opcode for a PythonStackSample instead of a PythonMark. */
#define ETW_MARK_STACK 3

/* The "Python" provider's fixed id (not derived from its name). */
#define ETW_PROVIDER_ID_TEXT "99a10640-320d-4b37-9e26-c311d86da7ab"

enum {
    ETW_KW_THREAD = 0x0100,
    ETW_KW_STACK = 0x0200,
    ETW_KW_FUNCTION = 0x0400,
    ETW_KW_MARK = 0x0800,
    ETW_KW_PUSH = TLD_PYTHON_KEYWORD_PUSH,
    ETW_KW_POP = TLD_PYTHON_KEYWORD_POP,
    ETW_KW_SAMPLE = 0x4000,
};

/* The provider lives in traceloggingdynamic._tld's registry (tld_capi.h),
 * where the sessions are. */
extern tld_provider *etw_provider;
extern const tld_capi *etw_capi;

/* Opens the provider "Python" with its fixed id and the shared builder. */
int etw_events_init(void);

/* The provider's enable state, read inline: it saves a call into _tld per
 * Push and Pop. */
extern const tld_enable_state *etw_provider_state;

static inline int etw_event_on(uint8_t level, uint64_t keyword)
{
    return tld_enable_state_allows(etw_provider_state, level, keyword);
}

/*
 * Bumped (never 0) each time a session starts listening to the provider
 * (its enable callback, with the GIL). A shadow-stack entry remembers the
 * epoch its Push was written in; its Pop is written only in that same
 * epoch, so a session never sees a Pop whose Push it did not see.
 */
extern uint32_t etw_listen_epoch;

/* Each writer checks enablement itself (Push's caller checks first too, to
 * skip the caller-line lookup) and never changes Python's error state. */
void etw_write_thread(int opcode, int32_t os_thread_id);
/* PythonThreadName: the name threading gave thread `os_thread_id` (a str). */
void etw_write_thread_name(int32_t os_thread_id, PyObject *name);
void etw_write_function(uint64_t id, uintptr_t begin, uintptr_t end, int32_t line, PyObject *source_file,
                        PyObject *name, int is_python_code);
/* Text events: return 0, or -1 with a Python exception (text not a str). */
int etw_write_mark(int opcode, PyObject *text);
int etw_write_stack_sample(PyObject *text);
void etw_write_push(uint64_t id, uint64_t caller, uint64_t caller_line);
void etw_write_pop(uint64_t id);

/* PythonSample: one sample of the built-in sampler. `ids` and `lines`
 * hold `depth` frames, innermost first. Returns 0 when written (or nobody
 * listens: see etw_event_on), else the provider's error. */
int etw_write_sample(int32_t thread_id, uint64_t filetime, uint32_t weight, uint8_t clock, uint16_t flags,
                     const uint64_t *ids, const uint32_t *lines, uint16_t depth);
/* PythonSampler start (opcode 1: settings, zero counts) or stop (opcode 2:
 * the run's counts). */
struct etw_sampler_summary {
    uint8_t clock;
    uint32_t rate, max_depth, threads;
    uint64_t samples, written, dropped, unreadable;
};
void etw_write_sampler(int opcode, const struct etw_sampler_summary *s);

/* ---- thread names (thread_names.c) ------------------------------------- */

/* Writes PythonThreadName for every thread threading knows (running, or
 * finished with its Thread object still alive) whose name this trace has
 * not said yet. Under the GIL; runs no Python code. */
void etw_thread_names_write(void);
/* Forgets what was said: the next trace names every thread again. */
void etw_thread_names_reset(void);

/* ---- compact calls (batches.c) ----------------------------------------- */

/* Push/Pop go into per-thread PythonCallBatch events (1) or are written one
 * event each (0). Batches are for in-process sessions; where ETW consumers
 * read the events (Windows), one event each is the default. */
#ifdef _WIN32
#define ETW_COMPACT_CALLS_DEFAULT 0
#else
#define ETW_COMPACT_CALLS_DEFAULT 1
#endif
extern int etw_compact_calls;
/* Prepares the PythonCallBatch event. 0, or -1 (no memory: calls are then
 * written one event each). */
int etw_batches_prepare(void);
/* Append to this thread's batch: 1, or 0 when no batch could be had. */
int etw_batch_call(uint64_t id, uint64_t caller, uint64_t caller_line);
int etw_batch_return(uint64_t id);
/* Writes this thread's batch now (before another event of this thread). */
void etw_batch_flush_mine(void);
/* Writes this thread's batch and gives its block back (thread end). */
void etw_batch_release_mine(void);
/* Writes every thread's batch (session start/stop/flush, disable). */
void etw_batches_flush_all(void);
/* Forgets the parent's pending records in a forked child. */
void etw_batches_after_fork_child(void);

/* ---- registry (registry.c) -------------------------------------- */

/* What a code object's co_extra slot holds. Freed with the code object;
 * its thunk stays (thunk addresses are never reused). */
struct etw_func {
    thunk_fn entry;     /* the thunk, or etw_call_direct when there is none */
    PyObject *code;     /* the code object holding this entry (borrowed: it frees the entry) */
    struct etw_func *prev, *next; /* every entry, for etw_registry_announce_all */
    uint32_t gen;       /* tracing generation this entry was decided for */
    uint8_t traced;     /* 0: ignored (ignore set / include prefixes) */
    uint8_t has_thunk;
    uint64_t id;        /* FunctionID */
    thunk_fn thunk;     /* this function's thunk, once it has one */
    uintptr_t begin, end;
    /* built-in sampler (sampler_consumer.c), per sampler run */
    uint32_t sampler_announced; /* the sampler's announcement round that wrote its PythonFunction */
    uint32_t sampler_decided;   /* the run that decided sampler_hidden */
    uint8_t sampler_hidden;     /* left out at the root of samples (a file in the ignore set) */
};

extern Py_ssize_t etw_extra_index;
extern int etw_extra_inline_ok;
/* Bumped by every enable(): entries of older generations are re-decided
 * (ignore set, include prefixes) and their PythonFunction written again. */
extern uint32_t etw_gen;

enum etw_mode { ETW_MODE_NONE = 0, ETW_MODE_STACK = 1, ETW_MODE_INSTRUMENTED = 2 };

int etw_registry_init(PyObject *module);

/* Calls real_eval directly: the entry of functions without a thunk. */
void *etw_call_direct(void *tstate, void *frame, int throwflag, void *real_eval);

static inline struct etw_func *etw_code_func(PyObject *code)
{
    if (ETW_LIKELY(etw_extra_inline_ok))
        return (struct etw_func *)etw_code_get_extra_inline(code, etw_extra_index);
    void *extra = NULL;
    if (etw_code_get_extra_api(code, etw_extra_index, &extra) < 0) {
        PyErr_Clear();
        return NULL;
    }
    return (struct etw_func *)extra;
}

/*
 * The entry for `code` in the current generation: creates it (FunctionID,
 * and in stack mode the thunk, perf map and jitdump entries) and writes
 * PythonFunction on first sight in this generation. Never disturbs the
 * pending exception. Returns NULL only when memory ran out.
 */
struct etw_func *etw_registry_lookup_slow(PyObject *code, enum etw_mode mode);

/*
 * For the built-in sampler's consumer: the entry of a sampled code object,
 * created when it has none (a FunctionID only: no thunk and no decision on
 * tracing, which the hooks still make when they meet the code); NULL when
 * memory ran out. Then etw_registry_announce_sampled() writes its
 * PythonFunction once per announcement round of the sampler (a run, and
 * again when a session starts listening during it), whatever the filters
 * say (a sample names every frame it keeps). Both run no Python code, change no
 * reference count and keep the pending exception: they are called while a
 * code object is being destroyed.
 */
struct etw_func *etw_registry_sampled_func(PyObject *code);
void etw_registry_announce_sampled(struct etw_func *f, PyObject *code, uint32_t round);

/* FunctionID of a builtin (PyCFunction) for instrumented mode: writes
 * PythonFunction (IsPythonCode 0) on first sight in this generation.
 * Returns 0 when it cannot tell. */
uint64_t etw_registry_builtin_id(PyObject *cfunc);
/* The same for a method descriptor (list.append called as lst.append(x)):
 * the id its bound builtin method has. */
uint64_t etw_registry_method_descr_id(PyObject *descr);

/* Writes PythonFunction again for every function (and builtin) announced
 * in the current generation: a session that starts listening mid-trace
 * learns the ids earlier events of others used and later events of its
 * own will use. */
void etw_registry_announce_all(void);

/* Thunks: 1 while executable memory may be had; the reason otherwise. */
int etw_thunks_available(void);
const char *etw_thunks_error(void);
/* Tries to create the first thunk now (enable() warns if refused). */
int etw_thunks_probe(void);

/* perf map / jitdump switches (default: perf map on, jitdump off). */
extern int etw_perfmap_enabled;
/* The first error writing the perf map (then no more lines are written). */
extern int etw_perfmap_error;
int etw_jitdump_set(int on);

PyObject *etw_ignored_files(void);     /* borrowed: the active trace's set */
PyObject *etw_include_prefixes(void);  /* borrowed: the active trace's list */
/* Installs a trace's filters (a set and a list, used live; NULL: new empty
 * ones). 0, or -1 with an exception (no memory). */
int etw_registry_set_filters(PyObject *ignored, PyObject *prefixes);

/* ---- stack-sampling mode (stack.c) ------------------------------ */

/* RuntimeError (-1) if another PEP 523 hook is active, else 0. */
int etw_stack_check(void);
/* Installs the hook (after etw_stack_check). */
int etw_stack_enable(int with_threads);
void etw_stack_disable(void);
int etw_forward_hook_set(int on);
/* ---- deep recursion under a frame-evaluation hook (deep.c) ------------- */

/* Times a hook parked itself for a thread near the end of its C stack. */
extern uint64_t etw_deep_recursion_parks;
/* Below this stack address of the calling thread a hook parks itself (0:
 * not computed). */
extern ETW_TLS uintptr_t etw_tls_stack_guard;
/* Computes the calling thread's guard (when it starts being traced). */
void etw_set_stack_guard(void);
/* 1 when the calling thread is near the end of its C stack or of the C
 * recursion count (3.12, 3.13). */
static inline int etw_thread_is_deep(PyThreadState *ts)
{
    return (uintptr_t)__builtin_frame_address(0) < etw_tls_stack_guard || etw_c_recursion_nearly_exhausted(ts);
}
/* Evaluates `fr` with `hook` parked (removed from the interpreter until the
 * outermost parked frame returns; deep.c). */
PyObject *etw_eval_parked(PyThreadState *ts, etw_frame *fr, int throwflag, etw_eval_fn hook);
/* Forgets a parked hook (enable and disable). */
void etw_parking_reset(void);

/* Per-thread enablement shared by both modes: a thread is traced when its
 * state word equals etw_thread_traced_key() of the current generation. */
extern ETW_TLS uint64_t etw_tls_thread;
static inline uint64_t etw_thread_traced_key(void) { return ((uint64_t)etw_gen << 1) | 1; }
static inline uint64_t etw_thread_untraced_key(void) { return (uint64_t)etw_gen << 1; }
/* The largest thread-state id of `interp` (ids only grow: a thread whose
 * id is larger started later). Under the GIL. */
uint64_t etw_newest_thread_id(PyInterpreterState *interp);

/* ---- instrumented mode (instrument.c) --------------------------- */

/* thread_hook: the module's _instrument_thread_hook, given to threading.setprofile. */
int etw_instrument_enable(int with_threads, PyObject *thread_hook);
void etw_instrument_disable(void);
/* threading.setprofile() hook for threads started while enabled. */
PyObject *etw_instrument_thread_hook(PyObject *module, PyObject *const *args, Py_ssize_t nargs);
/* What instrumented mode hooks: the active trace's hook, else the one the
 * next enable() tries first. */
const char *etw_instrument_hook_name(void);
/* 1 when the active instrumented trace reads callers' lines through the
 * interpreter-frame walk (lines.c), 0 when through the frame API. */
int etw_instrument_walks_frames(void);

/* Builtins are reported (1, the profile function or the sys.monitoring
 * tool) or not (0: the PEP 523 hook of calls_eval.c, where available). */
extern int etw_instrumented_builtins;

/* ---- instrumented mode without builtins (calls_eval.c) ------------------ */

/* 1 where the hook can run (the interpreter frames' layout is known). */
int etw_calls_eval_available(void);
/* Installs it (RuntimeError, -1, over another PEP 523 hook). */
int etw_calls_eval_enable(int with_threads);
void etw_calls_eval_disable(void);
/* 1 while it is the interpreter's evaluator. */
int etw_calls_eval_active(void);

/* ---- callers' lines (lines.c) ----------------------------------- */

/* ETWTRACE_FRAME_API set (non-empty, not 0/no/false): instrumented mode
 * reads frames only through CPython's API (the profile function, no frame
 * walk); the tests compare both ways with it. */
int etw_frame_api_forced(void);

#if ETW_HAVE_FRAME_WALK
/* Line of frame `f` (which runs code), cached per (FunctionID, offset). */
uint64_t etw_frame_line_cached(etw_frame *f);
/* 1 when walking from `innermost` (the thread's innermost interpreter
 * frame) meets the same code and lines as PyEval_GetFrame() and
 * PyFrame_GetBack() for a few frames; 0 when not (use the API then). */
int etw_frame_walk_agrees(etw_frame *innermost);
#endif

/* ---- sys.monitoring tool (monitor.c) ---------------------------- */

/* Registers the tool: 1 when it now reports calls, 0 when it cannot be
 * used here (CPython before 3.13, no free tool id, or the frame layout is
 * not the one we know; the profile function is used then), -1 with an
 * exception on error. */
int etw_monitor_start(void);
void etw_monitor_stop(void);
/* The tool id while registered, else -1. */
int etw_monitor_tool_id(void);
/* A thread hooked by threading.setprofile() starts its trace in the hook,
 * whose event came from the thread's innermost frame: the callee of a call
 * event (is_call), else the frame reporting it. Sets the shadow's base to
 * _bootstrap_inner's interpreter frame and, for a call, writes its Push. */
void etw_monitor_thread_started(struct etw_shadow *s, int32_t tid, int is_call);

/* ---- built-in sampler (sampler_consumer.c) ----------------------- */

/* sampler_start(rate=1000, clock='cpu', max_depth=2048, ring_kib=512,
 * drain_ms=20, root_files=()), sampler_stop() -> dict of counts,
 * sampler_active(). */
PyObject *etw_sampler_start_py(PyObject *module, PyObject *args, PyObject *kwargs);
PyObject *etw_sampler_stop_py(PyObject *module, PyObject *unused);
PyObject *etw_sampler_active_py(PyObject *module, PyObject *unused);
/* 1 while the sampler runs (marks are written then, as while a trace is). */
int etw_sampler_running(void);

/* ---- module state (module.c) ------------------------------------ */

/* 1 when environment variable `name` is set to something other than "",
 * "0", "no" or "false" (case-insensitive). */
int etw_env_true(const char *name);

extern enum etw_mode etw_active_mode;
extern int etw_with_threads;
extern int32_t etw_enabling_thread;   /* OS thread id of the enabling thread */

#endif
