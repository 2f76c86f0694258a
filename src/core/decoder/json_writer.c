/*
 * json_writer.c — the growable buffer and JSON emitters declared in
 * json_writer.h. Written for the decoder's hot loop: strings are escaped
 * with an ASCII fast path, numbers are formatted without printf where it
 * matters, and every append goes through one reserve check.
 */
#include "json_writer.h"

#include "tracelogging/tld.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jw_init(jw_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->error = 0;
}

void jw_free(jw_buf *b)
{
    free(b->data);
    jw_init(b);
}

void jw_clear(jw_buf *b)
{
    b->len = 0;
    b->error = 0;
}

int jw_reserve(jw_buf *b, size_t n)
{
    if (b->error)
        return TLD_E_NO_MEMORY;
    if (b->cap - b->len > n)
        return 0;
    size_t want = b->cap ? b->cap : 256;
    while (want - b->len <= n) {
        if (want > ((size_t)-1) / 2) {
            b->error = TLD_E_NO_MEMORY;
            return TLD_E_NO_MEMORY;
        }
        want *= 2;
    }
    char *p = realloc(b->data, want);
    if (!p) {
        b->error = TLD_E_NO_MEMORY;
        return TLD_E_NO_MEMORY;
    }
    b->data = p;
    b->cap = want;
    return 0;
}

int jw_error(const jw_buf *b)
{
    return b->error;
}

const char *jw_cstr_view(jw_buf *b)
{
    if (jw_reserve(b, 1) != 0)
        return "";
    b->data[b->len] = '\0';
    return b->data;
}

void jw_raw(jw_buf *b, const char *s, size_t n)
{
    if (jw_reserve(b, n) != 0)
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
}

void jw_cstr(jw_buf *b, const char *s)
{
    jw_raw(b, s, strlen(s));
}

void jw_char(jw_buf *b, char c)
{
    if (jw_reserve(b, 1) != 0)
        return;
    b->data[b->len++] = c;
}

/* ---- escaping ----------------------------------------------------------- */

static const char hexdig[] = "0123456789abcdef";

/* Appends code point `cp` (already known to be a valid scalar value) as
 * escaped JSON string content. `out` has room for at least 6 bytes. */
static size_t put_cp(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        if (cp == '"' || cp == '\\') {
            out[0] = '\\';
            out[1] = (char)cp;
            return 2;
        }
        if (cp < 0x20) {
            switch (cp) {
            case '\n': out[0] = '\\'; out[1] = 'n'; return 2;
            case '\r': out[0] = '\\'; out[1] = 'r'; return 2;
            case '\t': out[0] = '\\'; out[1] = 't'; return 2;
            case '\b': out[0] = '\\'; out[1] = 'b'; return 2;
            case '\f': out[0] = '\\'; out[1] = 'f'; return 2;
            default:
                memcpy(out, "\\u00", 4);
                out[4] = hexdig[cp >> 4];
                out[5] = hexdig[cp & 15];
                return 6;
            }
        }
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* True for bytes that can be copied into a JSON string unchanged. */
static inline int plain_ascii(uint8_t c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* Length of the valid UTF-8 sequence at s[0..n) and its code point, or 0
 * when the bytes there are not valid UTF-8 (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF). */
static size_t utf8_seq(const uint8_t *s, size_t n, uint32_t *cp)
{
    uint8_t c = s[0];
    if (c >= 0xC2 && c <= 0xDF) {
        if (n < 2 || (s[1] & 0xC0) != 0x80)
            return 0;
        *cp = ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F);
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        uint32_t v = ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
        if (v < 0x800 || (v >= 0xD800 && v <= 0xDFFF))
            return 0;
        *cp = v;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        uint32_t v = ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
                     ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
        if (v < 0x10000 || v > 0x10FFFF)
            return 0;
        *cp = v;
        return 4;
    }
    return 0;
}

void jw_escape_utf8(jw_buf *b, const uint8_t *s, size_t n)
{
    /* Worst case: every byte becomes U+FFFD (3 bytes) or \u00XX (6 bytes). */
    if (n > ((size_t)-1) / 8 || jw_reserve(b, n * 6) != 0) {
        b->error = TLD_E_NO_MEMORY;
        return;
    }
    char *out = b->data + b->len;
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (plain_ascii(c)) {
            *out++ = (char)c;
            i++;
            continue;
        }
        if (c < 0x80) {
            out += put_cp(out, c);
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = utf8_seq(s + i, n - i, &cp);
        if (k == 0) {
            out += put_cp(out, 0xFFFD);
            i++;
        } else {
            memcpy(out, s + i, k); /* valid: copy the bytes as they are */
            out += k;
            i += k;
        }
    }
    b->len = (size_t)(out - b->data);
}

void jw_escape_utf16le(jw_buf *b, const uint8_t *s, size_t nbytes)
{
    size_t units = nbytes / 2;
    /* Worst case per unit: \u00XX (6) or 3 bytes; a trailing odd byte adds U+FFFD. */
    if (units > ((size_t)-1) / 8 || jw_reserve(b, units * 6 + 3) != 0) {
        b->error = TLD_E_NO_MEMORY;
        return;
    }
    char *out = b->data + b->len;
    size_t i = 0;
    while (i < units) {
        uint32_t u = (uint32_t)s[2 * i] | ((uint32_t)s[2 * i + 1] << 8);
        if (u < 0x80 && plain_ascii((uint8_t)u)) {
            *out++ = (char)u;
            i++;
            continue;
        }
        if (u >= 0xD800 && u <= 0xDBFF && i + 1 < units) {
            uint32_t lo = (uint32_t)s[2 * i + 2] | ((uint32_t)s[2 * i + 3] << 8);
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                out += put_cp(out, 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00));
                i += 2;
                continue;
            }
        }
        if (u >= 0xD800 && u <= 0xDFFF)
            u = 0xFFFD; /* unpaired surrogate */
        out += put_cp(out, u);
        i++;
    }
    if (nbytes & 1)
        out += put_cp(out, 0xFFFD);
    b->len = (size_t)(out - b->data);
}

