/*
 * event_fields.c — one-call field helpers for C users: each validates its
 * arguments, appends the field record and then the value, so a C caller
 * never leaves a field without its data. (The Python binding uses the
 * lower-level calls in event_builder.c instead, to reproduce the reference
 * module's exact order of checks.)
 */
#include "tracelogging/tld.h"

#include "byteorder.h"

#include <string.h>

static int field_flags(uint8_t out_type, uint32_t tag, unsigned *flags)
{
    if (tag > TLD_MAX_TAG)
        return TLD_E_FIELD_TAG;
    *flags = tag ? TLD_FIELD_HAS_TAG : (out_type ? TLD_FIELD_HAS_OUT : 0);
    return TLD_OK;
}

/* Field record + fixed-size value. */
static int add_fixed(tld_event_builder *b, const char *name, size_t name_len, uint8_t in_type,
                     const void *value, size_t size, uint8_t out_type, uint32_t tag)
{
    unsigned flags;
    int rc = field_flags(out_type, tag, &flags);
    if (rc == TLD_OK)
        rc = tld_builder_add_field(b, name, name_len, in_type, out_type, tag, flags);
    if (rc == TLD_OK)
        rc = tld_builder_data_append(b, value, size);
    return rc;
}

static int add_u64_as(tld_event_builder *b, const char *name, size_t name_len, uint8_t in_type,
                      uint64_t v, size_t size, uint8_t out_type, uint32_t tag)
{
    uint8_t le[8];
    store_le64(le, v);
    return add_fixed(b, name, name_len, in_type, le, size, out_type, tag);
}

int tld_builder_add_int8(tld_event_builder *b, const char *name, size_t name_len, int8_t v, uint8_t out_type, uint32_t tag)
{
    return add_u64_as(b, name, name_len, TLD_IN_INT8, (uint64_t)(uint8_t)v, 1, out_type, tag);
}

int tld_builder_add_uint8(tld_event_builder *b, const char *name, size_t name_len, uint8_t v, uint8_t out_type, uint32_t tag)
{
    return add_u64_as(b, name, name_len, TLD_IN_UINT8, v, 1, out_type, tag);
}

int tld_builder_add_int16(tld_event_builder *b, const char *name, size_t name_len, int16_t v, uint8_t out_type, uint32_t tag)
{
    return add_u64_as(b, name, name_len, TLD_IN_INT16, (uint64_t)(uint16_t)v, 2, out_type, tag);
}

int tld_builder_add_uint16(tld_event_builder *b, const char *name, size_t name_len, uint16_t v, uint8_t out_type, uint32_t tag)
{
    return add_u64_as(b, name, name_len, TLD_IN_UINT16, v, 2, out_type, tag);
}

int tld_builder_add_int32(tld_event_builder *b, const char *name, size_t name_len, int32_t v, uint8_t out_type, uint32_t tag)
{
    return add_u64_as(b, name, name_len, TLD_IN_INT32, (uint64_t)(uint32_t)v, 4, out_type, tag);
}

int tld_builder_add_uint32(tld_event_builder *b, const char *name, size_t name_len, uint32_t v, uint8_t out_type, uint32_t tag)
{
    return add_u64_as(b, name, name_len, TLD_IN_UINT32, v, 4, out_type, tag);
}

int tld_builder_add_int64(tld_event_builder *b, const char *name, size_t name_len, int64_t v, uint8_t out_type, uint32_t tag)
{
    return add_u64_as(b, name, name_len, TLD_IN_INT64, (uint64_t)v, 8, out_type, tag);
}

int tld_builder_add_uint64(tld_event_builder *b, const char *name, size_t name_len, uint64_t v, uint8_t out_type, uint32_t tag)
{
    return add_u64_as(b, name, name_len, TLD_IN_UINT64, v, 8, out_type, tag);
}

int tld_builder_add_hexint32(tld_event_builder *b, const char *name, size_t name_len, uint32_t v, uint8_t out_type, uint32_t tag)
{
    return add_u64_as(b, name, name_len, TLD_IN_HEXINT32, v, 4, out_type, tag);
}

