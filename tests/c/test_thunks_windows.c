/*
 * test_thunks_windows.c — the Windows thunk arena (thunk_arena.c over
 * thunk_arena_windows.c, thunk_template_x86_64_windows.c,
 * unwind_windows_x86_64.c), run under Wine by `make test-windows` (Wine's
 * RtlVirtualUnwind and growable function tables are real; it validates
 * tables less strictly than Windows, so passing here is necessary, not
 * sufficient):
 *   - calls through many thunks over several arenas return what the
 *     evaluator returns, with all four arguments passed on; the slots hold
 *     the template's bytes; thunk_arena_find() names each thunk;
 *   - code pages are execute-read, unwind data read-only, nothing of an
 *     arena is ever writable and executable;
 *   - every thunk in use has a RUNTIME_FUNCTION the unwinder finds, and
 *     only those;
 *   - a stack walk from a function called through a thunk
 *     (RtlCaptureStackBackTrace, and RtlVirtualUnwind step by step) passes
 *     through the thunk into its caller — and a copy of the same code that
 *     is not registered does not get there;
 *   - ETWTRACE_TEST_DENY_EXEC (in a child process) gives a clean, sticky
 *     refusal;
 *   - four threads creating thunks at once.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "test_platform.h"
#include "thread.h"
#include "thunk_arena.h"
#include "thunk_template.h"

#define MAX_FRAMES 64

/* ---- the evaluator and its callers ------------------------------------------------------ */

static void *mix_eval(void *tstate, void *frame, int throwflag)
{
    return (void *)((uintptr_t)tstate * 3 + (uintptr_t)frame + (uintptr_t)throwflag);
}

/* What a walk from inside the evaluator saw. */
typedef struct walk {
    uintptr_t frames[MAX_FRAMES];
    int count;
} walk;

static walk captured_walk;  /* RtlCaptureStackBackTrace */
static walk unwound_walk;   /* RtlCaptureContext + RtlVirtualUnwind */

/* Return addresses by RtlLookupFunctionEntry/RtlVirtualUnwind, stopping at
 * a frame without unwind data whose return address is not a function's
 * (a leaf is assumed there, as Windows does, for one step only). */
static void virtual_unwind(walk *w)
{
    CONTEXT ctx;
    ULONG_PTR low, high;
    GetCurrentThreadStackLimits(&low, &high);
    RtlCaptureContext(&ctx);
    w->count = 0;
    int leaf_steps = 0;
    while (w->count < MAX_FRAMES && ctx.Rip != 0 && ctx.Rsp >= low && ctx.Rsp < high) {
        DWORD64 image_base = 0;
        PRUNTIME_FUNCTION f = RtlLookupFunctionEntry(ctx.Rip, &image_base, NULL);
        if (f == NULL) {
            if (++leaf_steps > 1)
                break;
            ctx.Rip = *(DWORD64 *)ctx.Rsp; /* a leaf: the return address is on top */
            ctx.Rsp += 8;
        } else {
            PVOID handler_data;
            DWORD64 establisher;
            RtlVirtualUnwind(UNW_FLAG_NHANDLER, image_base, ctx.Rip, f, &ctx, &handler_data, &establisher, NULL);
        }
        if (ctx.Rip != 0)
            w->frames[w->count++] = (uintptr_t)ctx.Rip;
    }
}

__attribute__((noinline)) static void *walking_eval(void *tstate, void *frame, int throwflag)
{
    captured_walk.count = RtlCaptureStackBackTrace(0, MAX_FRAMES, (void **)captured_walk.frames, NULL);
    virtual_unwind(&unwound_walk);
    return mix_eval(tstate, frame, throwflag);
}

/* Calls `entry` as the eval hook calls a thunk. Its own code range is what
 * a walk must reach. */
__attribute__((noinline)) static void *outer_caller(thunk_fn entry, thunk_eval_fn eval)
{
    void *r = entry((void *)7, (void *)100, 1, (void *)eval);
    __asm__ volatile("" ::: "memory"); /* not a tail call */
    return r;
}

/* [begin, end) of a function of this program, from its unwind data. */
static int code_range_of(void *fn, uintptr_t *begin, uintptr_t *end)
{
    DWORD64 image_base = 0;
    PRUNTIME_FUNCTION f = RtlLookupFunctionEntry((DWORD64)(uintptr_t)fn, &image_base, NULL);
    if (f == NULL)
        return -1;
    *begin = (uintptr_t)(image_base + f->BeginAddress);
    *end = (uintptr_t)(image_base + f->EndAddress);
    return 0;
}

/* Clears a stretch of the stack below the caller's frame. */
__attribute__((noinline)) static void clear_stack_below(void)
{
    volatile unsigned char junk[8192];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = 0;
}

