/*
 * thunk_template_parts.h — the two halves thunk_template.c joins into the
 * template of the build (thunk_template.h); only the template files
 * include this. The build links one of each:
 *
 *   struct thunk_cpu    what every thunk on one CPU shares, whatever the
 *                       operating system's calling convention: the padding
 *                       instruction and the DWARF rules at a function's
 *                       first instruction (thunk_cpu_x86_64.c,
 *                       thunk_cpu_aarch64.c);
 *   struct thunk_code   one target's instructions and how its frame changes
 *                       as they run (thunk_template_<cpu>.c on Linux,
 *                       thunk_template_<cpu>_windows.c).
 *
 * The fields mean what the fields of the same names in struct
 * thunk_template mean.
 */
#ifndef ETW_THUNK_TEMPLATE_PARTS_H
#define ETW_THUNK_TEMPLATE_PARTS_H

#include <stddef.h>
#include <stdint.h>

struct thunk_cpu {
    const char *arch;
    uint16_t elf_machine;
    const uint8_t *fill;
    size_t fill_size;
    uint8_t code_align;
    int8_t data_align;
    uint8_t return_address_reg;
    const uint8_t *cie_program;
    size_t cie_program_size;
};

struct thunk_code {
    const uint8_t *code;
    size_t code_size;
    const uint8_t *fde_program;
    size_t fde_program_size;
    size_t return_offset;
};

extern const struct thunk_cpu thunk_cpu_of_build;
extern const struct thunk_code thunk_code_of_build;

#endif
