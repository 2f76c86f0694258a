/*
 * interp_compat.h — everything the etwtrace extension needs to know about a
 * CPython version (3.9 .. 3.14): the frame-evaluation hook, code extras,
 * interpreter frames and profiling. etwtrace's files call these helpers
 * and never test PY_VERSION_HEX.
 * (Free-threaded builds, Py_GIL_DISABLED, are not supported by etwtrace:
 * its registry and event builder rely on the GIL.)
 */
#ifndef ETW_INTERP_COMPAT_H
#define ETW_INTERP_COMPAT_H

#include "pycompat.h"

/*
 * What the PEP 523 hook receives. 3.9 and 3.10 pass a PyFrameObject; 3.11
 * made frames internal and passes a struct _PyInterpreterFrame (opaque to
 * extensions). The hook's type is _PyFrameEvalFunction in both cases.
 */
#if PY_VERSION_HEX >= 0x030B0000
typedef struct _PyInterpreterFrame etw_frame;
#else
#include <frameobject.h> /* PyFrameObject's fields are public before 3.11 */
typedef PyFrameObject etw_frame;
#endif

/*
 * The code object a frame runs, without a call or a reference: the eval
 * hook's hot path. The interpreter frame is not public, so its first words
 * are mirrored here, per version:
 *   3.9/3.10: PyFrameObject is public; f->f_code.
 *   3.11:     _PyInterpreterFrame starts with f_func, f_globals, f_builtins,
 *             f_locals, then f_code (PyCodeObject *).
 *   3.12:     f_code moved to the first word.
 *   3.13:     the first word became f_executable (PyObject *): a code object
 *             or something else (None for some internal frames), so check.
 *   3.14:     f_executable is a _PyStackRef: the object pointer with tag
 *             bits in its low bits (bit 0 = deferred reference).
 * 3.12+ also has PyUnstable_InterpreterFrame_GetCode() (a strong reference,
 * one call); etw_frame_code_checked() compares the mirror against it.
 * Returns a borrowed code object, or NULL when the frame runs no code.
 */
typedef struct etw_frame_mirror_311 {
    PyObject *f_func, *f_globals, *f_builtins, *f_locals;
    PyObject *f_code;
} etw_frame_mirror_311;

static inline PyObject *etw_frame_code(etw_frame *f)
{
#if PY_VERSION_HEX >= 0x030E0000
    PyObject *o = (PyObject *)(*(uintptr_t *)f & ~(uintptr_t)3);
    return (o != NULL && PyCode_Check(o)) ? o : NULL;
#elif PY_VERSION_HEX >= 0x030D0000
    PyObject *o = *(PyObject **)f;
    return (o != NULL && PyCode_Check(o)) ? o : NULL;
#elif PY_VERSION_HEX >= 0x030C0000
    return *(PyObject **)f;
#elif PY_VERSION_HEX >= 0x030B0000
    return ((etw_frame_mirror_311 *)f)->f_code;
#else
    return (PyObject *)f->f_code;
#endif
}

/*
 * C recursion. Under a PEP 523 hook every Python call is a C call (the
 * interpreter stops inlining Python-to-Python calls), so deep recursion
 * uses C stack that it would not use without the hook. 3.12 and 3.13 count
 * C recursion in PyThreadState.c_recursion_remaining (starting at
 * Py_C_RECURSION_LIMIT, C_RECURSION_LIMIT in early 3.12) and raise
 * RecursionError when it runs out; 3.11 and 3.14 compare the stack pointer
 * with the thread's stack (stack.c does that on every version). Returns 1
 * when less than a quarter of the count is left.
 */
#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030E0000
#if defined(Py_C_RECURSION_LIMIT)
#define ETW_C_RECURSION_LIMIT Py_C_RECURSION_LIMIT
#elif defined(C_RECURSION_LIMIT)
#define ETW_C_RECURSION_LIMIT C_RECURSION_LIMIT
#endif
#endif

static inline int etw_c_recursion_nearly_exhausted(PyThreadState *ts)
{
#ifdef ETW_C_RECURSION_LIMIT
    return ts->c_recursion_remaining < ETW_C_RECURSION_LIMIT / 4;
#else
    (void)ts;
    return 0;
#endif
}

