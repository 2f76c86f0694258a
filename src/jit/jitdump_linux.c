/*
 * jitdump_linux.c — the jit-<pid>.dump writer (see jitdump_linux.h).
 *
 * Record layouts (host byte order, as perf's jitdump specification says):
 *
 *   header (40):  magic 0x4A695444 "JiTD" | version 1 | total_size 40
 *                 | elf_mach | pad 0 | pid | timestamp u64 | flags u64 0
 *   prefix (16):  id u32 | total_size u32 | timestamp u64
 *   UNWINDING_INFO (id 4): prefix | unwinding_size u64 | eh_frame_hdr_size u64
 *                 | mapped_size u64 | .eh_frame then .eh_frame_hdr | pad to 8
 *   CODE_LOAD (id 0): prefix | pid u32 | tid u32 | vma u64 | code_addr u64
 *                 | code_size u64 | code_index u64 | name NUL | code bytes
 *   CODE_CLOSE (id 3): prefix
 *
 * Where perf inject puts the unwinding data: its ELF has the code at some
 * 8-aligned address X, the .eh_frame at X + ALIGN_8(code_size) and the
 * .eh_frame_hdr right after the .eh_frame, and it maps the file at the
 * thunk's address for ALIGN_8(code_size) + mapped_size bytes. So the
 * records use pc-relative offsets computed as if, at run time,
 *
 *   thunk                    thunk + ALIGN_8(size)          + table size
 *   | code | pad |           | CIE | FDE | 0000 |           | eh_frame_hdr |
 *
 * which also tells why thunks are THUNK_TEMPLATE_STRIDE apart: that span
 * must not reach the next thunk.
 *
 * Entries are remembered (address, size, name) so a forked child can write
 * its own file; the fork handler uses no malloc and no stdio.
 */
#include "jitdump_linux.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "eh_frame.h"
#include "thunk_template.h"

#define JITDUMP_MAGIC 0x4A695444u
#define JITDUMP_VERSION 1
#define JIT_CODE_LOAD 0
#define JIT_CODE_CLOSE 3
#define JIT_CODE_UNWINDING_INFO 4
#define NAME_MAX_BYTES 1000

struct header {
    uint32_t magic, version, total_size, elf_mach, pad1, pid;
    uint64_t timestamp, flags;
};

struct prefix {
    uint32_t id, total_size;
    uint64_t timestamp;
};

struct unwinding_fixed {
    struct prefix p;
    uint64_t unwinding_size, eh_frame_hdr_size, mapped_size;
};

struct load_fixed {
    struct prefix p;
    uint32_t pid, tid;
    uint64_t vma, code_addr, code_size, code_index;
};

struct entry {
    uintptr_t code;
    size_t size;
    char *name;
};

static pthread_mutex_t dump_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t dump_once = PTHREAD_ONCE_INIT;
static int fd = -1;
static void *marker = MAP_FAILED;
static size_t marker_size;
static uint64_t next_index; /* code_index of the next load record in this file */
static struct entry *entries;
static size_t entries_len, entries_cap;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* The folder of the file: /tmp unless jitdump_set_directory() says otherwise. */
static char dump_dir[4096] = "/tmp";

int jitdump_set_directory(const char *dir)
{
    size_t n = dir != NULL ? strlen(dir) : 0;
    if (n == 0 || dir[0] != '/')
        return -EINVAL;
    if (n >= sizeof dump_dir - 32)
        return -ENAMETOOLONG;
    pthread_mutex_lock(&dump_mutex);
    int busy = fd >= 0;
    if (!busy)
        memcpy(dump_dir, dir, n + 1);
    pthread_mutex_unlock(&dump_mutex);
    return busy ? -EBUSY : 0;
}