int tld_builder_add_hexint64(tld_event_builder *b, const char *name, size_t name_len, uint64_t v, uint8_t out_type, uint32_t tag)
{
    return add_u64_as(b, name, name_len, TLD_IN_HEXINT64, v, 8, out_type, tag);
}

int tld_builder_add_intptr(tld_event_builder *b, const char *name, size_t name_len, intptr_t v, uint8_t out_type, uint32_t tag)
{
    return add_u64_as(b, name, name_len, TLD_IN_INTPTR, (uint64_t)(uintptr_t)v, sizeof v, out_type, tag);
}

int tld_builder_add_uintptr(tld_event_builder *b, const char *name, size_t name_len, uintptr_t v, uint8_t out_type, uint32_t tag)
{
    return add_u64_as(b, name, name_len, TLD_IN_UINTPTR, v, sizeof v, out_type, tag);
}

int tld_builder_add_pointer(tld_event_builder *b, const char *name, size_t name_len, const void *v, uint8_t out_type, uint32_t tag)
{
    return add_u64_as(b, name, name_len, TLD_IN_POINTER, (uint64_t)(uintptr_t)v, sizeof v, out_type, tag);
}

int tld_builder_add_float32(tld_event_builder *b, const char *name, size_t name_len, float v, uint8_t out_type, uint32_t tag)
{
    uint32_t bits;
    memcpy(&bits, &v, 4);
    return add_u64_as(b, name, name_len, TLD_IN_FLOAT, bits, 4, out_type, tag);
}

int tld_builder_add_float64(tld_event_builder *b, const char *name, size_t name_len, double v, uint8_t out_type, uint32_t tag)
{
    uint64_t bits;
    memcpy(&bits, &v, 8);
    return add_u64_as(b, name, name_len, TLD_IN_DOUBLE, bits, 8, out_type, tag);
}

int tld_builder_add_bool32(tld_event_builder *b, const char *name, size_t name_len, int32_t v, uint8_t out_type, uint32_t tag)
{
    return add_u64_as(b, name, name_len, TLD_IN_BOOL32, (uint64_t)(uint32_t)v, 4, out_type, tag);
}

int tld_builder_add_filetime(tld_event_builder *b, const char *name, size_t name_len, int64_t v, uint8_t out_type, uint32_t tag)
{
    return add_u64_as(b, name, name_len, TLD_IN_FILETIME, (uint64_t)v, 8, out_type, tag);
}

int tld_builder_add_guid(tld_event_builder *b, const char *name, size_t name_len, const tld_guid *v, uint8_t out_type, uint32_t tag)
{
    if (v == NULL)
        return TLD_E_INVALID_ARG;
    return add_fixed(b, name, name_len, TLD_IN_GUID, v->bytes_le, 16, out_type, tag);
}

int tld_builder_add_systemtime(tld_event_builder *b, const char *name, size_t name_len, const uint8_t v[16], uint8_t out_type, uint32_t tag)
{
    if (v == NULL)
        return TLD_E_INVALID_ARG;
    return add_fixed(b, name, name_len, TLD_IN_SYSTEMTIME, v, 16, out_type, tag);
}

int tld_builder_add_sid(tld_event_builder *b, const char *name, size_t name_len, const uint8_t *v, size_t len, uint8_t out_type, uint32_t tag)
{
    if (v == NULL)
        return TLD_E_INVALID_ARG;
    if (len < 2)
        return TLD_E_SID_SHORT;
    if (len != 8 + 4 * (size_t)v[1])
        return TLD_E_SID_LENGTH;
    return add_fixed(b, name, name_len, TLD_IN_SID, v, len, out_type, tag);
}

/* NUL-terminated value: up to and including the first NUL unit, or all of it
 * plus a NUL unit. `unit` is 1 (8-bit) or 2 (UTF-16). */
