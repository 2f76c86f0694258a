/*
 * thunk_arena_linux.c — thunk arenas on Linux: mmap, fill, mprotect, register
 * (see thunk_arena.h for the rules).
 *
 * One arena is one anonymous private mapping:
 *
 *   base                                   base + arena_size
 *   | thunk | int3.. | thunk | int3.. | ... | .eh_frame (CIE, FDE per slot) |
 *   |<---- stride --->|                     |
 *   '------------- PROT_READ|PROT_EXEC -----''------- PROT_READ ------------'
 *
 * Creating an arena:
 *   1. mmap the whole thing PROT_READ|PROT_WRITE;
 *   2. copy the template into every slot, pad with trapping instructions;
 *   3. write the .eh_frame for every slot (unwind_linux.c);
 *   4. mprotect the code PROT_READ|PROT_EXEC (this is where SELinux execmem
 *      or MDWE say no), flush the instruction cache, mprotect the table
 *      PROT_READ;
 *   5. __register_frame the table.
 * Any failure unmaps everything and reports once through the return value.
 * Handing out a thunk is then only "next slot" under the mutex.
 *
 * Arenas are kept in a list (newest first) for thunk_arena_find() and
 * never unmapped.
 */
#include "thunk_arena.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "thunk_template.h"
#include "unwind_linux.h"

#define DEFAULT_ARENA_SIZE (64 * 1024)

struct arena {
    struct arena *older;
    uint8_t *base;        /* first slot */
    size_t slots;         /* capacity */
    size_t used;          /* slots handed out */
    uint64_t first_index; /* thunk index of slot 0 */
    uintptr_t *owners;    /* owner key per used slot */
};

static pthread_mutex_t arena_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t arena_once = PTHREAD_ONCE_INIT;
static struct arena *newest;       /* all arenas, newest first */
static struct arena *current;      /* where new thunks go; NULL: map one */
static size_t arena_size = DEFAULT_ARENA_SIZE;
static size_t arenas_used;
static uint64_t thunks_created;
static int refused_errno;          /* sticky refusal of executable memory */
static int deny_exec_for_tests;    /* ETWTRACE_TEST_DENY_EXEC=1 */
static char error_text[256];

static void lock_for_fork(void)
{
    pthread_mutex_lock(&arena_mutex);
}

static void unlock_in_parent(void)
{
    pthread_mutex_unlock(&arena_mutex);
}

/* The child keeps the inherited arenas for lookups but never hands out
 * another slot from them: the parent may hand out the same ones. */
static void unlock_in_child(void)
{
    current = NULL;
    pthread_mutex_unlock(&arena_mutex);
}

static void init_once(void)
{
    const char *deny = getenv("ETWTRACE_TEST_DENY_EXEC");
    deny_exec_for_tests = deny != NULL && strcmp(deny, "1") == 0;
    pthread_atfork(lock_for_fork, unlock_in_parent, unlock_in_child);
}

static size_t page_size(void)
{
    long n = sysconf(_SC_PAGESIZE);
    return n > 0 ? (size_t)n : 4096;
}

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

int thunk_arena_set_size(size_t bytes)
{
    if (bytes == 0 || bytes % page_size() != 0 || bytes < THUNK_TEMPLATE_STRIDE)
        return -EINVAL;
    pthread_mutex_lock(&arena_mutex);
    arena_size = bytes;
    pthread_mutex_unlock(&arena_mutex);
    return 0;
}

static void set_error(const char *what, int err)
{
    if (err == EACCES || err == EPERM)
        snprintf(error_text, sizeof error_text,
                 "the system refused executable memory for Python function thunks (%s: %s; "
                 "SELinux execmem, MemoryDenyWriteExecute or PR_SET_MDWE); "
                 "Python functions will not appear in native stacks",
                 what, strerror(err));
    else
        snprintf(error_text, sizeof error_text, "could not map a thunk arena (%s: %s)", what,
                 strerror(err));
}

static void fill_slots(uint8_t *base, size_t slots, const struct thunk_template *t)
{
    for (size_t i = 0; i < slots; i++) {
        uint8_t *slot = base + i * THUNK_TEMPLATE_STRIDE;
        memcpy(slot, t->code, t->code_size);
        for (size_t off = t->code_size; off + t->fill_size <= THUNK_TEMPLATE_STRIDE; off += t->fill_size)
            memcpy(slot + off, t->fill, t->fill_size);
    }
}

/* Maps, fills, protects and registers a new arena (mutex held). Returns 0
 * or a negative errno with error_text set. */
