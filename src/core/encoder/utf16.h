/*
 * utf16.h — the one UTF-16LE encoder of the project (ETW's strings are
 * UTF-16LE): from code-unit arrays as Python keeps str (Latin-1, UCS-2,
 * UCS-4) and from UTF-8.
 */
#ifndef TLD_UTF16_H
#define TLD_UTF16_H

#include <stddef.h>
#include <stdint.h>

/*
 * Converts `count` characters of `unit_size` bytes each (1: Latin-1,
 * 2: UCS-2, 4: UCS-4, in host order) to UTF-16LE at `out`, writing at most
 * `cap_units` 16-bit units and never half of a surrogate pair. Lone
 * surrogates pass through unchanged. Returns the units written, or, when
 * `out` is NULL, the units the whole conversion needs.
 */
size_t tld_utf16le_from_chars(const void *chars, size_t count, unsigned unit_size, uint8_t *out, size_t cap_units);

/*
 * Converts the NUL-terminated UTF-8 string `s` to NUL-terminated UTF-16LE;
 * malformed bytes become U+FFFD. Writes at most `cap` bytes when `out` is
 * not NULL; returns the bytes the whole conversion needs (terminator
 * included).
 */
size_t tld_utf16le_from_utf8z(const char *s, uint8_t *out, size_t cap);

#endif
