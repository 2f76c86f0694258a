/*
 * thunk_arena.h — per-function native thunks in executable arenas.
 *
 * The stack-sampling mode evaluates each Python function through its own
 * tiny native function, so native stack walkers (ETW, perf, gdb, backtrace)
 * see one distinct return address per Python function:
 *
 *     PyEval_EvalFrameDefault          (caller: the interpreter)
 *       eval hook                      reads the thunk from a co_extra slot
 *         thunk for "b"                <- this file hands out these
 *           real_eval(tstate, frame)   _PyEval_EvalFrameDefault
 *             ... thunk for "c" ...
 *
 * A thunk is `void *thunk(void *tstate, void *frame, int throwflag,
 * void *real_eval)`: it builds a frame and calls real_eval(tstate, frame,
 * throwflag), returning its result (thunk_template.h has the bytes).
 *
 * Rules this module keeps:
 *   - W^X: an arena is mapped read-write, every slot is filled with a copy
 *     of the template, then the code is made read-execute and never written
 *     again. Handing out a thunk writes nothing executable.
 *   - Never reused: arenas are never unmapped and slots never recycled, so
 *     an address seen in a stack or a perf map names one function for the
 *     life of the process.
 *   - Unwindable: each arena's unwind data is registered when it is created
 *     (Linux: its .eh_frame, unwind_linux.h; Windows: a growable function
 *     table, grown as thunks are handed out, unwind_windows.h), so
 *     in-process unwinders walk through thunks.
 *   - Arena size: 64 KiB of code by default (thunk_arena_set_size), 512
 *     thunks of THUNK_TEMPLATE_STRIDE = 128 bytes. The stride is the code
 *     (12 bytes on x86-64, 24 on aarch64) rounded to 8 plus the ~80 bytes of
 *     eh_frame + eh_frame_hdr that `perf inject --jit` maps behind each
 *     thunk (its synthesized mapping spans ALIGN_8(code) + unwinding size;
 *     it must not overlap the next thunk), rounded up to a power of two so
 *     thunks start on cache-line boundaries.
 *   - fork: the child keeps every inherited thunk (same addresses, same
 *     unwind registration) but takes new thunks from a fresh arena, so the
 *     parent and the child never hand out the same address.
 *
 * Lookups are the caller's business (a co_extra slot): creating a thunk
 * takes a mutex, calling one takes nothing.
 *
 * Implementation: thunk_arena.c (arenas, slots, lookups, errors) over the
 * operating system's part, thunk_arena_os.h: thunk_arena_linux.c (mmap,
 * mprotect, __register_frame) or thunk_arena_windows.c (VirtualAlloc,
 * VirtualProtect, RtlAddGrowableFunctionTable).
 */
#ifndef ETW_THUNK_ARENA_H
#define ETW_THUNK_ARENA_H

#include <stddef.h>
#include <stdint.h>

/* The evaluator a thunk calls, and the thunk itself. */
typedef void *(*thunk_eval_fn)(void *tstate, void *frame, int throwflag);
typedef void *(*thunk_fn)(void *tstate, void *frame, int throwflag, void *real_eval);

struct thunk {
    thunk_fn entry;  /* call this */
    uintptr_t begin; /* [begin, end): the thunk's instructions; a return */
    uintptr_t end;   /* address inside means "this function is on the stack" */
    uint64_t index;  /* 0, 1, 2, ... in creation order within this process */
};

/*
 * Sets the bytes of code per arena for arenas created from now on: a
 * multiple of the page size holding at least one thunk. Meant for tests and
 * tuning, before the first thunk. Returns 0 or -EINVAL.
 */
int thunk_arena_set_size(size_t bytes);

/*
 * Creates a thunk for `owner_key` (an opaque value, e.g. the code object's
 * address, kept so thunk_arena_find() can answer "whose thunk is this") and
 * stores it in *out. Maps a new arena when the current one is full.
 * Thread-safe. Returns 0, or:
 *   -EACCES / -EPERM  the system refuses executable memory (SELinux
 *                     execmem, systemd MemoryDenyWriteExecute, prctl
 *                     PR_SET_MDWE; on Windows Arbitrary Code Guard);
 *                     sticky: later calls fail the same way without
 *                     retrying. thunk_arena_error() has a sentence.
 *   -ENOMEM           mapping failed for lack of memory (may succeed later).
 * On failure nothing is left mapped and *out is untouched.
 *
 * Testing: ETWTRACE_TEST_DENY_EXEC=1 in the environment (read at the first
 * call) makes every arena creation behave as if making its code executable
 * (mprotect, VirtualProtect) were refused.
 */
int thunk_arena_create(uintptr_t owner_key, struct thunk *out);

/*
 * Finds the thunk whose [begin, end) contains `addr` (e.g. a return address
 * from a stack) and stores it and its owner key (either pointer may be
 * NULL). Takes the mutex and walks the arenas: not for hot paths.
 * Returns 0 or -ENOENT.
 */
int thunk_arena_find(uintptr_t addr, struct thunk *out, uintptr_t *owner_key);

/*
 * The reason the last arena creation failed, as a sentence for a warning,
 * or "" if none failed. The string stays valid until the next failure.
 */
const char *thunk_arena_error(void);

/* What `--info` reports. */
struct thunk_arena_info {
    const char *backend;       /* "linux-mmap", "windows-virtualalloc" */
    const char *arch;          /* "x86_64", "aarch64" */
    size_t thunk_size;         /* bytes of code per thunk */
    size_t stride;             /* bytes between thunks */
    size_t arena_size;         /* bytes of code per arena */
    size_t unwind_size;        /* bytes of unwind data mapped after each arena */
    size_t thunks_per_arena;
    size_t arenas_used;        /* mapped by this process and its ancestors */
    uint64_t thunks_created;   /* by this process and its ancestors */
    int exec_refused;          /* errno of a sticky refusal, 0 if none */
};

/* Fills *out with the current numbers. Thread-safe. */
void thunk_arena_info(struct thunk_arena_info *out);

#endif
