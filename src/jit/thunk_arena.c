/*
 * thunk_arena.c — thunk arenas, the part every platform shares: the arena
 * list, handing out slots, lookups, the numbers of --info and the error
 * sentence (see thunk_arena.h for the rules). Mapping, protecting and
 * registering an arena's memory is the operating system's part
 * (thunk_arena_os.h).
 *
 * Creating an arena:
 *   1. map it read-write (thunk_arena_os_map);
 *   2. copy the template into every slot, pad with trapping instructions;
 *   3. seal it: unwind data written, code read-execute, unwind data
 *      read-only and registered (thunk_arena_os_seal; this is where the
 *      system may refuse executable memory).
 * Any failure unmaps everything and reports once through the return value.
 * Handing out a thunk is then "next slot" under the mutex, plus telling
 * the unwinder (thunk_arena_os_hand_out).
 *
 * Arenas are kept in a list (newest first) for thunk_arena_find() and
 * never unmapped.
 */
#include "thunk_arena.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thread.h"
#include "thunk_arena_os.h"
#include "thunk_template.h"

#define DEFAULT_ARENA_SIZE (64 * 1024)

struct arena {
    struct arena *older;
    struct thunk_arena_memory memory;
    size_t used;          /* slots handed out */
    uint64_t first_index; /* thunk index of slot 0 */
    uintptr_t *owners;    /* owner key per used slot */
};

static tld_mutex arena_mutex = TLD_MUTEX_INIT;
static tld_once_flag arena_once = TLD_ONCE_INIT;
static struct arena *newest;       /* all arenas, newest first */
static struct arena *current;      /* where new thunks go; NULL: map one */
static size_t arena_size = DEFAULT_ARENA_SIZE;
static size_t arenas_used;
static uint64_t thunks_created;
static int refused_errno;          /* sticky refusal of executable memory */
static int deny_exec_for_tests;    /* ETWTRACE_TEST_DENY_EXEC=1 */
static char error_text[384];

static void lock_for_fork(void)
{
    tld_mutex_lock(&arena_mutex);
}

static void unlock_in_parent(void)
{
    tld_mutex_unlock(&arena_mutex);
}

/* The child keeps the inherited arenas for lookups but never hands out
 * another slot from them: the parent may hand out the same ones. */
static void unlock_in_child(void)
{
    current = NULL;
    tld_mutex_unlock(&arena_mutex);
}

static void init_once(void)
{
    const char *deny = getenv("ETWTRACE_TEST_DENY_EXEC");
    deny_exec_for_tests = deny != NULL && strcmp(deny, "1") == 0;
    tld_at_fork(lock_for_fork, unlock_in_parent, unlock_in_child);
}

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

static size_t unwind_bytes_for(size_t slots)
{
    return round_up(thunk_arena_os_unwind_size(slots), thunk_arena_os_page_size());
}

int thunk_arena_set_size(size_t bytes)
{
    if (bytes == 0 || bytes % thunk_arena_os_page_size() != 0 || bytes < THUNK_TEMPLATE_STRIDE ||
        bytes / THUNK_TEMPLATE_STRIDE > thunk_arena_os_max_slots())
        return -EINVAL;
    tld_mutex_lock(&arena_mutex);
    arena_size = bytes;
    tld_mutex_unlock(&arena_mutex);
    return 0;
}