/* Windows-1252 bytes 0x80..0x9F; 0 marks the five undefined ones. */
static const uint16_t cp1252_high[32] = {
    0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
    0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

void jw_escape_cp1252(jw_buf *b, const uint8_t *s, size_t n)
{
    if (n > ((size_t)-1) / 8 || jw_reserve(b, n * 6) != 0) {
        b->error = TLD_E_NO_MEMORY;
        return;
    }
    char *out = b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (plain_ascii(c)) {
            *out++ = (char)c;
            continue;
        }
        uint32_t cp = c;
        if (c >= 0x80 && c <= 0x9F)
            cp = cp1252_high[c - 0x80] ? cp1252_high[c - 0x80] : 0xFFFD;
        out += put_cp(out, cp);
    }
    b->len = (size_t)(out - b->data);
}

void jw_string_utf8(jw_buf *b, const uint8_t *s, size_t n)
{
    jw_char(b, '"');
    jw_escape_utf8(b, s, n);
    jw_char(b, '"');
}

void jw_string_utf16le(jw_buf *b, const uint8_t *s, size_t nbytes)
{
    jw_char(b, '"');
    jw_escape_utf16le(b, s, nbytes);
    jw_char(b, '"');
}

void jw_string_cp1252(jw_buf *b, const uint8_t *s, size_t n)
{
    jw_char(b, '"');
    jw_escape_cp1252(b, s, n);
    jw_char(b, '"');
}

/* ---- numbers ------------------------------------------------------------ */

void jw_u64(jw_buf *b, uint64_t v)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    if (jw_reserve(b, n) != 0)
        return;
    while (n)
        b->data[b->len++] = tmp[--n];
}

void jw_i64(jw_buf *b, int64_t v)
{
    if (v < 0) {
        jw_char(b, '-');
        jw_u64(b, (uint64_t)0 - (uint64_t)v); /* exact for INT64_MIN too */
    } else {
        jw_u64(b, (uint64_t)v);
    }
}

void jw_bool(jw_buf *b, int v)
{
    if (v)
        jw_raw(b, "true", 4);
    else
        jw_raw(b, "false", 5);
}

void jw_null(jw_buf *b)
{
    jw_raw(b, "null", 4);
}

/* snprintf follows LC_NUMERIC; a host program may have set a locale whose
 * decimal point is ','. JSON wants '.'. */
static void append_number_text(jw_buf *b, char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (s[i] == ',')
            s[i] = '.';
    jw_raw(b, s, (size_t)n);
}

