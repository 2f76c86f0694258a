/*
 * tld.h — public C API of the TraceLogging core.
 *
 * TraceLogging is ETW's self-describing event format: every event carries
 * its own schema ("metadata": event name, field names, field types) next to
 * its values ("data"). This header lets C code build such events, hash
 * provider names to provider ids, and hand events to a provider, which
 * delivers them to whatever listens (ETW on Windows, in-process file
 * sessions elsewhere).
 *
 * Typical use:
 *
 *     tld_provider *p;
 *     tld_provider_open(&p, "MyCompany.MyComponent", 21, NULL, NULL);
 *     if (tld_provider_is_enabled(p, 5, 0x21)) {
 *         tld_event_builder eb;
 *         tld_builder_init(&eb, 0, 0);
 *         tld_event_descriptor d = tld_event_descriptor_default(5, 0x21);
 *         tld_builder_reset(&eb, "MyEvent", 7, &d, 0);
 *         tld_builder_add_int32(&eb, "count", 5, 42, 0, 0);
 *         tld_provider_write(p, &eb, NULL, NULL);
 *         tld_builder_destroy(&eb);
 *     }
 *     tld_provider_close(p);
 *
 * Conventions: functions return 0 on success or a negative code
 * (tld_errors.h); tld_strerror() turns a code into a sentence. Names are UTF-8 byte strings
 * passed with an explicit length and must not contain 0x00 bytes. Nothing
 * here includes Python.h.
 */
#ifndef TRACELOGGING_TLD_H
#define TRACELOGGING_TLD_H

#include <stddef.h>
#include <stdint.h>

#include "tracelogging/tld_errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits (what ETW decoders accept) ---------------------------------- */

#define TLD_MAX_META_SIZE 32768u   /* event metadata, including its size slot */
#define TLD_MAX_DATA_SIZE 65536u   /* event data */
#define TLD_MAX_FIELD_SLOTS 128u   /* a sequence or BINARY field uses two */
#define TLD_MAX_TAG 0x0FFFFFFFu    /* event and field tags are 28 bits */
#define TLD_MAX_STRUCT_FIELDS 127u /* a struct groups 1..127 logical fields */

/* ---- errors: tld_errors.h (0 or a negative code everywhere) ---------------- */

/* ---- field encodings ----------------------------------------------------- */

/* InType: how a field's value is encoded in the data. */
enum tld_in_type {
    TLD_IN_NULL = 0,              /* no value (read side: a field of no type) */
    TLD_IN_UNICODESTRING = 1,     /* NUL-terminated UTF-16LE */
    TLD_IN_ANSISTRING = 2,        /* NUL-terminated 8-bit */
    TLD_IN_INT8 = 3,
    TLD_IN_UINT8 = 4,
    TLD_IN_INT16 = 5,
    TLD_IN_UINT16 = 6,
    TLD_IN_INT32 = 7,
    TLD_IN_UINT32 = 8,
    TLD_IN_INT64 = 9,
    TLD_IN_UINT64 = 10,
    TLD_IN_FLOAT = 11,
    TLD_IN_DOUBLE = 12,
    TLD_IN_BOOL32 = 13,
    TLD_IN_BINARY = 14,           /* u16 length + bytes; uses two field slots */
    TLD_IN_GUID = 15,
    TLD_IN_SIZED_POINTER = 16,    /* read side: a pointer of the size the event header says */
    TLD_IN_FILETIME = 17,
    TLD_IN_SYSTEMTIME = 18,
    TLD_IN_SID = 19,
    TLD_IN_HEXINT32 = 20,
    TLD_IN_HEXINT64 = 21,
    TLD_IN_COUNTEDSTRING = 22,    /* u16 byte length + UTF-16LE */
    TLD_IN_COUNTEDANSISTRING = 23,/* u16 byte length + 8-bit chars */
    TLD_IN_STRUCT = 24,           /* out-type byte holds the member count */
    TLD_IN_COUNTEDBINARY = 25,    /* u16 length + bytes */
    TLD_IN_INTPTR = (sizeof(void *) == 8 ? 9 : 7),
    TLD_IN_UINTPTR = (sizeof(void *) == 8 ? 10 : 8),
    TLD_IN_POINTER = (sizeof(void *) == 8 ? 21 : 20),
};

