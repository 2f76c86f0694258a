/*
 * json_writer.h — a growable text buffer and the JSON value emitters the
 * decoder needs: escaped strings from UTF-8, UTF-16LE and Windows-1252 bytes
 * (always valid UTF-8 out; invalid input becomes U+FFFD), exact 64-bit
 * integers, round-trippable floats, hex strings, GUIDs and ISO 8601 times.
 *
 * Errors are a sticky code: when an allocation fails, `error` is set to
 * TLD_E_NO_MEMORY, later calls do nothing, and the caller checks
 * jw_error() once at the end. That keeps the emitting code free of error
 * plumbing on every value.
 */
#ifndef TLD_JSON_WRITER_H
#define TLD_JSON_WRITER_H

#include <stddef.h>
#include <stdint.h>

typedef struct jw_buf {
    char *data;     /* not NUL-terminated; see jw_cstr_view() */
    size_t len;
    size_t cap;
    int error;      /* 0, or TLD_E_NO_MEMORY once an append failed (contents incomplete) */
} jw_buf;

void jw_init(jw_buf *b);
void jw_free(jw_buf *b);
/* Empties the buffer (keeps its memory) and clears the error. */
void jw_clear(jw_buf *b);
/* Makes room for n more bytes; returns 0 or TLD_E_NO_MEMORY (and sets error). */
int jw_reserve(jw_buf *b, size_t n);
/* 0, or TLD_E_NO_MEMORY when some append failed since the last jw_clear(). */
int jw_error(const jw_buf *b);
/* NUL-terminates the contents (not counted in len) and returns them. */
const char *jw_cstr_view(jw_buf *b);

/* Verbatim text. */
void jw_raw(jw_buf *b, const char *s, size_t n);
void jw_cstr(jw_buf *b, const char *s);
void jw_char(jw_buf *b, char c);

/* Quoted, escaped JSON strings. */
void jw_string_utf8(jw_buf *b, const uint8_t *s, size_t n);
void jw_string_utf16le(jw_buf *b, const uint8_t *s, size_t nbytes);
void jw_string_cp1252(jw_buf *b, const uint8_t *s, size_t n);
/* The body of a string without quotes (to build one string from parts). */
void jw_escape_utf8(jw_buf *b, const uint8_t *s, size_t n);
void jw_escape_utf16le(jw_buf *b, const uint8_t *s, size_t nbytes);
void jw_escape_cp1252(jw_buf *b, const uint8_t *s, size_t n);

/* Numbers and literals. */
void jw_u64(jw_buf *b, uint64_t v);
void jw_i64(jw_buf *b, int64_t v);
void jw_bool(jw_buf *b, int v);
void jw_null(jw_buf *b);
/* NaN and infinities are not JSON numbers: they become "nan", "inf", "-inf". */
void jw_double(jw_buf *b, double v);
void jw_float(jw_buf *b, float v);

/* Quoted strings: "0x1f" (no padding), lowercase hex of bytes, a GUID in
 * lowercase 8-4-4-4-12 form from its little-endian wire bytes, and a
 * FILETIME as "YYYY-MM-DDTHH:MM:SS.fffffffZ". */
void jw_hex_u64(jw_buf *b, uint64_t v);
void jw_hex_bytes(jw_buf *b, const uint8_t *p, size_t n);
void jw_guid(jw_buf *b, const uint8_t bytes_le[16]);
void jw_filetime(jw_buf *b, uint64_t filetime);

/* Unquoted forms, for building text and keys. */
void jw_guid_text(jw_buf *b, const uint8_t bytes_le[16]);
void jw_filetime_text(jw_buf *b, uint64_t filetime);

#endif
