/*
 * utf16.c — UTF-16LE encoding (utf16.h).
 */
#include "utf16.h"

#include "byteorder.h"

/* Stores code point `cp` as one or two units at out + 2 * at when they fit
 * below `cap` units; returns the units it takes either way. */
static size_t put_code_point(uint32_t cp, uint8_t *out, size_t at, size_t cap, int *stop)
{
    size_t units = cp >= 0x10000 ? 2 : 1;
    if (out == NULL)
        return units;
    if (at + units > cap) {
        *stop = 1;
        return 0;
    }
    if (units == 2) {
        cp -= 0x10000;
        store_le16(out + 2 * at, (uint16_t)(0xD800 | (cp >> 10)));
        store_le16(out + 2 * at + 2, (uint16_t)(0xDC00 | (cp & 0x3FF)));
    } else {
        store_le16(out + 2 * at, (uint16_t)cp);
    }
    return units;
}

size_t tld_utf16le_from_chars(const void *chars, size_t count, unsigned unit_size, uint8_t *out, size_t cap_units)
{
    size_t at = 0;
    int stop = 0;
    if (unit_size == 1) {
        const uint8_t *c = chars;
        if (out == NULL)
            return count;
        for (size_t i = 0; i < count && at < cap_units; i++) {
            out[2 * at] = c[i];
            out[2 * at + 1] = 0;
            at++;
        }
    } else if (unit_size == 2) {
        const uint16_t *c = chars;
        if (out == NULL)
            return count;
        for (size_t i = 0; i < count && at < cap_units; i++)
            store_le16(out + 2 * at++, c[i]);
    } else {
        const uint32_t *c = chars;
        for (size_t i = 0; i < count && !stop; i++)
            at += put_code_point(c[i], out, at, cap_units, &stop);
    }
    return at;
}

/* Decodes one UTF-8 sequence at *p (advancing it); U+FFFD when malformed. */
static uint32_t next_utf8(const unsigned char **p)
{
    unsigned c = *(*p)++;
    uint32_t cp;
    int extra;
    if (c < 0x80)
        return c;
    if ((c & 0xE0) == 0xC0) {
        cp = c & 0x1F;
        extra = 1;
    } else if ((c & 0xF0) == 0xE0) {
        cp = c & 0x0F;
        extra = 2;
    } else if ((c & 0xF8) == 0xF0) {
        cp = c & 0x07;
        extra = 3;
    } else {
        return 0xFFFD;
    }
    for (int i = 0; i < extra; i++) {
        if ((**p & 0xC0) != 0x80)
            return 0xFFFD; /* the terminator or a new lead byte: read it next */
        cp = (cp << 6) | (*(*p)++ & 0x3F);
    }
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0xFFFD;
    return cp;
}

size_t tld_utf16le_from_utf8z(const char *s, uint8_t *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t units = 0;
    int stop = 0;
    for (;;) {
        uint32_t cp = *p == 0 ? 0 : next_utf8(&p);
        size_t n = put_code_point(cp, NULL, 0, 0, &stop);
        if (out != NULL && 2 * (units + n) <= cap)
            put_code_point(cp, out, units, cap / 2, &stop);
        units += n;
        if (cp == 0)
            return 2 * units;
    }
}
