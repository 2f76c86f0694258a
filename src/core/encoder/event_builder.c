/*
 * event_builder.c — the TraceLogging event builder: metadata and data
 * buffers, field-slot accounting, limits, and the error state.
 *
 * Metadata layout (what EventWriteTransfer receives as the event schema):
 *
 *     u16 size | event tag (1, 2 or 4 bytes) | name 00 | field record ...
 *     field record = name 00 | in-type [| out-type [| 4-byte field tag]]
 *
 * The in-type byte has bit 0x80 (chain) set when an out-type byte follows;
 * the out-type byte has it set when a field tag follows. Tags are stored 7
 * bits per byte, most significant first, with 0x80 on every byte but the
 * last.
 *
 * Errors that mean "this event can no longer be written correctly" (too many
 * fields, metadata or data too long, and the value-length errors the Python
 * binding reports) put the builder in the error state: field_slots above
 * the 128 limit. Only a successful reset leaves it. That way one counter
 * answers both "how many slots are used" and "is the event writable".
 */
#include "tracelogging/tld.h"

#include "byteorder.h"

#include <stdlib.h>
#include <string.h>

#define ERROR_STATE_SLOTS (TLD_MAX_FIELD_SLOTS + 1)
#define DEFAULT_META_CAPACITY 128
#define DEFAULT_DATA_CAPACITY 512
#define MIN_CAPACITY 64

static size_t clamp_capacity(size_t hint, size_t fallback, size_t max)
{
    if (hint == 0)
        hint = fallback;
    if (hint < MIN_CAPACITY)
        return MIN_CAPACITY;
    return hint > max ? max : hint;
}

int tld_builder_init(tld_event_builder *b, size_t meta_hint, size_t data_hint)
{
    if (b == NULL)
        return TLD_E_INVALID_ARG;
    memset(b, 0, sizeof *b);
    b->meta_cap = (uint32_t)clamp_capacity(meta_hint, DEFAULT_META_CAPACITY, TLD_MAX_META_SIZE);
    b->data_cap = (uint32_t)clamp_capacity(data_hint, DEFAULT_DATA_CAPACITY, TLD_MAX_DATA_SIZE);
    b->meta = calloc(1, b->meta_cap);
    b->data = calloc(1, b->data_cap);
    b->field_slots = ERROR_STATE_SLOTS;
    if (b->meta == NULL || b->data == NULL) {
        tld_builder_destroy(b);
        return TLD_E_NO_MEMORY;
    }
    return TLD_OK;
}

void tld_builder_destroy(tld_event_builder *b)
{
    if (b == NULL)
        return;
    free(b->meta);
    free(b->data);
    b->meta = b->data = NULL;
    b->meta_cap = b->data_cap = 0;
    b->meta_len = b->data_len = 0;
    b->field_slots = ERROR_STATE_SLOTS;
}

/* Grows *buf so it holds at least `need` bytes (need <= max). Capacity
 * doubles so a long event costs O(log n) reallocations. */
static int grow_buffer(uint8_t **buf, uint32_t *cap, size_t need, size_t max)
{
    if (need <= *cap)
        return TLD_OK;
    size_t new_cap = *cap ? *cap : MIN_CAPACITY;
    while (new_cap < need)
        new_cap *= 2;
    if (new_cap > max)
        new_cap = max;
    uint8_t *p = realloc(*buf, new_cap);
    if (p == NULL)
        return TLD_E_NO_MEMORY;
    *buf = p;
    *cap = (uint32_t)new_cap;
    return TLD_OK;
}

void tld_builder_set_error_state(tld_event_builder *b)
{
    b->field_slots = ERROR_STATE_SLOTS;
}

int tld_builder_check_state(const tld_event_builder *b)
{
    return b->field_slots > TLD_MAX_FIELD_SLOTS ? TLD_E_ERROR_STATE : TLD_OK;
}

int tld_event_tag_size(uint64_t tag)
{
    if ((tag & 0x0FE00000u) == tag)
        return 1;
    if ((tag & 0x0FFFC000u) == tag)
        return 2;
    if ((tag & TLD_MAX_TAG) == tag)
        return 4;
    return TLD_E_EVENT_TAG;
}

