/*
 * test_etw_sink.c — the ETW sink (etw_sink.h), on Linux with a table of
 * stand-in entry points and on Windows (under Wine) with the real ones,
 * each wrapped to record its arguments and return code:
 *   - every provider is registered with its id, its traits set with
 *     EventSetInformation(EventProviderSetTraits), and unregistered when it
 *     closes (and at shutdown); every call returns 0;
 *   - the three descriptors handed to EventWriteTransfer are the provider
 *     traits (type 2), the event metadata (type 1) and the data (type 0),
 *     byte for byte what the builder made; the event descriptor and the
 *     activity ids pass through; our decoder turns the captured bytes back
 *     into the fields that were written;
 *   - the enable callback, driven directly (Wine never calls it), sets
 *     what is_enabled() answers by ETW's rules (level, MatchAny, MatchAll;
 *     disable; capture state changes nothing), and the sink writes exactly
 *     the events ETW asked for, while an in-process .etl session beside it
 *     gets the events it asked for;
 *   - prepared events reach ETW too;
 *   - TRACELOGGING_ETW=0 (in a child process) leaves ETW out.
 * With --dump FILE it writes every captured event (descriptor, ids, the
 * three blobs in hex, the decoded fields) to FILE: `make test-windows`
 * compares the dump of the Linux build with the dump of the Windows build
 * run under Wine, which must be identical.
 */
#include "tracelogging/tld.h"
#include "tracelogging/tld_session.h"

#include "etw_sink.h"
#include "json_writer.h"
#include "tl_decoder.h"

#include "check.h"
#include "etl_test_parse.h"
#include "test_tmpdir.h"

#include <stdlib.h>
#include <string.h>

#if defined(_WIN32)
#include "etw_sink_windows.h"
#endif

#define NAME(s) s, (sizeof s - 1)
#define MAX_CAPTURED 64
#define MAX_REGISTRATIONS 16

/* ---- recording entry points ------------------------------------------------------ */

typedef struct captured_event {
    uint64_t handle;
    tld_event_descriptor desc;
    int has_activity, has_related;
    tld_guid activity, related;
    uint32_t count;
    tld_etw_data_descriptor d[3];
    uint8_t *blob[3];
    uint32_t status;
} captured_event;

typedef struct registration {
    tld_guid provider_id;
    void *context;
    uint64_t handle;
    uint32_t status;
    int traits_calls;
    uint32_t traits_class;
    uint8_t traits[256];
    uint32_t traits_len;
    int unregistered;
} registration;

static captured_event captured[MAX_CAPTURED];
static int captured_count;
static registration regs[MAX_REGISTRATIONS];
static int reg_count;
static int calls_failed; /* entry points that returned something other than 0 */

#if defined(_WIN32)
static tld_etw_api real; /* the OS entry points, called by the wrappers below */
#else
static uint64_t next_handle = 0x1000;
#endif

/* The newest live registration with this handle (Wine hands out the same
 * dummy handle every time). */
static registration *registration_of(uint64_t handle)
{
    for (int i = reg_count - 1; i >= 0; i--)
        if (regs[i].handle == handle && !regs[i].unregistered)
            return &regs[i];
    return NULL;
}

static uint32_t rec_register(const tld_guid *id, void *context, uint64_t *handle)
{
#if defined(_WIN32)
    uint32_t rc = real.event_register(id, context, handle);
#else
    uint32_t rc = 0;
    *handle = next_handle++;
#endif
    if (reg_count < MAX_REGISTRATIONS) {
        registration *r = &regs[reg_count++];
        r->provider_id = *id;
        r->context = context;
        r->handle = *handle;
        r->status = rc;
    }
    calls_failed += rc != 0;
    return rc;
}

