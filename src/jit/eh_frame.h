/*
 * eh_frame.h — DWARF .eh_frame records (CIE, FDE) and an .eh_frame_hdr for
 * thunks, built from a thunk_template's call-frame description.
 *
 * One encoder serves both consumers:
 *   - unwind_linux.c: one CIE and an FDE per arena slot, at the addresses the
 *     bytes really occupy, registered with libgcc's __register_frame;
 *   - jitdump_linux.c: one CIE + FDE + .eh_frame_hdr per thunk, at the
 *     addresses perf inject gives them in the ELF file it synthesizes.
 *
 * Encoding choices (all standard, what gcc emits): CIE version 1,
 * augmentation "zR", FDE addresses DW_EH_PE_pcrel|DW_EH_PE_sdata4, records
 * padded with DW_CFA_nop to a multiple of 8 bytes. pcrel/sdata4 means an FDE
 * must lie within +-2 GiB of its code; callers place the records next to it.
 *
 * Every writer takes `at`, the address the first written byte will have
 * when a reader looks at it (which may differ from where `out` is now), and
 * returns the number of bytes written, or 0 if an offset does not fit.
 */
#ifndef ETW_EH_FRAME_H
#define ETW_EH_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "thunk_template.h"

/* Bytes of the CIE / of one FDE that the writers below produce for `t`. */
size_t eh_frame_cie_size(const struct thunk_template *t);
size_t eh_frame_fde_size(const struct thunk_template *t);

/* Size of an .eh_frame_hdr with a one-entry search table. */
#define EH_FRAME_HDR_SIZE 20

/* Writes the CIE (eh_frame_cie_size(t) bytes) at out. */
size_t eh_frame_write_cie(uint8_t *out, const struct thunk_template *t);

/*
 * Writes one FDE (eh_frame_fde_size(t) bytes) at out, to be read at address
 * `at`, referring to the CIE read at `cie_at` (which must precede it) and
 * covering [code, code + t->code_size). Returns 0 if an offset does not fit
 * in 32 bits.
 */
size_t eh_frame_write_fde(uint8_t *out, uint64_t at, const struct thunk_template *t, uint64_t cie_at,
                          uint64_t code);

/*
 * Writes an .eh_frame_hdr (EH_FRAME_HDR_SIZE bytes) at out, read at `at`,
 * pointing to the .eh_frame read at `eh_frame_at` and holding a search
 * table of one entry: the FDE read at `fde_at` covers code starting at
 * `code`. Returns 0 if an offset does not fit in 32 bits.
 */
size_t eh_frame_write_hdr(uint8_t *out, uint64_t at, uint64_t eh_frame_at, uint64_t code, uint64_t fde_at);

#endif