/* Writes `size` bytes of the 7-bits-per-byte tag encoding of `tag`. */
static void encode_tag(uint8_t *p, uint32_t tag, int size)
{
    p[0] = (uint8_t)((tag >> 21) & 0x7F);
    if (size == 1)
        return;
    p[0] |= 0x80;
    p[1] = (uint8_t)((tag >> 14) & 0x7F);
    if (size == 2)
        return;
    p[1] |= 0x80;
    p[2] = (uint8_t)(0x80 | ((tag >> 7) & 0x7F));
    p[3] = (uint8_t)(tag & 0x7F);
}

int tld_builder_reset(tld_event_builder *b, const char *name, size_t name_len,
                      const tld_event_descriptor *desc, uint32_t tag)
{
    if (b == NULL || desc == NULL || (name == NULL && name_len != 0))
        return TLD_E_INVALID_ARG;
    int tag_size = tld_event_tag_size(tag);
    if (tag_size < 0)
        return tag_size;
    if (name_len != 0 && memchr(name, 0, name_len) != NULL)
        return TLD_E_NAME_NUL;

    b->desc = *desc;
    size_t need = 2 + (size_t)tag_size + name_len + 1;
    if (need > TLD_MAX_META_SIZE) {
        tld_builder_set_error_state(b);
        return TLD_E_META_TOO_LONG;
    }
    int rc = grow_buffer(&b->meta, &b->meta_cap, need, TLD_MAX_META_SIZE);
    if (rc != TLD_OK) {
        tld_builder_set_error_state(b);
        return rc;
    }
    uint8_t *p = b->meta;
    p[0] = p[1] = 0; /* size slot, filled when the event is written */
    encode_tag(p + 2, tag, tag_size);
    p += 2 + tag_size;
    if (name_len != 0)
        memcpy(p, name, name_len);
    p[name_len] = 0;
    b->meta_len = (uint32_t)need;
    b->data_len = 0;
    b->field_slots = 0;
    return TLD_OK;
}

size_t tld_field_record_size(size_t name_len, unsigned flags)
{
    if (flags & TLD_FIELD_HAS_TAG)
        return name_len + 7; /* NUL, in-type, out-type, 4-byte tag */
    if (flags & TLD_FIELD_HAS_OUT)
        return name_len + 3;
    return name_len + 2;
}

/* Arrays and BINARY use a second slot: decoders see a separate length field. */
static int uses_extra_slot(uint8_t in_type)
{
    return (in_type & TLD_IN_VCOUNT) != 0 || in_type == TLD_IN_BINARY;
}

void tld_builder_note_failed_field(tld_event_builder *b, uint8_t in_type)
{
    /* Saturate so the counter cannot wrap while the builder sits in the
     * error state. */
    if (uses_extra_slot(in_type) && b->field_slots <= TLD_MAX_FIELD_SLOTS)
        b->field_slots++;
}

int tld_builder_reserve_field(tld_event_builder *b, const char *name, size_t name_len,
                              uint8_t in_type, unsigned flags)
{
    if (b == NULL || (name == NULL && name_len != 0))
        return TLD_E_INVALID_ARG;
    /* The extra slot is taken first, even if the call then fails: callers that
     * mirror traceloggingdynamic depend on that order. */
    tld_builder_note_failed_field(b, in_type);
    if (name_len != 0 && memchr(name, 0, name_len) != NULL)
        return TLD_E_NAME_NUL;
    if (b->field_slots >= TLD_MAX_FIELD_SLOTS) {
        if (b->field_slots > TLD_MAX_FIELD_SLOTS)
            return TLD_E_ERROR_STATE;
        tld_builder_set_error_state(b);
        return TLD_E_TOO_MANY_FIELDS;
    }
    b->field_slots++;
    size_t need = (size_t)b->meta_len + tld_field_record_size(name_len, flags);
    if (need > TLD_MAX_META_SIZE) {
        tld_builder_set_error_state(b);
        return TLD_E_META_TOO_LONG;
    }
    int rc = grow_buffer(&b->meta, &b->meta_cap, need, TLD_MAX_META_SIZE);
    if (rc != TLD_OK)
        tld_builder_set_error_state(b);
    return rc;
}

