/*
 * thunk_template_aarch64_windows.c — the Windows on ARM64 thunk and its FDE;
 * what every AArch64 thunk shares is in thunk_cpu_aarch64.c (see
 * thunk_template.h). Windows' ARM64 calling convention passes the first
 * eight integer arguments in x0-x7 like AAPCS64, so the real evaluator
 * arrives in x3. The thunk is the Linux one (thunk_template_aarch64.c)
 * without `bti c`: Windows' packed unwind data (unwind_windows_aarch64.c)
 * describes a prologue that starts at the function's first instruction.
 *
 *   off  word      instruction
 *    0   a9bf7bfd  stp x29, x30, [sp, #-16]!
 *    4   910003fd  mov x29, sp
 *    8   d63f0060  blr x3                       (callee returns to 12)
 *   12   a8c17bfd  ldp x29, x30, [sp], #16
 *   16   d65f03c0  ret
 *   20   d4200000  brk #0 up to the slot's end
 *
 * Built with clang --target=aarch64-w64-windows-gnu by make test-windows
 * (compiled only: nothing here can link or run Windows ARM64 code).
 */
#include "thunk_template_parts.h"

static const uint8_t code[] = {
    0xfd, 0x7b, 0xbf, 0xa9, /* stp x29, x30, [sp, #-16]! */
    0xfd, 0x03, 0x00, 0x91, /* mov x29, sp */
    0x60, 0x00, 0x3f, 0xd6, /* blr x3 */
    0xfd, 0x7b, 0xc1, 0xa8, /* ldp x29, x30, [sp], #16 */
    0xc0, 0x03, 0x5f, 0xd6, /* ret */
};

/* DWARF register numbers: thunk_cpu_aarch64.c. */
static const uint8_t fde_program[] = {
    0x41,             /* DW_CFA_advance_loc 1*4: after stp */
    0x0e, 0x10,       /* DW_CFA_def_cfa_offset 16 */
    0x9d, 0x02,       /* DW_CFA_offset x29, 2 * -8 */
    0x9e, 0x01,       /* DW_CFA_offset x30, 1 * -8 */
    0x41,             /* DW_CFA_advance_loc 1*4: after mov */
    0x0d, 0x1d,       /* DW_CFA_def_cfa_register x29 */
    0x42,             /* DW_CFA_advance_loc 2*4: after ldp */
    0x0c, 0x1f, 0x00, /* DW_CFA_def_cfa sp, 0 */
    0xdd,             /* DW_CFA_restore x29 */
    0xde,             /* DW_CFA_restore x30 */
};

const struct thunk_code thunk_code_of_build = {
    .code = code, .code_size = sizeof code,
    .fde_program = fde_program, .fde_program_size = sizeof fde_program,
    .return_offset = 12,
};