static uint32_t rec_set_information(uint64_t handle, uint32_t info_class, const void *info, uint32_t len)
{
#if defined(_WIN32)
    uint32_t rc = real.event_set_information(handle, info_class, info, len);
#else
    uint32_t rc = 0;
#endif
    registration *r = registration_of(handle);
    if (r != NULL) {
        r->traits_calls++;
        r->traits_class = info_class;
        r->traits_len = len < sizeof r->traits ? len : (uint32_t)sizeof r->traits;
        memcpy(r->traits, info, r->traits_len);
    }
    calls_failed += rc != 0;
    return rc;
}

static uint32_t rec_write_transfer(uint64_t handle, const tld_event_descriptor *desc, const tld_guid *activity_id,
                                   const tld_guid *related_activity_id, uint32_t count,
                                   const tld_etw_data_descriptor *data)
{
#if defined(_WIN32)
    uint32_t rc = real.event_write_transfer(handle, desc, activity_id, related_activity_id, count, data);
#else
    uint32_t rc = 0;
#endif
    if (captured_count < MAX_CAPTURED) {
        captured_event *c = &captured[captured_count++];
        c->handle = handle;
        c->desc = *desc;
        c->has_activity = activity_id != NULL;
        c->has_related = related_activity_id != NULL;
        if (activity_id)
            c->activity = *activity_id;
        if (related_activity_id)
            c->related = *related_activity_id;
        c->count = count;
        c->status = rc;
        for (uint32_t i = 0; i < count && i < 3; i++) {
            c->d[i] = data[i];
            c->blob[i] = malloc(data[i].size ? data[i].size : 1);
            memcpy(c->blob[i], (const void *)(uintptr_t)data[i].ptr, data[i].size);
        }
    }
    calls_failed += rc != 0;
    return rc;
}

static uint32_t rec_unregister(uint64_t handle)
{
#if defined(_WIN32)
    uint32_t rc = real.event_unregister(handle);
#else
    uint32_t rc = 0;
#endif
    registration *r = registration_of(handle);
    if (r != NULL)
        r->unregistered++;
    calls_failed += rc != 0;
    return rc;
}

/* Installs the recorders: on Windows around the OS entry points the sink
 * registers itself with at the first provider; elsewhere as the sink's
 * only entry points. */
static void install_recorders(void)
{
#if defined(_WIN32)
    real = tld_etw_os_api;
    tld_etw_os_api.event_register = rec_register;
    tld_etw_os_api.event_set_information = rec_set_information;
    tld_etw_os_api.event_write_transfer = rec_write_transfer;
    tld_etw_os_api.event_unregister = rec_unregister;
#else
    static const tld_etw_api recorders = {rec_register, rec_set_information, rec_write_transfer, rec_unregister};
    CHECK_EQ_INT(tld_etw_sink_register(&recorders), 0);
    CHECK_EQ_INT(tld_etw_sink_register(&recorders), TLD_E_INVALID_ARG); /* once per process */
#endif
}

/* What ETW's enable callback reports, through the callback the OS calls
 * on Windows, straight into the sink elsewhere. */
static void etw_enable(const registration *r, uint32_t code, uint8_t level, uint64_t any, uint64_t all)
{
#if defined(_WIN32)
    GUID source = {0};
    tld_etw_windows_enable_callback(&source, code, level, any, all, NULL, r->context);
#else
    tld_etw_sink_enable(r->context, code, level, any, all);
#endif
}

static registration *registration_of_provider(const tld_provider *p)
{
    for (int i = reg_count - 1; i >= 0; i--)
        if (memcmp(regs[i].provider_id.bytes_le, tld_provider_id(p)->bytes_le, 16) == 0)
            return &regs[i];
    return NULL;
}

/* ---- decoding what was captured ------------------------------------------------------ */

