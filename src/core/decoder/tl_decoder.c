/*
 * tl_decoder.c — TraceLogging metadata + data decoding and the JSON / text
 * event lines declared in tl_decoder.h.
 *
 * Two passes per event:
 *   1. parse_meta() reads the EVENT_SCHEMA_TL blob into a flat field table
 *      (name, in-type, out-type, tag, constant count, custom schema) and
 *      computes, for every field, the index just past its subtree — a
 *      struct's members are the next N *logical* fields, and members can be
 *      structs themselves:
 *
 *          [0] a (int32)       end=1
 *          [1] s (struct, 2)   end=5     s = { b, t = { c } }
 *          [2]   b (utf16)     end=3
 *          [3]   t (struct, 1) end=5
 *          [4]     c (guid)    end=5
 *
 *   2. walk() emits "name":value pairs for a range of fields, consuming the
 *      data blob; arrays (u16 count in the data, or a constant count in the
 *      metadata) repeat a field's value, including whole structs.
 *
 * Hostile input: every read goes through need(), which checks the bytes are
 * there; nesting depth and the number of values emitted per event are
 * bounded (empty structs and zero-length arrays consume no data, so without
 * a budget a tiny event could expand without limit). On an error the field
 * being written is cut from the output, so the JSON stays valid and holds
 * every field decoded before the damage.
 */
#include "tl_decoder.h"

#include "byteorder.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TL_MAX_FIELDS 4096u /* ETW itself allows 128 field slots; hostile metadata may claim more */
#define TL_MAX_DEPTH 32u    /* struct nesting */

enum {
    IN_NULL = 0, IN_UNICODESTRING = 1, IN_ANSISTRING = 2, IN_INT8 = 3, IN_UINT8 = 4,
    IN_INT16 = 5, IN_UINT16 = 6, IN_INT32 = 7, IN_UINT32 = 8, IN_INT64 = 9, IN_UINT64 = 10,
    IN_FLOAT = 11, IN_DOUBLE = 12, IN_BOOL32 = 13, IN_BINARY = 14, IN_GUID = 15, IN_POINTER = 16,
    IN_FILETIME = 17, IN_SYSTEMTIME = 18, IN_SID = 19, IN_HEXINT32 = 20, IN_HEXINT64 = 21,
    IN_COUNTEDSTRING = 22, IN_COUNTEDANSISTRING = 23, IN_STRUCT = 24, IN_COUNTEDBINARY = 25,
};

enum { COUNT_NONE = 0x00, COUNT_CONST = 0x20, COUNT_VAR = 0x40, COUNT_CUSTOM = 0x60 };

typedef struct tl_field {
    const uint8_t *name;
    uint32_t name_len;
    uint8_t type;       /* in-type & 0x1F */
    uint8_t count;      /* in-type & 0x60 */
    uint8_t out;        /* out-type & 0x7F (struct: member count), 0 when absent */
    uint16_t ccount;    /* constant element count (COUNT_CONST) */
    uint32_t tag;
    const uint8_t *schema; /* custom serializer schema (COUNT_CUSTOM) */
    uint16_t schema_len;
    uint32_t end;       /* index just past this field's subtree */
} tl_field;

struct tl_decoder {
    tl_field *fields;
    uint32_t nfields;
    uint32_t *keys;     /* field indices of the keys written in the open objects */
    uint32_t nkeys;
    const uint8_t *event_name;
    size_t event_name_len;
    uint32_t event_tag;
    /* Per-decode state. */
    const uint8_t *data;
    size_t data_len;
    size_t pos;
    unsigned pointer_size;
    int64_t budget;     /* values still allowed in this event */
    jw_buf *out;
    char err[256];
};

static int derr(tl_decoder *d, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->err, sizeof d->err, fmt, ap);
    va_end(ap);
    return -1;
}

/* A field name for messages: at most 64 bytes (the JSON writer escapes it). */
#define FNAME(f) (int)((f)->name_len > 64 ? 64 : (f)->name_len), (const char *)(f)->name

