/*
 * test_lz77.c — the [MS-XCA] Plain LZ77 decoder (src/core/etl/lz77_plain.c):
 *
 *   - the worked examples of ../shared/spec/etw-kernel-events.md §6, byte
 *     for byte, and hand-made streams for every length form (3..9 in the
 *     token, the half-byte shared by two matches, the extra byte, u16 and
 *     u32 lengths) and for the end of the stream;
 *   - malformed streams: a match before the start of the output, input
 *     ending inside a token, a nibble, an extended length or a flag word,
 *     an impossible u16/u32 length, output larger than the space given
 *     (with the decoded prefix intact), prefix decoding;
 *   - round trips through the test-only compressor (lz77_compress_test.h)
 *     of text, records-like data, long runs and random bytes, with match
 *     lengths bounded to steer which forms appear;
 *   - every truncation and thousands of byte flips of a compressed stream
 *     (ASan/UBSan do the checking; output never exceeds its space).
 */
#include "tracelogging/tld.h"

#include "lz77_plain.h"

#include "check.h"
#include "lz77_compress_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int decode(const uint8_t *in, size_t n, uint8_t *out, size_t cap, size_t *out_len)
{
    size_t at = 0;
    int rc = tld_lz77_plain_decompress(in, n, out, cap, out_len, &at);
    CHECK(*out_len <= cap);
    CHECK(at <= n);
    return rc;
}

static void test_spec_examples(void)
{
    /* abc x5 + x x21: literals, a 12-byte match through the low half of a
     * shared length byte, a literal, a 20-byte match through its high half. */
    static const uint8_t ex1[] = {0xFF, 0xFF, 0xFF, 0x17, 0x61, 0x62, 0x63, 0x17, 0x00, 0xA2, 0x78, 0x07, 0x00};
    uint8_t out[400];
    size_t n;
    CHECK_EQ_INT(decode(ex1, sizeof ex1, out, sizeof out, &n), 0);
    CHECK_EQ_INT(n, 36);
    char want[40];
    snprintf(want, sizeof want, "%s%s", "abcabcabcabcabc", "xxxxxxxxxxxxxxxxxxxxx");
    CHECK(n == 36 && memcmp(out, want, 36) == 0);
    /* z x300: nibble 15, byte 255, u16 296. */
    static const uint8_t ex2[] = {0xFF, 0xFF, 0xFF, 0x7F, 0x7A, 0x07, 0x00, 0x0F, 0xFF, 0x28, 0x01};
    CHECK_EQ_INT(decode(ex2, sizeof ex2, out, sizeof out, &n), 0);
    CHECK_EQ_INT(n, 300);
    int all_z = 1;
    for (size_t i = 0; i < n; i++)
        all_z &= out[i] == 'z';
    CHECK(all_z);
    /* Output space exactly the size: fine; one less: OUTPUT_FULL with the prefix right. */
    CHECK_EQ_INT(decode(ex2, sizeof ex2, out, 300, &n), 0);
    CHECK_EQ_INT(decode(ex2, sizeof ex2, out, 299, &n), TLD_E_LZ77_OUTPUT_FULL);
    CHECK_EQ_INT(n, 299);
    CHECK(out[298] == 'z');
    /* Prefix decoding: the first 10 bytes of example 1. */
    memset(out, 0, sizeof out);
    CHECK_EQ_INT(decode(ex1, sizeof ex1, out, 10, &n), TLD_E_LZ77_OUTPUT_FULL);
    CHECK(n == 10 && memcmp(out, "abcabcabca", 10) == 0);
}

/* Builds a stream of literal `c` then one match of `len` at distance 1, in
 * the form the format prescribes for that length. */
