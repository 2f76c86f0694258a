/*
 * thunk_template.c — thunk_template_get(): the template of the build, joined
 * once from the CPU's half and the target's half (thunk_template_parts.h),
 * so that what every thunk on a CPU shares is written down once.
 */
#include "thunk_template.h"

#include "thread.h"
#include "thunk_template_parts.h"

static struct thunk_template template_of_build;
static tld_once_flag joined = TLD_ONCE_INIT;

static void join_halves(void)
{
    const struct thunk_cpu *cpu = &thunk_cpu_of_build;
    const struct thunk_code *code = &thunk_code_of_build;

    template_of_build = (struct thunk_template){
        .arch = cpu->arch,
        .elf_machine = cpu->elf_machine,
        .code = code->code,
        .code_size = code->code_size,
        .fill = cpu->fill,
        .fill_size = cpu->fill_size,
        .code_align = cpu->code_align,
        .data_align = cpu->data_align,
        .return_address_reg = cpu->return_address_reg,
        .cie_program = cpu->cie_program,
        .cie_program_size = cpu->cie_program_size,
        .fde_program = code->fde_program,
        .fde_program_size = code->fde_program_size,
        .return_offset = code->return_offset,
    };
}

const struct thunk_template *thunk_template_get(void)
{
    tld_once(&joined, join_halves);
    return &template_of_build;
}