int tl_decoder_new(tl_decoder **out)
{
    tl_decoder *d = calloc(1, sizeof *d);
    if (d) {
        d->fields = malloc(TL_MAX_FIELDS * sizeof *d->fields);
        d->keys = malloc(TL_MAX_FIELDS * sizeof *d->keys);
    }
    if (!d || !d->fields || !d->keys) {
        tl_decoder_free(d);
        *out = NULL;
        return TLD_E_NO_MEMORY;
    }
    *out = d;
    return 0;
}

void tl_decoder_free(tl_decoder *d)
{
    if (!d)
        return;
    free(d->fields);
    free(d->keys);
    free(d);
}

const char *tl_decoder_error(const tl_decoder *d)
{
    return d->err;
}

/* ---- metadata ----------------------------------------------------------- */

/* Reads a 7-bits-per-byte tag (0x80 = more bytes follow, at most 4 bytes). */
static int read_tag(const uint8_t *m, size_t end, size_t *pos, uint32_t *tag)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        if (*pos >= end)
            return -1;
        uint8_t c = m[(*pos)++];
        v = (v << 7) | (c & 0x7Fu);
        if (!(c & 0x80)) {
            *tag = v;
            return 0;
        }
    }
    return -1;
}

/* Finds the NUL ending a name at m[pos..end); returns its length or -1. */
static long name_at(const uint8_t *m, size_t pos, size_t end)
{
    const uint8_t *z = pos < end ? memchr(m + pos, 0, end - pos) : NULL;
    return z ? (long)(z - (m + pos)) : -1;
}

static long subtree_end(tl_decoder *d, uint32_t i, unsigned depth)
{
    tl_field *f = &d->fields[i];
    if (f->type != IN_STRUCT) {
        f->end = i + 1;
        return i + 1;
    }
    if (depth >= TL_MAX_DEPTH)
        return derr(d, "struct '%.*s' is nested more than %u levels deep", FNAME(f), TL_MAX_DEPTH);
    uint32_t j = i + 1;
    for (unsigned k = 0; k < f->out; k++) {
        if (j >= d->nfields)
            return derr(d, "struct '%.*s' declares %u members but only %u fields follow it",
                        FNAME(f), f->out, k);
        long e = subtree_end(d, j, depth + 1);
        if (e < 0)
            return -1;
        j = (uint32_t)e;
    }
    f->end = j;
    return j;
}

/* Parses an EVENT_SCHEMA_TL blob into d->fields. Returns 0 or -1 (d->err). */
static int parse_meta(tl_decoder *d, const uint8_t *m, size_t len)
{
    d->nfields = 0;
    d->event_name = NULL;
    d->event_name_len = 0;
    d->event_tag = 0;
    if (len < 2)
        return derr(d, "event metadata is %zu bytes, too short for its size field", len);
    size_t end = load_le16(m);
    if (end > len)
        return derr(d, "event metadata says it is %zu bytes but only %zu are present", end, len);
    if (end < 3)
        return derr(d, "event metadata says it is %zu bytes, too short for a tag and a name", end);
    size_t pos = 2;
    if (read_tag(m, end, &pos, &d->event_tag) < 0)
        return derr(d, "event metadata ends inside the event tag");
    long nl = name_at(m, pos, end);
    if (nl < 0)
        return derr(d, "event name in the metadata is not NUL-terminated");
    d->event_name = m + pos;
    d->event_name_len = (size_t)nl;
    pos += (size_t)nl + 1;

    while (pos < end) {
        if (d->nfields >= TL_MAX_FIELDS)
            return derr(d, "event metadata declares more than %u fields", TL_MAX_FIELDS);
        tl_field *f = &d->fields[d->nfields];
        memset(f, 0, sizeof *f);
        nl = name_at(m, pos, end);
        if (nl < 0)
            return derr(d, "field %u: name in the metadata is not NUL-terminated", d->nfields);
        f->name = m + pos;
        f->name_len = (uint32_t)nl;
        pos += (size_t)nl + 1;
        if (pos >= end)
            return derr(d, "field '%.*s': metadata ends before its in-type", FNAME(f));
        uint8_t in = m[pos++];
        f->type = in & 0x1F;
        f->count = in & 0x60;
        if (in & 0x80) {
            if (pos >= end)
                return derr(d, "field '%.*s': metadata ends before its out-type", FNAME(f));
            uint8_t out = m[pos++];
            f->out = out & 0x7F;
            if ((out & 0x80) && read_tag(m, end, &pos, &f->tag) < 0)
                return derr(d, "field '%.*s': metadata ends inside its field tag", FNAME(f));
        }
        if (f->count == COUNT_CONST) {
            if (end - pos < 2)
                return derr(d, "field '%.*s': metadata ends before its constant element count", FNAME(f));
            f->ccount = load_le16(m + pos);
            pos += 2;
        } else if (f->count == COUNT_CUSTOM) {
            if (end - pos < 2)
                return derr(d, "field '%.*s': metadata ends before its custom schema size", FNAME(f));
            f->schema_len = load_le16(m + pos);
            pos += 2;
            if (end - pos < f->schema_len)
                return derr(d, "field '%.*s': custom schema of %u bytes runs past the metadata",
                            FNAME(f), f->schema_len);
            f->schema = m + pos;
            pos += f->schema_len;
        }
        if (f->type == IN_STRUCT && f->count == COUNT_CUSTOM)
            return derr(d, "field '%.*s': a struct cannot use a custom serializer", FNAME(f));
        if (f->type > IN_COUNTEDBINARY && f->count != COUNT_CUSTOM)
            return derr(d, "field '%.*s': unknown in-type %u", FNAME(f), f->type);
        d->nfields++;
    }
    for (uint32_t i = 0; i < d->nfields;) {
        long e = subtree_end(d, i, 0);
        if (e < 0)
            return -1;
        i = (uint32_t)e;
    }
    return 0;
}

