/*
 * thunk_arena_os.h — what thunk_arena.c asks of the operating system for
 * one arena: memory mapped read-write, then its code made read-execute and
 * unwindable, and the unwinder told when another thunk is handed out.
 *
 * thunk_arena.c does everything else (the arena list, slots, lookups, the
 * error sentence, the lock, fork) and calls these with its mutex held.
 * Exactly one implementation is linked, chosen by the build:
 *   thunk_arena_linux.c    mmap, mprotect, .eh_frame registered with
 *                          __register_frame (unwind_linux.h)
 *   thunk_arena_windows.c  VirtualAlloc, VirtualProtect, a growable function
 *                          table grown per thunk handed out (unwind_windows.h)
 *
 * One arena is one mapping, laid out by thunk_arena.c:
 *
 *   code                                 code + code_bytes
 *   | thunk | fill.. | thunk | fill.. | ... | unwind data (unwind_bytes) |
 *   '------- read-execute once sealed ------''-- read-only once sealed --'
 *
 * Failures return a negative errno (-EACCES or -EPERM when the system
 * refuses executable memory) and describe themselves in `why` as "call:
 * reason" (e.g. "mprotect: Permission denied"), which thunk_arena.c puts
 * into its sentence.
 */
#ifndef ETW_THUNK_ARENA_OS_H
#define ETW_THUNK_ARENA_OS_H

#include <stddef.h>
#include <stdint.h>

struct thunk_arena_memory {
    size_t code_bytes;    /* set by the caller: a multiple of the page size */
    size_t slots;         /* set by the caller: thunks the code holds */
    size_t unwind_bytes;  /* set by the caller: a multiple of the page size */
    uint8_t *code;        /* set by thunk_arena_os_map(); the unwind data follows */
    void *registration;   /* the implementation's own state, or NULL */
};

/* The name thunk_arena_info() reports ("linux-mmap", "windows-virtualalloc"). */
extern const char thunk_arena_os_backend[];

/* What in the system may refuse executable memory, for the error sentence. */
extern const char thunk_arena_os_refusers[];

size_t thunk_arena_os_page_size(void);

/* The most slots the unwind data of one arena can describe. */
size_t thunk_arena_os_max_slots(void);

/* Bytes of unwind data an arena of `slots` thunks needs after its code
 * (before rounding up to pages; at least 1). */
size_t thunk_arena_os_unwind_size(size_t slots);

/* Maps code_bytes + unwind_bytes read-write and sets m->code (and
 * m->registration). Returns 0 or a negative errno with `why` set. */
int thunk_arena_os_map(struct thunk_arena_memory *m, char *why, size_t why_size);

/*
 * Once the caller has filled every slot: writes the unwind data, makes the
 * code read-execute (instruction cache made coherent) and the unwind data
 * read-only, and registers it with the unwinder for the rest of the
 * process. With `refuse_for_tests` (ETWTRACE_TEST_DENY_EXEC=1) the step
 * that makes the code executable fails as if the system refused it.
 * Returns 0 or a negative errno with `why` set; the caller then calls
 * thunk_arena_os_unmap().
 */
int thunk_arena_os_seal(struct thunk_arena_memory *m, int refuse_for_tests, char *why, size_t why_size);

/* Releases an arena that thunk_arena_os_seal() did not register. */
void thunk_arena_os_unmap(struct thunk_arena_memory *m);

/* Slots [0, used) are handed out: the unwinder may now meet them. */
void thunk_arena_os_hand_out(struct thunk_arena_memory *m, size_t used);

#endif