/* 1 when the mirror agrees with the interpreter's own accessor for frame
 * `f` (3.12+), or when there is nothing to compare with (before 3.12). */
static inline int etw_frame_code_checked(etw_frame *f)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *code = PyUnstable_InterpreterFrame_GetCode(f);
    PyObject *mine = etw_frame_code(f);
    int ok = (code == mine) || (mine == NULL && (code == NULL || !PyCode_Check(code)));
    Py_XDECREF(code);
    return ok;
#else
    (void)f;
    return 1;
#endif
}

/*
 * The evaluator our thunks call and the hook's getter/setter.
 * _PyEval_EvalFrameDefault, _PyInterpreterState_GetEvalFrameFunc and
 * _PyInterpreterState_SetEvalFrameFunc exist (exported, private) from 3.9
 * to 3.14. The getter returns _PyEval_EvalFrameDefault when no hook is set.
 * On 3.12+ CPython's own perf trampoline (-X perf, -X perf_jit,
 * sys.activate_stack_trampoline()) is such a hook: the getter returns it.
 */
typedef _PyFrameEvalFunction etw_eval_fn;
#define etw_default_eval _PyEval_EvalFrameDefault
#define etw_get_eval_func _PyInterpreterState_GetEvalFrameFunc
#define etw_set_eval_func _PyInterpreterState_SetEvalFrameFunc

/*
 * Code extras (PEP 523 co_extra slots). 3.12 renamed the functions to
 * PyUnstable_Eval_RequestCodeExtraIndex / PyUnstable_Code_GetExtra /
 * PyUnstable_Code_SetExtra (the _Py names stay as aliases).
 */
static inline Py_ssize_t etw_request_code_extra_index(freefunc free_fn)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyUnstable_Eval_RequestCodeExtraIndex(free_fn);
#else
    return _PyEval_RequestCodeExtraIndex(free_fn);
#endif
}

static inline int etw_code_get_extra_api(PyObject *code, Py_ssize_t index, void **extra)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyUnstable_Code_GetExtra(code, index, extra);
#else
    return _PyCode_GetExtra(code, index, extra);
#endif
}

static inline int etw_code_set_extra(PyObject *code, Py_ssize_t index, void *extra)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyUnstable_Code_SetExtra(code, index, extra);
#else
    return _PyCode_SetExtra(code, index, extra);
#endif
}

/*
 * Reading a code extra without the function call (the call is a large
 * share of the thunk's cost, docs/performance.md). PyCodeObject's
 * `co_extra` is a public field in 3.9..3.14; it points to CPython's
 * _PyCodeObjectExtra, {Py_ssize_t ce_size; void *ce_extras[];}, unchanged
 * since 3.6 but in no installed header, hence this mirror. The extension
 * checks the mirror against the API at import and uses the API if they
 * disagree.
 */
typedef struct etw_code_extra_mirror {
    Py_ssize_t ce_size;
    void *ce_extras[1];
} etw_code_extra_mirror;

static inline void *etw_code_get_extra_inline(PyObject *code, Py_ssize_t index)
{
    etw_code_extra_mirror *x = (etw_code_extra_mirror *)((PyCodeObject *)code)->co_extra;
    return (x != NULL && index < x->ce_size) ? x->ce_extras[index] : NULL;
}

/*
 * Qualified name for PythonFunction: co_qualname exists from 3.11; before
 * it the plain co_name is all a code object knows. Borrowed reference.
 */
static inline PyObject *etw_code_qualname(PyCodeObject *co)
{
#if PY_VERSION_HEX >= 0x030B0000
    return co->co_qualname;
#else
    return co->co_name;
#endif
}

/*
 * CPython's own perf map writer (3.12+), shared with its trampolines so
 * one process's writers do not corrupt each other's lines; NULL before.
 */
typedef int (*etw_perfmap_writer_fn)(const void *code_addr, unsigned int code_size, const char *entry_name);
static inline etw_perfmap_writer_fn etw_python_perfmap_writer(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyUnstable_WritePerfMapEntry;
#else
    return NULL;
#endif
}

/*
 * In a forked child, before anything is written through CPython's perf map
 * writer (3.12+): it keeps the parent's open /tmp/perf-<parent>.map unless
 * its own trampoline restarts, so close it; the next entry reopens the map
 * under the child's pid. Nothing to do before 3.12.
 */