#define TLD_IN_TYPE_MASK 0x1Fu  /* the in-type proper */
#define TLD_IN_COUNT_MASK 0x60u /* how many values: one, or one of the three below */
#define TLD_IN_CCOUNT 0x20u     /* a constant count, given in the metadata (read side) */
#define TLD_IN_VCOUNT 0x40u     /* OR into an in-type: the field is an array (u16 count first) */
#define TLD_IN_CUSTOM 0x60u     /* a custom serializer's value, its schema in the metadata (read side) */
#define TLD_IN_CHAIN 0x80u      /* set in the metadata when an out-type byte follows */

/* OutType: formatting hints (same values as traceloggingdynamic.OutType). */
enum tld_out_type {
    TLD_OUT_NULL = 0, TLD_OUT_NOPRINT = 1, TLD_OUT_STRING = 2, TLD_OUT_BOOLEAN = 3,
    TLD_OUT_HEX = 4, TLD_OUT_PID = 5, TLD_OUT_TID = 6, TLD_OUT_PORT = 7,
    TLD_OUT_IPV4 = 8, TLD_OUT_IPV6 = 9, TLD_OUT_SOCKETADDRESS = 10, TLD_OUT_XML = 11,
    TLD_OUT_JSON = 12, TLD_OUT_WIN32ERROR = 13, TLD_OUT_NTSTATUS = 14,
    TLD_OUT_HRESULT = 15, TLD_OUT_FILETIME = 16, TLD_OUT_SIGNED = 17,
    TLD_OUT_UNSIGNED = 18, TLD_OUT_CULTURE_INSENSITIVE_DATETIME = 33,
    TLD_OUT_UTF8 = 35, TLD_OUT_PKCS7_WITH_TYPE_INFO = 36, TLD_OUT_CODE_POINTER = 37,
    TLD_OUT_DATETIME_UTC = 38,
};

/* ---- event descriptor ---------------------------------------------------- */

/* Levels (EVENT_DESCRIPTOR.Level): lower is more severe; 0 means "always". */
enum tld_level {
    TLD_LEVEL_ALWAYS = 0,
    TLD_LEVEL_CRITICAL = 1,
    TLD_LEVEL_ERROR = 2,
    TLD_LEVEL_WARNING = 3,
    TLD_LEVEL_INFO = 4,
    TLD_LEVEL_VERBOSE = 5,
};

/* Opcodes (EVENT_DESCRIPTOR.Opcode) with a meaning to every ETW reader. */
enum tld_opcode {
    TLD_OPCODE_INFO = 0,
    TLD_OPCODE_START = 1,  /* opens an activity or a range */
    TLD_OPCODE_STOP = 2,   /* closes it */
};

/* The 16-byte ETW EVENT_DESCRIPTOR, in host form. */
typedef struct tld_event_descriptor {
    uint16_t id;
    uint8_t version;
    uint8_t channel;   /* 11 = TraceLogging */
    uint8_t level;     /* 1 fatal .. 5 verbose */
    uint8_t opcode;    /* 0 info, 1 start, 2 stop */
    uint16_t task;
    uint64_t keyword;
} tld_event_descriptor;

/* A descriptor with the TraceLogging defaults and the given level/keyword. */
tld_event_descriptor tld_event_descriptor_default(uint8_t level, uint64_t keyword);

/* Writes the little-endian wire form of `d` into out[16]. */
void tld_event_descriptor_pack(const tld_event_descriptor *d, uint8_t out[16]);

/* ---- provider ids -------------------------------------------------------- */

/* A GUID in its wire (little-endian field, "bytes_le") byte order. */
typedef struct tld_guid {
    uint8_t bytes_le[16];
} tld_guid;

/*
 * Derives a provider id from a provider name the way ETW tools do
 * (EventSource, `tracelog -guid *Name`): SHA-1 over a fixed namespace and the
 * upper-cased name as UTF-16BE. `name_upper_utf16be` must already be upper
 * cased (the caller decides which Unicode mapping to use: the Python binding
 * uses str.upper()); tld_providerid_from_name_ascii() does it for ASCII.
 */