int tld_builder_add_field(tld_event_builder *b, const char *name, size_t name_len,
                          uint8_t in_type, uint64_t out_type, uint64_t tag,
                          unsigned flags)
{
    int rc = tld_builder_reserve_field(b, name, name_len, in_type, flags);
    if (rc != TLD_OK)
        return rc;
    uint8_t *p = b->meta + b->meta_len;
    if (name_len != 0)
        memcpy(p, name, name_len);
    p += name_len;
    *p++ = 0;
    if (flags & TLD_FIELD_HAS_TAG) {
        *p++ = (uint8_t)((in_type & 0x7F) | TLD_IN_CHAIN);
        *p++ = (uint8_t)((out_type & 0x7F) | 0x80);
        encode_tag(p, (uint32_t)(tag & TLD_MAX_TAG), 4);
        p += 4;
    } else if (flags & TLD_FIELD_HAS_OUT) {
        *p++ = (uint8_t)((in_type & 0x7F) | TLD_IN_CHAIN);
        *p++ = (uint8_t)(out_type & 0x7F);
    } else {
        *p++ = (uint8_t)(in_type & 0x7F);
    }
    b->meta_len = (uint32_t)(p - b->meta);
    return TLD_OK;
}

int tld_builder_add_struct(tld_event_builder *b, const char *name, size_t name_len,
                           uint64_t member_count, uint64_t tag, unsigned flags)
{
    if (member_count < 1 || member_count > TLD_MAX_STRUCT_FIELDS)
        return TLD_E_STRUCT_COUNT;
    return tld_builder_add_field(b, name, name_len, TLD_IN_STRUCT, member_count, tag,
                                 flags | TLD_FIELD_HAS_OUT);
}

uint8_t *tld_builder_data_reserve(tld_event_builder *b, size_t n, int *err)
{
    size_t need = (size_t)b->data_len + n;
    if (need > TLD_MAX_DATA_SIZE || n > TLD_MAX_DATA_SIZE) {
        tld_builder_set_error_state(b);
        *err = TLD_E_DATA_TOO_LONG;
        return NULL;
    }
    int rc = grow_buffer(&b->data, &b->data_cap, need, TLD_MAX_DATA_SIZE);
    if (rc != TLD_OK) {
        tld_builder_set_error_state(b);
        *err = rc;
        return NULL;
    }
    *err = TLD_OK;
    return b->data + b->data_len;
}

void tld_builder_data_commit(tld_event_builder *b, size_t n)
{
    /* Callers commit at most what they reserved; the reserve kept us in bounds. */
    b->data_len += (uint32_t)n;
}

int tld_builder_data_append(tld_event_builder *b, const void *bytes, size_t n)
{
    int rc;
    uint8_t *p = tld_builder_data_reserve(b, n, &rc);
    if (p == NULL)
        return rc;
    if (n != 0)
        memcpy(p, bytes, n);
    tld_builder_data_commit(b, n);
    return TLD_OK;
}

int tld_builder_data_append_counted(tld_event_builder *b, const void *bytes, size_t n)
{
    int rc;
    uint8_t *p = tld_builder_data_reserve(b, 2 + n, &rc);
    if (p == NULL)
        return rc;
    /* 2 + n <= 65536 here, so n fits the u16 length. */
    store_le16(p, (uint16_t)n);
    if (n != 0)
        memcpy(p + 2, bytes, n);
    tld_builder_data_commit(b, 2 + n);
    return TLD_OK;
}

const uint8_t *tld_builder_meta(tld_event_builder *b, size_t *len)
{
    if (b->meta_len >= 2)
        store_le16(b->meta, (uint16_t)b->meta_len);
    *len = b->meta_len;
    return b->meta;
}

const uint8_t *tld_builder_data(const tld_event_builder *b, size_t *len)
{
    *len = b->data_len;
    return b->data;
}