static inline void etw_python_perfmap_after_fork_child(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyUnstable_PerfMapState_Fini();
#endif
}

/*
 * Instrumented mode's hooks. On 3.13 and 3.14 it is a sys.monitoring tool of our
 * own (monitor.c); elsewhere, and whenever no tool id is free, the
 * C profile function (PyEval_SetProfile). On 3.12+ CPython implements the
 * profile function on top of sys.monitoring (PY_START/PY_RESUME/PY_THROW ->
 * PyTrace_CALL, PY_RETURN/PY_YIELD/PY_UNWIND -> RETURN, CALL/C_RETURN/
 * C_RAISE of a builtin -> C_CALL/C_RETURN/C_EXCEPTION, method descriptors
 * bound first), materializing a frame object for every event; our tool
 * maps the same events the same way without frame objects. Every CALL is
 * followed by one RETURN, through exceptions and generators, on both hooks.
 * PyFrame_GetCode (a strong reference) and PyFrame_GetBack are public
 * since 3.9; PyFrame_GetLineNumber since forever.
 */

/*
 * Walking interpreter frames to the caller and its line, without frame
 * objects or calls (instrumented mode's caller line, its hottest lookup):
 *   3.13, 3.14  the thread's innermost frame is PyThreadState.current_frame
 *               (a field of the public, non-limited struct since 3.13); a
 *               frame's second word is `previous`; frames CPython pushes on
 *               entry from C run no code (f_executable None) and are
 *               skipped, as PyFrame_GetBack skips them; the line and offset
 *               come from PyUnstable_InterpreterFrame_GetLine/GetLasti.
 *   3.11        _PyInterpreterFrame is f_func, f_globals, f_builtins,
 *               f_locals, f_code, frame_obj, previous, prev_instr, stacktop,
 *               is_entry, owner; PyFrame_GetBack skips "incomplete" frames
 *               (not a generator's, and prev_instr before the code's first
 *               traceable instruction); the line is PyCode_Addr2Line at
 *               prev_instr's offset, as _PyInterpreterFrame_GetLine does.
 *   A frame object (3.11+) starts with PyObject_HEAD, f_back, f_frame.
 * 3.12 keeps its innermost frame in tstate->cframe and is not available to
 * test here; it and 3.15+ (until their layouts are checked) use the public
 * API. lines.c compares the walk against PyEval_GetFrame(),
 * PyFrame_GetBack() and PyFrame_GetLineNumber() before either hook uses it.
 * ETW_HAVE_MONITORING_TOOL: instrumented mode may use its sys.monitoring
 * tool (3.13 and 3.14: it needs current_frame).
 */
typedef struct etw_frame_object_mirror {
    PyObject_HEAD
    PyFrameObject *f_back;
    etw_frame *f_frame;
} etw_frame_object_mirror;

#if PY_VERSION_HEX >= 0x030D0000 && PY_VERSION_HEX < 0x030F0000
#define ETW_HAVE_FRAME_WALK 1
#define ETW_HAVE_MONITORING_TOOL 1

typedef struct etw_frame_link_mirror {
    void *f_executable;
    etw_frame *previous;
} etw_frame_link_mirror;

static inline etw_frame *etw_thread_current_frame(PyThreadState *tstate) { return tstate->current_frame; }
static inline etw_frame *etw_frame_previous(etw_frame *f) { return ((etw_frame_link_mirror *)f)->previous; }

/* The nearest frame at or above `f` that PyFrame_GetBack would return. */
static inline etw_frame *etw_frame_first_complete(etw_frame *f)
{
    while (f != NULL && etw_frame_code(f) == NULL)
        f = etw_frame_previous(f);
    return f;
}

static inline int etw_frame_line(etw_frame *f) { return PyUnstable_InterpreterFrame_GetLine(f); }
static inline int etw_frame_lasti(etw_frame *f) { return PyUnstable_InterpreterFrame_GetLasti(f); }
/* 1 for a frame that has not run an instruction yet (a fresh call; a
 * generator's first resume is past its RETURN_GENERATOR). */
static inline int etw_frame_not_started(etw_frame *f) { return PyUnstable_InterpreterFrame_GetLasti(f) <= 0; }