void tld_providerid_from_utf16be(const uint8_t *name_upper_utf16be, size_t len, tld_guid *out);

/* Same, for a name made only of ASCII characters (upper-cases it itself).
 * Returns TLD_E_INVALID_ARG when `name` has a byte >= 0x80. */
int tld_providerid_from_name_ascii(const char *name, size_t len, tld_guid *out);

/* SHA-1 of a buffer (the core's own implementation; not for secrets). */
void tld_sha1(const void *data, size_t len, uint8_t digest[20]);

/* ---- event builder ------------------------------------------------------- */

/*
 * Accumulates one event. The fields of this struct are private; it is public
 * only so callers can place a builder on the stack. A builder starts in the
 * error state: call tld_builder_reset() to begin an event. A failing add
 * that reports TLD_E_TOO_MANY_FIELDS, TLD_E_META_TOO_LONG or
 * TLD_E_DATA_TOO_LONG puts the builder in the error state until the next
 * successful reset, so a half-built event can never be written by accident.
 * The one-call helpers (tld_builder_add_int32() ...) check their values
 * before touching the builder, so their value errors leave it unchanged.
 */
typedef struct tld_event_builder {
    uint8_t *meta;          /* [0..2) size slot, then tags, name, field records */
    uint8_t *data;
    uint32_t meta_len, meta_cap;
    uint32_t data_len, data_cap;
    uint32_t field_slots;   /* > TLD_MAX_FIELD_SLOTS means error state */
    tld_event_descriptor desc;
} tld_event_builder;

/* Allocates the buffers. The sizes are capacity hints (0 = default; they are
 * clamped to 64..32768 and 64..65536); the limits do not depend on them. */
int tld_builder_init(tld_event_builder *b, size_t meta_hint, size_t data_hint);

/* Frees the buffers. The builder may be initialized again afterwards. */
void tld_builder_destroy(tld_event_builder *b);

/*
 * Starts a new event: validates the event tag (TLD_E_EVENT_TAG) and the name
 * (TLD_E_NAME_NUL) without changing anything on failure, then stores the
 * descriptor and writes the metadata header. TLD_E_META_TOO_LONG (a name of
 * more than ~32 KB) leaves the builder in the error state.
 */
int tld_builder_reset(tld_event_builder *b, const char *name, size_t name_len,
                      const tld_event_descriptor *desc, uint32_t tag);

/* Puts the builder in the error state (what a failed reset must leave). */
void tld_builder_set_error_state(tld_event_builder *b);

/* 0 when the builder holds a valid event, TLD_E_ERROR_STATE otherwise. */
int tld_builder_check_state(const tld_event_builder *b);

/* Number of bytes the event tag occupies in the metadata (1, 2 or 4), or
 * TLD_E_EVENT_TAG when it does not fit in 28 bits. */
int tld_event_tag_size(uint64_t tag);

/*
 * Field metadata. A field record is: name, 0x00, in-type byte, then
 * optionally an out-type byte (when out_type != 0 or a tag is present) and a
 * 4-byte tag (when has_tag). `in_type` may carry TLD_IN_VCOUNT for arrays.
 *
 * tld_builder_add_field() validates and appends the record. Arrays and
 * TLD_IN_BINARY first take an extra slot, even when the call then fails.
 * Order of checks: extra slot, name (TLD_E_NAME_NUL), error state
 * (TLD_E_ERROR_STATE), slot limit (TLD_E_TOO_MANY_FIELDS), metadata room
 * (TLD_E_META_TOO_LONG).
 *
 * `out_type` is reduced to its low 7 bits and `tag` to its low 28 bits (the
 * C convenience functions below reject a tag above 28 bits instead).
 */
#define TLD_FIELD_HAS_OUT 0x1u
#define TLD_FIELD_HAS_TAG 0x2u
int tld_builder_add_field(tld_event_builder *b, const char *name, size_t name_len,
                          uint8_t in_type, uint64_t out_type, uint64_t tag,
                          unsigned flags);

/* Size of the record tld_builder_add_field() would append. */
size_t tld_field_record_size(size_t name_len, unsigned flags);

/*
 * Takes the slot(s) and room for a field record like tld_builder_add_field(),
 * without writing it. For callers whose arguments turn out to be unusable
 * only after these checks (the Python binding's out_type/tag type errors).
 */