/* "provider/event {fields}" of a captured event, by our decoder. */
static void decode_captured(const captured_event *c, jw_buf *out)
{
    tl_decoder *d;
    CHECK_EQ_INT(tl_decoder_new(&d), 0);
    /* Traits: u16 size, provider name, 0. */
    const uint8_t *t = c->blob[0];
    CHECK(c->d[0].size >= 3 && t[0] + 256u * t[1] == c->d[0].size);
    jw_raw(out, (const char *)t + 2, strnlen((const char *)t + 2, c->d[0].size - 2));
    jw_char(out, '/');
    /* Metadata: u16 size, tag byte(s), event name. */
    const uint8_t *m = c->blob[1];
    size_t at = 2;
    while (at < c->d[1].size && (m[at] & 0x80))
        at++;
    at++;
    jw_raw(out, (const char *)m + at, strnlen((const char *)m + at, c->d[1].size - at));
    jw_char(out, ' ');
    CHECK_EQ_INT(tl_decode_fields_json(d, c->blob[1], c->d[1].size, c->blob[2], c->d[2].size, 8, out), 0);
    tl_decoder_free(d);
}

static int captured_is(int i, const char *want)
{
    jw_buf b;
    jw_init(&b);
    decode_captured(&captured[i], &b);
    int same = strcmp(jw_cstr_view(&b), want) == 0;
    if (!same)
        fprintf(stderr, "captured event %d decodes as\n  %s\nexpected\n  %s\n", i, jw_cstr_view(&b), want);
    jw_free(&b);
    return same;
}

static void dump_hex(FILE *f, const char *label, const uint8_t *p, size_t n)
{
    fprintf(f, "%s", label);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
    fputc('\n', f);
}

static void dump_captured(const char *path)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        perror(path);
        check_failures++;
        return;
    }
    for (int i = 0; i < captured_count; i++) {
        const captured_event *c = &captured[i];
        uint8_t desc[16];
        tld_event_descriptor_pack(&c->desc, desc);
        fprintf(f, "event %d: %u descriptors, types %u %u %u\n", i, c->count, c->d[0].type, c->d[1].type,
                c->d[2].type);
        dump_hex(f, "  descriptor ", desc, 16);
        if (c->has_activity)
            dump_hex(f, "  activity ", c->activity.bytes_le, 16);
        if (c->has_related)
            dump_hex(f, "  related ", c->related.bytes_le, 16);
        dump_hex(f, "  traits ", c->blob[0], c->d[0].size);
        dump_hex(f, "  metadata ", c->blob[1], c->d[1].size);
        dump_hex(f, "  data ", c->blob[2], c->d[2].size);
        jw_buf b;
        jw_init(&b);
        decode_captured(c, &b);
        fprintf(f, "  decoded %s\n", jw_cstr_view(&b));
        jw_free(&b);
    }
    fclose(f);
}

/* ---- the tests ------------------------------------------------------------------------------ */

static const tld_guid group = {{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01}};

static void test_registration(void)
{
    int before = reg_count;
    tld_provider *p;
    CHECK_EQ_INT(tld_provider_open(&p, NAME("EtwSink.Registration"), NULL, &group), 0);
    CHECK_EQ_INT(reg_count, before + 1);
    registration *r = registration_of_provider(p);
    CHECK(r != NULL);
    if (r == NULL)
        return;
    CHECK_EQ_INT(r->status, 0);
    CHECK(r->handle != 0);
    CHECK(r->context != NULL);
    /* EventSetInformation(handle, EventProviderSetTraits, traits). */
    size_t traits_len;
    const uint8_t *traits = tld_provider_traits(p, &traits_len);
    CHECK_EQ_INT(r->traits_calls, 1);
    CHECK_EQ_INT(r->traits_class, 2);
    CHECK_EQ_INT(r->traits_len, traits_len);
    CHECK(memcmp(r->traits, traits, traits_len) == 0);
    CHECK_EQ_INT(traits_len, 2 + 20 + 1 + 19); /* name, 0, and the group trait */

    tld_etw_registration_info info;
    CHECK_EQ_INT(tld_etw_registration(p, &info), 0);
    CHECK_EQ_INT(info.handle, r->handle);
    CHECK_EQ_INT(info.register_status, 0);
    CHECK_EQ_INT(info.traits_status, 0);
    CHECK_EQ_INT(info.level_plus1, 0); /* no session has asked yet */

    /* Nobody listens: write succeeds without reaching ETW. */
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    tld_event_descriptor d = tld_event_descriptor_default(4, 0);
    tld_builder_reset(&b, NAME("Unheard"), &d, 0);
    int before_writes = captured_count;
    CHECK_EQ_INT(tld_provider_write(p, &b, NULL, NULL), 0);
    CHECK_EQ_INT(captured_count, before_writes);
    tld_builder_destroy(&b);

    tld_provider_close(p);
    CHECK_EQ_INT(r->unregistered, 1);
    CHECK_EQ_INT(tld_etw_registration(NULL, &info), TLD_E_ETW_NOT_REGISTERED);
}