/* `why` is "call: reason" from thunk_arena_os.h. */
static void set_error(int err, const char *why)
{
    if (err == EACCES || err == EPERM)
        snprintf(error_text, sizeof error_text,
                 "the system refused executable memory for Python function thunks (%s; %s); "
                 "Python functions will not appear in native stacks",
                 why, thunk_arena_os_refusers);
    else
        snprintf(error_text, sizeof error_text, "could not map a thunk arena (%s)", why);
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

/* Maps, fills and seals a new arena (mutex held). Returns 0 or a negative
 * errno with error_text set. */
static int map_arena(struct arena **out)
{
    size_t slots = arena_size / THUNK_TEMPLATE_STRIDE;
    char why[160];
    int rc;

    struct arena *a = calloc(1, sizeof *a);
    uintptr_t *owners = calloc(slots, sizeof *owners);
    if (a == NULL || owners == NULL) {
        free(a);
        free(owners);
        snprintf(why, sizeof why, "malloc: %s", strerror(ENOMEM));
        set_error(ENOMEM, why);
        return -ENOMEM;
    }
    a->owners = owners;
    a->memory.code_bytes = arena_size;
    a->memory.slots = slots;
    a->memory.unwind_bytes = unwind_bytes_for(slots);
    rc = thunk_arena_os_map(&a->memory, why, sizeof why);
    if (rc == 0) {
        fill_slots(a->memory.code, slots, thunk_template_get());
        rc = thunk_arena_os_seal(&a->memory, deny_exec_for_tests, why, sizeof why);
        if (rc != 0)
            thunk_arena_os_unmap(&a->memory);
    }
    if (rc != 0) {
        free(a->owners);
        free(a);
        set_error(-rc, why);
        if (rc == -EACCES || rc == -EPERM)
            refused_errno = -rc;
        return rc;
    }

    a->first_index = thunks_created;
    a->older = newest;
    newest = a;
    arenas_used++;
    *out = a;
    return 0;
}

/* The thunk in `slot` of `a`. */
static void describe_slot(const struct arena *a, size_t slot, struct thunk *out)
{
    uintptr_t begin = (uintptr_t)a->memory.code + slot * THUNK_TEMPLATE_STRIDE;
    out->entry = (thunk_fn)begin;
    out->begin = begin;
    out->end = begin + thunk_template_get()->code_size;
    out->index = a->first_index + slot;
}

int thunk_arena_create(uintptr_t owner_key, struct thunk *out)
{
    int rc = 0;

    tld_once(&arena_once, init_once);
    tld_mutex_lock(&arena_mutex);
    if (refused_errno != 0) {
        rc = -refused_errno;
    } else if (current == NULL || current->used == current->memory.slots) {
        rc = map_arena(&current);
        if (rc != 0)
            current = NULL;
    }
    if (rc == 0) {
        size_t slot = current->used++;
        thunk_arena_os_hand_out(&current->memory, current->used);
        current->owners[slot] = owner_key;
        describe_slot(current, slot, out);
        thunks_created = out->index + 1;
    }
    tld_mutex_unlock(&arena_mutex);
    return rc;
}

int thunk_arena_find(uintptr_t addr, struct thunk *out, uintptr_t *owner_key)
{
    const struct thunk_template *t = thunk_template_get();
    int rc = -ENOENT;

    tld_mutex_lock(&arena_mutex);
    for (struct arena *a = newest; a != NULL; a = a->older) {
        uintptr_t base = (uintptr_t)a->memory.code;
        if (addr < base || addr >= base + a->memory.slots * THUNK_TEMPLATE_STRIDE)
            continue;
        size_t slot = (addr - base) / THUNK_TEMPLATE_STRIDE;
        uintptr_t begin = base + slot * THUNK_TEMPLATE_STRIDE;
        if (slot < a->used && addr < begin + t->code_size) {
            if (out != NULL)
                describe_slot(a, slot, out);
            if (owner_key != NULL)
                *owner_key = a->owners[slot];
            rc = 0;
        }
        break;
    }
    tld_mutex_unlock(&arena_mutex);
    return rc;
}

const char *thunk_arena_error(void)
{
    return error_text;
}

void thunk_arena_info(struct thunk_arena_info *out)
{
    const struct thunk_template *t = thunk_template_get();

    tld_mutex_lock(&arena_mutex);
    out->backend = thunk_arena_os_backend;
    out->arch = t->arch;
    out->thunk_size = t->code_size;
    out->stride = THUNK_TEMPLATE_STRIDE;
    out->arena_size = arena_size;
    out->thunks_per_arena = arena_size / THUNK_TEMPLATE_STRIDE;
    out->unwind_size = unwind_bytes_for(out->thunks_per_arena);
    out->arenas_used = arenas_used;
    out->thunks_created = thunks_created;
    out->exec_refused = refused_errno;
    tld_mutex_unlock(&arena_mutex);
}