int tld_builder_reserve_field(tld_event_builder *b, const char *name, size_t name_len,
                              uint8_t in_type, unsigned flags);

/*
 * Accounts for a field whose name turned out to be unusable before
 * tld_builder_reserve_field() could run: arrays and BINARY still take their
 * extra slot, as they do when the name check itself fails.
 */
void tld_builder_note_failed_field(tld_event_builder *b, uint8_t in_type);

/* A struct: the next `member_count` logical fields belong to it. */
int tld_builder_add_struct(tld_event_builder *b, const char *name, size_t name_len,
                           uint64_t member_count, uint64_t tag, unsigned flags);

/*
 * Field data. tld_builder_data_reserve() makes room for `n` more bytes and
 * returns where to write them (or NULL with *err set: TLD_E_DATA_TOO_LONG
 * also enters the error state); nothing counts until
 * tld_builder_data_commit(b, n). Data written past what is committed is
 * discarded by the next reserve/commit.
 */
uint8_t *tld_builder_data_reserve(tld_event_builder *b, size_t n, int *err);
void tld_builder_data_commit(tld_event_builder *b, size_t n);
int tld_builder_data_append(tld_event_builder *b, const void *bytes, size_t n);
/* u16 length then bytes (BINARY, COUNTED* values). */
int tld_builder_data_append_counted(tld_event_builder *b, const void *bytes, size_t n);

/* Complete blob views, valid until the next call that changes the builder.
 * tld_builder_meta() fills the size slot first. */
const uint8_t *tld_builder_meta(tld_event_builder *b, size_t *len);
const uint8_t *tld_builder_data(const tld_event_builder *b, size_t *len);

/* ---- convenience: one call per field, for C users ------------------------
 * Each adds the field record and its value. `out_type` 0 means none; `tag`
 * must fit in 28 bits (TLD_E_FIELD_TAG otherwise); 0 means none.
 */
int tld_builder_add_int8(tld_event_builder *b, const char *name, size_t name_len, int8_t v, uint8_t out_type, uint32_t tag);
int tld_builder_add_uint8(tld_event_builder *b, const char *name, size_t name_len, uint8_t v, uint8_t out_type, uint32_t tag);
int tld_builder_add_int16(tld_event_builder *b, const char *name, size_t name_len, int16_t v, uint8_t out_type, uint32_t tag);
int tld_builder_add_uint16(tld_event_builder *b, const char *name, size_t name_len, uint16_t v, uint8_t out_type, uint32_t tag);
int tld_builder_add_int32(tld_event_builder *b, const char *name, size_t name_len, int32_t v, uint8_t out_type, uint32_t tag);
int tld_builder_add_uint32(tld_event_builder *b, const char *name, size_t name_len, uint32_t v, uint8_t out_type, uint32_t tag);
int tld_builder_add_int64(tld_event_builder *b, const char *name, size_t name_len, int64_t v, uint8_t out_type, uint32_t tag);
int tld_builder_add_uint64(tld_event_builder *b, const char *name, size_t name_len, uint64_t v, uint8_t out_type, uint32_t tag);
int tld_builder_add_hexint32(tld_event_builder *b, const char *name, size_t name_len, uint32_t v, uint8_t out_type, uint32_t tag);
int tld_builder_add_hexint64(tld_event_builder *b, const char *name, size_t name_len, uint64_t v, uint8_t out_type, uint32_t tag);
int tld_builder_add_intptr(tld_event_builder *b, const char *name, size_t name_len, intptr_t v, uint8_t out_type, uint32_t tag);
int tld_builder_add_uintptr(tld_event_builder *b, const char *name, size_t name_len, uintptr_t v, uint8_t out_type, uint32_t tag);
int tld_builder_add_pointer(tld_event_builder *b, const char *name, size_t name_len, const void *v, uint8_t out_type, uint32_t tag);
int tld_builder_add_float32(tld_event_builder *b, const char *name, size_t name_len, float v, uint8_t out_type, uint32_t tag);
int tld_builder_add_float64(tld_event_builder *b, const char *name, size_t name_len, double v, uint8_t out_type, uint32_t tag);
int tld_builder_add_bool32(tld_event_builder *b, const char *name, size_t name_len, int32_t v, uint8_t out_type, uint32_t tag);
int tld_builder_add_filetime(tld_event_builder *b, const char *name, size_t name_len, int64_t v, uint8_t out_type, uint32_t tag);
int tld_builder_add_guid(tld_event_builder *b, const char *name, size_t name_len, const tld_guid *v, uint8_t out_type, uint32_t tag);
/* 16 bytes: wYear, wMonth, wDayOfWeek, wDay, wHour, wMinute, wSecond, wMilliseconds (u16 each). */
int tld_builder_add_systemtime(tld_event_builder *b, const char *name, size_t name_len, const uint8_t v[16], uint8_t out_type, uint32_t tag);
/* A binary SID: revision, sub-authority count n, 6-byte authority, n u32s. */
int tld_builder_add_sid(tld_event_builder *b, const char *name, size_t name_len, const uint8_t *v, size_t len, uint8_t out_type, uint32_t tag);
/* Strings: zstr* stop at the first NUL (kept) or append one; str* are counted. */
int tld_builder_add_zstr8(tld_event_builder *b, const char *name, size_t name_len, const char *v, size_t len, uint8_t out_type, uint32_t tag);
int tld_builder_add_zstr16(tld_event_builder *b, const char *name, size_t name_len, const uint16_t *v, size_t units, uint8_t out_type, uint32_t tag);
int tld_builder_add_str8(tld_event_builder *b, const char *name, size_t name_len, const char *v, size_t len, uint8_t out_type, uint32_t tag);
int tld_builder_add_str16(tld_event_builder *b, const char *name, size_t name_len, const uint16_t *v, size_t units, uint8_t out_type, uint32_t tag);
int tld_builder_add_binary(tld_event_builder *b, const char *name, size_t name_len, const void *v, size_t len, uint8_t out_type, uint32_t tag);
int tld_builder_add_cbinary(tld_event_builder *b, const char *name, size_t name_len, const void *v, size_t len, uint8_t out_type, uint32_t tag);
/* Arrays of fixed-size values: `elem_size` is the size of one element of
 * `in_type` (1, 2, 4, 8 or 16); `values` holds `count` little-endian elements. */
