/*
 * test_thunks.c — thunk arenas (thunk_arena.h) with their templates and
 * in-process unwind registration (unwind_linux.h):
 *   - calls through many thunks spread over several arenas (growth), with
 *     distinct addresses and the template's bytes;
 *   - no page is ever writable and executable at once (/proc/self/maps,
 *     read while another thread creates thunks, and afterwards);
 *   - backtrace() and _Unwind_Backtrace() from a function called through
 *     thunks (nested) reach the thunks' callers, which are compiled without
 *     frame pointers: the registered CFI is what the unwinder follows;
 *   - refusal of executable memory (PR_SET_MDWE in a forked child, and the
 *     ETWTRACE_TEST_DENY_EXEC switch in a re-executed child) is a clean,
 *     sticky error that leaves nothing mapped;
 *   - a forked child gets a fresh arena and can call old and new thunks;
 *   - four threads creating thunks at once.
 * Also built for aarch64 and run under qemu (run_aarch64_thunk_test.sh).
 */
#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <unwind.h>

#include "check.h"
#include "thunk_arena.h"
#include "thunk_template.h"

#define PAGE_ARENA 4096

/* Sanitizer runtimes map memory of their own on malloc, so counting the
 * process's mappings only means something without them. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* The thunks' callers are built without frame pointers: with gcc per
 * function here, and the build adds -fomit-frame-pointer for this test. */
#if defined(__GNUC__) && !defined(__clang__)
#define NO_FRAME_POINTER __attribute__((optimize("omit-frame-pointer")))
#else
#define NO_FRAME_POINTER
#endif

/* ---- helpers ------------------------------------------------------------ */

static void *mix_eval(void *tstate, void *frame, int throwflag)
{
    return (void *)((uintptr_t)tstate * 3 + (uintptr_t)frame + (uintptr_t)throwflag);
}

static void *call_thunk(const struct thunk *t, void *ts, void *f, int flag, thunk_eval_fn eval)
{
    return t->entry(ts, f, flag, (void *)eval);
}

/* Number of mappings that are both writable and executable; prints them. */
static int count_wx_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int n = 0;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f)) {
        char perms[8] = "";
        if (sscanf(line, "%*s %7s", perms) == 1 && perms[1] == 'w' && perms[2] == 'x') {
            fprintf(stderr, "W+X mapping: %s", line);
            n++;
        }
    }
    fclose(f);
    return n;
}

/* The permissions of the mapping containing addr ("r-xp"), or "" if none. */
static void perms_of(uintptr_t addr, char out[8])
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];

    out[0] = '\0';
    if (f == NULL)
        return;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char perms[8];
        if (sscanf(line, "%lx-%lx %7s", &lo, &hi, perms) == 3 && addr >= lo && addr < hi) {
            strcpy(out, perms);
            break;
        }
    }
    fclose(f);
}

static int count_mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    char line[512];
    int n = 0;

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f))
        n++;
    fclose(f);
    return n;
}

/* ---- calls, growth, bytes ----------------------------------------------- */