/* Builds the event every platform writes the same way: fields of most
 * in-types, so the dump compares the encoder's output across builds. */
static void build_rich_event(tld_event_builder *b, uint8_t level, uint64_t keyword)
{
    tld_event_descriptor d = tld_event_descriptor_default(level, keyword);
    d.opcode = 1;
    d.task = 7;
    d.id = 42;
    d.version = 3;
    tld_builder_reset(b, NAME("Rich"), &d, 0x1234);
    tld_builder_add_int8(b, NAME("i8"), -5, 0, 0);
    tld_builder_add_uint16(b, NAME("u16"), 65535, 0, 0);
    tld_builder_add_int32(b, NAME("i32"), -123456, 0, 0);
    tld_builder_add_uint64(b, NAME("u64"), 0xFEDCBA9876543210ull, 0, 0);
    tld_builder_add_hexint32(b, NAME("hex"), 0xBEEF, 0, 0);
    tld_builder_add_float64(b, NAME("pi"), 3.25, 0, 0);
    tld_builder_add_bool32(b, NAME("ok"), 1, 0, 0);
    tld_builder_add_str8(b, NAME("s8"), NAME("caf\xc3\xa9"), TLD_OUT_UTF8, 0);
    static const uint16_t wide[] = {'w', 0x00e9, 'd'};
    tld_builder_add_zstr16(b, NAME("z16"), wide, 3, 0, 0);
    tld_builder_add_guid(b, NAME("g"), &group, 0, 0);
    tld_builder_add_filetime(b, NAME("ft"), 132223104000000000ll, 0, 0);
    static const uint32_t arr[] = {1, 2, 3};
    tld_builder_add_array(b, NAME("arr"), TLD_IN_UINT32, arr, 3, 4, 0, 0);
    tld_builder_add_struct(b, NAME("pt"), 2, 0, 0);
    tld_builder_add_int32(b, NAME("x"), 10, 0, 0);
    tld_builder_add_int32(b, NAME("y"), -20, 0, 0);
    tld_builder_add_binary(b, NAME("bin"), "\x01\x02\xff", 3, 0, 0);
}