static size_t one_run(uint8_t *s, uint32_t len)
{
    size_t n = 0;
    /* flags: 0 (literal), 1 (match), then 1s */
    uint32_t flags = 0x7FFFFFFFu;
    s[n++] = (uint8_t)flags;
    s[n++] = (uint8_t)(flags >> 8);
    s[n++] = (uint8_t)(flags >> 16);
    s[n++] = (uint8_t)(flags >> 24);
    s[n++] = 'q';
    uint32_t l = len - 3;
    uint32_t w = (0u << 3) | (l < 7 ? l : 7);
    s[n++] = (uint8_t)w;
    s[n++] = (uint8_t)(w >> 8);
    if (l >= 7) {
        uint32_t nib = len - 10 < 15 ? len - 10 : 15;
        s[n++] = (uint8_t)nib;
        if (nib == 15) {
            if (len - 25 < 255) {
                s[n++] = (uint8_t)(len - 25);
            } else {
                s[n++] = 255;
                uint32_t v = len - 3;
                if (v <= 0xFFFF) {
                    s[n++] = (uint8_t)v;
                    s[n++] = (uint8_t)(v >> 8);
                } else {
                    s[n++] = 0;
                    s[n++] = 0;
                    for (int k = 0; k < 4; k++)
                        s[n++] = (uint8_t)(v >> (8 * k));
                }
            }
        }
    }
    return n;
}

static void test_length_forms(void)
{
    static const uint32_t lens[] = {3, 4, 9, 10, 11, 24, 25, 26, 278, 279, 280, 281, 65535 + 3, 65536 + 3, 100000};
    uint8_t *out = malloc(200000);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint8_t s[32];
        size_t sn = one_run(s, lens[i]), n;
        CHECK_EQ_INT(decode(s, sn, out, 200000, &n), 0);
        CHECK_EQ_INT(n, 1 + lens[i]);
        int ok = 1;
        for (size_t k = 0; k < n; k++)
            ok &= out[k] == 'q';
        CHECK(ok);
        /* Every truncation of the stream: an error or a shorter output, never a crash. */
        for (size_t cut = 0; cut < sn; cut++) {
            uint8_t *c = malloc(cut ? cut : 1);
            memcpy(c, s, cut);
            int rc = decode(c, cut, out, 200000, &n);
            CHECK(rc == TLD_E_LZ77_DAMAGED || n < 1 + lens[i]);
            free(c);
        }
    }
    free(out);
}

static void test_malformed(void)
{
    uint8_t out[64];
    size_t n;
    /* A match first: nothing to copy from. */
    static const uint8_t before_start[] = {0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00};
    CHECK_EQ_INT(decode(before_start, sizeof before_start, out, sizeof out, &n), TLD_E_LZ77_DAMAGED);
    CHECK_EQ_INT(n, 0);
    /* A distance of 2 after one literal. */
    static const uint8_t too_far[] = {0xFF, 0xFF, 0xFF, 0x7F, 'a', 0x08, 0x00};
    CHECK_EQ_INT(decode(too_far, sizeof too_far, out, sizeof out, &n), TLD_E_LZ77_DAMAGED);
    CHECK_EQ_INT(n, 1);
    /* u16 length below 22 (the smaller forms cover those lengths). */
    static const uint8_t small_v[] = {0xFF, 0xFF, 0xFF, 0x7F, 'a', 0x07, 0x00, 0x0F, 0xFF, 0x15, 0x00};
    CHECK_EQ_INT(decode(small_v, sizeof small_v, out, sizeof out, &n), TLD_E_LZ77_DAMAGED);
    /* u32 length below 22. */
    static const uint8_t small_v32[] = {0xFF, 0xFF, 0xFF, 0x7F, 'a', 0x07, 0x00, 0x0F, 0xFF,
                                        0x00, 0x00, 0x05, 0x00, 0x00, 0x00};
    CHECK_EQ_INT(decode(small_v32, sizeof small_v32, out, sizeof out, &n), TLD_E_LZ77_DAMAGED);
    /* A huge u32 length: output full, not a 4 GB write. */
    static const uint8_t huge[] = {0xFF, 0xFF, 0xFF, 0x7F, 'a', 0x07, 0x00, 0x0F, 0xFF,
                                   0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF};
    CHECK_EQ_INT(decode(huge, sizeof huge, out, sizeof out, &n), TLD_E_LZ77_OUTPUT_FULL);
    CHECK_EQ_INT(n, sizeof out);
    /* A flag word cut short (1-3 bytes): damaged; none at all: the end. */
    static const uint8_t cut_flags[] = {0x00, 0x00};
    CHECK_EQ_INT(decode(cut_flags, sizeof cut_flags, out, sizeof out, &n), TLD_E_LZ77_DAMAGED);
    CHECK_EQ_INT(decode(cut_flags, 0, out, sizeof out, &n), 0);
    CHECK_EQ_INT(n, 0);
    /* Literals to the end of the input with 0 flags left: accepted as the end. */
    static const uint8_t lits[] = {0x00, 0x00, 0x00, 0x00, 'x', 'y'};
    CHECK_EQ_INT(decode(lits, sizeof lits, out, sizeof out, &n), 0);
    CHECK(n == 2 && out[0] == 'x' && out[1] == 'y');
    /* A token cut after its first byte. */
    static const uint8_t half_token[] = {0xFF, 0xFF, 0xFF, 0x7F, 'a', 0x07};
    CHECK_EQ_INT(decode(half_token, sizeof half_token, out, sizeof out, &n), TLD_E_LZ77_DAMAGED);
    /* Zero output space. */
    CHECK_EQ_INT(decode(lits, sizeof lits, out, 0, &n), TLD_E_LZ77_OUTPUT_FULL);
    CHECK_EQ_INT(n, 0);
}