static void test_many_thunks_over_several_arenas(void)
{
    const struct thunk_template *tmpl = thunk_template_get();
    enum { N = 200 };
    static struct thunk t[N];
    struct thunk_arena_info before, after;

    thunk_arena_info(&before);
    CHECK_EQ_INT(before.stride, THUNK_TEMPLATE_STRIDE);
    CHECK_EQ_INT(before.thunk_size, tmpl->code_size);
    CHECK(before.thunk_size <= before.stride);
    CHECK(strcmp(before.backend, "linux-mmap") == 0);

    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(thunk_arena_create((uintptr_t)0x1000 + (uintptr_t)i, &t[i]), 0);
    thunk_arena_info(&after);
    CHECK_EQ_INT(after.thunks_per_arena, PAGE_ARENA / THUNK_TEMPLATE_STRIDE);
    CHECK_EQ_INT(after.thunks_created - before.thunks_created, N);
    /* 200 thunks at 32 per arena: at least 6 new arenas (7 if the first
     * test started a fresh one). */
    CHECK(after.arenas_used - before.arenas_used >= N / (PAGE_ARENA / THUNK_TEMPLATE_STRIDE));

    int distinct = 1, calls_ok = 1, bytes_ok = 1;
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT(t[i].end - t[i].begin, tmpl->code_size);
        CHECK(t[i].begin % 16 == 0);
        if (i > 0 && t[i].index != t[i - 1].index + 1)
            distinct = 0;
        for (int j = 0; j < i; j++)
            if (t[j].begin == t[i].begin)
                distinct = 0;
        void *r = call_thunk(&t[i], (void *)(uintptr_t)i, (void *)0x10, i & 1, mix_eval);
        if (r != mix_eval((void *)(uintptr_t)i, (void *)0x10, i & 1))
            calls_ok = 0;
        const uint8_t *code = (const uint8_t *)t[i].begin;
        if (memcmp(code, tmpl->code, tmpl->code_size) != 0)
            bytes_ok = 0;
        for (size_t off = tmpl->code_size; off + tmpl->fill_size <= THUNK_TEMPLATE_STRIDE; off += tmpl->fill_size)
            if (memcmp(code + off, tmpl->fill, tmpl->fill_size) != 0)
                bytes_ok = 0;
    }
    CHECK(distinct);
    CHECK(calls_ok);
    CHECK(bytes_ok);

    /* Lookups: inside a thunk, in its padding, outside any arena. */
    struct thunk found;
    uintptr_t owner = 0;
    CHECK_EQ_INT(thunk_arena_find(t[77].begin + 3, &found, &owner), 0);
    CHECK(found.begin == t[77].begin && found.index == t[77].index);
    CHECK_EQ_INT(owner, 0x1000 + 77);
    CHECK_EQ_INT(thunk_arena_find(t[77].end, NULL, NULL), -ENOENT);
    CHECK_EQ_INT(thunk_arena_find((uintptr_t)&found, NULL, NULL), -ENOENT);

    /* Every thunk page is r-x, and nothing anywhere is W+X. */
    char perms[8];
    perms_of(t[0].begin, perms);
    CHECK(strcmp(perms, "r-xp") == 0);
    perms_of(t[N - 1].begin, perms);
    CHECK(strcmp(perms, "r-xp") == 0);
    CHECK_EQ_INT(count_wx_mappings(), 0);
}

/* ---- W^X while another thread creates arenas ----------------------------- */

static atomic_int creating_done;

static void *create_lots(void *arg)
{
    (void)arg;
    for (int i = 0; i < 600; i++) {
        struct thunk t;
        if (thunk_arena_create((uintptr_t)i, &t) != 0)
            break;
    }
    atomic_store(&creating_done, 1);
    return NULL;
}

static void test_never_writable_and_executable_during_creation(void)
{
    pthread_t th;
    int scans = 0, wx = 0;

    atomic_store(&creating_done, 0);
    CHECK_EQ_INT(pthread_create(&th, NULL, create_lots, NULL), 0);
    while (!atomic_load(&creating_done) || scans < 3) {
        wx += count_wx_mappings();
        scans++;
    }
    pthread_join(th, NULL);
    CHECK_EQ_INT(wx, 0);
    CHECK(scans >= 3);
    CHECK_EQ_INT(count_wx_mappings(), 0);
}

/* ---- unwinding through thunks --------------------------------------------- */

#define MAX_FRAMES 64
static void *bt[MAX_FRAMES];
static int bt_len;
static uintptr_t uw[MAX_FRAMES];
static int uw_len;
static struct thunk outer_thunk, inner_thunk;
static uintptr_t outer_caller_return; /* where the thunk's caller returns to */

static _Unwind_Reason_Code collect(struct _Unwind_Context *ctx, void *arg)
{
    (void)arg;
    if (uw_len < MAX_FRAMES)
        uw[uw_len++] = _Unwind_GetIP(ctx);
    return _URC_NO_REASON;
}

__attribute__((noinline)) static void *leaf_eval(void *ts, void *f, int flag)
{
    bt_len = backtrace(bt, MAX_FRAMES);
    uw_len = 0;
    _Unwind_Backtrace(collect, NULL);
    __asm__ volatile("" ::: "memory");
    return (void *)((uintptr_t)ts + (uintptr_t)f + (uintptr_t)flag + 1);
}

/* Called through the outer thunk; calls the leaf through the inner one.
 * Built without frame pointers. */
NO_FRAME_POINTER __attribute__((noinline)) static void *middle_eval(void *ts, void *f, int flag)
{
    void *r = inner_thunk.entry(ts, f, flag, (void *)leaf_eval);
    __asm__ volatile("" ::: "memory");
    return (void *)((uintptr_t)r + 1);
}

/* The outermost caller, also without frame pointers. */
NO_FRAME_POINTER __attribute__((noinline)) static void *outer_caller(void)
{
    void *r = outer_thunk.entry((void *)1, (void *)2, 0, (void *)middle_eval);
    outer_caller_return = (uintptr_t)__builtin_return_address(0);
    __asm__ volatile("" ::: "memory");
    return (void *)((uintptr_t)r + 1);
}

