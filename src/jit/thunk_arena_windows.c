/*
 * thunk_arena_windows.c — the memory of thunk arenas on Windows
 * (thunk_arena_os.h): VirtualAlloc, VirtualProtect, and a growable function
 * table per arena.
 *
 *   code                                    code + code_bytes
 *   | thunk | int3.. | thunk | int3.. | ... | unwind data (UNWIND_INFO) |
 *   '-------- PAGE_EXECUTE_READ ------------''----- PAGE_READONLY ------'
 *   '------------- the function table's range [RangeBase, RangeEnd) -----'
 *
 * Sealing an arena:
 *   1. write the unwind data every thunk shares after the code
 *      (unwind_windows.h);
 *   2. VirtualProtect the code PAGE_EXECUTE_READ (where Arbitrary Code
 *      Guard says no), FlushInstructionCache, the unwind data PAGE_READONLY;
 *   3. fill one RUNTIME_FUNCTION per slot (ordinary heap memory, sorted by
 *      address, never changed while registered) and register them with
 *      RtlAddGrowableFunctionTable holding 0 entries.
 * Handing out a thunk grows the table by one (RtlGrowFunctionTable): only
 * thunks in use are described.
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

#include "thunk_arena_os.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "thunk_template.h"
#include "unwind_windows.h"

#ifndef ERROR_DYNAMIC_CODE_BLOCKED
#define ERROR_DYNAMIC_CODE_BLOCKED 1655L
#endif

/* An arena's registration: the growable table and its RUNTIME_FUNCTIONs. */
struct function_table {
    PVOID handle;
    uint8_t functions[]; /* unwind_windows_function_size() bytes per slot */
};

const char thunk_arena_os_backend[] = "windows-virtualalloc";
const char thunk_arena_os_refusers[] = "Arbitrary Code Guard or another dynamic-code policy";

size_t thunk_arena_os_page_size(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return si.dwPageSize ? si.dwPageSize : 4096;
}

/* A function table counts its entries in a DWORD. */
size_t thunk_arena_os_max_slots(void)
{
    return 0xFFFFFFFFu;
}

size_t thunk_arena_os_unwind_size(size_t slots)
{
    (void)slots;
    return unwind_windows_shared_size() ? unwind_windows_shared_size() : 1;
}

/* The errno a Windows error (GetLastError()) maps to. */
static int errno_of(DWORD code)
{
    switch (code) {
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

/* Returns -err with `why` = "what: Windows error <code>". */
static int failed(const char *what, int err, unsigned long code, char *why, size_t why_size)
{
    snprintf(why, why_size, "%s: Windows error %lu", what, code);
    return -err;
}

/* failed() for the call that just set GetLastError(). */
static int failed_last_error(const char *what, char *why, size_t why_size)
{
    DWORD code = GetLastError();
    return failed(what, errno_of(code), code, why, why_size);
}

int thunk_arena_os_map(struct thunk_arena_memory *m, char *why, size_t why_size)
{
    struct function_table *table = calloc(1, sizeof *table + m->slots * unwind_windows_function_size());
    if (table == NULL)
        return failed("malloc", ENOMEM, ERROR_NOT_ENOUGH_MEMORY, why, why_size);
    m->code = VirtualAlloc(NULL, m->code_bytes + m->unwind_bytes, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (m->code == NULL) {
        int rc = failed_last_error("VirtualAlloc", why, why_size);
        free(table);
        return rc;
    }
    m->registration = table;
    return 0;
}

int thunk_arena_os_seal(struct thunk_arena_memory *m, int refuse_for_tests, char *why, size_t why_size)
{
    struct function_table *table = m->registration;
    size_t fsize = unwind_windows_function_size();
    uint32_t code_size = (uint32_t)thunk_template_get()->code_size;
    DWORD old;

    unwind_windows_shared_write(m->code + m->code_bytes);
    if (refuse_for_tests)
        return failed("VirtualProtect (ETWTRACE_TEST_DENY_EXEC)", EACCES, ERROR_DYNAMIC_CODE_BLOCKED, why,
                      why_size);
    if (!VirtualProtect(m->code, m->code_bytes, PAGE_EXECUTE_READ, &old))
        return failed_last_error("VirtualProtect", why, why_size);
    FlushInstructionCache(GetCurrentProcess(), m->code, m->code_bytes);
    if (!VirtualProtect(m->code + m->code_bytes, m->unwind_bytes, PAGE_READONLY, &old))
        return failed_last_error("VirtualProtect", why, why_size);
    for (size_t i = 0; i < m->slots; i++)
        unwind_windows_function(table->functions + i * fsize, (uint32_t)(i * THUNK_TEMPLATE_STRIDE), code_size,
                                (uint32_t)m->code_bytes);
    DWORD status = RtlAddGrowableFunctionTable(&table->handle, (PRUNTIME_FUNCTION)(void *)table->functions, 0,
                                               (DWORD)m->slots, (ULONG_PTR)m->code,
                                               (ULONG_PTR)(m->code + m->code_bytes + m->unwind_bytes));
    if (status != 0)
        return failed("RtlAddGrowableFunctionTable", ENOMEM, status, why, why_size);
    return 0;
}

void thunk_arena_os_unmap(struct thunk_arena_memory *m)
{
    VirtualFree(m->code, 0, MEM_RELEASE);
    free(m->registration);
    m->code = NULL;
    m->registration = NULL;
}

void thunk_arena_os_hand_out(struct thunk_arena_memory *m, size_t used)
{
    struct function_table *table = m->registration;
    /* The slot's RUNTIME_FUNCTION was filled when the arena was sealed;
     * from here on the unwinder consults it. */
    RtlGrowFunctionTable(table->handle, (DWORD)used);
}
