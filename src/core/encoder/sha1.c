/*
 * sha1.c — a small SHA-1 (FIPS 180-4) used only to derive provider ids from
 * provider names. The ids are public, so this makes no attempt to scrub
 * buffers or run in constant time; do not use it for secrets. It exists so
 * the core needs no crypto library on any platform.
 */
#include "tracelogging/tld.h"
#include "sha1.h"

#include <string.h>

typedef struct sha1_state {
    uint32_t h[5];
    uint64_t total_len;   /* bytes consumed so far */
    uint8_t block[64];
    size_t block_len;
} sha1_state;

static uint32_t rotl32(uint32_t v, unsigned n) { return (v << n) | (v >> (32 - n)); }

static uint32_t load_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void sha1_compress(uint32_t h[5], const uint8_t block[64])
{
    uint32_t w[80];
    for (int i = 0; i < 16; i++)
        w[i] = load_be32(block + 4 * i);
    for (int i = 16; i < 80; i++)
        w[i] = rotl32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);

    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
    for (int i = 0; i < 80; i++) {
        uint32_t f, k;
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999u;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1u;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDCu;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6u;
        }
        uint32_t t = rotl32(a, 5) + f + e + k + w[i];
        e = d;
        d = c;
        c = rotl32(b, 30);
        b = a;
        a = t;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

static void sha1_init(sha1_state *s)
{
    static const uint32_t initial[5] = {0x67452301u, 0xEFCDAB89u, 0x98BADCFEu, 0x10325476u, 0xC3D2E1F0u};
    memcpy(s->h, initial, sizeof initial);
    s->total_len = 0;
    s->block_len = 0;
}

static void sha1_update(sha1_state *s, const uint8_t *p, size_t n)
{
    s->total_len += n;
    while (n > 0) {
        size_t take = 64 - s->block_len;
        if (take > n)
            take = n;
        memcpy(s->block + s->block_len, p, take);
        s->block_len += take;
        p += take;
        n -= take;
        if (s->block_len == 64) {
            sha1_compress(s->h, s->block);
            s->block_len = 0;
        }
    }
}

static void sha1_final(sha1_state *s, uint8_t digest[20])
{
    uint64_t bits = s->total_len * 8;
    uint8_t pad = 0x80;
    sha1_update(s, &pad, 1);
    pad = 0;
    while (s->block_len != 56)
        sha1_update(s, &pad, 1);
    uint8_t len_be[8];
    for (int i = 0; i < 8; i++)
        len_be[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha1_update(s, len_be, 8);
    for (int i = 0; i < 5; i++) {
        digest[4 * i] = (uint8_t)(s->h[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        digest[4 * i + 3] = (uint8_t)s->h[i];
    }
}

void tld_sha1(const void *data, size_t len, uint8_t digest[20])
{
    sha1_state s;
    sha1_init(&s);
    sha1_update(&s, data, len);
    sha1_final(&s, digest);
}

void tld_sha1_two(const void *a, size_t a_len, const void *b, size_t b_len, uint8_t digest[20])
{
    sha1_state s;
    sha1_init(&s);
    sha1_update(&s, a, a_len);
    sha1_update(&s, b, b_len);
    sha1_final(&s, digest);
}