#elif PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
#define ETW_HAVE_FRAME_WALK 1
#define ETW_HAVE_MONITORING_TOOL 0

typedef struct etw_frame_mirror_311_links {
    PyObject *f_func, *f_globals, *f_builtins, *f_locals;
    PyCodeObject *f_code;
    PyFrameObject *frame_obj;
    etw_frame *previous;
    _Py_CODEUNIT *prev_instr;
    int stacktop;
    char is_entry; /* bool */
    char owner;    /* 1: a generator's */
} etw_frame_mirror_311_links;

static inline etw_frame *etw_frame_previous(etw_frame *f) { return ((etw_frame_mirror_311_links *)f)->previous; }
/* The thread's innermost interpreter frame: when a frame-evaluation hook
 * runs, the caller of the frame it was given. */
static inline etw_frame *etw_thread_current_frame(PyThreadState *tstate) { return tstate->cframe->current_frame; }

static inline etw_frame *etw_frame_first_complete(etw_frame *f)
{
    while (f != NULL) {
        etw_frame_mirror_311_links *m = (etw_frame_mirror_311_links *)f;
        if (m->owner == 1 || m->prev_instr >= _PyCode_CODE(m->f_code) + m->f_code->_co_firsttraceable)
            return f;
        f = m->previous;
    }
    return NULL;
}

static inline int etw_frame_lasti(etw_frame *f)
{
    etw_frame_mirror_311_links *m = (etw_frame_mirror_311_links *)f;
    return (int)(m->prev_instr - _PyCode_CODE(m->f_code)) * (int)sizeof(_Py_CODEUNIT);
}

/* 1 for a frame that has not run an instruction yet (prev_instr still
 * before the first; a generator's first resume is at its RETURN_GENERATOR). */
static inline int etw_frame_not_started(etw_frame *f)
{
    etw_frame_mirror_311_links *m = (etw_frame_mirror_311_links *)f;
    return m->prev_instr < _PyCode_CODE(m->f_code);
}

static inline int etw_frame_line(etw_frame *f)
{
    return PyCode_Addr2Line(((etw_frame_mirror_311_links *)f)->f_code, etw_frame_lasti(f));
}

#else
#define ETW_HAVE_FRAME_WALK 0
#define ETW_HAVE_MONITORING_TOOL 0
#endif

/*
 * Reading a thread's own frames from a signal handler (the built-in
 * sampler, sampler_frames.c). Nothing here calls into the interpreter
 * beyond two lock-free thread-state getters, allocates or touches a
 * reference count; the caller checks every pointer it gets before the
 * next read, and runs the whole walk under a fault guard (sampler.h),
 * because the interrupted thread may be half-way through linking or
 * unlinking a frame. Per version:
 *
 *   own thread state  PyGILState_GetThisThreadState(): the thread's
 *                     own, attached or not (thread-specific data or TLS;
 *                     neither locks nor allocates).
 *   holds the GIL     the attached thread state is its own:
 *                     _PyThreadState_UncheckedGet() (3.9..3.12; before
 *                     3.12 the runtime's GIL holder, from 3.12 the
 *                     thread's TLS), PyThreadState_GetUnchecked() (3.13+).
 *   innermost frame   3.9/3.10 tstate->frame (a PyFrameObject);
 *                     3.11/3.12 tstate->cframe->current_frame;
 *                     3.13/3.14 tstate->current_frame.
 *   frame fields      3.9/3.10 f_back, f_code, f_lasti (bytes in 3.9,
 *                     code units in 3.10);
 *                     3.11 f_func, f_globals, f_builtins, f_locals, f_code,
 *                          frame_obj, previous, prev_instr, stacktop,
 *                          is_entry, owner;
 *                     3.12 f_code, previous, f_funcobj, f_globals,
 *                          f_builtins, f_locals, frame_obj, prev_instr,
 *                          stacktop, return_offset, owner;
 *                     3.13 the same with f_executable (code or None) and
 *                          instr_ptr;
 *                     3.14 f_executable is a tagged _PyStackRef (low two
 *                          bits), stacktop became stackpointer.
 *   skipped frames    3.12/3.13 owner 3 (on the C stack: entry shims);
 *                     3.14 owner >= 3 (the interpreter's and the C
 *                     stack's); 3.13/3.14 also frames whose executable is
 *                     not a code object.
 *   instruction       3.11/3.12 prev_instr (the unit before the next
 *                     instruction; code - 1 in a frame that has not
 *                     started), 3.13/3.14 instr_ptr (the current one);
 *                     both point into co_code_adaptive.
 * etw_sampler_layout_agrees() (sampler_frames.c) compares these mirrors
 * with the frame API before the sampler starts.
 */