static int map_arena(struct arena **out)
{
    const struct thunk_template *t = thunk_template_get();
    size_t code_bytes = arena_size;
    size_t slots = code_bytes / THUNK_TEMPLATE_STRIDE;
    size_t table_bytes = round_up(unwind_arena_table_size(slots), page_size());
    size_t map_bytes = code_bytes + table_bytes;
    struct arena *a;
    uint8_t *base;
    int err;

    a = calloc(1, sizeof *a);
    if (a != NULL)
        a->owners = calloc(slots, sizeof *a->owners);
    if (a == NULL || a->owners == NULL) {
        if (a != NULL)
            free(a);
        set_error("malloc", ENOMEM);
        return -ENOMEM;
    }

    base = mmap(NULL, map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        err = errno;
        set_error("mmap", err);
        goto fail_unmapped;
    }
    fill_slots(base, slots, t);
    err = -unwind_arena_build(base + code_bytes, (uintptr_t)base, slots, THUNK_TEMPLATE_STRIDE);
    if (err != 0) {
        set_error("eh_frame", err);
        goto fail;
    }
    if (deny_exec_for_tests) {
        err = EACCES;
        set_error("mprotect (ETWTRACE_TEST_DENY_EXEC)", err);
        goto fail;
    }
    if (mprotect(base, code_bytes, PROT_READ | PROT_EXEC) != 0) {
        err = errno;
        set_error("mprotect", err);
        goto fail;
    }
    __builtin___clear_cache((char *)base, (char *)base + code_bytes);
    if (mprotect(base + code_bytes, table_bytes, PROT_READ) != 0) {
        err = errno;
        set_error("mprotect", err);
        goto fail;
    }
    unwind_arena_register(base + code_bytes);

    a->base = base;
    a->slots = slots;
    a->first_index = thunks_created;
    a->older = newest;
    newest = a;
    arenas_used++;
    *out = a;
    return 0;

fail:
    munmap(base, map_bytes);
fail_unmapped:
    free(a->owners);
    free(a);
    if (err == EACCES || err == EPERM)
        refused_errno = err;
    return -err;
}

int thunk_arena_create(uintptr_t owner_key, struct thunk *out)
{
    const struct thunk_template *t = thunk_template_get();
    int rc = 0;

    pthread_once(&arena_once, init_once);
    pthread_mutex_lock(&arena_mutex);
    if (refused_errno != 0) {
        rc = -refused_errno;
    } else if (current == NULL || current->used == current->slots) {
        rc = map_arena(&current);
        if (rc != 0)
            current = NULL;
    }
    if (rc == 0) {
        size_t slot = current->used++;
        uintptr_t begin = (uintptr_t)current->base + slot * THUNK_TEMPLATE_STRIDE;
        current->owners[slot] = owner_key;
        out->entry = (thunk_fn)begin;
        out->begin = begin;
        out->end = begin + t->code_size;
        out->index = current->first_index + slot;
        thunks_created = out->index + 1;
    }
    pthread_mutex_unlock(&arena_mutex);
    return rc;
}

int thunk_arena_find(uintptr_t addr, struct thunk *out, uintptr_t *owner_key)
{
    const struct thunk_template *t = thunk_template_get();
    int rc = -ENOENT;

    pthread_mutex_lock(&arena_mutex);
    for (struct arena *a = newest; a != NULL; a = a->older) {
        uintptr_t base = (uintptr_t)a->base;
        if (addr < base || addr >= base + a->slots * THUNK_TEMPLATE_STRIDE)
            continue;
        size_t slot = (addr - base) / THUNK_TEMPLATE_STRIDE;
        uintptr_t begin = base + slot * THUNK_TEMPLATE_STRIDE;
        if (slot < a->used && addr < begin + t->code_size) {
            if (out != NULL) {
                out->entry = (thunk_fn)begin;
                out->begin = begin;
                out->end = begin + t->code_size;
                out->index = a->first_index + slot;
            }
            if (owner_key != NULL)
                *owner_key = a->owners[slot];
            rc = 0;
        }
        break;
    }
    pthread_mutex_unlock(&arena_mutex);
    return rc;
}

const char *thunk_arena_error(void)
{
    return error_text;
}

void thunk_arena_info(struct thunk_arena_info *out)
{
    const struct thunk_template *t = thunk_template_get();

    pthread_mutex_lock(&arena_mutex);
    out->backend = "linux-mmap";
    out->arch = t->arch;
    out->thunk_size = t->code_size;
    out->stride = THUNK_TEMPLATE_STRIDE;
    out->arena_size = arena_size;
    out->thunks_per_arena = arena_size / THUNK_TEMPLATE_STRIDE;
    out->unwind_size = round_up(unwind_arena_table_size(out->thunks_per_arena), page_size());
    out->arenas_used = arenas_used;
    out->thunks_created = thunks_created;
    out->exec_refused = refused_errno;
    pthread_mutex_unlock(&arena_mutex);
}