static void test_enable_and_write(const char *session_path)
{
    tld_provider *p;
    CHECK_EQ_INT(tld_provider_open(&p, NAME("EtwSink.Writes"), NULL, NULL), 0);
    registration *r = registration_of_provider(p);
    CHECK(r != NULL);
    if (r == NULL)
        return;
    CHECK_EQ_INT(tld_provider_is_enabled(p, 0, 0), 0);

    /* ETW asks for level 4, MatchAny 0x0F, MatchAll 0x03. */
    etw_enable(r, TLD_ETW_CONTROL_ENABLE, 4, 0x0F, 0x03);
    tld_etw_registration_info info;
    CHECK_EQ_INT(tld_etw_registration(p, &info), 0);
    CHECK_EQ_INT(info.level_plus1, 5);
    CHECK_EQ_INT(info.match_any, 0x0F);
    CHECK_EQ_INT(info.match_all, 0x03);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 4, 0x03), 1);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 4, 0), 1);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 1, 0x07), 1);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 5, 0x03), 0);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 4, 0x01), 0); /* misses MatchAll */
    CHECK_EQ_INT(tld_provider_is_enabled(p, 4, 0x30), 0); /* misses MatchAny */

    /* A capture-state request changes nothing. */
    etw_enable(r, TLD_ETW_CONTROL_CAPTURE_STATE, 1, 0x1, 0x1);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 4, 0x03), 1);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 1, 0x01), 0);

    /* An in-process session beside ETW takes level 5, keyword 0x100 only. */
    tld_session_provider want = {.name = "EtwSink.Writes", .name_len = 14, .level = 5, .match_any = 0x100};
    char why[256] = "";
    tld_session_config cfg = {.path = session_path, .providers = &want, .provider_count = 1,
                              .error_message = why, .error_message_size = sizeof why};
    tld_session *s = NULL;
    CHECK_EQ_INT(tld_session_start(&s, &cfg), 0);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 5, 0x100), 1); /* the session's */
    CHECK_EQ_INT(tld_provider_is_enabled(p, 4, 0x03), 1);  /* ETW's */

    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    int first = captured_count;

    /* 1: the rich event, level 4 keyword 0x03 with activity ids: ETW only. */
    build_rich_event(&b, 4, 0x03);
    tld_guid act = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
    tld_guid rel = {{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf}};
    CHECK_EQ_INT(tld_provider_write(p, &b, &act, &rel), 0);
    CHECK_EQ_INT(captured_count, first + 1);
    if (captured_count == first + 1) {
        const captured_event *c = &captured[first];
        CHECK_EQ_INT(c->handle, r->handle);
        CHECK_EQ_INT(c->count, 3);
        CHECK_EQ_INT(c->d[0].type, 2);
        CHECK_EQ_INT(c->d[1].type, 1);
        CHECK_EQ_INT(c->d[2].type, 0);
        CHECK_EQ_INT(c->d[0].reserved1 + c->d[0].reserved2 + c->d[1].reserved1 + c->d[2].reserved2, 0);
        size_t tl, ml, dl;
        const uint8_t *traits = tld_provider_traits(p, &tl);
        const uint8_t *meta = tld_builder_meta(&b, &ml);
        const uint8_t *data = tld_builder_data(&b, &dl);
        CHECK(c->d[0].size == tl && memcmp(c->blob[0], traits, tl) == 0);
        CHECK(c->d[1].size == ml && memcmp(c->blob[1], meta, ml) == 0);
        CHECK(c->d[2].size == dl && memcmp(c->blob[2], data, dl) == 0);
        CHECK(memcmp(&c->desc, &b.desc, sizeof c->desc) == 0);
        CHECK_EQ_INT(c->desc.id, 42);
        CHECK_EQ_INT(c->desc.channel, 11);
        CHECK(c->has_activity && memcmp(c->activity.bytes_le, act.bytes_le, 16) == 0);
        CHECK(c->has_related && memcmp(c->related.bytes_le, rel.bytes_le, 16) == 0);
        CHECK_EQ_INT(c->status, 0);
        CHECK(captured_is(first,
                          "EtwSink.Writes/Rich {\"i8\":-5,\"u16\":65535,\"i32\":-123456,"
                          "\"u64\":18364758544493064720,\"hex\":\"0xbeef\",\"pi\":3.25,\"ok\":true,"
                          "\"s8\":\"caf\xc3\xa9\",\"z16\":\"w\xc3\xa9\x64\","
                          "\"g\":\"44332211-6655-8877-99aa-bbccddeeff01\","
                          "\"ft\":\"2020-01-01T00:00:00.0000000Z\",\"arr\":[1,2,3],"
                          "\"pt\":{\"x\":10,\"y\":-20},\"bin\":\"0102ff\"}"));
    }

    /* 2: no activity ids, a field-less event: three descriptors still, the
     * last of 0 bytes. */
    tld_event_descriptor d = tld_event_descriptor_default(2, 0);
    tld_builder_reset(&b, NAME("Empty"), &d, 0);
    CHECK_EQ_INT(tld_provider_write(p, &b, NULL, NULL), 0);
    CHECK_EQ_INT(captured_count, first + 2);
    if (captured_count == first + 2) {
        const captured_event *c = &captured[first + 1];
        CHECK(!c->has_activity && !c->has_related);
        CHECK_EQ_INT(c->count, 3);
        CHECK_EQ_INT(c->d[2].size, 0);
        CHECK(captured_is(first + 1, "EtwSink.Writes/Empty {}"));
    }

    /* ETW's filter, exactly: these reach only the session, or nobody. */
    static const struct { uint8_t level; uint64_t keyword; int to_etw; } grid[] = {
        {5, 0x103, 0}, /* level above ETW's 4: the session takes it */
        {4, 0x101, 0}, /* misses MatchAll 0x03: the session takes it */
        {4, 0x130, 0}, /* misses MatchAll */
        {3, 0x07, 1},
        {0, 0x0F, 1},  /* level 0 passes any level */
        {5, 0x00, 0},  /* keyword 0 passes, level does not: the session's (keyword 0 passes) */
        {1, 0x00, 1},
    };
    int to_etw = 0, to_session = 1; /* of the two above, "Empty" (keyword 0) is the session's too */
    for (size_t i = 0; i < sizeof grid / sizeof grid[0]; i++) {
        d = tld_event_descriptor_default(grid[i].level, grid[i].keyword);
        tld_builder_reset(&b, NAME("Grid"), &d, 0);
        tld_builder_add_uint32(&b, NAME("i"), (uint32_t)i, 0, 0);
        int before = captured_count;
        CHECK_EQ_INT(tld_provider_write(p, &b, NULL, NULL), 0);
        CHECK_EQ_INT(captured_count - before, grid[i].to_etw);
        to_etw += grid[i].to_etw;
        to_session += grid[i].level <= 5 && (grid[i].keyword == 0 || (grid[i].keyword & 0x100));
    }
    CHECK_EQ_INT(captured_count, first + 2 + to_etw);

    /* A prepared event goes to ETW as well (the sink has no fast path of
     * its own: the provider hands it the plain view). */
    d = tld_event_descriptor_default(4, 0x03);
    tld_builder_reset(&b, NAME("Prepared"), &d, 0);
    tld_builder_add_uint64(&b, NAME("n"), 0, 0, 0);
    tld_prepared_event *e;
    CHECK_EQ_INT(tld_prepared_event_create(&e, p, &b), 0);
    uint64_t n = 77;
    int before = captured_count;
    CHECK_EQ_INT(tld_prepared_event_write(e, &n, sizeof n), 0);
    CHECK_EQ_INT(captured_count, before + 1);
    if (captured_count == before + 1)
        CHECK(captured_is(before, "EtwSink.Writes/Prepared {\"n\":77}"));
    tld_prepared_event_destroy(e);

    tld_session_stats st;
    CHECK_EQ_INT(tld_session_stop(s, &st), 0);
    CHECK_EQ_INT(st.events_written, to_session);
    tp_file f;
    CHECK_EQ_INT(tp_load(&f, session_path, 1), 0);
    CHECK_EQ_INT(f.count, to_session);
    tp_free(&f);

    /* ETW disables the provider: nobody listens any more. */
    etw_enable(r, TLD_ETW_CONTROL_DISABLE, 0, 0, 0);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 1, 0x03), 0);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 0, 0), 0);

    /* Level 0 and MatchAny 0 from ETW: every level, every keyword. */
    etw_enable(r, TLD_ETW_CONTROL_ENABLE, 0, 0, 0);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 255, 0x8000000000000000ull), 1);
    before = captured_count;
    d = tld_event_descriptor_default(5, 0x8000000000000000ull);
    tld_builder_reset(&b, NAME("All"), &d, 0);
    CHECK_EQ_INT(tld_provider_write(p, &b, NULL, NULL), 0);
    CHECK_EQ_INT(captured_count, before + 1);

    tld_builder_destroy(&b);
    tld_provider_close(p);
    CHECK_EQ_INT(r->unregistered, 1);
}