/* "<dir>/jit-<pid>.dump" without stdio (usable in the fork child). */
static int format_path(char *buf, size_t size, long pid)
{
    static const char prefix[] = "/jit-", suffix[] = ".dump";
    char digits[24];
    size_t nd = 0, nl = strlen(dump_dir);

    do {
        digits[nd++] = (char)('0' + pid % 10);
        pid /= 10;
    } while (pid > 0 && nd < sizeof digits);
    if (nl + sizeof prefix - 1 + nd + sizeof suffix > size)
        return -ENAMETOOLONG;
    memcpy(buf, dump_dir, nl);
    memcpy(buf + nl, prefix, sizeof prefix - 1);
    for (size_t i = 0; i < nd; i++)
        buf[nl + sizeof prefix - 1 + i] = digits[nd - 1 - i];
    memcpy(buf + nl + sizeof prefix - 1 + nd, suffix, sizeof suffix);
    return 0;
}

int jitdump_path(char *buf, size_t size)
{
    return format_path(buf, size, (long)getpid());
}

static int writev_all(struct iovec *iov, int count)
{
    while (count > 0) {
        ssize_t w = writev(fd, iov, count);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        while (count > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            count--;
        }
        if (count > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Builds the .eh_frame + .eh_frame_hdr for a thunk at `code` into out
 * (placement in the file comment; the header follows the table directly).
 * Returns the unwinding size, or 0 if an offset does not fit. */
static size_t build_unwinding(uint8_t *out, uintptr_t code, size_t code_size)
{
    const struct thunk_template *t = thunk_template_get();
    uint64_t eh_frame_at = code + align8(code_size);
    size_t cie = eh_frame_write_cie(out, t);
    uint64_t fde_at = eh_frame_at + cie;
    size_t fde = eh_frame_write_fde(out + cie, fde_at, t, eh_frame_at, code);
    size_t table = cie + fde + 4;

    if (fde == 0)
        return 0;
    memset(out + cie + fde, 0, 4); /* .eh_frame terminator */
    if (eh_frame_write_hdr(out + table, eh_frame_at + table, eh_frame_at, code, fde_at) == 0)
        return 0;
    return table + EH_FRAME_HDR_SIZE;
}

/* Writes the two records of one thunk (mutex held, file open). */
static int emit_locked(const struct entry *e)
{
    static const uint8_t zeros[8];
    uint8_t unwinding[256];
    size_t unwinding_size = build_unwinding(unwinding, e->code, e->size);
    size_t name_size = strlen(e->name) + 1;
    struct unwinding_fixed u;
    struct load_fixed l;

    if (unwinding_size == 0)
        return -EOVERFLOW;
    u.p.id = JIT_CODE_UNWINDING_INFO;
    u.p.total_size = (uint32_t)(sizeof u + align8(unwinding_size));
    u.p.timestamp = now_ns();
    u.unwinding_size = unwinding_size;
    u.eh_frame_hdr_size = EH_FRAME_HDR_SIZE;
    u.mapped_size = align8(unwinding_size);

    l.p.id = JIT_CODE_LOAD;
    l.p.total_size = (uint32_t)(sizeof l + name_size + e->size);
    l.p.timestamp = now_ns();
    l.pid = (uint32_t)getpid();
    l.tid = (uint32_t)syscall(SYS_gettid);
    l.vma = e->code;
    l.code_addr = e->code;
    l.code_size = e->size;
    l.code_index = next_index;

    struct iovec iov[] = {
        {&u, sizeof u},
        {unwinding, unwinding_size},
        {(void *)zeros, align8(unwinding_size) - unwinding_size},
        {&l, sizeof l},
        {e->name, name_size},
        {(void *)e->code, e->size},
    };
    int rc = writev_all(iov, (int)(sizeof iov / sizeof iov[0]));
    if (rc == 0)
        next_index++;
    return rc;
}

static void close_locked(void)
{
    if (marker != MAP_FAILED)
        munmap(marker, marker_size);
    marker = MAP_FAILED;
    if (fd >= 0)
        close(fd);
    fd = -1;
}

/* Creates the file, writes the header, maps the marker (mutex held).
 * Async-signal-safe. */
static int open_locked(void)
{
    char path[sizeof dump_dir + 32];
    struct stat st;
    struct header h;
    int rc;

    rc = jitdump_path(path, sizeof path);
    if (rc != 0)
        return rc;
    /* O_NONBLOCK: a FIFO planted at the path must not block the open. */
    fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0600);
    if (fd < 0)
        return -errno;
    int flags;
    if (fstat(fd, &st) != 0)
        rc = -errno;
    else if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 0077) != 0)
        rc = -EPERM;
    else if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0 ||
             ftruncate(fd, 0) != 0)
        rc = -errno;
    if (rc == 0) {
        h.magic = JITDUMP_MAGIC;
        h.version = JITDUMP_VERSION;
        h.total_size = sizeof h;
        h.elf_mach = thunk_template_get()->elf_machine;
        h.pad1 = 0;
        h.pid = (uint32_t)getpid();
        h.timestamp = now_ns();
        h.flags = 0;
        struct iovec iov = {&h, sizeof h};
        rc = writev_all(&iov, 1);
    }
    if (rc == 0) {
        long page = sysconf(_SC_PAGESIZE);
        marker_size = page > 0 ? (size_t)page : 4096;
        marker = mmap(NULL, marker_size, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
        if (marker == MAP_FAILED)
            rc = -errno;
    }
    if (rc != 0)
        close_locked();
    next_index = 0;
    return rc;
}

