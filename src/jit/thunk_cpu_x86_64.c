/*
 * thunk_cpu_x86_64.c — what every x86-64 thunk shares, on Linux and on
 * Windows alike (thunk_template_parts.h): int3 pads each slot, and at a
 * thunk's first instruction `call` has just pushed the return address, so
 * the CFA is rsp+8 and the return address sits at CFA-8.
 * The thunks themselves: thunk_template_x86_64.c (System V) and
 * thunk_template_x86_64_windows.c (Microsoft x64).
 */
#include "thunk_template_parts.h"

static const uint8_t fill[] = {0xcc}; /* int3 */

/* DWARF x86-64 register numbers: rbp 6, rsp 7, return address 16. */
static const uint8_t cie_program[] = {
    0x0c, 0x07, 0x08, /* DW_CFA_def_cfa rsp, 8 */
    0x90, 0x01,       /* DW_CFA_offset r16 (ra), 1 * -8 */
};

const struct thunk_cpu thunk_cpu_of_build = {
    .arch = "x86_64", .elf_machine = 62, /* EM_X86_64 */
    .fill = fill, .fill_size = sizeof fill,
    .code_align = 1, .data_align = -8, .return_address_reg = 16,
    .cie_program = cie_program, .cie_program_size = sizeof cie_program,
};