/* Index of the first frame in [lo, hi) at or after `from`, or -1. */
static int find_frame(const uintptr_t *frames, int n, int from, uintptr_t lo, uintptr_t hi)
{
    for (int i = from; i < n; i++)
        if (frames[i] >= lo && frames[i] < hi)
            return i;
    return -1;
}

static void check_chain(const char *what, const uintptr_t *frames, int n)
{
    const struct thunk_template *tmpl = thunk_template_get();
    uintptr_t inner_ret = inner_thunk.begin + tmpl->return_offset;
    uintptr_t outer_ret = outer_thunk.begin + tmpl->return_offset;
    int i_inner = find_frame(frames, n, 0, inner_ret, inner_ret + 1);
    int i_outer = find_frame(frames, n, i_inner < 0 ? 0 : i_inner, outer_ret, outer_ret + 1);
    int i_caller = find_frame(frames, n, i_outer < 0 ? 0 : i_outer, outer_caller_return, outer_caller_return + 1);

    printf("%s: %d frames, inner thunk at %d, outer thunk at %d, outer caller's return at %d\n", what, n,
           i_inner, i_outer, i_caller);
    CHECK(i_inner >= 1);
    CHECK(i_outer > i_inner + 1); /* middle_eval sits between */
    CHECK(i_caller > i_outer + 1); /* outer_caller sits between */
}

static void test_backtrace_through_thunks(void)
{
    CHECK_EQ_INT(thunk_arena_create(0xa, &outer_thunk), 0);
    CHECK_EQ_INT(thunk_arena_create(0xb, &inner_thunk), 0);
    void *r = outer_caller();
    CHECK(r == (void *)(uintptr_t)(1 + 2 + 0 + 1 + 1 + 1));

    uintptr_t frames[MAX_FRAMES];
    for (int i = 0; i < bt_len; i++)
        frames[i] = (uintptr_t)bt[i];
    /* Static glibc cannot load libgcc_s for backtrace(); _Unwind_Backtrace
     * (linked in) is then the check. */
    if (bt_len > 1)
        check_chain("backtrace()", frames, bt_len);
    else
        printf("backtrace(): unavailable here (%d frames), skipped\n", bt_len);
    check_chain("_Unwind_Backtrace()", uw, uw_len);
}

/* ---- refusal of executable memory ---------------------------------------- */

/* In a process where executable memory is refused: the error is clean,
 * sticky and leaves nothing mapped. Returns the number of failed checks. */
static int expect_refusal(void)
{
    int failed_before = check_failures;
    int maps_before = count_mappings();
    struct thunk t = {0};
    struct thunk_arena_info info;

    int rc = thunk_arena_create(1, &t);
    CHECK(rc == -EACCES || rc == -EPERM);
    CHECK(t.entry == NULL);
    CHECK(strstr(thunk_arena_error(), "refused executable memory") != NULL);
    CHECK_EQ_INT(thunk_arena_create(2, &t), rc); /* sticky */
    thunk_arena_info(&info);
    CHECK_EQ_INT(info.exec_refused, -rc);
    if (!SANITIZED)
        CHECK_EQ_INT(count_mappings(), maps_before); /* nothing left mapped */
    printf("refusal: rc=%d, \"%s\"\n", rc, thunk_arena_error());
    return check_failures - failed_before;
}

