/*
 * thunk_template_aarch64.c — the AArch64 thunk for Linux (AAPCS64)
 * and how its frame changes as it runs (the FDE); what every AArch64 thunk
 * shares is in thunk_cpu_aarch64.c (see thunk_template.h).
 *
 * The real evaluator is the 4th argument, so it arrives in x3; x0-x2 are
 * passed on untouched. Instructions are little-endian 32-bit words.
 *
 *   off  word      instruction                  CFA after it   saved
 *    0   d503245f  bti c                        sp             ra in x30
 *    4   a9bf7bfd  stp x29, x30, [sp, #-16]!    sp+16          x29 at CFA-16, x30 at CFA-8
 *    8   910003fd  mov x29, sp                  x29+16
 *   12   d63f0060  blr x3                       (callee runs; we return to 16)
 *   16   a8c17bfd  ldp x29, x30, [sp], #16      sp             x29, x30 restored
 *   20   d65f03c0  ret
 *   24   d4200000  brk #0 up to the slot's end
 *
 * Stack while real_eval runs (grows down):
 *
 *     | caller's frame       |  <- CFA (the caller's sp)
 *     | x30: return to caller|  <- CFA - 8
 *     | x29: caller's fp     |  <- CFA - 16 = thunk's x29
 *     | real_eval's frame ...|     (real_eval returns to thunk+16 via x30)
 *
 * This is the standard frame record, so frame-pointer walkers see the thunk
 * too. `bti c` is a hint (no-op) unless the page is mapped PROT_BTI; it keeps
 * the thunk a valid indirect-call target if that is ever enabled. Pointer
 * authentication is not used: x30 is stored as received.
 * The arena must run __builtin___clear_cache over the copies before
 * executing them (instruction and data caches are not coherent).
 */
#include "thunk_template_parts.h"

static const uint8_t code[] = {
    0x5f, 0x24, 0x03, 0xd5, /* bti c */
    0xfd, 0x7b, 0xbf, 0xa9, /* stp x29, x30, [sp, #-16]! */
    0xfd, 0x03, 0x00, 0x91, /* mov x29, sp */
    0x60, 0x00, 0x3f, 0xd6, /* blr x3 */
    0xfd, 0x7b, 0xc1, 0xa8, /* ldp x29, x30, [sp], #16 */
    0xc0, 0x03, 0x5f, 0xd6, /* ret */
};

/* DWARF register numbers: thunk_cpu_aarch64.c. */
static const uint8_t fde_program[] = {
    0x42,             /* DW_CFA_advance_loc 2*4: after stp */
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
    .return_offset = 16,
};