/* ---- data --------------------------------------------------------------- */

static const uint8_t *need(tl_decoder *d, const tl_field *f, size_t n)
{
    if (d->data_len - d->pos < n) {
        derr(d, "field '%.*s': data ends at offset %zu but %zu more bytes are needed",
             FNAME(f), d->data_len, n - (d->data_len - d->pos));
        return NULL;
    }
    const uint8_t *p = d->data + d->pos;
    d->pos += n;
    return p;
}

/* Length of a NUL-terminated string of `unit`-byte characters at the data
 * position (without the NUL), or -1 when unterminated. */
static long zstring_len(tl_decoder *d, const tl_field *f, size_t unit)
{
    const uint8_t *p = d->data + d->pos;
    size_t left = d->data_len - d->pos;
    if (unit == 1) {
        const uint8_t *z = left ? memchr(p, 0, left) : NULL;
        if (z)
            return (long)(z - p);
    } else {
        for (size_t i = 0; i + 1 < left; i += 2)
            if (p[i] == 0 && p[i + 1] == 0)
                return (long)i;
    }
    return derr(d, "field '%.*s': string at data offset %zu is not NUL-terminated", FNAME(f), d->pos);
}

static int ansi_is_utf8(const tl_field *f)
{
    return f->out == TLD_OUT_UTF8 || f->out == TLD_OUT_XML || f->out == TLD_OUT_JSON;
}

static void emit_ansi(tl_decoder *d, const tl_field *f, const uint8_t *p, size_t n)
{
    if (ansi_is_utf8(f))
        jw_string_utf8(d->out, p, n);
    else
        jw_string_cp1252(d->out, p, n);
}

static void emit_binary(tl_decoder *d, const tl_field *f, const uint8_t *p, size_t n)
{
    if (f->out == TLD_OUT_IPV6 && n == 16) {
        char s[48];
        int k = snprintf(s, sizeof s, "\"%x:%x:%x:%x:%x:%x:%x:%x\"",
                         (p[0] << 8) | p[1], (p[2] << 8) | p[3], (p[4] << 8) | p[5], (p[6] << 8) | p[7],
                         (p[8] << 8) | p[9], (p[10] << 8) | p[11], (p[12] << 8) | p[13], (p[14] << 8) | p[15]);
        jw_raw(d->out, s, (size_t)k);
        return;
    }
    jw_hex_bytes(d->out, p, n);
}

