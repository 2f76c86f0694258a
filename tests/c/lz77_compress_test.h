/*
 * lz77_compress_test.h — a test-only [MS-XCA] Plain LZ77 compressor, to
 * make compressed .etl buffers from the format description
 * (../shared/spec/etw-kernel-events.md §6) without a Windows machine:
 * greedy matching through a hash of 3-byte prefixes (one candidate per
 * hash, offsets up to 8192), flag words of 32 bits filled from bit 31 down
 * and padded with 1s, match lengths extended through a shared half-byte, a
 * byte, a u16 and a u32 exactly as the decoder reads them.
 *
 * `max_match` bounds match lengths (0: no bound) so tests can steer which
 * length forms appear. Header-only: each test program includes it once.
 */
#ifndef TLD_LZ77_COMPRESS_TEST_H
#define TLD_LZ77_COMPRESS_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct lz77c {
    uint8_t *out;
    size_t len, cap;
    size_t flag_at;     /* where the current flag word goes */
    uint32_t flags;
    unsigned nflags;    /* flags in the current word */
    size_t nibble_at;   /* a length byte whose high nibble is free, or SIZE_MAX */
} lz77c;

static void lz77c_byte(lz77c *c, uint8_t b)
{
    if (c->len == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 256;
        c->out = realloc(c->out, c->cap);
    }
    c->out[c->len++] = b;
}

static void lz77c_u16(lz77c *c, uint32_t v)
{
    lz77c_byte(c, (uint8_t)v);
    lz77c_byte(c, (uint8_t)(v >> 8));
}

static void lz77c_u32(lz77c *c, uint32_t v)
{
    lz77c_u16(c, v & 0xFFFF);
    lz77c_u16(c, v >> 16);
}

static void lz77c_flag(lz77c *c, unsigned bit)
{
    if (c->nflags == 32) {
        uint32_t f = c->flags;
        for (int k = 0; k < 4; k++)
            c->out[c->flag_at + k] = (uint8_t)(f >> (8 * k));
        c->flag_at = c->len;
        lz77c_u32(c, 0);
        c->flags = 0;
        c->nflags = 0;
    }
    c->flags = (c->flags << 1) | bit;
    c->nflags++;
}

static void lz77c_match(lz77c *c, size_t dist, size_t len)
{
    lz77c_flag(c, 1);
    size_t l = len - 3;
    lz77c_u16(c, (uint32_t)(((dist - 1) << 3) | (l < 7 ? l : 7)));
    if (l < 7)
        return;
    size_t n = len - 10;
    unsigned nib = n < 15 ? (unsigned)n : 15;
    if (c->nibble_at == SIZE_MAX) {
        c->nibble_at = c->len;
        lz77c_byte(c, (uint8_t)nib);
    } else {
        c->out[c->nibble_at] |= (uint8_t)(nib << 4);
        c->nibble_at = SIZE_MAX;
    }
    if (n < 15)
        return;
    size_t b = len - 25;
    if (b < 255) {
        lz77c_byte(c, (uint8_t)b);
        return;
    }
    lz77c_byte(c, 255);
    size_t v = len - 3;
    if (v <= 0xFFFF) {
        lz77c_u16(c, (uint32_t)v);
    } else {
        lz77c_u16(c, 0);
        lz77c_u32(c, (uint32_t)v);
    }
}

/* Compresses in[0..n); returns a malloc'd stream and its length. */
static uint8_t *lz77_compress_test(const uint8_t *in, size_t n, size_t max_match, size_t *out_len)
{
    lz77c c = {NULL, 0, 0, 0, 0, 0, SIZE_MAX};
    lz77c_u32(&c, 0); /* the first flag word's place */
    enum { HBITS = 14 };
    size_t *last = malloc(sizeof(size_t) << HBITS);
    for (size_t i = 0; i < ((size_t)1 << HBITS); i++)
        last[i] = SIZE_MAX;
    size_t i = 0;
    while (i < n) {
        size_t best = 0, dist = 0;
        if (i + 3 <= n) {
            uint32_t h = ((uint32_t)in[i] * 2654435761u ^ (uint32_t)in[i + 1] * 40503u ^ in[i + 2]) &
                         ((1u << HBITS) - 1);
            size_t cand = last[h];
            last[h] = i;
            if (cand != SIZE_MAX && i - cand <= 8192) {
                size_t l = 0;
                while (i + l < n && in[cand + l] == in[i + l] && (!max_match || l < max_match))
                    l++;
                if (l >= 3) {
                    best = l;
                    dist = i - cand;
                }
            }
        }
        if (best) {
            lz77c_match(&c, dist, best);
            i += best;
        } else {
            lz77c_flag(&c, 0);
            lz77c_byte(&c, in[i++]);
        }
    }
    /* Pad the last flag word with 1s (the decoder stops at a 1 with the
     * input used up). */
    uint32_t f;
    if (c.nflags == 0)
        f = 0xFFFFFFFFu;
    else if (c.nflags == 32)
        f = c.flags;
    else
        f = (c.flags << (32 - c.nflags)) | ((1u << (32 - c.nflags)) - 1);
    c.out[c.flag_at] = (uint8_t)f;
    c.out[c.flag_at + 1] = (uint8_t)(f >> 8);
    c.out[c.flag_at + 2] = (uint8_t)(f >> 16);
    c.out[c.flag_at + 3] = (uint8_t)(f >> 24);
    if (c.nflags == 32)
        lz77c_u32(&c, 0xFFFFFFFFu); /* a full last word: one more, all 1s, marks the end */
    free(last);
    *out_len = c.len;
    return c.out;
}

#endif
