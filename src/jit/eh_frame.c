/*
 * eh_frame.c — encodes the CIE, FDE and .eh_frame_hdr records described in
 * eh_frame.h. Plain byte layout, host byte order (the readers are in this
 * process, or perf on this machine).
 *
 *   CIE: length | id 0 | version 1 | "zR" | code_align | data_align | ra reg
 *        | aug len 1 | FDE encoding pcrel|sdata4 | CIE program | nops
 *   FDE: length | CIE pointer | pc_begin (pcrel) | pc_range | aug len 0
 *        | FDE program | nops
 *   hdr: version 1 | enc pcrel|sdata4 | enc udata4 | enc datarel|sdata4
 *        | eh_frame ptr | fde count 1 | (initial location, FDE) both
 *        relative to the start of the header
 */
#include "eh_frame.h"

#include <string.h>

#define DW_EH_PE_udata4 0x03
#define DW_EH_PE_sdata4 0x0b
#define DW_EH_PE_pcrel 0x10
#define DW_EH_PE_datarel 0x30

/* The fixed part of a CIE up to its program: length, id, version, "zR\0",
 * code_align, data_align, ra register, augmentation length, FDE encoding. */
#define CIE_FIXED (4 + 4 + 1 + 3 + 1 + 1 + 1 + 1 + 1)
/* The fixed part of an FDE: length, CIE pointer, pc_begin, pc_range, aug length. */
#define FDE_FIXED (4 + 4 + 4 + 4 + 1)

static size_t round8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* Stores the 32-bit two's complement of a signed 64-bit difference; returns
 * 0 if it does not fit. */
static int put_s32(uint8_t *p, int64_t v)
{
    if (v < INT32_MIN || v > INT32_MAX)
        return 0;
    put32(p, (uint32_t)(int32_t)v);
    return 1;
}

size_t eh_frame_cie_size(const struct thunk_template *t)
{
    return round8(CIE_FIXED + t->cie_program_size);
}

size_t eh_frame_fde_size(const struct thunk_template *t)
{
    return round8(FDE_FIXED + t->fde_program_size);
}

size_t eh_frame_write_cie(uint8_t *out, const struct thunk_template *t)
{
    size_t size = eh_frame_cie_size(t);
    uint8_t *p = out;

    memset(out, 0, size); /* the padding is DW_CFA_nop */
    put32(p, (uint32_t)(size - 4));
    p += 4;
    put32(p, 0); /* CIE id */
    p += 4;
    *p++ = 1; /* version */
    *p++ = 'z';
    *p++ = 'R';
    *p++ = 0;
    *p++ = t->code_align;                   /* ULEB128, < 128 */
    *p++ = (uint8_t)(t->data_align & 0x7f); /* SLEB128, -64..63 */
    *p++ = t->return_address_reg;
    *p++ = 1; /* augmentation data: 1 byte */
    *p++ = DW_EH_PE_pcrel | DW_EH_PE_sdata4;
    memcpy(p, t->cie_program, t->cie_program_size);
    return size;
}

size_t eh_frame_write_fde(uint8_t *out, uint64_t at, const struct thunk_template *t, uint64_t cie_at,
                          uint64_t code)
{
    size_t size = eh_frame_fde_size(t);

    memset(out, 0, size);
    put32(out, (uint32_t)(size - 4));
    /* The CIE pointer counts back from its own field to the CIE. */
    if (cie_at > at || !put_s32(out + 4, (int64_t)(at + 4 - cie_at)))
        return 0;
    if (!put_s32(out + 8, (int64_t)(code - (at + 8))))
        return 0;
    put32(out + 12, (uint32_t)t->code_size);
    out[16] = 0; /* no augmentation data */
    memcpy(out + FDE_FIXED, t->fde_program, t->fde_program_size);
    return size;
}

size_t eh_frame_write_hdr(uint8_t *out, uint64_t at, uint64_t eh_frame_at, uint64_t code, uint64_t fde_at)
{
    out[0] = 1; /* version */
    out[1] = DW_EH_PE_pcrel | DW_EH_PE_sdata4;   /* eh_frame_ptr */
    out[2] = DW_EH_PE_udata4;                    /* fde_count */
    out[3] = DW_EH_PE_datarel | DW_EH_PE_sdata4; /* search table */
    if (!put_s32(out + 4, (int64_t)(eh_frame_at - (at + 4))))
        return 0;
    put32(out + 8, 1);
    if (!put_s32(out + 12, (int64_t)(code - at)) || !put_s32(out + 16, (int64_t)(fde_at - at)))
        return 0;
    return EH_FRAME_HDR_SIZE;
}
