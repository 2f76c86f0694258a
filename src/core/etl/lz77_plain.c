/*
 * lz77_plain.c — the [MS-XCA] Plain LZ77 decoder declared in lz77_plain.h.
 *
 * State: the current flag word and how many of its bits are left; the
 * input and output positions; and the position of a "half-used" length
 * byte: long matches take a 4-bit length extension, two matches share one
 * input byte (the first uses its low nibble, the next one its high nibble).
 */
#include "lz77_plain.h"

#include "byteorder.h"

#include <string.h>

/* Copies `len` bytes from `dist` bytes back in the output (the regions may
 * overlap: a short distance repeats a pattern). */
static void copy_match(uint8_t *out, size_t pos, size_t dist, size_t len)
{
    uint8_t *dst = out + pos;
    const uint8_t *src = dst - dist;
    if (dist >= len) {
        memcpy(dst, src, len);
        return;
    }
    if (dist >= 8) {
        /* Chunks of 8 never read bytes this copy has not written yet. */
        size_t i = 0;
        for (; i + 8 <= len; i += 8)
            memcpy(dst + i, src + i, 8);
        for (; i < len; i++)
            dst[i] = src[i];
        return;
    }
    for (size_t i = 0; i < len; i++)
        dst[i] = src[i];
}

int tld_lz77_plain_decompress(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len,
                              size_t *error_at)
{
    size_t ip = 0, op = 0;
    uint32_t flags = 0;
    unsigned flags_left = 0;
    size_t nibble_at = 0;  /* input offset of a byte whose high nibble is still unused */
    int nibble_pending = 0;
    int rc = 0;

    for (;;) {
        if (flags_left == 0) {
            if (ip == in_len)
                break; /* the stream ended on a flag-word boundary */
            if (in_len - ip < 4) {
                rc = TLD_E_LZ77_DAMAGED;
                break;
            }
            flags = load_le32(in + ip);
            ip += 4;
            flags_left = 32;
        }
        flags_left--;
        if (!((flags >> flags_left) & 1u)) {
            if (ip == in_len)
                break; /* the end, with unused flag bits left 0 */
            if (op == out_cap) {
                rc = TLD_E_LZ77_OUTPUT_FULL;
                break;
            }
            out[op++] = in[ip++];
            continue;
        }
        if (ip == in_len)
            break; /* the end: unused flag bits are 1s */
        if (in_len - ip < 2) {
            rc = TLD_E_LZ77_DAMAGED;
            break;
        }
        size_t token_at = ip;
        uint32_t w = load_le16(in + ip);
        ip += 2;
        size_t dist = (w >> 3) + 1;
        size_t len = w & 7u;
        if (len == 7) {
            uint32_t n;
            if (!nibble_pending) {
                if (ip == in_len) {
                    rc = TLD_E_LZ77_DAMAGED;
                    ip = token_at;
                    break;
                }
                n = in[ip] & 0x0Fu;
                nibble_at = ip++;
                nibble_pending = 1;
            } else {
                n = in[nibble_at] >> 4;
                nibble_pending = 0;
            }
            if (n == 15) {
                if (ip == in_len) {
                    rc = TLD_E_LZ77_DAMAGED;
                    ip = token_at;
                    break;
                }
                uint32_t b = in[ip++];
                if (b == 255) {
                    if (in_len - ip < 2) {
                        rc = TLD_E_LZ77_DAMAGED;
                        ip = token_at;
                        break;
                    }
                    uint64_t v = load_le16(in + ip);
                    ip += 2;
                    if (v == 0) {
                        if (in_len - ip < 4) {
                            rc = TLD_E_LZ77_DAMAGED;
                            ip = token_at;
                            break;
                        }
                        v = load_le32(in + ip);
                        ip += 4;
                    }
                    if (v < 22) { /* shorter than the forms above could say */
                        rc = TLD_E_LZ77_DAMAGED;
                        ip = token_at;
                        break;
                    }
                    len = (size_t)v + 3;
                } else {
                    len = (size_t)b + 25;
                }
            } else {
                len = (size_t)n + 10;
            }
        } else {
            len += 3;
        }
        if (dist > op) {
            rc = TLD_E_LZ77_DAMAGED; /* reaches before the start of the output */
            ip = token_at;
            break;
        }
        if (len > out_cap - op) {
            copy_match(out, op, dist, out_cap - op);
            op = out_cap;
            rc = TLD_E_LZ77_OUTPUT_FULL;
            ip = token_at;
            break;
        }
        copy_match(out, op, dist, len);
        op += len;
    }
    *out_len = op;
    if (error_at)
        *error_at = ip;
    return rc;
}
