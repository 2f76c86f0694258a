/*
 * thunk_template_x86_64_windows.c — the Windows x64 thunk, for the
 * Microsoft x64 calling convention, and its FDE; what every x86-64 thunk
 * shares is in thunk_cpu_x86_64.c (see thunk_template.h).
 *
 * The real evaluator is the 4th argument, so it arrives in r9; the first
 * three (rcx, rdx, r8d) are passed on untouched. A Win64 callee may write
 * the 32 bytes above its return address (the caller's "shadow space" for
 * its register arguments), so the thunk reserves them: without that the
 * callee would overwrite the saved rbp and the thunk's own return address.
 *
 *   off  bytes          instruction          rsp at entry = E (E = 8 mod 16)
 *    0   55             push %rbp            E - 8
 *    1   48 89 e5       mov  %rsp,%rbp       rbp = E - 8
 *    4   48 83 ec 20    sub  $0x20,%rsp      E - 40: 16-byte aligned at the call
 *    8   41 ff d1       call *%r9            (callee runs; we return to 11)
 *   11   48 89 ec       mov  %rbp,%rsp
 *   14   5d             pop  %rbp
 *   15   c3             ret
 *   16   cc ...         int3 up to the slot's end
 *
 * Windows unwinds it with the UNWIND_INFO of unwind_windows_x86_64.c, which
 * thunk_arena_windows.c registers; the DWARF rules (the CPU's CIE, then the
 * FDE below) describe the same frame (nothing on Windows reads them, but
 * they keep the template complete for tools that do).
 */
#include "thunk_template_parts.h"

static const uint8_t code[] = {
    0x55,                   /* push %rbp */
    0x48, 0x89, 0xe5,       /* mov %rsp,%rbp */
    0x48, 0x83, 0xec, 0x20, /* sub $0x20,%rsp */
    0x41, 0xff, 0xd1,       /* call *%r9 */
    0x48, 0x89, 0xec,       /* mov %rbp,%rsp */
    0x5d,                   /* pop %rbp */
    0xc3,                   /* ret */
};

/* DWARF register numbers: thunk_cpu_x86_64.c. */
static const uint8_t fde_program[] = {
    0x41,             /* DW_CFA_advance_loc 1: after push */
    0x0e, 0x10,       /* DW_CFA_def_cfa_offset 16 */
    0x86, 0x02,       /* DW_CFA_offset rbp, 2 * -8 */
    0x43,             /* DW_CFA_advance_loc 3: after mov */
    0x0d, 0x06,       /* DW_CFA_def_cfa_register rbp */
    0x4b,             /* DW_CFA_advance_loc 11: after pop */
    0x0c, 0x07, 0x08, /* DW_CFA_def_cfa rsp, 8 */
    0xc6,             /* DW_CFA_restore rbp */
};

const struct thunk_code thunk_code_of_build = {
    .code = code, .code_size = sizeof code,
    .fde_program = fde_program, .fde_program_size = sizeof fde_program,
    .return_offset = 11,
};
