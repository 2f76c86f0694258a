/*
 * thunk_template.h — the machine code of one thunk and the DWARF call-frame
 * rules that describe it, for the architecture being built.
 *
 * A thunk is the smallest function that leaves a real frame on the native
 * stack while the Python evaluator runs:
 *
 *     void *thunk(void *tstate, void *frame, int throwflag, void *real_eval)
 *     {
 *         return real_eval(tstate, frame, throwflag);   // NOT a tail call
 *     }
 *
 * The evaluator arrives as an argument, so the code has no address in it and
 * every copy is byte-identical: an arena is filled with copies once, made
 * executable, and never patched (see thunk_arena.c).
 *
 * thunk_template.c joins the template of the build from two halves
 * (thunk_template_parts.h), one of each linked, chosen by the build:
 *   the CPU's      thunk_cpu_x86_64.c, thunk_cpu_aarch64.c: the padding
 *                  instruction, the DWARF rules at function entry;
 *   the target's   the instructions and how the frame changes as they run:
 *     thunk_template_x86_64.c           (Linux) endbr64; push rbp; mov rbp,rsp;
 *                                       call *rcx; pop rbp; ret
 *     thunk_template_x86_64_windows.c   push rbp; mov rbp,rsp; sub rsp,32;
 *                                       call *r9; mov rsp,rbp; pop rbp; ret
 *     thunk_template_aarch64.c          (Linux) bti c; stp x29,x30,[sp,-16]!;
 *                                       mov x29,sp; blr x3; ldp x29,x30,[sp],16; ret
 *     thunk_template_aarch64_windows.c  the same without bti c
 *
 * The call-frame description is data, not bytes of a finished .eh_frame:
 * eh_frame.c turns it into CIE/FDE records for any placement (in-process
 * registration, jitdump), so the layout of those records lives in one place.
 */
#ifndef ETW_THUNK_TEMPLATE_H
#define ETW_THUNK_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

/* Every slot of an arena is this many bytes apart (see thunk_arena.h for why
 * 128). Both templates fit, together with the unwinding data perf inject maps
 * behind each thunk; test_jitdump checks that. */
#define THUNK_TEMPLATE_STRIDE 128

struct thunk_template {
    const char *arch;            /* "x86_64", "aarch64" */
    uint16_t elf_machine;        /* EM_X86_64 (62), EM_AARCH64 (183) */

    const uint8_t *code;         /* the thunk's instructions */
    size_t code_size;
    const uint8_t *fill;         /* an instruction that traps, repeated over */
    size_t fill_size;            /* the rest of each slot (int3 / brk #0) */

    /* CIE: the rules at the thunk's first instruction. */
    uint8_t code_align;          /* DWARF code alignment factor (ULEB128 < 128) */
    int8_t data_align;           /* DWARF data alignment factor (SLEB128, -64..63) */
    uint8_t return_address_reg;  /* DWARF register number of the return address */
    const uint8_t *cie_program;  /* DW_CFA_* instructions of the CIE */
    size_t cie_program_size;

    /* FDE: how the rules change as the prologue and epilogue run, in units of
     * code_align from the thunk's first byte. */
    const uint8_t *fde_program;
    size_t fde_program_size;

    /* Offset of the return address the thunk pushes (the instruction after
     * the call): a stack that passes through a thunk holds begin + this. */
    size_t return_offset;
};

/* The template of the architecture this build targets. Never NULL; the data
 * is static and immutable. */
const struct thunk_template *thunk_template_get(void);

#endif
