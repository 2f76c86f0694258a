/*
 * test_perfmap.c — /tmp/perf-<pid>.map (perfmap_linux.h): line format, mode
 * 0600, refusal of a planted symlink or a stranger's file, whole lines from
 * concurrent writers, the installed-writer hook, and fork (the child writes
 * its own map starting with a copy of the parent's entries, replacing any
 * stale map of its pid, and never through the parent's descriptor).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "perfmap_linux.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;

    *len = 0;
    if (f == NULL)
        return NULL;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            buf = realloc(buf, cap);
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        if (r == 0)
            break;
        n += r;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static void map_path_of(pid_t pid, char *buf, size_t size)
{
    snprintf(buf, size, "/tmp/perf-%ld.map", (long)pid);
}

static void unlink_map_of(pid_t pid)
{
    char path[64];
    map_path_of(pid, path, sizeof path);
    unlink(path);
}

static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; *p; p++)
        n += *p == '\n';
    return n;
}

/* Every line is "<hex> <hex> <name>" with a non-empty name. */
static int all_lines_well_formed(const char *text)
{
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        if (nl == NULL)
            return 0;
        char *end;
        strtoull(p, &end, 16);
        if (end == p || *end != ' ')
            return 0;
        const char *q = end + 1;
        strtoull(q, &end, 16);
        if (end == q || *end != ' ' || end + 1 >= nl)
            return 0;
        p = nl + 1;
    }
    return 1;
}

static void test_path(void)
{
    char want[64], got[64];
    map_path_of(getpid(), want, sizeof want);
    CHECK_EQ_INT(perfmap_path(got, sizeof got), 0);
    CHECK(strcmp(got, want) == 0);
    CHECK_EQ_INT(perfmap_path(got, 8), -ENAMETOOLONG);
}

