/*
 * thunk_cpu_aarch64.c — what every AArch64 thunk shares, on Linux and
 * on Windows alike (thunk_template_parts.h): brk #0 pads each slot, and at
 * a thunk's first instruction the return address is in x30 (lr) and the
 * CFA is sp. Instructions are 4 bytes, so DWARF advances count words.
 * The thunks themselves: thunk_template_aarch64.c (AAPCS64, with BTI)
 * and thunk_template_aarch64_windows.c (Windows on ARM64).
 */
#include "thunk_template_parts.h"

static const uint8_t fill[] = {0x00, 0x00, 0x20, 0xd4}; /* brk #0 */

/* DWARF AArch64 register numbers: x29 (fp) 29, x30 (lr) 30, sp 31. */
static const uint8_t cie_program[] = {
    0x0c, 0x1f, 0x00, /* DW_CFA_def_cfa sp, 0 */
};

const struct thunk_cpu thunk_cpu_of_build = {
    .arch = "aarch64", .elf_machine = 183, /* EM_AARCH64 */
    .fill = fill, .fill_size = sizeof fill,
    .code_align = 4, .data_align = -8, .return_address_reg = 30,
    .cie_program = cie_program, .cie_program_size = sizeof cie_program,
};
