/*
 * thunk_template_x86_64.c — the x86-64 thunk for the System V calling
 * convention (Linux) and how its frame changes as it runs (the FDE); what
 * every x86-64 thunk shares is in thunk_cpu_x86_64.c (see
 * thunk_template.h).
 *
 * The real evaluator is the 4th integer argument, so it arrives in rcx; the
 * first three (rdi, rsi, edx) are passed on untouched.
 *
 *   off  bytes          instruction          CFA after it   saved
 *    0   f3 0f 1e fa    endbr64              rsp+8          ra at CFA-8
 *    4   55             push %rbp            rsp+16         rbp at CFA-16
 *    5   48 89 e5       mov  %rsp,%rbp       rbp+16
 *    8   ff d1          call *%rcx           (callee runs; we return to 10)
 *   10   5d             pop  %rbp            rsp+8          rbp restored
 *   11   c3             ret
 *   12   cc ...         int3 up to the slot's end
 *
 * Stack while real_eval runs (grows down):
 *
 *     | caller's frame       |
 *     | return into caller   |  <- CFA - 8
 *     | caller's rbp         |  <- CFA - 16 = thunk's rbp
 *     | return into thunk+10 |  <- real_eval's CFA - 8
 *     | real_eval's frame ...|
 *
 * endbr64 is a no-op without CET; with IBT it makes the thunk a valid
 * indirect-call target. The stack is 16-byte aligned at the call (entry
 * rsp = 8 mod 16, the push makes it 0), as the ABI requires.
 */
#include "thunk_template_parts.h"

static const uint8_t code[] = {
    0xf3, 0x0f, 0x1e, 0xfa, /* endbr64 */
    0x55,                   /* push %rbp */
    0x48, 0x89, 0xe5,       /* mov %rsp,%rbp */
    0xff, 0xd1,             /* call *%rcx */
    0x5d,                   /* pop %rbp */
    0xc3,                   /* ret */
};

/* DWARF register numbers: thunk_cpu_x86_64.c. */
static const uint8_t fde_program[] = {
    0x45,             /* DW_CFA_advance_loc 5: after push */
    0x0e, 0x10,       /* DW_CFA_def_cfa_offset 16 */
    0x86, 0x02,       /* DW_CFA_offset rbp, 2 * -8 */
    0x43,             /* DW_CFA_advance_loc 3: after mov */
    0x0d, 0x06,       /* DW_CFA_def_cfa_register rbp */
    0x43,             /* DW_CFA_advance_loc 3: after pop */
    0x0c, 0x07, 0x08, /* DW_CFA_def_cfa rsp, 8 */
    0xc6,             /* DW_CFA_restore rbp */
};

const struct thunk_code thunk_code_of_build = {
    .code = code, .code_size = sizeof code,
    .fde_program = fde_program, .fde_program_size = sizeof fde_program,
    .return_offset = 10,
};