static void test_refuses_symlink(void)
{
    char path[64], target[64];
    struct stat st;

    map_path_of(getpid(), path, sizeof path);
    snprintf(target, sizeof target, "/tmp/perfmap-target-%ld", (long)getpid());
    unlink(path);
    unlink(target);
    int t = open(target, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(t >= 0);
    close(t);
    CHECK_EQ_INT(symlink(target, path), 0);

    CHECK_EQ_INT(perfmap_open(), -ELOOP);
    CHECK_EQ_INT(perfmap_add((void *)0x1000, 16, "py::evil:/x.py"), -ELOOP);
    CHECK_EQ_INT(stat(target, &st), 0);
    CHECK_EQ_INT(st.st_size, 0); /* nothing written through the link */

    unlink(path);
    unlink(target);
    perfmap_close();
}

static void test_refuses_strangers_file(void)
{
    char path[64];

    if (geteuid() != 0) {
        printf("not root: stranger's-file check skipped\n");
        return;
    }
    map_path_of(getpid(), path, sizeof path);
    unlink(path);
    int f = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
    CHECK(f >= 0);
    CHECK_EQ_INT(fchown(f, 65534, 65534), 0);
    close(f);
    int rc = perfmap_open();
    CHECK(rc == -EPERM || rc == -EACCES); /* ours, or fs.protected_regular */
    unlink(path);
    perfmap_close();
}

static void test_format_and_mode(void)
{
    char path[64];
    struct stat st;
    size_t len;

    map_path_of(getpid(), path, sizeof path);
    unlink(path);
    CHECK_EQ_INT(perfmap_add((void *)0x7f3529fcf780, 0xc, "py::bar:/run/t.py"), 0);
    CHECK_EQ_INT(perfmap_add((void *)0x7f3529fcf800, 0x18, "py::odd\nname\t:/x.py"), 0);
    CHECK_EQ_INT(stat(path, &st), 0);
    CHECK_EQ_INT(st.st_mode & 07777, 0600);
    CHECK_EQ_INT(st.st_uid, geteuid());
    CHECK(S_ISREG(st.st_mode));
    char *text = read_file(path, &len);
    CHECK(text != NULL && strcmp(text, "7f3529fcf780 c py::bar:/run/t.py\n"
                                       "7f3529fcf800 18 py::odd?name?:/x.py\n") == 0);
    free(text);

    /* A long name is cut, the line still ends with a newline. */
    char name[3000];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    CHECK_EQ_INT(perfmap_add((void *)0x1000, 1, name), 0);
    text = read_file(path, &len);
    CHECK(text != NULL && count_lines(text) == 3 && text[len - 1] == '\n');
    CHECK(len < 2 * 1100);
    free(text);
}

enum { WRITERS = 4, LINES_EACH = 500 };

static void *writer_thread(void *arg)
{
    int id = (int)(intptr_t)arg;
    char name[128];
    for (int i = 0; i < LINES_EACH; i++) {
        snprintf(name, sizeof name, "py::f%d_%d:/some/long/path/to/a/module/file_%d.py", id, i, id);
        if (perfmap_add((void *)(uintptr_t)(0x100000 * (id + 1) + i * 128), 12, name) != 0)
            return (void *)1;
    }
    return NULL;
}

static void test_concurrent_writers_keep_lines_whole(void)
{
    char path[64];
    pthread_t th[WRITERS];
    size_t len;

    map_path_of(getpid(), path, sizeof path);
    perfmap_close();
    unlink(path);
    for (int i = 0; i < WRITERS; i++)
        pthread_create(&th[i], NULL, writer_thread, (void *)(intptr_t)i);
    for (int i = 0; i < WRITERS; i++) {
        void *r;
        pthread_join(th[i], &r);
        CHECK(r == NULL);
    }
    char *text = read_file(path, &len);
    CHECK(text != NULL);
    if (text) {
        CHECK_EQ_INT(count_lines(text), WRITERS * LINES_EACH);
        CHECK(all_lines_well_formed(text));
    }
    free(text);
}

static void test_fork_child_writes_own_copy(void)
{
    char parent_path[64], child_path[64];
    size_t plen, clen;

    map_path_of(getpid(), parent_path, sizeof parent_path);
    perfmap_close();
    unlink(parent_path);
    CHECK_EQ_INT(perfmap_add((void *)0xa000, 12, "py::a:/p.py"), 0);
    CHECK_EQ_INT(perfmap_add((void *)0xb000, 12, "py::b:/p.py"), 0);

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* The copy exists before the child writes anything. */
        char own[64];
        size_t n;
        map_path_of(getpid(), own, sizeof own);
        char *copy = read_file(own, &n);
        int ok = copy != NULL && strcmp(copy, "a000 c py::a:/p.py\nb000 c py::b:/p.py\n") == 0;
        free(copy);
        ok = ok && perfmap_add((void *)0xc000, 12, "py::child:/c.py") == 0;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_EQ_INT(perfmap_add((void *)0xd000, 12, "py::parent_after:/p.py"), 0);

    map_path_of(pid, child_path, sizeof child_path);
    char *parent = read_file(parent_path, &plen);
    char *child = read_file(child_path, &clen);
    CHECK(parent != NULL && strcmp(parent, "a000 c py::a:/p.py\nb000 c py::b:/p.py\nd000 c py::parent_after:/p.py\n") == 0);
    CHECK(child != NULL && strcmp(child, "a000 c py::a:/p.py\nb000 c py::b:/p.py\nc000 c py::child:/c.py\n") == 0);
    struct stat st;
    CHECK_EQ_INT(stat(child_path, &st), 0);
    CHECK_EQ_INT(st.st_mode & 07777, 0600);
    free(parent);
    free(child);
    unlink(child_path);
}

/* A dead process with the child's pid may have left its map in /tmp: the
 * child's copy replaces it. Pids are handed out in order, so stale maps are
 * planted for the next PLANTED pids after a probe child's; threads of other
 * processes take pids too, so a child that lands outside them tries again. */
#define PLANTED 256
#define ATTEMPTS 20

static void plant_stale_maps(pid_t after, int plant)
{
    char path[64];
    for (int i = 1; i <= PLANTED; i++) {
        map_path_of(after + i, path, sizeof path);
        if (!plant) {
            unlink(path);
            continue;
        }
        int f = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
        if (f >= 0) {
            CHECK(write(f, "dead 1 py::stale:/old.py\n", 25) == 25);
            close(f);
        }
    }
}

static void test_fork_child_replaces_stale_map(void)
{
    char path[64];
    size_t len;
    int landed = 0;

    perfmap_close();
    CHECK_EQ_INT(perfmap_add((void *)0xa000, 12, "py::a:/p.py"), 0);
    for (int attempt = 0; attempt < ATTEMPTS && !landed; attempt++) {
        pid_t probe = fork();
        if (probe == 0)
            _exit(0);
        waitpid(probe, NULL, 0);
        unlink_map_of(probe);
        plant_stale_maps(probe, 1);
        pid_t pid = fork();
        if (pid == 0)
            _exit(0);
        waitpid(pid, NULL, 0);
        if (pid > probe && pid <= probe + PLANTED) {
            landed = 1;
            map_path_of(pid, path, sizeof path);
            char *child = read_file(path, &len);
            CHECK(child != NULL && strcmp(child, "a000 c py::a:/p.py\n") == 0);
            free(child);
        }
        unlink_map_of(pid);
        plant_stale_maps(probe, 0);
    }
    CHECK(landed);
    perfmap_close();
}

/* ---- installed writer ---------------------------------------------------- */

static int hook_calls;
static char hook_last[256];

static int fake_writer(const void *addr, unsigned int size, const char *name)
{
    hook_calls++;
    snprintf(hook_last, sizeof hook_last, "%lx %x %s", (unsigned long)(uintptr_t)addr, size, name);
    return 0;
}

static void test_installed_writer(void)
{
    char path[64];
    size_t len;

    map_path_of(getpid(), path, sizeof path);
    perfmap_close();
    unlink(path);
    perfmap_set_writer(fake_writer);
    CHECK_EQ_INT(perfmap_add((void *)0x1234, 0x10, "py::hooked:/h.py"), 0);
    CHECK_EQ_INT(hook_calls, 1);
    CHECK(strcmp(hook_last, "1234 10 py::hooked:/h.py") == 0);
    /* The file is created with our checks (CPython's own open would block
     * on a planted FIFO) but the lines go through the writer only. */
    struct stat st;
    CHECK(stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0);

    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* The fork handler cannot call the writer; the child replays. */
        int ok = hook_calls == 1;
        ok = ok && perfmap_after_fork_child() == 0 && hook_calls == 2;
        ok = ok && strcmp(hook_last, "1234 10 py::hooked:/h.py") == 0;
        ok = ok && perfmap_after_fork_child() == 0 && hook_calls == 2; /* once only */
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_EQ_INT(perfmap_after_fork_child(), 0); /* no-op in the parent */
    CHECK_EQ_INT(hook_calls, 1);

    perfmap_set_writer(NULL);
    CHECK_EQ_INT(perfmap_add((void *)0x5678, 0x10, "py::own:/o.py"), 0);
    char *text = read_file(path, &len);
    CHECK(text != NULL && strcmp(text, "5678 10 py::own:/o.py\n") == 0);
    free(text);
}

int main(void)
{
    char path[64];

    (void)check_hex;
    test_path();
    test_refuses_symlink();
    test_refuses_strangers_file();
    test_format_and_mode();
    test_concurrent_writers_keep_lines_whole();
    test_fork_child_writes_own_copy();
    test_fork_child_replaces_stale_map();
    test_installed_writer();

    perfmap_close();
    map_path_of(getpid(), path, sizeof path);
    unlink(path);
    return check_report("test_perfmap");
}