int tld_builder_add_array(tld_event_builder *b, const char *name, size_t name_len, uint8_t in_type,
                          const void *values, size_t count, size_t elem_size, uint8_t out_type, uint32_t tag);
/* Event/field tags for C users must fit in 28 bits. */

/* ---- providers ----------------------------------------------------------- */

typedef struct tld_provider tld_provider;

/*
 * Opens a provider and registers it with every sink of the platform.
 * `id` NULL derives it from the name (ASCII names only from C; pass an id
 * for others). `group_id` NULL means no provider group. Fails with
 * TLD_E_PROVIDER_NAME for an empty name or one containing 0x00, and with
 * TLD_E_TRAITS_TOO_LONG when the traits blob would exceed 65535 bytes.
 */
int tld_provider_open(tld_provider **out, const char *name, size_t name_len,
                      const tld_guid *id, const tld_guid *group_id);

/* Size of the traits blob for a name of `name_len` bytes (must be <= 65535). */
size_t tld_provider_traits_size(size_t name_len, int has_group);

/* Unregisters and frees. NULL is allowed. */
void tld_provider_close(tld_provider *p);

/* The provider traits blob: u16 size, name, 0x00, optional group trait. */
const uint8_t *tld_provider_traits(const tld_provider *p, size_t *len);
const tld_guid *tld_provider_id(const tld_provider *p);

/*
 * The names of the providers open in this process, joined by ", ", most
 * recently opened first, as text for messages ("known: Python, MyApp").
 * Writes at most size - 1 bytes and a NUL (when size > 0); returns the
 * length the whole text has, as snprintf does. Thread-safe.
 */
size_t tld_provider_list_names(char *buf, size_t size);

/*
 * What happened to the listeners of a provider: TLD_LISTENER_ADDED after a
 * trace session that names the provider started, TLD_LISTENER_REMOVED after
 * one stopped; TLD_LISTENER_FLUSH before such a session starts, stops or
 * flushes, while every session that listens still does: a provider that
 * buffers events of its own writes them then.
 */