static void test_shutdown(void)
{
    tld_provider *p;
    CHECK_EQ_INT(tld_provider_open(&p, NAME("EtwSink.Shutdown"), NULL, NULL), 0);
    registration *r = registration_of_provider(p);
    CHECK(r != NULL);
    if (r == NULL)
        return;
    etw_enable(r, TLD_ETW_CONTROL_ENABLE, 5, 0, 0);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 5, 1), 1);
    tld_etw_sink_shutdown();
    CHECK_EQ_INT(r->unregistered, 1);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 5, 1), 0);
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    tld_event_descriptor d = tld_event_descriptor_default(5, 1);
    tld_builder_reset(&b, NAME("AfterShutdown"), &d, 0);
    int before = captured_count;
    CHECK_EQ_INT(tld_provider_write(p, &b, NULL, NULL), 0);
    CHECK_EQ_INT(captured_count, before);
    tld_builder_destroy(&b);
    /* Providers opened after shutdown are not registered with ETW. */
    int regs_before = reg_count;
    tld_provider *late;
    CHECK_EQ_INT(tld_provider_open(&late, NAME("EtwSink.Late"), NULL, NULL), 0);
    CHECK_EQ_INT(reg_count, regs_before);
    tld_provider_close(late);
    tld_provider_close(p);
    CHECK_EQ_INT(r->unregistered, 1); /* not twice */
}

