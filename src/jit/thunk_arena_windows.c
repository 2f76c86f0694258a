/*
 * thunk_arena_windows.c — thunk arenas on Windows: VirtualAlloc, fill,
 * VirtualProtect, and a growable function table per arena (see
 * thunk_arena.h for the rules this keeps).
 *
 * One arena is one VirtualAlloc'ed region:
 *
 *   base                                   base + arena_size
 *   | thunk | int3.. | thunk | int3.. | ... | unwind data (UNWIND_INFO) |
 *   |<---- stride --->|                     |
 *   '-------- PAGE_EXECUTE_READ ------------''----- PAGE_READONLY ------'
 *   '------------- the function table's range [RangeBase, RangeEnd) -----'
 *
 * Creating an arena:
 *   1. VirtualAlloc the region PAGE_READWRITE;
 *   2. copy the template into every slot, pad with int3, write the shared
 *      unwind data after the code (unwind_windows.h);
 *   3. VirtualProtect the code PAGE_EXECUTE_READ (where Arbitrary Code
 *      Guard says no), FlushInstructionCache, the unwind data PAGE_READONLY;
 *   4. fill one RUNTIME_FUNCTION per slot (ordinary heap memory, sorted by
 *      address, never changed while registered) and register them with
 *      RtlAddGrowableFunctionTable holding 0 entries.
 * Handing out a thunk takes the next slot and grows the table by one
 * (RtlGrowFunctionTable): only thunks in use are described. Nothing is
 * ever writable and executable at once.
 *
 * Arenas are never freed (thunk_arena.h), so their tables are never
 * deleted (RtlDeleteGrowableFunctionTable) either: an address seen in a
 * stack keeps naming its thunk, and stays unwindable, for the life of the
 * process.
 */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include "thunk_arena.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "thread.h"
#include "thunk_template.h"
#include "unwind_windows.h"

#define DEFAULT_ARENA_SIZE (64 * 1024)
#ifndef ERROR_DYNAMIC_CODE_BLOCKED
#define ERROR_DYNAMIC_CODE_BLOCKED 1655L
#endif