typedef struct etw_sampler_frame_fields {
    PyObject *code;    /* the code object, or NULL when the frame runs none (skip it) */
    void *previous;    /* the next outer frame */
    int32_t lasti;     /* byte offset of the current instruction; negative: not started */
    int lasti_checked; /* 1 when lasti was checked against the code's size */
} etw_sampler_frame_fields;

static inline PyThreadState *etw_sampler_own_thread_state(void) { return PyGILState_GetThisThreadState(); }

static inline int etw_sampler_holds_gil(PyThreadState *own)
{
#if PY_VERSION_HEX >= 0x030D0000
    return own != NULL && PyThreadState_GetUnchecked() == own;
#else
    return own != NULL && _PyThreadState_UncheckedGet() == own;
#endif
}

#if PY_VERSION_HEX >= 0x030E0000
typedef struct etw_sampler_frame_mirror {
    uintptr_t f_executable;
    void *previous;
    uintptr_t f_funcobj;
    PyObject *f_globals, *f_builtins, *f_locals;
    void *frame_obj;
    uint8_t *instr_ptr;
    void *stackpointer;
    uint16_t return_offset;
    char owner;
} etw_sampler_frame_mirror;
#define ETW_SAMPLER_SKIP_OWNER(o) ((o) >= 3)
#elif PY_VERSION_HEX >= 0x030D0000
typedef struct etw_sampler_frame_mirror {
    PyObject *f_executable;
    void *previous;
    PyObject *f_funcobj, *f_globals, *f_builtins, *f_locals;
    void *frame_obj;
    uint8_t *instr_ptr;
    int stacktop;
    uint16_t return_offset;
    char owner;
} etw_sampler_frame_mirror;
#define ETW_SAMPLER_SKIP_OWNER(o) ((o) == 3)
#elif PY_VERSION_HEX >= 0x030C0000
typedef struct etw_sampler_frame_mirror {
    PyObject *f_code;
    void *previous;
    PyObject *f_funcobj, *f_globals, *f_builtins, *f_locals;
    void *frame_obj;
    uint8_t *prev_instr;
    int stacktop;
    uint16_t return_offset;
    char owner;
} etw_sampler_frame_mirror;
#define ETW_SAMPLER_SKIP_OWNER(o) ((o) == 3)
#elif PY_VERSION_HEX >= 0x030B0000
typedef struct etw_sampler_frame_mirror {
    PyObject *f_func, *f_globals, *f_builtins, *f_locals;
    PyObject *f_code;
    void *frame_obj;
    void *previous;
    uint8_t *prev_instr;
    int stacktop;
    char is_entry;
    char owner;
} etw_sampler_frame_mirror;
#define ETW_SAMPLER_SKIP_OWNER(o) 0
#endif

/* The thread's innermost frame (an interpreter frame from 3.11, a frame
 * object before), or NULL. */
static inline void *etw_sampler_innermost_frame(PyThreadState *t)
{
#if PY_VERSION_HEX >= 0x030D0000
    return t->current_frame;
#elif PY_VERSION_HEX >= 0x030B0000
    _PyCFrame *cf = t->cframe;
    return cf != NULL ? cf->current_frame : NULL;
#else
    return t->frame;
#endif
}

/* 1 when `p` could be an object or frame address (non-NULL, aligned). */
static inline int etw_sampler_plausible(const void *p)
{
    return p != NULL && ((uintptr_t)p & (sizeof(void *) - 1)) == 0;
}

/* Reads frame `f` (plausible). Returns 0, or -1 when what it holds cannot
 * be a frame (wrong type, a code pointer that is not a code object, an
 * instruction outside its code). */