static int walk_has(const walk *w, uintptr_t lo, uintptr_t hi)
{
    for (int i = 0; i < w->count; i++)
        if (w->frames[i] >= lo && w->frames[i] < hi)
            return i;
    return -1;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_calls_and_growth(void)
{
    const struct thunk_template *t = thunk_template_get();
    CHECK_EQ_INT(t->code_size, 16);
    CHECK_EQ_INT(t->return_offset, 11);
    CHECK_EQ_INT(thunk_arena_set_size(4096), 0); /* 32 thunks per arena */
    CHECK_EQ_INT(thunk_arena_set_size(100), -EINVAL);

    enum { N = 100 };
    static struct thunk th[N];
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT(thunk_arena_create((uintptr_t)(0x1000 + i), &th[i]), 0);
        CHECK_EQ_INT(th[i].index, i);
        CHECK(memcmp((const void *)th[i].begin, t->code, t->code_size) == 0);
        CHECK_EQ_INT(th[i].end - th[i].begin, t->code_size);
        if (i > 0)
            CHECK(th[i].begin != th[i - 1].begin);
    }
    for (int i = 0; i < N; i++) {
        void *r = th[i].entry((void *)(uintptr_t)i, (void *)1000, 1, (void *)mix_eval);
        CHECK_EQ_INT((uintptr_t)r, (uintptr_t)i * 3 + 1000 + 1);
        struct thunk found;
        uintptr_t owner = 0;
        CHECK_EQ_INT(thunk_arena_find(th[i].begin + 5, &found, &owner), 0);
        CHECK_EQ_INT(owner, 0x1000 + i);
        CHECK_EQ_INT(found.begin, th[i].begin);
        CHECK_EQ_INT(thunk_arena_find(th[i].end, NULL, NULL), -ENOENT); /* the int3 padding */
    }

    struct thunk_arena_info info;
    thunk_arena_info(&info);
    CHECK(strcmp(info.backend, "windows-virtualalloc") == 0);
    CHECK(strcmp(info.arch, "x86_64") == 0);
    CHECK_EQ_INT(info.thunks_per_arena, 32);
    CHECK_EQ_INT(info.arenas_used, 4);
    CHECK_EQ_INT(info.thunks_created, N);
    CHECK_EQ_INT(info.exec_refused, 0);

    /* Protections: code execute-read, the unwind data after it read-only,
     * never writable and executable. */
    for (int i = 0; i < N; i += 32) {
        MEMORY_BASIC_INFORMATION mi;
        CHECK(VirtualQuery((void *)th[i].begin, &mi, sizeof mi) == sizeof mi);
        CHECK_EQ_INT(mi.Protect, PAGE_EXECUTE_READ);
        CHECK(VirtualQuery((char *)mi.AllocationBase + info.arena_size, &mi, sizeof mi) == sizeof mi);
        CHECK_EQ_INT(mi.Protect, PAGE_READONLY);
        CHECK_EQ_INT(mi.AllocationBase, (void *)(th[i].begin));
    }

    /* The unwinder knows every thunk handed out, with the shared UNWIND_INFO
     * (version 1, prolog 8 bytes, 3 codes, frame register rbp), and none of
     * the slots not handed out yet. */
    for (int i = 0; i < N; i++) {
        DWORD64 base = 0;
        PRUNTIME_FUNCTION f = RtlLookupFunctionEntry(th[i].begin + 3, &base, NULL);
        CHECK(f != NULL);
        if (f == NULL)
            continue;
        CHECK_EQ_INT(base + f->BeginAddress, th[i].begin);
        CHECK_EQ_INT(base + f->EndAddress, th[i].end);
        const uint8_t *ui = (const uint8_t *)(uintptr_t)(base + f->UnwindData);
        CHECK_EQ_INT(ui[0], 1);
        CHECK_EQ_INT(ui[1], 8);
        CHECK_EQ_INT(ui[2], 3);
        CHECK_EQ_INT(ui[3], 5);
    }
    DWORD64 base = 0;
    CHECK(RtlLookupFunctionEntry(th[N - 1].begin + THUNK_TEMPLATE_STRIDE + 3, &base, NULL) == NULL);
}