static void roundtrip(const uint8_t *data, size_t n, size_t max_match)
{
    size_t zn;
    uint8_t *z = lz77_compress_test(data, n, max_match, &zn);
    uint8_t *out = malloc(n + 1);
    size_t got;
    CHECK_EQ_INT(decode(z, zn, out, n + 1, &got), 0);
    CHECK_EQ_INT(got, n);
    CHECK(got == n && memcmp(out, data, n) == 0);
    free(out);
    free(z);
}

static void test_roundtrips(void)
{
    uint32_t seed = 7;
    size_t sizes[] = {0, 1, 2, 3, 31, 32, 33, 64, 1000, 65536, 300000};
    uint8_t *buf = malloc(300000);
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        /* Text-like, records-like (repeating headers), runs, random. */
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)("the quick brown fox jumps over the lazy dog "[i % 44]);
        roundtrip(buf, n, 0);
        roundtrip(buf, n, 9);
        roundtrip(buf, n, 24);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (i % 96) < 16 ? (uint8_t)(0xC0 + i % 7) : (uint8_t)(seed >> 24) & 0x0F;
        }
        roundtrip(buf, n, 0);
        memset(buf, 0xFF, n);
        roundtrip(buf, n, 0);
        roundtrip(buf, n, 279);
        roundtrip(buf, n, 70000);
        for (size_t i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            buf[i] = (uint8_t)(seed >> 24);
        }
        roundtrip(buf, n, 0);
    }
    free(buf);
}

static void test_hostile(void)
{
    uint8_t data[8192];
    uint32_t seed = 99;
    for (size_t i = 0; i < sizeof data; i++) {
        seed = seed * 1103515245u + 12345u;
        data[i] = (i % 64 < 40) ? (uint8_t)("records records "[i % 16]) : (uint8_t)(seed >> 24);
    }
    size_t zn;
    uint8_t *z = lz77_compress_test(data, sizeof data, 0, &zn);
    uint8_t *out = malloc(sizeof data);
    size_t n;
    for (size_t cut = 0; cut <= zn; cut++) {
        uint8_t *c = malloc(cut ? cut : 1);
        memcpy(c, z, cut);
        int rc = decode(c, cut, out, sizeof data, &n);
        CHECK(rc == 0 || rc == TLD_E_LZ77_DAMAGED);
        CHECK(memcmp(out, data, n) == 0); /* what decodes from a prefix is right */
        free(c);
    }
    uint8_t *f = malloc(zn);
    for (int round = 0; round < 5000; round++) {
        memcpy(f, z, zn);
        for (int k = 0; k <= round % 6; k++) {
            seed = seed * 1103515245u + 12345u;
            f[(seed >> 8) % zn] ^= (uint8_t)(1u << ((seed >> 3) & 7));
        }
        int rc = decode(f, zn, out, round % 2 ? sizeof data : 1000, &n);
        CHECK(rc == 0 || rc == TLD_E_LZ77_DAMAGED || rc == TLD_E_LZ77_OUTPUT_FULL);
    }
    free(f);
    free(out);
    free(z);
}

int main(void)
{
    test_spec_examples();
    test_length_forms();
    test_malformed();
    test_roundtrips();
    test_hostile();
    uint8_t one = 1;
    CHECK_HEX(&one, 1, "01");
    return check_report("test_lz77");
}
