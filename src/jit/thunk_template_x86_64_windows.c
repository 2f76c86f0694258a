/*
 * thunk_template_x86_64_windows.c — the Windows x64 thunk (see
 * thunk_template.h), for the Microsoft x64 calling convention.
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
 * Windows unwinds it with the UNWIND_INFO thunk_arena_windows.c registers;
 * the DWARF rules below describe the same frame (nothing on Windows reads
 * them, but they keep the template complete for tools that do).
 */
#include "thunk_template.h"

static const uint8_t code[] = {
    0x55,                   /* push %rbp */
    0x48, 0x89, 0xe5,       /* mov %rsp,%rbp */
    0x48, 0x83, 0xec, 0x20, /* sub $0x20,%rsp */
    0x41, 0xff, 0xd1,       /* call *%r9 */
    0x48, 0x89, 0xec,       /* mov %rbp,%rsp */
    0x5d,                   /* pop %rbp */
    0xc3,                   /* ret */
};

static const uint8_t fill[] = {0xcc}; /* int3 */

/* DWARF x86-64 register numbers: rbp 6, rsp 7, return address 16. */
static const uint8_t cie_program[] = {
    0x0c, 0x07, 0x08, /* DW_CFA_def_cfa rsp, 8 */
    0x90, 0x01,       /* DW_CFA_offset r16 (ra), 1 * -8 */
};

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

static const struct thunk_template windows_x64_template = {
    .arch = "x86_64",
    .elf_machine = 62, /* EM_X86_64 */
    .code = code,
    .code_size = sizeof code,
    .fill = fill,
    .fill_size = sizeof fill,
    .code_align = 1,
    .data_align = -8,
    .return_address_reg = 16,
    .cie_program = cie_program,
    .cie_program_size = sizeof cie_program,
    .fde_program = fde_program,
    .fde_program_size = sizeof fde_program,
    .return_offset = 11,
};

const struct thunk_template *thunk_template_get(void)
{
    return &windows_x64_template;
}