static void test_stack_walk_through_thunk(void)
{
    struct thunk th;
    CHECK_EQ_INT(thunk_arena_create(0x5157, &th), 0);
    uintptr_t outer_lo = 0, outer_hi = 0;
    CHECK_EQ_INT(code_range_of((void *)outer_caller, &outer_lo, &outer_hi), 0);

    void *r = outer_caller(th.entry, walking_eval);
    CHECK_EQ_INT((uintptr_t)r, 7 * 3 + 100 + 1);
    uintptr_t ret_into_thunk = th.begin + thunk_template_get()->return_offset;
    const walk *walks[2] = {&captured_walk, &unwound_walk};
    for (int k = 0; k < 2; k++) {
        int at_thunk = walk_has(walks[k], ret_into_thunk, ret_into_thunk + 1);
        int at_outer = walk_has(walks[k], outer_lo, outer_hi);
        if (at_thunk < 0 || at_outer < 0 || at_outer <= at_thunk) {
            fprintf(stderr, "%s walk through a registered thunk: thunk at %d, caller at %d, frames:",
                    k == 0 ? "RtlCaptureStackBackTrace" : "RtlVirtualUnwind", at_thunk, at_outer);
            for (int i = 0; i < walks[k]->count; i++)
                fprintf(stderr, " %p", (void *)walks[k]->frames[i]);
            fprintf(stderr, "\n");
        }
        CHECK(at_thunk >= 0);
        CHECK(at_outer > at_thunk);
        CHECK_EQ_INT(at_outer, at_thunk + 1); /* the thunk's caller is the next frame */
    }

    /* The same bytes in memory nobody registered: the walk cannot get
     * through them to the caller. */
    const struct thunk_template *t = thunk_template_get();
    uint8_t *copy = VirtualAlloc(NULL, 4096, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    CHECK(copy != NULL);
    if (copy == NULL)
        return;
    memcpy(copy, t->code, t->code_size);
    DWORD old;
    CHECK(VirtualProtect(copy, 4096, PAGE_EXECUTE_READ, &old));
    FlushInstructionCache(GetCurrentProcess(), copy, 4096);
    /* Zeros below us, so what the unwinder finds where a return address
     * would be is 0, not a stale address from an earlier call. */
    clear_stack_below();
    r = outer_caller((thunk_fn)(uintptr_t)copy, walking_eval);
    CHECK_EQ_INT((uintptr_t)r, 7 * 3 + 100 + 1);
    uintptr_t ret_into_copy = (uintptr_t)copy + t->return_offset;
    int at_copy = walk_has(&captured_walk, ret_into_copy, ret_into_copy + 1);
    int at_outer = walk_has(&captured_walk, outer_lo, outer_hi);
    CHECK(at_copy >= 0);
    /* RtlCaptureStackBackTrace does not stop there: Wine's goes on through
     * zeros and may come across the caller further up by chance, but never
     * as the frame after the thunk. */
    CHECK(at_outer < 0 || at_outer != at_copy + 1);
    CHECK_EQ_INT(walk_has(&unwound_walk, outer_lo, outer_hi), -1);
    VirtualFree(copy, 0, MEM_RELEASE);
}

static void create_some(void *arg)
{
    struct thunk *out = arg;
    for (int i = 0; i < 50; i++)
        if (thunk_arena_create((uintptr_t)i, &out[i]) != 0)
            out[i].begin = 0;
}

static void test_threads(void)
{
    static struct thunk made[4][50];
    tld_thread th[4];
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(tld_thread_start(&th[i], create_some, made[i]), 0);
    for (int i = 0; i < 4; i++)
        tld_thread_join(&th[i]);
    /* 200 distinct, working thunks. */
    int distinct = 1;
    for (int a = 0; a < 4; a++)
        for (int i = 0; i < 50; i++) {
            CHECK(made[a][i].begin != 0);
            void *r = made[a][i].entry((void *)1, (void *)2, 0, (void *)mix_eval);
            CHECK_EQ_INT((uintptr_t)r, 5);
            for (int b = 0; b <= a; b++)
                for (int j = 0; j < (b == a ? i : 50); j++)
                    distinct &= made[a][i].begin != made[b][j].begin;
        }
    CHECK(distinct);
}

/* Child: executable memory refused (ETWTRACE_TEST_DENY_EXEC=1). */
static int deny_exec_child(void)
{
    struct thunk th;
    int rc1 = thunk_arena_create(1, &th);
    int rc2 = thunk_arena_create(2, &th);
    struct thunk_arena_info info;
    thunk_arena_info(&info);
    int ok = rc1 == -EACCES && rc2 == -EACCES && info.arenas_used == 0 && info.exec_refused == EACCES &&
             strstr(thunk_arena_error(), "refused executable memory") != NULL;
    if (!ok)
        fprintf(stderr, "deny-exec child: %d %d arenas %zu '%s'\n", rc1, rc2, info.arenas_used, thunk_arena_error());
    return ok ? 0 : 1;
}

static void test_deny_exec(void)
{
    SetEnvironmentVariableA("ETWTRACE_TEST_DENY_EXEC", "1");
    const char *args[] = {"--deny-exec-child", NULL};
    intptr_t child;
    int spawned = test_spawn(test_self_path(), args, NULL, &child);
    SetEnvironmentVariableA("ETWTRACE_TEST_DENY_EXEC", NULL);
    CHECK_EQ_INT(spawned, 0);
    if (spawned == 0)
        CHECK_EQ_INT(test_wait(child), 0);
}

int main(int argc, char **argv)
{
    (void)check_hex; /* check.h helper this test does not need */
    if (argc == 2 && strcmp(argv[1], "--deny-exec-child") == 0)
        return deny_exec_child();
    test_calls_and_growth();
    test_stack_walk_through_thunk();
    test_threads();
    test_deny_exec();
    return check_report("test_thunks_windows");
}
