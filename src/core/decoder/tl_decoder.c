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
#include "etl_kernel.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TL_MAX_FIELDS 4096u /* ETW itself allows 128 field slots; hostile metadata may claim more */
#define TL_MAX_DEPTH 32u    /* struct nesting */

typedef struct tl_field {
    const uint8_t *name;
    uint32_t name_len;
    uint8_t type;       /* in-type & TLD_IN_TYPE_MASK */
    uint8_t count;      /* in-type & TLD_IN_COUNT_MASK: 0 for one value */
    uint8_t out;        /* out-type & 0x7F (struct: member count), 0 when absent */
    uint16_t ccount;    /* constant element count (TLD_IN_CCOUNT) */
    uint32_t tag;
    const uint8_t *schema; /* custom serializer schema (TLD_IN_CUSTOM) */
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
    /* Names for stack addresses, learnt from the events formatted so far. */
    tl_address_names *names;
    jw_buf scratch;     /* throwaway output while reading a PythonFunction's fields */
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
        jw_init(&d->scratch);
        if (tl_names_new(&d->names) < 0)
            d->names = NULL;
    }
    if (!d || !d->fields || !d->keys || !d->names) {
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
    tl_names_free(d->names);
    jw_free(&d->scratch);
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
    if (f->type != TLD_IN_STRUCT) {
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
        f->type = in & TLD_IN_TYPE_MASK;
        f->count = in & TLD_IN_COUNT_MASK;
        if (in & 0x80) {
            if (pos >= end)
                return derr(d, "field '%.*s': metadata ends before its out-type", FNAME(f));
            uint8_t out = m[pos++];
            f->out = out & 0x7F;
            if ((out & 0x80) && read_tag(m, end, &pos, &f->tag) < 0)
                return derr(d, "field '%.*s': metadata ends inside its field tag", FNAME(f));
        }
        if (f->count == TLD_IN_CCOUNT) {
            if (end - pos < 2)
                return derr(d, "field '%.*s': metadata ends before its constant element count", FNAME(f));
            f->ccount = load_le16(m + pos);
            pos += 2;
        } else if (f->count == TLD_IN_CUSTOM) {
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
        if (f->type == TLD_IN_STRUCT && f->count == TLD_IN_CUSTOM)
            return derr(d, "field '%.*s': a struct cannot use a custom serializer", FNAME(f));
        if (f->type > TLD_IN_COUNTEDBINARY && f->count != TLD_IN_CUSTOM)
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

/* A SID (8 + 4 * subs bytes at p) as a quoted "S-1-5-..." string. */
static void emit_sid_to(jw_buf *o, const uint8_t *p, unsigned subs)
{
    char s[32];
    uint64_t auth = 0;
    for (int i = 2; i < 8; i++)
        auth = (auth << 8) | p[i];
    int k = auth < 0x100000000ull ? snprintf(s, sizeof s, "\"S-%u-%llu", p[0], (unsigned long long)auth)
                                  : snprintf(s, sizeof s, "\"S-%u-0x%012llx", p[0], (unsigned long long)auth);
    jw_raw(o, s, (size_t)k);
    for (unsigned i = 0; i < subs; i++) {
        jw_char(o, '-');
        jw_u64(o, load_le32(p + 8 + 4 * i));
    }
    jw_char(o, '"');
}

static void emit_sid(tl_decoder *d, const uint8_t *p, unsigned subs)
{
    emit_sid_to(d->out, p, subs);
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
    case TLD_IN_NULL:
        jw_null(o);
        return 0;
    case TLD_IN_UNICODESTRING: {
        long n = zstring_len(d, f, 2);
        if (n < 0)
            return -1;
        jw_string_utf16le(o, d->data + d->pos, (size_t)n);
        d->pos += (size_t)n + 2;
        return 0;
    }
    case TLD_IN_ANSISTRING: {
        long n = zstring_len(d, f, 1);
        if (n < 0)
            return -1;
        emit_ansi(d, f, d->data + d->pos, (size_t)n);
        d->pos += (size_t)n + 1;
        return 0;
    }
    case TLD_IN_INT8: case TLD_IN_UINT8:
        if (!(p = need(d, f, 1)))
            return -1;
        emit_int(d, f, p[0], 1, f->type == TLD_IN_INT8);
        return 0;
    case TLD_IN_INT16: case TLD_IN_UINT16:
        if (!(p = need(d, f, 2)))
            return -1;
        emit_int(d, f, load_le16(p), 2, f->type == TLD_IN_INT16);
        return 0;
    case TLD_IN_INT32: case TLD_IN_UINT32:
        if (!(p = need(d, f, 4)))
            return -1;
        emit_int(d, f, load_le32(p), 4, f->type == TLD_IN_INT32);
        return 0;
    case TLD_IN_INT64: case TLD_IN_UINT64:
        if (!(p = need(d, f, 8)))
            return -1;
        emit_int(d, f, load_le64(p), 8, f->type == TLD_IN_INT64);
        return 0;
    case TLD_IN_FLOAT: {
        if (!(p = need(d, f, 4)))
            return -1;
        uint32_t bits = load_le32(p);
        float v;
        memcpy(&v, &bits, 4);
        jw_float(o, v);
        return 0;
    }
    case TLD_IN_DOUBLE: {
        if (!(p = need(d, f, 8)))
            return -1;
        uint64_t bits = load_le64(p);
        double v;
        memcpy(&v, &bits, 8);
        jw_double(o, v);
        return 0;
    }
    case TLD_IN_BOOL32:
        if (!(p = need(d, f, 4)))
            return -1;
        if (f->out == TLD_OUT_HEX)
            jw_hex_u64(o, load_le32(p));
        else
            jw_bool(o, load_le32(p) != 0);
        return 0;
    case TLD_IN_BINARY: case TLD_IN_COUNTEDBINARY: {
        /* Both carry a u16 byte count in the data, just before the bytes. */
        if (!(p = need(d, f, 2)))
            return -1;
        size_t n = load_le16(p);
        if (!(p = need(d, f, n)))
            return -1;
        emit_binary(d, f, p, n);
        return 0;
    }
    case TLD_IN_GUID:
        if (!(p = need(d, f, 16)))
            return -1;
        jw_guid(o, p);
        return 0;
    case TLD_IN_SIZED_POINTER:
        if (!(p = need(d, f, d->pointer_size)))
            return -1;
        jw_hex_u64(o, d->pointer_size == 4 ? load_le32(p) : load_le64(p));
        return 0;
    case TLD_IN_FILETIME:
        if (!(p = need(d, f, 8)))
            return -1;
        if (f->out == TLD_OUT_HEX)
            jw_hex_u64(o, load_le64(p));
        else
            jw_filetime(o, load_le64(p));
        return 0;
    case TLD_IN_SYSTEMTIME:
        if (!(p = need(d, f, 16)))
            return -1;
        emit_systemtime(d, p);
        return 0;
    case TLD_IN_SID: {
        if (d->data_len - d->pos < 8)
            return need(d, f, 8) ? 0 : -1; /* reports the shortage */
        unsigned subs = d->data[d->pos + 1];
        if (!(p = need(d, f, 8 + 4 * (size_t)subs)))
            return -1;
        emit_sid(d, p, subs);
        return 0;
    }
    case TLD_IN_HEXINT32:
        if (!(p = need(d, f, 4)))
            return -1;
        jw_hex_u64(o, load_le32(p));
        return 0;
    case TLD_IN_HEXINT64:
        if (!(p = need(d, f, 8)))
            return -1;
        jw_hex_u64(o, load_le64(p));
        return 0;
    case TLD_IN_COUNTEDSTRING: case TLD_IN_COUNTEDANSISTRING: {
        if (!(p = need(d, f, 2)))
            return -1;
        size_t n = load_le16(p); /* bytes, for both */
        if (!(p = need(d, f, n)))
            return -1;
        if (f->type == TLD_IN_COUNTEDSTRING)
            jw_string_utf16le(o, p, n);
        else
            emit_ansi(d, f, p, n);
        return 0;
    }
    case TLD_IN_STRUCT:
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
    return f->out == TLD_OUT_STRING && (f->type == TLD_IN_UINT8 || f->type == TLD_IN_UINT16);
}

/* Emits the whole value of field i: scalar, array, or custom-serialized. */
static int emit_value(tl_decoder *d, uint32_t i)
{
    const tl_field *f = &d->fields[i];
    const uint8_t *p;
    if (f->count == 0)
        return emit_scalar(d, i);
    if (f->count == TLD_IN_CUSTOM) {
        if (!(p = need(d, f, 2)))
            return -1;
        size_t n = load_le16(p);
        if (!(p = need(d, f, n)))
            return -1;
        jw_hex_bytes(d->out, p, n);
        return 0;
    }
    size_t n;
    if (f->count == TLD_IN_VCOUNT) {
        if (!(p = need(d, f, 2)))
            return -1;
        n = load_le16(p);
    } else {
        n = f->ccount;
    }
    if (is_char_array(f)) {
        size_t unit = f->type == TLD_IN_UINT16 ? 2 : 1;
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
            if (!d->out->error)
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
    if (jw_error(out))
        return TLD_E_NO_MEMORY;
    return bad ? TLD_E_DECODE_PARTIAL : 0;
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
        rc = TLD_E_DECODE_NAMES;
    if (ev->event_schema) {
        const uint8_t *m = ev->event_schema;
        size_t len = ev->event_schema_len, pos = 2;
        size_t end = len >= 2 ? load_le16(m) : 0;
        long n = -1;
        if (len >= 2 && end <= len && end >= 3 && read_tag(m, end, &pos, &names->event_tag) == 0)
            n = name_at(m, pos, end);
        if (n < 0) {
            rc = TLD_E_DECODE_NAMES;
        } else {
            names->event = m + pos;
            names->event_len = (size_t)n;
        }
    }
    if (rc == 0 && (!names->provider || !names->event))
        rc = TLD_E_DECODE_NAMES;
    return rc;
}

/* ---- event lines -------------------------------------------------------- */

/* Provider "Python" of etwtrace (a fixed id, not derived from the name),
 * whose PythonFunction events name the thunk address ranges. */
static const uint8_t python_provider_id[16] = {0x40, 0x06, 0xa1, 0x99, 0x0d, 0x32, 0x37, 0x4b,
                                               0x9e, 0x26, 0xc3, 0x11, 0xd8, 0x6d, 0xa7, 0xab};

#define KERNEL_PROVIDER "MSNT_SystemTrace"

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

/* A process or thread id, null (JSON) or "-" (text) when the record has none. */
static void emit_id(jw_buf *o, uint32_t id, int text)
{
    if (id == ETL_ID_NONE) {
        if (text)
            jw_char(o, '-');
        else
            jw_null(o);
    } else {
        jw_u64(o, id);
    }
}

/* Unquoted 0x-prefixed hex. */
static void emit_hex_text(jw_buf *o, uint64_t v)
{
    char s[24];
    int n = snprintf(s, sizeof s, "0x%llx", (unsigned long long)v);
    jw_raw(o, s, (size_t)n);
}

/* JSON: addresses as exact decimal numbers. Text: quoted hex strings, each
 * followed by what the trace so far says the address is inside of (a
 * Python function: "name (file:line)"; an image: "module+0xoffset"). */
static void emit_addresses(tl_decoder *d, jw_buf *o, const uint8_t *a, uint32_t count, uint32_t size, uint32_t pid,
                           int text)
{
    jw_char(o, '[');
    for (uint32_t i = 0; i < count; i++, a += size) {
        uint64_t v = size == 8 ? load_le64(a) : load_le32(a);
        if (i)
            jw_char(o, ',');
        if (!text) {
            jw_u64(o, v);
            continue;
        }
        jw_char(o, '"');
        emit_hex_text(o, v);
        tl_address_name nm;
        if (pid != ETL_ID_NONE && tl_names_lookup(d->names, pid, v, size, &nm) == 0) {
            jw_char(o, ' ');
            jw_escape_utf16le(o, nm.name, nm.name_bytes);
            if (nm.is_function) {
                jw_raw(o, " (", 2);
                jw_escape_utf16le(o, nm.file, nm.file_bytes);
                jw_char(o, ':');
                jw_i64(o, nm.line);
                jw_char(o, ')');
            } else {
                jw_char(o, '+');
                emit_hex_text(o, v - nm.begin);
            }
        }
        jw_char(o, '"');
    }
    jw_char(o, ']');
}

/* Keeps the first error of an event (later ones are usually consequences). */
static void note_error(tl_decoder *d, char *first, size_t cap)
{
    if (!first[0])
        snprintf(first, cap, "%s", d->err);
}

/* Opcode names of the Windows base schema (winmeta): 1 start, 2 stop, ... */
static const char *opcode_name(uint8_t op)
{
    static const char *const names[] = {NULL, "start", "stop", "dc_start", "dc_stop", "extension",
                                        "reply", "resume", "suspend", "send"};
    if (op < sizeof names / sizeof names[0])
        return names[op];
    return op == 240 ? "receive" : NULL;
}

static void emit_text_opcode(jw_buf *o, uint8_t op)
{
    if (op == 0)
        return;
    jw_raw(o, " opcode=", 8);
    const char *n = opcode_name(op);
    if (n)
        jw_cstr(o, n);
    else
        jw_u64(o, op);
}

/* ---- learning names: PythonFunction --------------------------------------------- */

static int name_is(const tl_field *f, const char *s)
{
    size_t n = strlen(s);
    return f->name_len == n && memcmp(f->name, s, n) == 0;
}

/* Reads the thunk range and names of a PythonFunction event (its metadata
 * parsed into d->fields) and adds them to the address names. Fields are
 * found by name; values are located by decoding each field into scratch
 * space, so every in-type the decoder knows is stepped over correctly. */
static void learn_python_function(tl_decoder *d, const etl_event *ev)
{
    jw_buf *saved = d->out;
    d->out = &d->scratch;
    d->data = ev->user_data;
    d->data_len = ev->user_data_len;
    d->pos = 0;
    d->pointer_size = ev->pointer_size == 4 ? 4 : 8;
    d->budget = 4096 + 4 * (int64_t)ev->user_data_len;
    d->nkeys = 0;
    uint64_t begin = 0, end = 0;
    int have_begin = 0, have_end = 0;
    int32_t line = 0;
    const uint8_t *name = NULL, *file = NULL;
    size_t name_len = 0, file_len = 0;
    for (uint32_t i = 0; i < d->nfields; i = d->fields[i].end) {
        const tl_field *f = &d->fields[i];
        size_t at = d->pos;
        jw_clear(&d->scratch);
        if (emit_value(d, i) < 0)
            break;
        const uint8_t *v = d->data + at;
        size_t n = d->pos - at;
        if (f->count != 0)
            continue;
        int is_int = f->type == TLD_IN_SIZED_POINTER || f->type == TLD_IN_HEXINT64 || f->type == TLD_IN_UINT64 ||
                     f->type == TLD_IN_INT64 || f->type == TLD_IN_HEXINT32 || f->type == TLD_IN_UINT32 || f->type == TLD_IN_INT32;
        uint64_t iv = n == 8 ? load_le64(v) : n == 4 ? load_le32(v) : 0;
        if (is_int && name_is(f, "BeginAddress")) {
            begin = iv;
            have_begin = 1;
        } else if (is_int && name_is(f, "EndAddress")) {
            end = iv;
            have_end = 1;
        } else if (is_int && n == 4 && name_is(f, "LineNumber")) {
            line = (int32_t)iv;
        } else if (f->type == TLD_IN_UNICODESTRING || f->type == TLD_IN_COUNTEDSTRING) {
            const uint8_t *sv = f->type == TLD_IN_UNICODESTRING ? v : v + 2;
            size_t sn = n >= 2 ? n - 2 : 0; /* without the NUL, or the count */
            if (name_is(f, "Name")) {
                name = sv;
                name_len = sn;
            } else if (name_is(f, "SourceFile")) {
                file = sv;
                file_len = sn;
            }
        }
    }
    d->out = saved;
    d->nkeys = 0;
    if (have_begin && have_end && end > begin && name)
        tl_names_add_function(d->names, ev->process_id, begin, end, name, name_len, file, file_len, line);
}

/* ---- kernel records ------------------------------------------------------------ */

/* Field emitter for kernel payloads: JSON members or text name=value. */
typedef struct kf {
    jw_buf *o;
    int text;
    int n;
} kf;

static void kf_key(kf *k, const char *name)
{
    if (k->text) {
        jw_char(k->o, ' ');
        jw_cstr(k->o, name);
        jw_char(k->o, '=');
    } else {
        if (k->n++)
            jw_char(k->o, ',');
        jw_char(k->o, '"');
        jw_cstr(k->o, name);
        jw_raw(k->o, "\":", 2);
    }
}

static void kf_u64(kf *k, const char *name, uint64_t v)
{
    kf_key(k, name);
    jw_u64(k->o, v);
}

static void kf_i64(kf *k, const char *name, int64_t v)
{
    kf_key(k, name);
    jw_i64(k->o, v);
}

static void kf_hex(kf *k, const char *name, uint64_t v)
{
    kf_key(k, name);
    jw_hex_u64(k->o, v);
}

static void kf_utf16(kf *k, const char *name, const uint8_t *s, size_t n)
{
    kf_key(k, name);
    jw_string_utf16le(k->o, s, n);
}

/* Decodes the payload of the kernel classes reports need into fields;
 * learns image ranges. Returns 1 when fields were written, 0 for a class
 * not decoded (the caller shows the payload), -1 when the payload is too
 * short for the class (d->err says so). `*pid`/`*tid` are updated from
 * the payload where the header has none. */
static int kernel_fields(tl_decoder *d, const etl_event *ev, kf *k, uint32_t *pid, uint32_t *tid,
                         etl_stack_walk *stack)
{
    char name[64];
    int rc;
    switch (ev->hook_id) {
    case ETL_HOOK_SAMPLED_PROFILE: {
        etl_sampled_profile sp;
        if ((rc = etl_kernel_sampled_profile(ev, &sp)) < 0)
            break;
        if (*tid == ETL_ID_NONE)
            *tid = sp.thread_id;
        kf_hex(k, "InstructionPointer", sp.instruction_pointer);
        kf_u64(k, "ThreadId", sp.thread_id);
        kf_u64(k, "Count", sp.count);
        return 1;
    }
    case ETL_HOOK_STACK_WALK: {
        if ((rc = etl_kernel_stack_walk(ev, stack)) < 0)
            break;
        *pid = stack->process_id;
        *tid = stack->thread_id;
        kf_u64(k, "EventTimeStamp", stack->event_timestamp);
        kf_u64(k, "StackProcess", stack->process_id);
        kf_u64(k, "StackThread", stack->thread_id);
        return 1;
    }
    case ETL_HOOK_IMAGE_LOAD: case ETL_HOOK_IMAGE_UNLOAD: case ETL_HOOK_IMAGE_DC_START: case ETL_HOOK_IMAGE_DC_END: {
        etl_image im;
        if ((rc = etl_kernel_image(ev, &im)) < 0)
            break;
        if (ev->hook_id == ETL_HOOK_IMAGE_UNLOAD)
            tl_names_remove_image(d->names, im.process_id, im.base, ev->pointer_size);
        else if (ev->hook_id != ETL_HOOK_IMAGE_DC_END)
            tl_names_add_image(d->names, im.process_id, im.base, im.size, im.file_name, im.file_name_bytes,
                               ev->pointer_size);
        kf_hex(k, "ImageBase", im.base);
        kf_hex(k, "ImageSize", im.size);
        kf_u64(k, "ProcessId", im.process_id);
        if (ev->descriptor.version >= 2) {
            kf_u64(k, "ImageChecksum", im.checksum);
            kf_u64(k, "TimeDateStamp", im.time_date_stamp);
            kf_hex(k, "DefaultBase", im.default_base);
        }
        kf_utf16(k, "FileName", im.file_name, im.file_name_bytes);
        return 1;
    }
    case ETL_HOOK_PROCESS_START: case ETL_HOOK_PROCESS_END: case ETL_HOOK_PROCESS_DC_START:
    case ETL_HOOK_PROCESS_DC_END: case ETL_HOOK_PROCESS_DEFUNCT: {
        etl_process pr;
        if ((rc = etl_kernel_process(ev, &pr)) < 0)
            break;
        if (ev->descriptor.version >= 2)
            kf_hex(k, "UniqueProcessKey", pr.unique_process_key);
        kf_u64(k, "ProcessId", pr.process_id);
        kf_u64(k, "ParentId", pr.parent_id);
        kf_u64(k, "SessionId", pr.session_id);
        kf_i64(k, "ExitStatus", pr.exit_status);
        if (ev->descriptor.version == 1 || ev->descriptor.version >= 3)
            kf_hex(k, "DirectoryTableBase", pr.directory_table_base);
        if (pr.has_flags)
            kf_u64(k, "Flags", pr.flags);
        if (pr.user_sid) {
            kf_key(k, "UserSID");
            emit_sid_to(k->o, pr.user_sid, pr.user_sid[1]);
        }
        kf_key(k, "ImageFileName");
        jw_string_cp1252(k->o, pr.image_file_name, pr.image_file_name_len);
        if (pr.command_line)
            kf_utf16(k, "CommandLine", pr.command_line, pr.command_line_bytes);
        if (pr.package_full_name)
            kf_utf16(k, "PackageFullName", pr.package_full_name, pr.package_full_name_bytes);
        if (pr.application_id)
            kf_utf16(k, "ApplicationId", pr.application_id, pr.application_id_bytes);
        return 1;
    }
    case ETL_HOOK_THREAD_START: case ETL_HOOK_THREAD_END: case ETL_HOOK_THREAD_DC_START: case ETL_HOOK_THREAD_DC_END: {
        etl_thread th;
        if ((rc = etl_kernel_thread(ev, &th)) < 0)
            break;
        kf_u64(k, "ProcessId", th.process_id);
        kf_u64(k, "ThreadId", th.thread_id);
        if (th.has_addresses) {
            kf_hex(k, "StackBase", th.stack_base);
            kf_hex(k, "StackLimit", th.stack_limit);
            kf_hex(k, "UserStackBase", th.user_stack_base);
            kf_hex(k, "UserStackLimit", th.user_stack_limit);
            kf_hex(k, ev->descriptor.version >= 3 ? "Affinity" : "StartAddr", th.start_address);
            kf_hex(k, "Win32StartAddr", th.win32_start_address);
            if (ev->descriptor.version >= 2) {
                kf_hex(k, "TebBase", th.teb_base);
                kf_u64(k, "SubProcessTag", th.sub_process_tag);
            }
        }
        if (th.has_priorities) {
            kf_u64(k, "BasePriority", th.base_priority);
            kf_u64(k, "PagePriority", th.page_priority);
            kf_u64(k, "IoPriority", th.io_priority);
            kf_u64(k, "ThreadFlags", th.thread_flags);
        }
        if (th.thread_name && th.thread_name_bytes)
            kf_utf16(k, "ThreadName", th.thread_name, th.thread_name_bytes);
        return 1;
    }
    default:
        return 0;
    }
    etl_kernel_event_name(ev->hook_id, name, sizeof name);
    derr(d, "%s (version %u): its %zu-byte payload is too short for the fields of that version", name,
         ev->descriptor.version, ev->user_data_len);
    return -1;
}

/* A kernel record: named by class and opcode, its payload decoded for the
 * classes in kernel_fields(), else shown as hex. */
static int format_system(tl_decoder *d, const etl_event *ev, int text, jw_buf *out)
{
    char name[64];
    char error[256] = "";
    etl_kernel_event_name(ev->hook_id, name, sizeof name);
    uint32_t pid = ev->process_id, tid = ev->thread_id;
    etl_stack_walk stack;
    memset(&stack, 0, sizeof stack);
    /* Fields first, into scratch space: they may say the pid and tid. */
    jw_clear(&d->scratch);
    kf k = {&d->scratch, text, 0};
    int decoded = kernel_fields(d, ev, &k, &pid, &tid, &stack);
    if (decoded < 0) {
        note_error(d, error, sizeof error);
        jw_clear(&d->scratch);
    }
    if (!text) {
        jw_raw(out, "{\"time\":", 8);
        jw_filetime(out, ev->filetime);
        key(out, "provider");
        jw_cstr(out, "\"" KERNEL_PROVIDER "\"");
        key(out, "provider_id");
        if (guid_is_zero(&ev->provider_id))
            jw_null(out);
        else
            jw_guid(out, ev->provider_id.bytes_le);
        key(out, "event");
        jw_string_utf8(out, (const uint8_t *)name, strlen(name));
        key(out, "level");
        jw_u64(out, 0);
        key(out, "keyword");
        jw_hex_u64(out, 0);
        key(out, "opcode");
        jw_u64(out, ev->descriptor.opcode);
        key(out, "id");
        jw_u64(out, 0);
        key(out, "version");
        jw_u64(out, ev->descriptor.version);
        key(out, "task");
        jw_u64(out, 0);
        key(out, "channel");
        jw_u64(out, 0);
        key(out, "pid");
        emit_id(out, pid, 0);
        key(out, "tid");
        emit_id(out, tid, 0);
        key(out, "activity_id");
        jw_null(out);
        key(out, "related_activity_id");
        jw_null(out);
        key(out, "hook");
        {
            char h[16];
            int n = snprintf(h, sizeof h, "\"0x%04x\"", ev->hook_id);
            jw_raw(out, h, (size_t)n);
        }
        key(out, "clock");
        jw_u64(out, ev->timestamp);
        if (decoded > 0) {
            key(out, "fields");
            jw_char(out, '{');
            jw_raw(out, d->scratch.data, d->scratch.len);
            jw_char(out, '}');
        } else {
            key(out, "payload");
            jw_hex_bytes(out, ev->user_data, ev->user_data_len);
        }
        if (stack.addresses) {
            key(out, "stack");
            emit_addresses(d, out, stack.addresses, stack.count, stack.address_size, pid, 0);
        }
        if (error[0]) {
            key(out, "error");
            jw_string_utf8(out, (const uint8_t *)error, strlen(error));
        }
        jw_raw(out, "}\n", 2);
    } else {
        jw_filetime_text(out, ev->filetime);
        jw_raw(out, " " KERNEL_PROVIDER "/", sizeof KERNEL_PROVIDER + 1);
        jw_escape_utf8(out, (const uint8_t *)name, strlen(name));
        jw_raw(out, " 0 ", 3);
        emit_id(out, pid, 1);
        jw_char(out, ' ');
        emit_id(out, tid, 1);
        if (decoded > 0) {
            jw_raw(out, d->scratch.data, d->scratch.len);
        } else {
            jw_raw(out, " payload=", 9);
            jw_hex_bytes(out, ev->user_data, ev->user_data_len);
        }
        if (stack.addresses) {
            jw_raw(out, " stack=", 7);
            emit_addresses(d, out, stack.addresses, stack.count, stack.address_size, pid, 1);
        }
        if (error[0]) {
            jw_raw(out, " error=", 7);
            jw_string_utf8(out, (const uint8_t *)error, strlen(error));
        }
        jw_char(out, '\n');
    }
    if (jw_error(&d->scratch))
        return TLD_E_NO_MEMORY;
    snprintf(d->err, sizeof d->err, "%s", error);
    if (jw_error(out))
        return TLD_E_NO_MEMORY;
    return error[0] ? TLD_E_DECODE_PARTIAL : 0;
}

/* ---- event records --------------------------------------------------------------- */

/* What both formats of a TraceLogging (or other) event record start from:
 * the provider's name, whether the event has a TraceLogging schema and
 * whether it parsed, and the first error (a sentence; "" when none). */
typedef struct event_view {
    const uint8_t *prov;
    size_t prov_len;
    int is_tl, meta_ok;
    char error[256];
} event_view;

static void view_event(tl_decoder *d, const etl_event *ev, event_view *v)
{
    v->prov = NULL;
    v->prov_len = 0;
    v->error[0] = '\0';
    v->is_tl = ev->event_schema != NULL;
    v->meta_ok = 0;
    if (ev->prov_traits && traits_name(ev->prov_traits, ev->prov_traits_len, &v->prov, &v->prov_len) < 0) {
        derr(d, "provider traits item is malformed (%zu bytes)", ev->prov_traits_len);
        note_error(d, v->error, sizeof v->error);
    }
    if (v->is_tl) {
        v->meta_ok = parse_meta(d, ev->event_schema, ev->event_schema_len) == 0;
        if (!v->meta_ok)
            note_error(d, v->error, sizeof v->error);
    }
}

/* A message event's text: its UTF-16 payload up to the first NUL. */
static void emit_message(const etl_event *ev, jw_buf *out)
{
    size_t n = ev->user_data_len & ~(size_t)1;
    for (size_t i = 0; i + 1 < ev->user_data_len; i += 2)
        if (!ev->user_data[i] && !ev->user_data[i + 1]) {
            n = i;
            break;
        }
    jw_string_utf16le(out, ev->user_data, n);
}

static void format_event_json(tl_decoder *d, const etl_event *ev, event_view *v, jw_buf *out)
{
    size_t unparsed_at = ev->user_data_len;
    jw_raw(out, "{\"time\":", 8);
    jw_filetime(out, ev->filetime);
    key(out, "provider");
    if (v->prov)
        jw_string_utf8(out, v->prov, v->prov_len);
    else
        jw_null(out);
    key(out, "provider_id");
    jw_guid(out, ev->provider_id.bytes_le);
    key(out, "event");
    if (v->is_tl && d->event_name)
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
    emit_id(out, ev->process_id, 0);
    key(out, "tid");
    emit_id(out, ev->thread_id, 0);
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
    if (v->is_tl) {
        key(out, "fields");
        jw_char(out, '{');
        if (v->meta_ok) {
            if (decode_data(d, ev->user_data, ev->user_data_len, ev->pointer_size, out, 0) < 0)
                note_error(d, v->error, sizeof v->error);
            else
                unparsed_at = d->pos;
        }
        jw_char(out, '}');
    }
    if (!v->is_tl || !v->meta_ok) {
        key(out, "payload");
        jw_hex_bytes(out, ev->user_data, ev->user_data_len);
        unparsed_at = ev->user_data_len;
        if (ev->kind == ETL_KIND_EVENT_HEADER && (ev->flags & ETL_EVENT_FLAG_STRING_ONLY)) {
            key(out, "message");
            emit_message(ev, out);
        }
    }
    if (ev->has_stack) {
        key(out, "stack");
        emit_addresses(d, out, ev->stack, ev->stack_count, ev->stack_addr_size, ev->process_id, 0);
    }
    if (v->is_tl && v->meta_ok && !v->error[0] && unparsed_at < ev->user_data_len) {
        key(out, "unparsed");
        jw_hex_bytes(out, ev->user_data + unparsed_at, ev->user_data_len - unparsed_at);
    }
    if (v->error[0]) {
        key(out, "error");
        jw_string_utf8(out, (const uint8_t *)v->error, strlen(v->error));
    }
    jw_raw(out, "}\n", 2);
}

static void format_event_text(tl_decoder *d, const etl_event *ev, event_view *v, jw_buf *out)
{
    jw_filetime_text(out, ev->filetime);
    jw_char(out, ' ');
    if (v->is_tl) {
        if (v->prov)
            jw_escape_utf8(out, v->prov, v->prov_len);
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
    emit_id(out, ev->process_id, 1);
    jw_char(out, ' ');
    emit_id(out, ev->thread_id, 1);
    if (ev->kind != ETL_KIND_MESSAGE)
        emit_text_opcode(out, ev->descriptor.opcode);
    if (v->is_tl && v->meta_ok) {
        if (decode_data(d, ev->user_data, ev->user_data_len, ev->pointer_size, out, 1) < 0)
            note_error(d, v->error, sizeof v->error);
    } else {
        jw_raw(out, " payload=", 9);
        jw_hex_bytes(out, ev->user_data, ev->user_data_len);
    }
    if (ev->has_stack) {
        jw_raw(out, " stack=", 7);
        emit_addresses(d, out, ev->stack, ev->stack_count, ev->stack_addr_size, ev->process_id, 1);
    }
    if (v->error[0]) {
        jw_raw(out, " error=", 7);
        jw_string_utf8(out, (const uint8_t *)v->error, strlen(v->error));
    }
    jw_char(out, '\n');
}

int tl_decoder_format_event(tl_decoder *d, const etl_event *ev, int format, jw_buf *out)
{
    d->err[0] = '\0';
    if (ev->kind == ETL_KIND_SYSTEM)
        return format_system(d, ev, format == TL_FORMAT_TEXT, out);
    event_view v;
    view_event(d, ev, &v);
    if (format == TL_FORMAT_TEXT)
        format_event_text(d, ev, &v, out);
    else
        format_event_json(d, ev, &v, out);
    /* After the line: a PythonFunction names addresses of later stacks. */
    if (v.is_tl && v.meta_ok && !v.error[0] && memcmp(ev->provider_id.bytes_le, python_provider_id, 16) == 0 &&
        d->event_name_len == 14 && memcmp(d->event_name, "PythonFunction", 14) == 0)
        learn_python_function(d, ev);
    snprintf(d->err, sizeof d->err, "%s", v.error);
    if (jw_error(out))
        return TLD_E_NO_MEMORY;
    return v.error[0] ? TLD_E_DECODE_PARTIAL : 0;
}

int tl_decoder_learn_names(tl_decoder *d, const etl_event *ev)
{
    if (ev->kind == ETL_KIND_SYSTEM) {
        switch (ev->hook_id) {
        case ETL_HOOK_IMAGE_LOAD: case ETL_HOOK_IMAGE_DC_START: case ETL_HOOK_IMAGE_UNLOAD: {
            etl_image im;
            if (etl_kernel_image(ev, &im) < 0)
                return 0;
            if (ev->hook_id == ETL_HOOK_IMAGE_UNLOAD)
                tl_names_remove_image(d->names, im.process_id, im.base, ev->pointer_size);
            else
                return tl_names_add_image(d->names, im.process_id, im.base, im.size, im.file_name,
                                          im.file_name_bytes, ev->pointer_size);
            return 0;
        }
        default:
            return 0;
        }
    }
    if (!ev->event_schema || memcmp(ev->provider_id.bytes_le, python_provider_id, 16) != 0)
        return 0;
    if (parse_meta(d, ev->event_schema, ev->event_schema_len) < 0)
        return 0;
    if (d->event_name_len == 14 && memcmp(d->event_name, "PythonFunction", 14) == 0)
        learn_python_function(d, ev);
    return 0;
}

tl_address_names *tl_decoder_names(tl_decoder *d)
{
    return d->names;
}