static inline int etw_sampler_read_frame(void *f, etw_sampler_frame_fields *out)
{
    out->code = NULL;
    out->lasti = -1;
    out->lasti_checked = 0;
#if PY_VERSION_HEX >= 0x030B0000
    const etw_sampler_frame_mirror *m = (const etw_sampler_frame_mirror *)f;
    out->previous = m->previous;
    if (ETW_SAMPLER_SKIP_OWNER(m->owner))
        return 0;
#if PY_VERSION_HEX >= 0x030E0000
    PyObject *code = (PyObject *)(m->f_executable & ~(uintptr_t)3);
    const uint8_t *instr = m->instr_ptr;
#elif PY_VERSION_HEX >= 0x030D0000
    PyObject *code = m->f_executable;
    const uint8_t *instr = m->instr_ptr;
#else
    PyObject *code = m->f_code;
    const uint8_t *instr = m->prev_instr;
#endif
    if (!etw_sampler_plausible(code))
        return -1;
#if PY_VERSION_HEX >= 0x030D0000
    if (Py_TYPE(code) != &PyCode_Type)
        return 0; /* None: a frame that runs no code */
#else
    if (Py_TYPE(code) != &PyCode_Type)
        return -1;
#endif
    const uint8_t *start = (const uint8_t *)((PyCodeObject *)code)->co_code_adaptive;
    Py_ssize_t units = Py_SIZE(code);
    intptr_t offset = (intptr_t)(instr - start);
    if (offset < -2 || offset >= (intptr_t)units * 2)
        return -1;
    out->code = code;
    out->lasti = offset < 0 ? -1 : (int32_t)offset;
    out->lasti_checked = 1;
    return 0;
#else
    PyFrameObject *fo = (PyFrameObject *)f;
    if (Py_TYPE(fo) != &PyFrame_Type)
        return -1;
    out->previous = fo->f_back;
    PyObject *code = (PyObject *)fo->f_code;
    if (!etw_sampler_plausible(code) || Py_TYPE(code) != &PyCode_Type)
        return -1;
    out->code = code;
#if PY_VERSION_HEX >= 0x030A0000
    out->lasti = fo->f_lasti < 0 ? -1 : fo->f_lasti * 2;
#else
    out->lasti = fo->f_lasti < 0 ? -1 : fo->f_lasti;
#endif
    return 0;
#endif
}

/*
 * The thread a thread state belongs to, as the sampler's consumer needs it
 * to create that thread's timer: thread_id is the pthread_t (every
 * version); native_thread_id, the kernel's thread id, exists from 3.11
 * (0 here before: the caller derives it from the pthread_t). A thread
 * state preallocated for a thread that has not started yet carries its
 * creator's ids until the new thread sets its own (3.9..3.11) or none
 * (3.12+).
 */
static inline unsigned long etw_thread_state_pthread(PyThreadState *t) { return t->thread_id; }

static inline unsigned long etw_thread_state_native_id(PyThreadState *t)
{
#if PY_VERSION_HEX >= 0x030B0000
    return t->native_thread_id;
#else
    (void)t;
    return 0;
#endif
}

static inline int etw_interpreter_finalizing(void)
{
#if PY_VERSION_HEX >= 0x030D0000
    return Py_IsFinalizing();
#else
    return _Py_IsFinalizing();
#endif
}

/*
 * Being told before a code object is freed (the sampler must resolve the
 * samples that name it first): 3.12+ has code watchers
 * (PyCode_AddWatcher, PY_CODE_EVENT_DESTROY, called at the start of
 * code_dealloc, before anything is freed); before 3.12 the consumer wraps
 * PyCode_Type.tp_dealloc.
 */
#if PY_VERSION_HEX >= 0x030C0000
#define ETW_HAVE_CODE_WATCHERS 1
#else
#define ETW_HAVE_CODE_WATCHERS 0
#endif

/*
 * Code objects the interpreter allocates statically are immortal (3.12+),
 * and some live in read-only memory (3.13's _Py_InitCleanup, the frame
 * that finishes a call of a class whose __init__ is Python): no code extra
 * may be set on them. Immortal objects are never freed, so their address
 * is a stable key instead. Before 3.12 every code object is writable.
 */
static inline int etw_code_is_static(PyObject *code)
{
#if PY_VERSION_HEX >= 0x030C0000
    return _Py_IsImmortal(code);
#else
    (void)code;
    return 0;
#endif
}

#endif
