/*
 * unwind_linux.c — an .eh_frame per thunk arena, registered with libgcc
 * (see unwind_linux.h).
 *
 * Layout of one arena mapping (thunk_arena_linux.c):
 *
 *   base                          base + arena_size
 *   | slot 0 | slot 1 | ... | slot n-1 | CIE | FDE 0 | FDE 1 | ... | 0000 |
 *   '---------- code, RX -------------''---------- table, R ------------'
 *
 * FDE i covers [base + i*stride, + code_size) with the template's rules, so
 * an unwinder standing at the thunk's return address (thunk + return_offset)
 * finds CFA = frame pointer + 16 and the caller's return address and frame
 * pointer below it, whatever the caller was compiled with.
 *
 * __register_frame (libgcc_s / libgcc_eh, the GNU ABI on Linux) takes the
 * start of an .eh_frame section: a CIE followed by its FDEs and ended by a
 * zero length word; it records the section in a list it searches before
 * falling back to the loaded objects' PT_GNU_EH_FRAME. One registration per
 * arena keeps that list as short as the number of arenas.
 */
#include "unwind_linux.h"

#include <errno.h>

#include "eh_frame.h"
#include "thunk_template.h"

/* libgcc's registration entry point (unwind-dw2-fde.c); no public header. */
extern void __register_frame(void *begin);

size_t unwind_arena_table_size(size_t slots)
{
    const struct thunk_template *t = thunk_template_get();
    return eh_frame_cie_size(t) + slots * eh_frame_fde_size(t) + 4;
}

int unwind_arena_build(uint8_t *table, uintptr_t code, size_t slots, size_t stride)
{
    const struct thunk_template *t = thunk_template_get();
    uintptr_t cie_at = (uintptr_t)table;
    uint8_t *p = table + eh_frame_write_cie(table, t);

    for (size_t i = 0; i < slots; i++) {
        size_t n = eh_frame_write_fde(p, (uintptr_t)p, t, cie_at, code + i * stride);
        if (n == 0)
            return -EOVERFLOW;
        p += n;
    }
    p[0] = p[1] = p[2] = p[3] = 0; /* terminator */
    return 0;
}

int unwind_arena_register(const uint8_t *table)
{
    __register_frame((void *)table);
    return 0;
}