static void test_refusal_by_mdwe(void)
{
#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0) {
            printf("PR_SET_MDWE not supported here (%s), skipped\n", strerror(errno));
            fflush(stdout);
            _exit(0);
        }
        int failed = expect_refusal();
        fflush(stdout);
        _exit(failed ? 1 : 0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_refusal_by_test_switch(const char *self)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("ETWTRACE_TEST_DENY_EXEC", "1", 1);
        execl(self, self, "--deny-exec-child", (char *)NULL);
        _exit(77); /* cannot re-execute ourselves here (e.g. qemu without binfmt) */
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
        printf("ETWTRACE_TEST_DENY_EXEC: could not re-execute %s, skipped\n", self);
        return;
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* ---- fork ------------------------------------------------------------------ */

static void test_fork_child_gets_fresh_arena(void)
{
    struct thunk before, parent_next, child_new;
    int fds[2];

    CHECK_EQ_INT(thunk_arena_create(0xf0, &before), 0);
    CHECK_EQ_INT(pipe(fds), 0);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        int ok = thunk_arena_create(0xf1, &child_new) == 0;
        /* Old and new thunks both work in the child; the unwinder walks the new one. */
        ok = ok && call_thunk(&before, (void *)5, (void *)6, 1, mix_eval) == mix_eval((void *)5, (void *)6, 1);
        ok = ok && call_thunk(&child_new, (void *)7, (void *)8, 0, mix_eval) == mix_eval((void *)7, (void *)8, 0);
        outer_thunk = before;
        inner_thunk = child_new;
        outer_caller();
        const struct thunk_template *tmpl = thunk_template_get();
        ok = ok && find_frame(uw, uw_len, 0, child_new.begin + tmpl->return_offset,
                              child_new.begin + tmpl->return_offset + 1) >= 0;
        ok = ok && find_frame(uw, uw_len, 0, outer_caller_return, outer_caller_return + 1) >= 0;
        if (write(fds[1], &child_new, sizeof child_new) != (ssize_t)sizeof child_new)
            ok = 0;
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    CHECK_EQ_INT(thunk_arena_create(0xf2, &parent_next), 0);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_EQ_INT(read(fds[0], &child_new, sizeof child_new), sizeof child_new);
    close(fds[0]);
    /* The parent continued its arena; the child mapped another one. */
    CHECK(parent_next.begin == before.begin + THUNK_TEMPLATE_STRIDE ||
          parent_next.begin % PAGE_ARENA == 0);
    CHECK(child_new.begin != parent_next.begin);
    CHECK(child_new.begin != before.begin + THUNK_TEMPLATE_STRIDE);
    CHECK(child_new.begin % PAGE_ARENA == 0); /* first slot of a fresh arena */
    CHECK_EQ_INT(child_new.index, before.index + 1);
}

/* ---- threads ---------------------------------------------------------------- */

enum { THREADS = 4, PER_THREAD = 250 };
static struct thunk thread_thunks[THREADS][PER_THREAD];

static void *thread_main(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int i = 0; i < PER_THREAD; i++) {
        if (thunk_arena_create(((uintptr_t)id << 16) | (uintptr_t)i, &thread_thunks[id][i]) != 0)
            return (void *)1;
        struct thunk *t = &thread_thunks[id][i];
        if (call_thunk(t, (void *)(uintptr_t)i, (void *)(uintptr_t)id, 0, mix_eval) !=
            mix_eval((void *)(uintptr_t)i, (void *)(uintptr_t)id, 0))
            return (void *)2;
    }
    return NULL;
}

static int cmp_uintptr(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

static void test_four_threads(void)
{
    pthread_t th[THREADS];
    static uintptr_t begins[THREADS * PER_THREAD];
    int n = 0;

    for (int i = 0; i < THREADS; i++)
        CHECK_EQ_INT(pthread_create(&th[i], NULL, thread_main, (void *)(intptr_t)i), 0);
    for (int i = 0; i < THREADS; i++) {
        void *r = NULL;
        pthread_join(th[i], &r);
        CHECK(r == NULL);
    }
    for (int i = 0; i < THREADS; i++)
        for (int j = 0; j < PER_THREAD; j++)
            begins[n++] = thread_thunks[i][j].begin;
    qsort(begins, (size_t)n, sizeof begins[0], cmp_uintptr);
    int dup = 0;
    for (int i = 1; i < n; i++)
        dup += begins[i] == begins[i - 1];
    CHECK_EQ_INT(dup, 0);
    uintptr_t owner = 0;
    CHECK_EQ_INT(thunk_arena_find(thread_thunks[2][123].begin, NULL, &owner), 0);
    CHECK_EQ_INT(owner, (2u << 16) | 123u);
}

int main(int argc, char **argv)
{
    (void)check_hex; /* shared helper this test does not need */
    if (argc > 1 && strcmp(argv[1], "--deny-exec-child") == 0)
        return expect_refusal() ? 1 : 0;

    CHECK_EQ_INT(thunk_arena_set_size(PAGE_ARENA), 0);
    CHECK_EQ_INT(thunk_arena_set_size(100), -EINVAL);
    test_many_thunks_over_several_arenas();
    test_never_writable_and_executable_during_creation();
    test_backtrace_through_thunks();
    test_fork_child_gets_fresh_arena();
    test_four_threads();
    test_refusal_by_mdwe();
    test_refusal_by_test_switch(argc > 0 && argv[0][0] == '/' ? argv[0] : "/proc/self/exe");

    struct thunk_arena_info info;
    thunk_arena_info(&info);
    printf("info: backend=%s arch=%s thunk_size=%zu stride=%zu arena_size=%zu unwind_size=%zu "
           "per_arena=%zu arenas=%zu thunks=%llu\n",
           info.backend, info.arch, info.thunk_size, info.stride, info.arena_size, info.unwind_size,
           info.thunks_per_arena, info.arenas_used, (unsigned long long)info.thunks_created);
    return check_report("test_thunks");
}
