/*
 * thunk_arena_linux.c — the memory of thunk arenas on Linux (thunk_arena_os.h):
 * mmap, mprotect, and the arena's .eh_frame for __register_frame.
 *
 *   code                                    code + code_bytes
 *   | thunk | int3.. | thunk | int3.. | ... | .eh_frame (CIE, FDE per slot) |
 *   '------------- PROT_READ|PROT_EXEC -----''------- PROT_READ ------------'
 *
 * Sealing an arena:
 *   1. write the .eh_frame for every slot, used or not (unwind_linux.c);
 *   2. mprotect the code PROT_READ|PROT_EXEC (this is where SELinux execmem
 *      or MDWE say no), flush the instruction cache, mprotect the table
 *      PROT_READ;
 *   3. __register_frame the table, once: handing out a thunk tells the
 *      unwinder nothing new.
 */
#include "thunk_arena_os.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "thunk_template.h"
#include "unwind_linux.h"

const char thunk_arena_os_backend[] = "linux-mmap";
const char thunk_arena_os_refusers[] = "SELinux execmem, MemoryDenyWriteExecute or PR_SET_MDWE";

size_t thunk_arena_os_page_size(void)
{
    long n = sysconf(_SC_PAGESIZE);
    return n > 0 ? (size_t)n : 4096;
}

size_t thunk_arena_os_max_slots(void)
{
    return SIZE_MAX;
}

size_t thunk_arena_os_unwind_size(size_t slots)
{
    return unwind_arena_table_size(slots);
}

/* Returns -err with `why` = "what: reason". */
static int failed(const char *what, int err, char *why, size_t why_size)
{
    snprintf(why, why_size, "%s: %s", what, strerror(err));
    return -err;
}

int thunk_arena_os_map(struct thunk_arena_memory *m, char *why, size_t why_size)
{
    void *base = mmap(NULL, m->code_bytes + m->unwind_bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED)
        return failed("mmap", errno, why, why_size);
    m->code = base;
    m->registration = NULL;
    return 0;
}

int thunk_arena_os_seal(struct thunk_arena_memory *m, int refuse_for_tests, char *why, size_t why_size)
{
    uint8_t *table = m->code + m->code_bytes;
    int err = -unwind_arena_build(table, (uintptr_t)m->code, m->slots, THUNK_TEMPLATE_STRIDE);

    if (err != 0)
        return failed("eh_frame", err, why, why_size);
    if (refuse_for_tests)
        return failed("mprotect (ETWTRACE_TEST_DENY_EXEC)", EACCES, why, why_size);
    if (mprotect(m->code, m->code_bytes, PROT_READ | PROT_EXEC) != 0)
        return failed("mprotect", errno, why, why_size);
    __builtin___clear_cache((char *)m->code, (char *)m->code + m->code_bytes);
    if (mprotect(table, m->unwind_bytes, PROT_READ) != 0)
        return failed("mprotect", errno, why, why_size);
    unwind_arena_register(table);
    return 0;
}

void thunk_arena_os_unmap(struct thunk_arena_memory *m)
{
    munmap(m->code, m->code_bytes + m->unwind_bytes);
    m->code = NULL;
}

void thunk_arena_os_hand_out(struct thunk_arena_memory *m, size_t used)
{
    (void)m;
    (void)used;
}