static int nonfinite(jw_buf *b, double v)
{
    if (isnan(v)) {
        jw_raw(b, "\"nan\"", 5);
        return 1;
    }
    if (isinf(v)) {
        if (v < 0)
            jw_raw(b, "\"-inf\"", 6);
        else
            jw_raw(b, "\"inf\"", 5);
        return 1;
    }
    return 0;
}

void jw_double(jw_buf *b, double v)
{
    if (nonfinite(b, v))
        return;
    char s[40];
    /* Shortest of 15 or 17 significant digits that reads back exactly. */
    int n = snprintf(s, sizeof s, "%.15g", v);
    if (strtod(s, NULL) != v)
        n = snprintf(s, sizeof s, "%.17g", v);
    append_number_text(b, s, n);
}

void jw_float(jw_buf *b, float v)
{
    if (nonfinite(b, v))
        return;
    char s[40];
    int n = snprintf(s, sizeof s, "%.7g", (double)v);
    if (strtof(s, NULL) != v)
        n = snprintf(s, sizeof s, "%.9g", (double)v);
    append_number_text(b, s, n);
}

/* ---- hex, GUIDs, times ------------------------------------------------- */

void jw_hex_u64(jw_buf *b, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[n++] = hexdig[v & 15];
        v >>= 4;
    } while (v);
    if (jw_reserve(b, n + 4) != 0)
        return;
    char *out = b->data + b->len;
    *out++ = '"';
    *out++ = '0';
    *out++ = 'x';
    while (n)
        *out++ = tmp[--n];
    *out++ = '"';
    b->len = (size_t)(out - b->data);
}

void jw_hex_bytes(jw_buf *b, const uint8_t *p, size_t n)
{
    if (n > ((size_t)-1) / 4 || jw_reserve(b, 2 * n + 2) != 0) {
        b->error = TLD_E_NO_MEMORY;
        return;
    }
    char *out = b->data + b->len;
    *out++ = '"';
    for (size_t i = 0; i < n; i++) {
        *out++ = hexdig[p[i] >> 4];
        *out++ = hexdig[p[i] & 15];
    }
    *out++ = '"';
    b->len = (size_t)(out - b->data);
}

void jw_guid_text(jw_buf *b, const uint8_t g[16])
{
    /* Data1 (u32), Data2 and Data3 (u16) are little-endian; Data4 is bytes. */
    static const int order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};
    if (jw_reserve(b, 36) != 0)
        return;
    char *out = b->data + b->len;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *out++ = '-';
        uint8_t c = g[order[i]];
        *out++ = hexdig[c >> 4];
        *out++ = hexdig[c & 15];
    }
    b->len = (size_t)(out - b->data);
}

void jw_guid(jw_buf *b, const uint8_t g[16])
{
    jw_char(b, '"');
    jw_guid_text(b, g);
    jw_char(b, '"');
}

/* Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
 * civil_from_days), valid for the whole FILETIME range. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

static char *put_digits(char *out, uint64_t v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return out + width;
}

void jw_filetime_text(jw_buf *b, uint64_t ft)
{
    const uint64_t ticks_per_day = 864000000000ull;
    int64_t days = (int64_t)(ft / ticks_per_day) - 134774; /* 1601-01-01 .. 1970-01-01 */
    uint64_t rem = ft % ticks_per_day;
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);
    uint64_t secs = rem / 10000000u, frac = rem % 10000000u;
    if (jw_reserve(b, 40) != 0)
        return;
    char *out = b->data + b->len;
    /* FILETIME years run from 1601 to about 60056: 4 or 5 digits. */
    out = put_digits(out, (uint64_t)y, y >= 10000 ? 5 : 4);
    *out++ = '-';
    out = put_digits(out, mo, 2);
    *out++ = '-';
    out = put_digits(out, d, 2);
    *out++ = 'T';
    out = put_digits(out, secs / 3600, 2);
    *out++ = ':';
    out = put_digits(out, secs / 60 % 60, 2);
    *out++ = ':';
    out = put_digits(out, secs % 60, 2);
    *out++ = '.';
    out = put_digits(out, frac, 7);
    *out++ = 'Z';
    b->len = (size_t)(out - b->data);
}

void jw_filetime(jw_buf *b, uint64_t ft)
{
    jw_char(b, '"');
    jw_filetime_text(b, ft);
    jw_char(b, '"');
}