/* Child with TRACELOGGING_ETW=0: providers are not registered with ETW
 * (on Windows the sink is never added; elsewhere there is none). */
static int no_etw_child(void)
{
    tld_provider *p;
    if (tld_provider_open(&p, NAME("EtwSink.Off"), NULL, NULL) != 0)
        return 2;
    tld_etw_registration_info info;
    int rc = tld_etw_registration(p, &info);
    tld_provider_close(p);
    return rc == TLD_E_ETW_NOT_REGISTERED ? 0 : 1;
}

static void test_turned_off(void)
{
#if defined(_WIN32)
    SetEnvironmentVariableA("TRACELOGGING_ETW", "0");
#else
    setenv("TRACELOGGING_ETW", "0", 1);
#endif
    const char *args[] = {"--no-etw-child", NULL};
    intptr_t child;
    int spawned = test_spawn(test_self_path(), args, NULL, &child);
#if defined(_WIN32)
    SetEnvironmentVariableA("TRACELOGGING_ETW", NULL);
#else
    unsetenv("TRACELOGGING_ETW");
#endif
    CHECK_EQ_INT(spawned, 0);
    if (spawned == 0)
        CHECK_EQ_INT(test_wait(child), 0);
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--no-etw-child") == 0)
        return no_etw_child();
    const char *dump = argc == 3 && strcmp(argv[1], "--dump") == 0 ? argv[2] : NULL;
    if (tmpdir_create("test_etw_sink") != 0)
        return 1;
    (void)check_hex; /* check.h helper this test does not need */
    install_recorders();
    test_registration();
    char path[600];
    test_enable_and_write(tmp_path(path, sizeof path, "beside-etw.etl"));
    test_shutdown();
    test_turned_off();
    CHECK_EQ_INT(calls_failed, 0);
    if (dump != NULL)
        dump_captured(dump);
    for (int i = 0; i < captured_count; i++)
        for (int k = 0; k < 3; k++)
            free(captured[i].blob[k]);
    return tmpdir_finish(check_report("test_etw_sink"));
}
