/*
 * check.h — the minimal assertion helpers the C unit tests share. A failed
 * check prints where and what, and the test exits non-zero at the end.
 */
#ifndef TLD_TEST_CHECK_H
#define TLD_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int check_failures;
static int check_count;

#define CHECK(cond)                                                                 \
    do {                                                                            \
        check_count++;                                                              \
        if (!(cond)) {                                                              \
            check_failures++;                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                           \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                                      \
    do {                                                                                        \
        long long check_a_ = (long long)(a), check_b_ = (long long)(b);                         \
        check_count++;                                                                          \
        if (check_a_ != check_b_) {                                                             \
            check_failures++;                                                                   \
            fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a,       \
                    check_a_, check_b_);                                                        \
        }                                                                                       \
    } while (0)

/* Compares a byte range with a hex string like "0a 1b 2c" (spaces and '|' ignored). */
__attribute__((unused)) static int check_hex(const char *file, int line, const unsigned char *got, size_t got_len, const char *hex)
{
    unsigned char want[70000];
    size_t n = 0;
    for (const char *p = hex; *p;) {
        if (*p == ' ' || *p == '|') {
            p++;
            continue;
        }
        unsigned v;
        sscanf(p, "%2x", &v);
        want[n++] = (unsigned char)v;
        p += 2;
    }
    check_count++;
    if (n != got_len || memcmp(want, got, n) != 0) {
        check_failures++;
        fprintf(stderr, "%s:%d: bytes differ\n  got :", file, line);
        for (size_t i = 0; i < got_len; i++)
            fprintf(stderr, " %02x", got[i]);
        fprintf(stderr, "\n  want: %s\n", hex);
        return 0;
    }
    return 1;
}
#define CHECK_HEX(got, len, hex) check_hex(__FILE__, __LINE__, (got), (len), (hex))

__attribute__((unused)) static int check_report(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, check_count, check_failures);
    return check_failures ? 1 : 0;
}

#endif