/* An integer of `size` bytes: `v` holds the zero-extended bits. */
static void emit_int(tl_decoder *d, const tl_field *f, uint64_t v, unsigned size, int is_signed)
{
    jw_buf *o = d->out;
    switch (f->out) {
    case TLD_OUT_HEX:
    case TLD_OUT_NTSTATUS:
    case TLD_OUT_HRESULT:
    case TLD_OUT_CODE_POINTER:
        jw_hex_u64(o, v);
        return;
    case TLD_OUT_BOOLEAN:
        jw_bool(o, v != 0);
        return;
    case TLD_OUT_STRING:
        if (size == 1 && !is_signed) {
            uint8_t c = (uint8_t)v;
            jw_string_cp1252(o, &c, 1);
            return;
        }
        if (size == 2 && !is_signed) {
            uint8_t u[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
            jw_string_utf16le(o, u, 2);
            return;
        }
        break;
    case TLD_OUT_IPV4:
        if (size == 4 && !is_signed) {
            char s[24];
            int k = snprintf(s, sizeof s, "\"%u.%u.%u.%u\"", (unsigned)(v & 0xFF), (unsigned)((v >> 8) & 0xFF),
                             (unsigned)((v >> 16) & 0xFF), (unsigned)(v >> 24));
            jw_raw(o, s, (size_t)k);
            return;
        }
        break;
    case TLD_OUT_PORT:
        if (size == 2 && !is_signed) {
            jw_u64(o, ((v & 0xFF) << 8) | (v >> 8)); /* network byte order */
            return;
        }
        break;
    default:
        break;
    }
    if (is_signed) {
        int64_t s = size == 1 ? (int8_t)v : size == 2 ? (int16_t)v : size == 4 ? (int32_t)v : (int64_t)v;
        jw_i64(o, s);
    } else {
        jw_u64(o, v);
    }
}

static void emit_sid(tl_decoder *d, const uint8_t *p, unsigned subs)
{
    char s[32];
    uint64_t auth = 0;
    for (int i = 2; i < 8; i++)
        auth = (auth << 8) | p[i];
    int k = auth < 0x100000000ull ? snprintf(s, sizeof s, "\"S-%u-%llu", p[0], (unsigned long long)auth)
                                  : snprintf(s, sizeof s, "\"S-%u-0x%012llx", p[0], (unsigned long long)auth);
    jw_raw(d->out, s, (size_t)k);
    for (unsigned i = 0; i < subs; i++) {
        jw_char(d->out, '-');
        jw_u64(d->out, load_le32(p + 8 + 4 * i));
    }
    jw_char(d->out, '"');
}

static void emit_systemtime(tl_decoder *d, const uint8_t *p)
{
    char s[64];
    int k = snprintf(s, sizeof s, "\"%04u-%02u-%02uT%02u:%02u:%02u.%03uZ\"", load_le16(p), load_le16(p + 2),
                     load_le16(p + 6), load_le16(p + 8), load_le16(p + 10), load_le16(p + 12), load_le16(p + 14));
    jw_raw(d->out, s, (size_t)k);
}

static int walk(tl_decoder *d, uint32_t from, uint32_t to, int text);

/* Emits one value of field i (one array element for arrays). */
static int emit_scalar(tl_decoder *d, uint32_t i)
{
    const tl_field *f = &d->fields[i];
    jw_buf *o = d->out;
    const uint8_t *p;
    if (--d->budget < 0)
        return derr(d, "field '%.*s': event expands to too many values for its %zu data bytes",
                    FNAME(f), d->data_len);
    switch (f->type) {
    case IN_NULL:
        jw_null(o);
        return 0;
    case IN_UNICODESTRING: {
        long n = zstring_len(d, f, 2);
        if (n < 0)
            return -1;
        jw_string_utf16le(o, d->data + d->pos, (size_t)n);
        d->pos += (size_t)n + 2;
        return 0;
    }
    case IN_ANSISTRING: {
        long n = zstring_len(d, f, 1);
        if (n < 0)
            return -1;
        emit_ansi(d, f, d->data + d->pos, (size_t)n);
        d->pos += (size_t)n + 1;
        return 0;
    }
    case IN_INT8: case IN_UINT8:
        if (!(p = need(d, f, 1)))
            return -1;
        emit_int(d, f, p[0], 1, f->type == IN_INT8);
        return 0;
    case IN_INT16: case IN_UINT16:
        if (!(p = need(d, f, 2)))
            return -1;
        emit_int(d, f, load_le16(p), 2, f->type == IN_INT16);
        return 0;
    case IN_INT32: case IN_UINT32:
        if (!(p = need(d, f, 4)))
            return -1;
        emit_int(d, f, load_le32(p), 4, f->type == IN_INT32);
        return 0;
    case IN_INT64: case IN_UINT64:
        if (!(p = need(d, f, 8)))
            return -1;
        emit_int(d, f, load_le64(p), 8, f->type == IN_INT64);
        return 0;
    case IN_FLOAT: {
        if (!(p = need(d, f, 4)))
            return -1;
        uint32_t bits = load_le32(p);
        float v;
        memcpy(&v, &bits, 4);
        jw_float(o, v);
        return 0;
    }
    case IN_DOUBLE: {
        if (!(p = need(d, f, 8)))
            return -1;
        uint64_t bits = load_le64(p);
        double v;
        memcpy(&v, &bits, 8);
        jw_double(o, v);
        return 0;
    }
    case IN_BOOL32:
        if (!(p = need(d, f, 4)))
            return -1;
        if (f->out == TLD_OUT_HEX)
            jw_hex_u64(o, load_le32(p));
        else
            jw_bool(o, load_le32(p) != 0);
        return 0;
    case IN_BINARY: case IN_COUNTEDBINARY: {
        /* Both carry a u16 byte count in the data, just before the bytes. */
        if (!(p = need(d, f, 2)))
            return -1;
        size_t n = load_le16(p);
        if (!(p = need(d, f, n)))
            return -1;
        emit_binary(d, f, p, n);
        return 0;
    }
    case IN_GUID:
        if (!(p = need(d, f, 16)))
            return -1;
        jw_guid(o, p);
        return 0;
    case IN_POINTER:
        if (!(p = need(d, f, d->pointer_size)))
            return -1;
        jw_hex_u64(o, d->pointer_size == 4 ? load_le32(p) : load_le64(p));
        return 0;
    case IN_FILETIME:
        if (!(p = need(d, f, 8)))
            return -1;
        if (f->out == TLD_OUT_HEX)
            jw_hex_u64(o, load_le64(p));
        else
            jw_filetime(o, load_le64(p));
        return 0;
    case IN_SYSTEMTIME:
        if (!(p = need(d, f, 16)))
            return -1;
        emit_systemtime(d, p);
        return 0;
    case IN_SID: {
        if (d->data_len - d->pos < 8)
            return need(d, f, 8) ? 0 : -1; /* reports the shortage */
        unsigned subs = d->data[d->pos + 1];
        if (!(p = need(d, f, 8 + 4 * (size_t)subs)))
            return -1;
        emit_sid(d, p, subs);
        return 0;
    }
    case IN_HEXINT32:
        if (!(p = need(d, f, 4)))
            return -1;
        jw_hex_u64(o, load_le32(p));
        return 0;
    case IN_HEXINT64:
        if (!(p = need(d, f, 8)))
            return -1;
        jw_hex_u64(o, load_le64(p));
        return 0;
    case IN_COUNTEDSTRING: case IN_COUNTEDANSISTRING: {
        if (!(p = need(d, f, 2)))
            return -1;
        size_t n = load_le16(p); /* bytes, for both */
        if (!(p = need(d, f, n)))
            return -1;
        if (f->type == IN_COUNTEDSTRING)
            jw_string_utf16le(o, p, n);
        else
            emit_ansi(d, f, p, n);
        return 0;
    }
    case IN_STRUCT:
        jw_char(o, '{');
        if (walk(d, i + 1, f->end, 0) < 0)
            return -1;
        jw_char(o, '}');
        return 0;
    default:
        return derr(d, "field '%.*s': unknown in-type %u", FNAME(f), f->type);
    }
}

/* UINT8/UINT16 arrays with out-type STRING are one string (char8/char16). */
static int is_char_array(const tl_field *f)
{
    return f->out == TLD_OUT_STRING && (f->type == IN_UINT8 || f->type == IN_UINT16);
}

/* Emits the whole value of field i: scalar, array, or custom-serialized. */
static int emit_value(tl_decoder *d, uint32_t i)
{
    const tl_field *f = &d->fields[i];
    const uint8_t *p;
    if (f->count == COUNT_NONE)
        return emit_scalar(d, i);
    if (f->count == COUNT_CUSTOM) {
        if (!(p = need(d, f, 2)))
            return -1;
        size_t n = load_le16(p);
        if (!(p = need(d, f, n)))
            return -1;
        jw_hex_bytes(d->out, p, n);
        return 0;
    }
    size_t n;
    if (f->count == COUNT_VAR) {
        if (!(p = need(d, f, 2)))
            return -1;
        n = load_le16(p);
    } else {
        n = f->ccount;
    }
    if (is_char_array(f)) {
        size_t unit = f->type == IN_UINT16 ? 2 : 1;
        if (!(p = need(d, f, n * unit)))
            return -1;
        if (unit == 2)
            jw_string_utf16le(d->out, p, n * 2);
        else
            jw_string_cp1252(d->out, p, n);
        return 0;
    }
    jw_char(d->out, '[');
    for (size_t k = 0; k < n; k++) {
        if (k)
            jw_char(d->out, ',');
        if (emit_scalar(d, i) < 0)
            return -1;
    }
    jw_char(d->out, ']');
    return 0;
}

/* Writes the key of field i; a name already used in this object gets "#k". */
static void emit_key(tl_decoder *d, uint32_t i, uint32_t level, int text)
{
    const tl_field *f = &d->fields[i];
    unsigned dup = 1;
    for (uint32_t k = level; k < d->nkeys; k++) {
        const tl_field *g = &d->fields[d->keys[k]];
        if (g->name_len == f->name_len && memcmp(g->name, f->name, f->name_len) == 0)
            dup++;
    }
    d->keys[d->nkeys++] = i;
    jw_buf *o = d->out;
    jw_char(o, text ? ' ' : '"');
    jw_escape_utf8(o, f->name, f->name_len);
    if (dup > 1) {
        jw_char(o, '#');
        jw_u64(o, dup);
    }
    if (text)
        jw_char(o, '=');
    else
        jw_raw(o, "\":", 2);
}

/* Emits the fields [from, to) as object members (or text "name=value"). */
static int walk(tl_decoder *d, uint32_t from, uint32_t to, int text)
{
    uint32_t level = d->nkeys;
    for (uint32_t i = from; i < to; i = d->fields[i].end) {
        size_t mark = d->out->len;
        if (i != from && !text)
            jw_char(d->out, ',');
        emit_key(d, i, level, text);
        if (emit_value(d, i) < 0) {
            if (!d->out->failed)
                d->out->len = mark; /* drop the half-written field */
            d->nkeys = level;
            return -1;
        }
    }
    d->nkeys = level;
    return 0;
}

/* Decodes all fields of the parsed metadata over data[0..len). */
static int decode_data(tl_decoder *d, const uint8_t *data, size_t len, unsigned pointer_size, jw_buf *out, int text)
{
    d->data = data;
    d->data_len = len;
    d->pos = 0;
    d->pointer_size = pointer_size == 4 ? 4 : 8;
    d->budget = 4096 + 4 * (int64_t)len;
    d->out = out;
    d->nkeys = 0;
    return walk(d, 0, d->nfields, text);
}

int tl_decode_fields_json(tl_decoder *d, const uint8_t *meta, size_t meta_len,
                          const uint8_t *data, size_t data_len, unsigned pointer_size, jw_buf *out)
{
    d->err[0] = '\0';
    int bad = parse_meta(d, meta, meta_len) < 0;
    jw_char(out, '{');
    if (!bad)
        bad = decode_data(d, data, data_len, pointer_size, out, 0) < 0;
    jw_char(out, '}');
    if (jw_failed(out))
        return TLD_E_NO_MEMORY;
    return bad ? TL_DECODED_WITH_ERROR : 0;
}

/* ---- names -------------------------------------------------------------- */

/* Provider traits: u16 size, name, NUL, trait records. */
static int traits_name(const uint8_t *t, size_t len, const uint8_t **name, size_t *name_len)
{
    if (len < 3)
        return -1;
    size_t end = load_le16(t);
    if (end > len || end < 3)
        return -1;
    long n = name_at(t, 2, end);
    if (n < 0)
        return -1;
    *name = t + 2;
    *name_len = (size_t)n;
    return 0;
}

int tl_event_get_names(const etl_event *ev, tl_event_names *names)
{
    memset(names, 0, sizeof *names);
    if (!ev->event_schema && !ev->prov_traits)
        return TLD_E_INVALID_ARG;
    int rc = 0;
    if (ev->prov_traits && traits_name(ev->prov_traits, ev->prov_traits_len, &names->provider, &names->provider_len) < 0)
        rc = ETL_E_DAMAGED;
    if (ev->event_schema) {
        const uint8_t *m = ev->event_schema;
        size_t len = ev->event_schema_len, pos = 2;
        size_t end = len >= 2 ? load_le16(m) : 0;
        long n = -1;
        if (len >= 2 && end <= len && end >= 3 && read_tag(m, end, &pos, &names->event_tag) == 0)
            n = name_at(m, pos, end);
        if (n < 0) {
            rc = ETL_E_DAMAGED;
        } else {
            names->event = m + pos;
            names->event_len = (size_t)n;
        }
    }
    if (rc == 0 && (!names->provider || !names->event))
        rc = ETL_E_DAMAGED;
    return rc;
}

/* ---- event lines -------------------------------------------------------- */

static int guid_is_zero(const tld_guid *g)
{
    for (int i = 0; i < 16; i++)
        if (g->bytes_le[i])
            return 0;
    return 1;
}

static void key(jw_buf *o, const char *k)
{
    jw_char(o, ',');
    jw_char(o, '"');
    jw_cstr(o, k);
    jw_raw(o, "\":", 2);
}

static void emit_stack(jw_buf *o, const etl_event *ev)
{
    jw_char(o, '[');
    for (uint32_t i = 0; i < ev->stack_count; i++) {
        if (i)
            jw_char(o, ',');
        const uint8_t *a = ev->stack + (size_t)i * ev->stack_addr_size;
        jw_u64(o, ev->stack_addr_size == 8 ? load_le64(a) : load_le32(a));
    }
    jw_char(o, ']');
}

/* Keeps the first error of an event (later ones are usually consequences). */
static void note_error(tl_decoder *d, char *first, size_t cap)
{
    if (!first[0])
        snprintf(first, cap, "%s", d->err);
}

int tl_decoder_format_event(tl_decoder *d, const etl_event *ev, int format, jw_buf *out)
{
    char error[256] = "";
    d->err[0] = '\0';
    const uint8_t *prov = NULL;
    size_t prov_len = 0;
    int is_tl = ev->event_schema != NULL;
    int meta_ok = 0;
    if (ev->prov_traits && traits_name(ev->prov_traits, ev->prov_traits_len, &prov, &prov_len) < 0) {
        derr(d, "provider traits item is malformed (%zu bytes)", ev->prov_traits_len);
        note_error(d, error, sizeof error);
    }
    if (is_tl) {
        meta_ok = parse_meta(d, ev->event_schema, ev->event_schema_len) == 0;
        if (!meta_ok)
            note_error(d, error, sizeof error);
    }
    int text = format == TL_FORMAT_TEXT;
    size_t unparsed_at = ev->user_data_len;

    if (!text) {
        jw_raw(out, "{\"time\":", 8);
        jw_filetime(out, ev->filetime);
        key(out, "provider");
        if (prov)
            jw_string_utf8(out, prov, prov_len);
        else
            jw_null(out);
        key(out, "provider_id");
        jw_guid(out, ev->provider_id.bytes_le);
        key(out, "event");
        if (is_tl && d->event_name)
            jw_string_utf8(out, d->event_name, d->event_name_len);
        else
            jw_null(out);
        key(out, "level");
        jw_u64(out, ev->descriptor.level);
        key(out, "keyword");
        jw_hex_u64(out, ev->descriptor.keyword);
        key(out, "opcode");
        jw_u64(out, ev->descriptor.opcode);
        key(out, "id");
        jw_u64(out, ev->descriptor.id);
        key(out, "version");
        jw_u64(out, ev->descriptor.version);
        key(out, "task");
        jw_u64(out, ev->descriptor.task);
        key(out, "channel");
        jw_u64(out, ev->descriptor.channel);
        key(out, "pid");
        jw_u64(out, ev->process_id);
        key(out, "tid");
        jw_u64(out, ev->thread_id);
        key(out, "activity_id");
        if (guid_is_zero(&ev->activity_id))
            jw_null(out);
        else
            jw_guid(out, ev->activity_id.bytes_le);
        key(out, "related_activity_id");
        if (ev->has_related_activity_id)
            jw_guid(out, ev->related_activity_id.bytes_le);
        else
            jw_null(out);
        if (is_tl) {
            key(out, "fields");
            jw_char(out, '{');
            if (meta_ok) {
                if (decode_data(d, ev->user_data, ev->user_data_len, ev->pointer_size, out, 0) < 0)
                    note_error(d, error, sizeof error);
                else
                    unparsed_at = d->pos;
            }
            jw_char(out, '}');
        }
        if (!is_tl || !meta_ok) {
            key(out, "payload");
            jw_hex_bytes(out, ev->user_data, ev->user_data_len);
            unparsed_at = ev->user_data_len;
            if (ev->flags & ETL_EVENT_FLAG_STRING_ONLY) {
                key(out, "message");
                size_t n = ev->user_data_len & ~(size_t)1;
                for (size_t i = 0; i + 1 < ev->user_data_len; i += 2)
                    if (!ev->user_data[i] && !ev->user_data[i + 1]) {
                        n = i;
                        break;
                    }
                jw_string_utf16le(out, ev->user_data, n);
            }
        }
        if (ev->has_stack) {
            key(out, "stack");
            emit_stack(out, ev);
        }
        if (is_tl && meta_ok && !error[0] && unparsed_at < ev->user_data_len) {
            key(out, "unparsed");
            jw_hex_bytes(out, ev->user_data + unparsed_at, ev->user_data_len - unparsed_at);
        }
        if (error[0]) {
            key(out, "error");
            jw_string_utf8(out, (const uint8_t *)error, strlen(error));
        }
        jw_raw(out, "}\n", 2);
    } else {
        jw_filetime_text(out, ev->filetime);
        jw_char(out, ' ');
        if (is_tl) {
            if (prov)
                jw_escape_utf8(out, prov, prov_len);
            else
                jw_char(out, '?');
            jw_char(out, '/');
            if (d->event_name)
                jw_escape_utf8(out, d->event_name, d->event_name_len);
            else
                jw_char(out, '?');
        } else {
            jw_char(out, '{');
            jw_guid_text(out, ev->provider_id.bytes_le);
            jw_raw(out, "}/", 2);
            jw_u64(out, ev->descriptor.id);
        }
        jw_char(out, ' ');
        jw_u64(out, ev->descriptor.level);
        jw_char(out, ' ');
        jw_u64(out, ev->process_id);
        jw_char(out, ' ');
        jw_u64(out, ev->thread_id);
        if (is_tl && meta_ok) {
            if (decode_data(d, ev->user_data, ev->user_data_len, ev->pointer_size, out, 1) < 0)
                note_error(d, error, sizeof error);
        } else {
            jw_raw(out, " payload=", 9);
            jw_hex_bytes(out, ev->user_data, ev->user_data_len);
        }
        if (ev->has_stack) {
            jw_raw(out, " stack=", 7);
            emit_stack(out, ev);
        }
        if (error[0]) {
            jw_raw(out, " error=", 7);
            jw_string_utf8(out, (const uint8_t *)error, strlen(error));
        }
        jw_char(out, '\n');
    }
    snprintf(d->err, sizeof d->err, "%s", error);
    if (jw_failed(out))
        return TLD_E_NO_MEMORY;
    return error[0] ? TL_DECODED_WITH_ERROR : 0;
}