enum { TLD_LISTENER_ADDED = 1, TLD_LISTENER_REMOVED = 2, TLD_LISTENER_FLUSH = 3 };
typedef void (*tld_provider_enable_callback)(int change, void *context);

/*
 * Sets the function called when sessions that name `p` start or stop (NULL:
 * none), as ETW calls a provider's EnableCallback: a provider may then write
 * what a new listener needs to understand later events (ETW's "rundown",
 * e.g. the names behind ids it will use). It is called after the session is
 * live (so events written from it reach the new session) and after all of
 * the core's locks are released, in the thread that started or stopped the
 * session; it may write events. Earlier sessions see what it writes too.
 * The owner must not close `p` while a session may be starting or stopping.
 * Returns 0, or TLD_E_INVALID_ARG when p is NULL.
 */
int tld_provider_set_enable_callback(tld_provider *p, tld_provider_enable_callback fn, void *context);

/*
 * True when some listener may want events of this level and keyword (ETW
 * rules: level passes when level <= the listener's level or either is 0;
 * keyword passes when 0, or when it has a bit of MatchAny and every bit of
 * MatchAll). Lock-free: a few atomic loads. Conservative across several
 * listeners; write() filters exactly.
 */
int tld_provider_is_enabled(const tld_provider *p, uint8_t level, uint64_t keyword);

/*
 * Delivers the builder's event to every listener whose filter matches.
 * Returns 0 when delivered or when nobody listens, a positive OS error
 * number when a sink failed, or TLD_E_ERROR_STATE for a builder in the error
 * state. Thread-safe: several threads may write through one provider, each
 * with its own builder. Activity ids may be NULL.
 */
int tld_provider_write(tld_provider *p, tld_event_builder *b,
                       const tld_guid *activity_id, const tld_guid *related_activity_id);

/* ---- prepared events ----------------------------------------------------- */

/*
 * For events written at high rates whose name, fields, tags and descriptor
 * never change, only the values of their fields: everything but the data is
 * encoded once, when the event is prepared, and each write copies that and
 * appends the data. Prepare from a builder that holds one such event (its
 * current data is not used); the builder may be reused or destroyed after.
 *
 *     tld_prepared_event *tick;
 *     tld_builder_reset(&eb, "Tick", 4, &desc, 0);
 *     tld_builder_add_uint64(&eb, "Count", 5, 0, 0, 0);
 *     tld_prepared_event_create(&tick, provider, &eb);
 *     ...
 *     uint64_t count = 42;      // the data block: fields in order, little-endian
 *     tld_prepared_event_write(tick, &count, sizeof count);
 *
 * The data must be what the builder would have produced for the values
 * (the caller lays it out; variable-length fields may vary in length). The
 * provider must stay open while the prepared event exists. Fails with
 * TLD_E_ERROR_STATE for a builder in the error state, TLD_E_INVALID_ARG for
 * NULL arguments, TLD_E_NO_MEMORY.
 */
typedef struct tld_prepared_event tld_prepared_event;
int tld_prepared_event_create(tld_prepared_event **out, tld_provider *p, tld_event_builder *b);

/* tld_provider_write() of the prepared event with this data and no activity
 * ids (same return values). Thread-safe. */
int tld_prepared_event_write(tld_prepared_event *e, const void *data, size_t data_len);

/*
 * tld_prepared_event_write() with the event's time given, in ticks of the
 * clock sessions stamp events with (tld_clock_ticks(); 0 means now): for
 * events that describe something that happened earlier, such as a batch of
 * records whose first one is at `timestamp`. A session never lets time go
 * back within one of its buffers: an earlier time than the buffer's last
 * is stored as that one. ETW stamps events itself and ignores it.
 */
int tld_prepared_event_write_at(tld_prepared_event *e, const void *data, size_t data_len, uint64_t timestamp);

/* The current time in the ticks sessions stamp events with (the file
 * header's PerfFreq per second). */
uint64_t tld_clock_now(void);

/* NULL is allowed. No write may be running on it. */
void tld_prepared_event_destroy(tld_prepared_event *e);

#ifdef __cplusplus
}
#endif

#endif /* TRACELOGGING_TLD_H */