static int add_zterminated(tld_event_builder *b, const char *name, size_t name_len, uint8_t in_type,
                           const uint8_t *v, size_t units, size_t unit, uint8_t out_type, uint32_t tag)
{
    if (v == NULL && units != 0)
        return TLD_E_INVALID_ARG;
    unsigned flags;
    int rc = field_flags(out_type, tag, &flags);
    if (rc != TLD_OK)
        return rc;
    size_t keep = units, terminator = unit;
    for (size_t i = 0; i < units; i++) {
        if (v[i * unit] == 0 && (unit == 1 || v[i * unit + 1] == 0)) {
            keep = i + 1;
            terminator = 0;
            break;
        }
    }
    rc = tld_builder_add_field(b, name, name_len, in_type, out_type, tag, flags);
    if (rc != TLD_OK)
        return rc;
    uint8_t *p = tld_builder_data_reserve(b, keep * unit + terminator, &rc);
    if (p == NULL)
        return rc;
    if (keep != 0)
        memcpy(p, v, keep * unit);
    memset(p + keep * unit, 0, terminator);
    tld_builder_data_commit(b, keep * unit + terminator);
    return TLD_OK;
}

int tld_builder_add_zstr8(tld_event_builder *b, const char *name, size_t name_len, const char *v, size_t len, uint8_t out_type, uint32_t tag)
{
    return add_zterminated(b, name, name_len, TLD_IN_ANSISTRING, (const uint8_t *)v, len, 1, out_type, tag);
}

int tld_builder_add_zstr16(tld_event_builder *b, const char *name, size_t name_len, const uint16_t *v, size_t units, uint8_t out_type, uint32_t tag)
{
    /* uint16_t units are in host order; the wire wants UTF-16LE. */
    return add_zterminated(b, name, name_len, TLD_IN_UNICODESTRING, (const uint8_t *)v, units, 2, out_type, tag);
}

static int add_counted(tld_event_builder *b, const char *name, size_t name_len, uint8_t in_type,
                       const void *v, size_t len, uint8_t out_type, uint32_t tag)
{
    if (v == NULL && len != 0)
        return TLD_E_INVALID_ARG;
    unsigned flags;
    int rc = field_flags(out_type, tag, &flags);
    if (rc == TLD_OK)
        rc = tld_builder_add_field(b, name, name_len, in_type, out_type, tag, flags);
    if (rc == TLD_OK)
        rc = tld_builder_data_append_counted(b, v, len);
    return rc;
}

int tld_builder_add_str8(tld_event_builder *b, const char *name, size_t name_len, const char *v, size_t len, uint8_t out_type, uint32_t tag)
{
    return add_counted(b, name, name_len, TLD_IN_COUNTEDANSISTRING, v, len, out_type, tag);
}

int tld_builder_add_str16(tld_event_builder *b, const char *name, size_t name_len, const uint16_t *v, size_t units, uint8_t out_type, uint32_t tag)
{
    return add_counted(b, name, name_len, TLD_IN_COUNTEDSTRING, v, units * 2, out_type, tag);
}

int tld_builder_add_binary(tld_event_builder *b, const char *name, size_t name_len, const void *v, size_t len, uint8_t out_type, uint32_t tag)
{
    return add_counted(b, name, name_len, TLD_IN_BINARY, v, len, out_type, tag);
}

int tld_builder_add_cbinary(tld_event_builder *b, const char *name, size_t name_len, const void *v, size_t len, uint8_t out_type, uint32_t tag)
{
    return add_counted(b, name, name_len, TLD_IN_COUNTEDBINARY, v, len, out_type, tag);
}

int tld_builder_add_array(tld_event_builder *b, const char *name, size_t name_len, uint8_t in_type,
                          const void *values, size_t count, size_t elem_size, uint8_t out_type, uint32_t tag)
{
    if ((values == NULL && count != 0) || elem_size == 0 || elem_size > 16)
        return TLD_E_INVALID_ARG;
    if (count > 0xFFFF)
        return TLD_E_COUNT_RANGE;
    unsigned flags;
    int rc = field_flags(out_type, tag, &flags);
    if (rc != TLD_OK)
        return rc;
    rc = tld_builder_add_field(b, name, name_len, (uint8_t)(in_type | TLD_IN_VCOUNT), out_type, tag, flags);
    if (rc != TLD_OK)
        return rc;
    uint8_t *p = tld_builder_data_reserve(b, 2 + count * elem_size, &rc);
    if (p == NULL)
        return rc;
    store_le16(p, (uint16_t)count);
    if (count != 0)
        memcpy(p + 2, values, count * elem_size);
    tld_builder_data_commit(b, 2 + count * elem_size);
    return TLD_OK;
}