struct arena {
    struct arena *older;
    uint8_t *base;        /* first slot */
    size_t slots;         /* capacity */
    size_t used;          /* slots handed out = entries in the function table */
    uint64_t first_index; /* thunk index of slot 0 */
    uintptr_t *owners;    /* owner key per used slot */
    void *functions;      /* RUNTIME_FUNCTION per slot */
    PVOID table;          /* growable function table */
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
static char error_text[256];

static void init_once(void)
{
    const char *deny = getenv("ETWTRACE_TEST_DENY_EXEC");
    deny_exec_for_tests = deny != NULL && strcmp(deny, "1") == 0;
}

static size_t page_size(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwPageSize ? si.dwPageSize : 4096;
}

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

int thunk_arena_set_size(size_t bytes)
{
    if (bytes == 0 || bytes % page_size() != 0 || bytes < THUNK_TEMPLATE_STRIDE ||
        bytes / THUNK_TEMPLATE_STRIDE > 0xFFFFFFFFu)
        return -EINVAL;
    tld_mutex_lock(&arena_mutex);
    arena_size = bytes;
    tld_mutex_unlock(&arena_mutex);
    return 0;
}

/* The errno a refusal or failure of `what` (GetLastError() = err) maps to. */
static int errno_of(DWORD err)
{
    switch (err) {
    case ERROR_DYNAMIC_CODE_BLOCKED:
    case ERROR_ACCESS_DENIED:
        return EACCES;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_COMMITMENT_LIMIT:
        return ENOMEM;
    default:
        return EINVAL;
    }
}

static void set_error(const char *what, int err, unsigned long code)
{
    if (err == EACCES || err == EPERM)
        snprintf(error_text, sizeof error_text,
                 "the system refused executable memory for Python function thunks (%s: Windows error %lu; "
                 "Arbitrary Code Guard or another dynamic-code policy); "
                 "Python functions will not appear in native stacks",
                 what, code);
    else
        snprintf(error_text, sizeof error_text, "could not map a thunk arena (%s: Windows error %lu)", what,
                 code);
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
    size_t unwind_bytes = round_up(unwind_windows_shared_size() ? unwind_windows_shared_size() : 1, page_size());
    size_t map_bytes = code_bytes + unwind_bytes;
    size_t fsize = unwind_windows_function_size();
    uint8_t *base = NULL;
    DWORD old, code = 0;
    int err;

    struct arena *a = calloc(1, sizeof *a);
    if (a != NULL) {
        a->owners = calloc(slots, sizeof *a->owners);
        a->functions = calloc(slots, fsize);
    }
    if (a == NULL || a->owners == NULL || a->functions == NULL) {
        err = ENOMEM;
        set_error("malloc", err, ERROR_NOT_ENOUGH_MEMORY);
        goto fail;
    }
    base = VirtualAlloc(NULL, map_bytes, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (base == NULL) {
        code = GetLastError();
        err = errno_of(code);
        set_error("VirtualAlloc", err, code);
        goto fail;
    }
    fill_slots(base, slots, t);
    unwind_windows_shared_write(base + code_bytes);
    if (deny_exec_for_tests) {
        err = EACCES;
        set_error("VirtualProtect (ETWTRACE_TEST_DENY_EXEC)", err, ERROR_DYNAMIC_CODE_BLOCKED);
        goto fail;
    }
    if (!VirtualProtect(base, code_bytes, PAGE_EXECUTE_READ, &old)) {
        code = GetLastError();
        err = errno_of(code);
        set_error("VirtualProtect", err, code);
        goto fail;
    }
    FlushInstructionCache(GetCurrentProcess(), base, code_bytes);
    if (!VirtualProtect(base + code_bytes, unwind_bytes, PAGE_READONLY, &old)) {
        code = GetLastError();
        err = errno_of(code);
        set_error("VirtualProtect", err, code);
        goto fail;
    }
    for (size_t i = 0; i < slots; i++)
        unwind_windows_function((uint8_t *)a->functions + i * fsize, (uint32_t)(i * THUNK_TEMPLATE_STRIDE),
                                (uint32_t)t->code_size, (uint32_t)code_bytes);
    DWORD status = RtlAddGrowableFunctionTable(&a->table, (PRUNTIME_FUNCTION)a->functions, 0, (DWORD)slots,
                                               (ULONG_PTR)base, (ULONG_PTR)(base + map_bytes));
    if (status != 0) {
        err = ENOMEM;
        set_error("RtlAddGrowableFunctionTable", err, status);
        goto fail;
    }

    a->base = base;
    a->slots = slots;
    a->first_index = thunks_created;
    a->older = newest;
    newest = a;
    arenas_used++;
    *out = a;
    return 0;

fail:
    if (base != NULL)
        VirtualFree(base, 0, MEM_RELEASE);
    if (a != NULL) {
        free(a->owners);
        free(a->functions);
        free(a);
    }
    if (err == EACCES || err == EPERM)
        refused_errno = err;
    return -err;
}

int thunk_arena_create(uintptr_t owner_key, struct thunk *out)
{
    const struct thunk_template *t = thunk_template_get();
    int rc = 0;

    tld_once(&arena_once, init_once);
    tld_mutex_lock(&arena_mutex);
    if (refused_errno != 0) {
        rc = -refused_errno;
    } else if (current == NULL || current->used == current->slots) {
        rc = map_arena(&current);
        if (rc != 0)
            current = NULL;
    }
    if (rc == 0) {
        size_t slot = current->used++;
        /* The slot's RUNTIME_FUNCTION was filled when the arena was made;
         * from here on the unwinder consults it. */
        RtlGrowFunctionTable(current->table, (DWORD)current->used);
        uintptr_t begin = (uintptr_t)current->base + slot * THUNK_TEMPLATE_STRIDE;
        current->owners[slot] = owner_key;
        out->entry = (thunk_fn)begin;
        out->begin = begin;
        out->end = begin + t->code_size;
        out->index = current->first_index + slot;
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
    out->backend = "windows-virtualalloc";
    out->arch = t->arch;
    out->thunk_size = t->code_size;
    out->stride = THUNK_TEMPLATE_STRIDE;
    out->arena_size = arena_size;
    out->thunks_per_arena = arena_size / THUNK_TEMPLATE_STRIDE;
    out->unwind_size = round_up(unwind_windows_shared_size() ? unwind_windows_shared_size() : 1, page_size());
    out->arenas_used = arenas_used;
    out->thunks_created = thunks_created;
    out->exec_refused = refused_errno;
    tld_mutex_unlock(&arena_mutex);
}
