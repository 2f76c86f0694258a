/*
 * sha1.h — internal SHA-1 entry points shared by the core (the public
 * tld_sha1() is in tld.h).
 */
#ifndef TLD_SHA1_H
#define TLD_SHA1_H

#include <stddef.h>
#include <stdint.h>

/* SHA-1 of a followed by b, without concatenating them in memory. */
void tld_sha1_two(const void *a, size_t a_len, const void *b, size_t b_len, uint8_t digest[20]);

#endif