static void lock_for_fork(void)
{
    pthread_mutex_lock(&dump_mutex);
}

static void unlock_in_parent(void)
{
    pthread_mutex_unlock(&dump_mutex);
}

static void unlock_in_child(void)
{
    if (fd >= 0) {
        close_locked(); /* the parent's file and mapping */
        if (open_locked() == 0) {
            for (size_t i = 0; i < entries_len; i++)
                if (emit_locked(&entries[i]) != 0)
                    break;
        }
    }
    pthread_mutex_unlock(&dump_mutex);
}

static void init_once(void)
{
    pthread_atfork(lock_for_fork, unlock_in_parent, unlock_in_child);
}

int jitdump_enable(void)
{
    int rc = 0;

    pthread_once(&dump_once, init_once);
    pthread_mutex_lock(&dump_mutex);
    if (fd < 0)
        rc = open_locked();
    pthread_mutex_unlock(&dump_mutex);
    return rc;
}

int jitdump_enabled(void)
{
    pthread_mutex_lock(&dump_mutex);
    int on = fd >= 0;
    pthread_mutex_unlock(&dump_mutex);
    return on;
}

int jitdump_add(const void *code, size_t size, const char *name)
{
    struct entry e;
    size_t n = strnlen(name, NAME_MAX_BYTES);
    int rc = 0;

    pthread_mutex_lock(&dump_mutex);
    if (fd < 0)
        goto out;
    if (entries_len == entries_cap) {
        size_t cap = entries_cap ? entries_cap * 2 : 64;
        struct entry *grown = realloc(entries, cap * sizeof *grown);
        if (grown == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        entries = grown;
        entries_cap = cap;
    }
    e.code = (uintptr_t)code;
    e.size = size;
    e.name = malloc(n + 1);
    if (e.name == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    memcpy(e.name, name, n);
    e.name[n] = '\0';
    rc = emit_locked(&e);
    if (rc == 0)
        entries[entries_len++] = e;
    else
        free(e.name);
out:
    pthread_mutex_unlock(&dump_mutex);
    return rc;
}

void jitdump_disable(void)
{
    pthread_mutex_lock(&dump_mutex);
    if (fd >= 0) {
        struct prefix p = {JIT_CODE_CLOSE, sizeof p, now_ns()};
        struct iovec iov = {&p, sizeof p};
        writev_all(&iov, 1);
    }
    close_locked();
    for (size_t i = 0; i < entries_len; i++)
        free(entries[i].name);
    free(entries);
    entries = NULL;
    entries_len = entries_cap = 0;
    pthread_mutex_unlock(&dump_mutex);
}
