/*
 * perfmap_linux.c — /tmp/perf-<pid>.map writer (see perfmap_linux.h).
 *
 * State, all under one mutex:
 *   fd        our open map, or -1
 *   lines     every entry written so far, as the exact text lines
 *   pending   a forked child still owes the copy of `lines` to its map
 *   writer    installed writer function, or NULL for our own file
 *
 *   parent:  add("a") --> lines = "a\n" --> write(fd, "a\n")
 *   fork:    prepare: lock   parent: unlock
 *            child:   close(inherited fd); open perf-<child>.map, emptied
 *                     (a dead process with the same pid may have left one);
 *                     write(lines) in one call; unlock
 *
 * The child handler only uses async-signal-safe calls (close, open, fstat,
 * write, getpid) and no malloc, because the parent may have had other
 * threads when it forked.
 */
#include "perfmap_linux.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAME_MAX_BYTES 1000
#define LINE_MAX_BYTES (NAME_MAX_BYTES + 64)

static pthread_mutex_t map_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t map_once = PTHREAD_ONCE_INIT;
static int fd = -1;
static char *lines;
static size_t lines_len, lines_cap;
static int pending;
static perfmap_writer_fn writer;

/* Writes "/tmp/perf-<pid>.map" without stdio (usable in the fork child). */
static int format_path(char *buf, size_t size, const char *prefix, long pid, const char *suffix)
{
    char digits[24];
    size_t nd = 0, np = strlen(prefix), ns = strlen(suffix);

    do {
        digits[nd++] = (char)('0' + pid % 10);
        pid /= 10;
    } while (pid > 0 && nd < sizeof digits);
    if (np + nd + ns + 1 > size)
        return -ENAMETOOLONG;
    memcpy(buf, prefix, np);
    for (size_t i = 0; i < nd; i++)
        buf[np + i] = digits[nd - 1 - i];
    memcpy(buf + np + nd, suffix, ns + 1);
    return 0;
}

int perfmap_path(char *buf, size_t size)
{
    return format_path(buf, size, "/tmp/perf-", (long)getpid(), ".map");
}

static int write_all(int f, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(f, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Opens our map (mutex held). Async-signal-safe. `fresh` empties it: a
 * forked child's pid may be that of a dead process whose map is still in
 * /tmp, and its lines must not be mixed into the child's copy. */
static int open_map_locked(int fresh)
{
    char path[64];
    struct stat st;
    int f, rc;

    if (fd >= 0)
        return 0;
    rc = perfmap_path(path, sizeof path);
    if (rc != 0)
        return rc;
    /* O_NONBLOCK: a FIFO planted at the path must not block the open. */
    f = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0600);
    if (f < 0)
        return errno == ENXIO ? -EPERM : -errno;
    if (fstat(f, &st) != 0) {
        rc = -errno;
        close(f);
        return rc;
    }
    if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077) != 0) {
        close(f);
        return -EPERM;
    }
    if (fresh && ftruncate(f, 0) != 0) {
        rc = -errno;
        close(f);
        return rc;
    }
    int flags = fcntl(f, F_GETFL);
    if (flags < 0 || fcntl(f, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        rc = -errno;
        close(f);
        return rc;
    }
    fd = f;
    return 0;
}

static int open_locked(void)
{
    return open_map_locked(0);
}

/* Writes the remembered lines to a fresh map, or replays them through the
 * writer (mutex held). */
static int write_copy_locked(void)
{
    int rc = 0;

    if (writer != NULL) {
        for (const char *p = lines, *end = lines + lines_len; p < end;) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            char *after;
            unsigned long long start = strtoull(p, &after, 16);
            unsigned long size = strtoul(after, &after, 16);
            char name[NAME_MAX_BYTES + 1];
            size_t n = (size_t)(nl - after - 1);
            memcpy(name, after + 1, n);
            name[n] = '\0';
            if (writer((const void *)(uintptr_t)start, (unsigned int)size, name) != 0)
                rc = -EIO;
            p = nl + 1;
        }
    } else {
        rc = open_map_locked(1);
        if (rc == 0 && lines_len > 0)
            rc = write_all(fd, lines, lines_len);
    }
    if (rc == 0)
        pending = 0;
    return rc;
}

static void lock_for_fork(void)
{
    pthread_mutex_lock(&map_mutex);
}

static void unlock_in_parent(void)
{
    pthread_mutex_unlock(&map_mutex);
}

static void unlock_in_child(void)
{
    if (fd >= 0) {
        close(fd); /* never write through the parent's descriptor */
        fd = -1;
    }
    if (lines_len > 0) {
        pending = 1;
        if (writer == NULL)
            write_copy_locked(); /* on failure it stays pending */
    }
    pthread_mutex_unlock(&map_mutex);
}

static void init_once(void)
{
    pthread_atfork(lock_for_fork, unlock_in_parent, unlock_in_child);
}

int perfmap_open(void)
{
    int rc;

    pthread_once(&map_once, init_once);
    pthread_mutex_lock(&map_mutex);
    rc = open_locked();
    pthread_mutex_unlock(&map_mutex);
    return rc;
}

static int remember_locked(const char *line, size_t len)
{
    if (lines_len + len > lines_cap) {
        size_t cap = lines_cap ? lines_cap * 2 : 4096;
        while (cap < lines_len + len)
            cap *= 2;
        char *grown = realloc(lines, cap);
        if (grown == NULL)
            return -ENOMEM;
        lines = grown;
        lines_cap = cap;
    }
    memcpy(lines + lines_len, line, len);
    lines_len += len;
    return 0;
}

int perfmap_add(const void *code, size_t size, const char *name)
{
    char line[LINE_MAX_BYTES];
    int len, name_at, rc;

    len = name_at = snprintf(line, sizeof line, "%llx %zx ", (unsigned long long)(uintptr_t)code, size);
    for (const char *p = name; *p && len < (int)sizeof line - 2 && p - name < NAME_MAX_BYTES; p++)
        line[len++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
    line[len++] = '\n';

    pthread_once(&map_once, init_once);
    pthread_mutex_lock(&map_mutex);
    rc = pending ? write_copy_locked() : 0;
    /* Opened (created) by us with our checks even when CPython's writer
     * appends the lines: its own open would block on a planted FIFO, and
     * once the file is ours, the sticky /tmp keeps others from swapping it. */
    if (rc == 0)
        rc = open_locked();
    if (rc == 0) {
        if (writer != NULL) {
            line[len - 1] = '\0';
            if (writer(code, (unsigned int)size, line + name_at) != 0)
                rc = -EIO;
            line[len - 1] = '\n';
        } else {
            rc = open_locked();
            if (rc == 0)
                rc = write_all(fd, line, (size_t)len);
        }
    }
    if (rc == 0)
        rc = remember_locked(line, (size_t)len);
    pthread_mutex_unlock(&map_mutex);
    return rc;
}

void perfmap_set_writer(perfmap_writer_fn fn)
{
    pthread_once(&map_once, init_once);
    pthread_mutex_lock(&map_mutex);
    writer = fn;
    pthread_mutex_unlock(&map_mutex);
}

int perfmap_after_fork_child(void)
{
    int rc = 0;

    pthread_mutex_lock(&map_mutex);
    if (pending)
        rc = write_copy_locked();
    pthread_mutex_unlock(&map_mutex);
    return rc;
}

void perfmap_close(void)
{
    pthread_mutex_lock(&map_mutex);
    if (fd >= 0)
        close(fd);
    fd = -1;
    free(lines);
    lines = NULL;
    lines_len = lines_cap = 0;
    pending = 0;
    pthread_mutex_unlock(&map_mutex);
}
