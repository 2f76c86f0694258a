/*
 * test_builder.c — the event builder through the public C API: the worked
 * examples of the spec (byte for byte), every limit and its distinct error
 * code, the error state, and the one-call field helpers.
 */
#include "tracelogging/tld.h"

#include "check.h"

#include <stdlib.h>

#define NAME(s) s, (sizeof s - 1)

static const uint8_t *meta_of(tld_event_builder *b, size_t *n) { return tld_builder_meta(b, n); }
static const uint8_t *data_of(tld_event_builder *b, size_t *n) { return tld_builder_data(b, n); }

static void test_minimal_event(void)
{
    tld_event_builder b;
    CHECK_EQ_INT(tld_builder_init(&b, 0, 0), TLD_OK);
    CHECK_EQ_INT(tld_builder_check_state(&b), TLD_E_ERROR_STATE); /* fresh builders are not writable */
    tld_event_descriptor d = tld_event_descriptor_default(5, 1);
    CHECK_EQ_INT(tld_builder_reset(&b, NAME("MyEvent"), &d, 0), TLD_OK);
    CHECK_EQ_INT(tld_builder_add_int32(&b, NAME("count"), 5, 0, 0), TLD_OK);
    size_t n;
    const uint8_t *p = meta_of(&b, &n);
    CHECK_HEX(p, n, "12 00 | 00 | 4d 79 45 76 65 6e 74 00 | 63 6f 75 6e 74 00 07");
    p = data_of(&b, &n);
    CHECK_HEX(p, n, "05 00 00 00");
    uint8_t desc[16];
    tld_event_descriptor_pack(&b.desc, desc);
    CHECK_HEX(desc, 16, "00 00 00 0b 05 00 00 00 01 00 00 00 00 00 00 00");
    tld_builder_destroy(&b);
}

static void test_tags_and_strings(void)
{
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    tld_event_descriptor d = {.id = 7, .version = 2, .channel = 11, .level = 4, .opcode = 1, .task = 3, .keyword = 0x21};
    CHECK_EQ_INT(tld_builder_reset(&b, NAME("Ev2"), &d, 0x0FE00000), TLD_OK);
    CHECK_EQ_INT(tld_builder_add_str8(&b, NAME("msg"), "h\xc3\xa9", 3, TLD_OUT_UTF8, 0), TLD_OK);
    const uint16_t w[] = {0x41, 0xD83D, 0xDE00};
    CHECK_EQ_INT(tld_builder_add_zstr16(&b, NAME("w"), w, 3, 0, 0), TLD_OK);
    CHECK_EQ_INT(tld_builder_add_zstr8(&b, NAME("z"), "ab\0cd", 5, 0, 0), TLD_OK);
    size_t n;
    const uint8_t *p = meta_of(&b, &n);
    CHECK_HEX(p, n, "13 00 | 7f | 45 76 32 00 | 6d 73 67 00 97 23 | 77 00 01 | 7a 00 02");
    p = data_of(&b, &n);
    CHECK_HEX(p, n, "03 00 68 c3 a9 | 41 00 3d d8 00 de 00 00 | 61 62 00");
    uint8_t desc[16];
    tld_event_descriptor_pack(&b.desc, desc);
    CHECK_HEX(desc, 16, "07 00 02 0b 04 01 03 00 21 00 00 00 00 00 00 00");
    tld_builder_destroy(&b);
}

static void test_sequence_struct_guid_binary(void)
{
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    tld_event_descriptor d = tld_event_descriptor_default(5, 1);
    CHECK_EQ_INT(tld_builder_reset(&b, NAME("Seq"), &d, 0x1234000), TLD_OK);
    const uint16_t v[] = {1, 2, 0xFFFF};
    CHECK_EQ_INT(tld_builder_add_array(&b, NAME("v"), TLD_IN_UINT16, v, 3, 2, TLD_OUT_HEX, 0x0ABCDEF), TLD_OK);
    CHECK_EQ_INT(tld_builder_add_struct(&b, NAME("pt"), 2, 0, 0), TLD_OK);
    CHECK_EQ_INT(tld_builder_add_float64(&b, NAME("x"), 1.5, 0, 0), TLD_OK);
    tld_guid g = {{0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}};
    CHECK_EQ_INT(tld_builder_add_guid(&b, NAME("g"), &g, 0, 0), TLD_OK);
    CHECK_EQ_INT(tld_builder_add_binary(&b, NAME("bin"), "\xAA\xBB", 2, 0, 0), TLD_OK);
    size_t n;
    const uint8_t *p = meta_of(&b, &n);
    CHECK_HEX(p, n, "20 00 | 89 0d | 53 65 71 00 | 76 00 c6 84 85 af 9b 6f | 70 74 00 98 02 | 78 00 0c | 67 00 0f | 62 69 6e 00 0e");
    p = data_of(&b, &n);
    CHECK_HEX(p, n, "03 00 01 00 02 00 ff ff | 00 00 00 00 00 00 f8 3f | 67 45 23 01 ab 89 ef cd 01 23 45 67 89 ab cd ef | 02 00 aa bb");
    tld_builder_destroy(&b);
}

static void test_four_byte_tag_and_masking(void)
{
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    tld_event_descriptor d = tld_event_descriptor_default(5, 1);
    CHECK_EQ_INT(tld_builder_reset(&b, NAME("T4"), &d, 0x0123457), TLD_OK);
    /* The low-level call takes tags as passed and masks them (0x10000000 -> 0). */
    CHECK_EQ_INT(tld_builder_add_field(&b, NAME("a"), TLD_IN_INT8, 0, 0x10000000, TLD_FIELD_HAS_TAG), TLD_OK);
    CHECK_EQ_INT(tld_builder_data_append(&b, "\xff", 1), TLD_OK);
    CHECK_EQ_INT(tld_builder_add_field(&b, NAME("b"), TLD_IN_UINT8, 128, 0, TLD_FIELD_HAS_OUT), TLD_OK);
    CHECK_EQ_INT(tld_builder_data_append(&b, "\x7f", 1), TLD_OK);
    CHECK_EQ_INT(tld_builder_add_zstr8(&b, NAME("c"), "x", 1, TLD_OUT_UTF8, 0), TLD_OK);
    size_t n;
    const uint8_t *p = meta_of(&b, &n);
    CHECK_HEX(p, n, "19 00 | 80 c8 e8 57 | 54 34 00 | 61 00 83 80 80 80 80 00 | 62 00 84 00 | 63 00 82 23");
    p = data_of(&b, &n);
    CHECK_HEX(p, n, "ff | 7f | 78 00");
    /* The one-call helpers refuse a tag above 28 bits instead of masking it. */
    CHECK_EQ_INT(tld_builder_add_int8(&b, NAME("t"), 1, 0, 0x10000000), TLD_E_FIELD_TAG);
    tld_builder_destroy(&b);
}

static void test_reset_errors(void)
{
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    tld_event_descriptor d = tld_event_descriptor_default(5, 1);
    CHECK_EQ_INT(tld_event_tag_size(0), 1);
    CHECK_EQ_INT(tld_event_tag_size(0x0FE00000), 1);
    CHECK_EQ_INT(tld_event_tag_size(0x4000), 2);
    CHECK_EQ_INT(tld_event_tag_size(0x1), 4);
    CHECK_EQ_INT(tld_event_tag_size(0x10000000), TLD_E_EVENT_TAG);
    CHECK_EQ_INT(tld_builder_reset(&b, NAME("ok"), &d, 0), TLD_OK);
    /* Validation failures leave a valid builder valid. */
    CHECK_EQ_INT(tld_builder_reset(&b, NAME("bad"), &d, 0x10000000), TLD_E_EVENT_TAG);
    CHECK_EQ_INT(tld_builder_check_state(&b), TLD_OK);
    CHECK_EQ_INT(tld_builder_reset(&b, NAME("b\0d"), &d, 0), TLD_E_NAME_NUL);
    CHECK_EQ_INT(tld_builder_check_state(&b), TLD_OK);
    /* Metadata = 2 (size) + tag + name + 1: with a 1-byte tag a name of
     * 32764 bytes fills exactly 32768 bytes; one more byte is too long. */
    char *big = malloc(TLD_MAX_META_SIZE);
    memset(big, 'n', TLD_MAX_META_SIZE);
    CHECK_EQ_INT(tld_builder_reset(&b, big, TLD_MAX_META_SIZE - 3, &d, 0), TLD_E_META_TOO_LONG);
    CHECK_EQ_INT(tld_builder_check_state(&b), TLD_E_ERROR_STATE);
    CHECK_EQ_INT(tld_builder_reset(&b, big, TLD_MAX_META_SIZE - 4, &d, 0x1), TLD_E_META_TOO_LONG);
    CHECK_EQ_INT(tld_builder_reset(&b, big, TLD_MAX_META_SIZE - 4, &d, 0x0FE00000), TLD_OK);
    size_t n;
    tld_builder_meta(&b, &n);
    CHECK_EQ_INT(n, TLD_MAX_META_SIZE);
    free(big);
    tld_builder_destroy(&b);
}

static void test_slot_limit(void)
{
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    tld_event_descriptor d = tld_event_descriptor_default(5, 1);
    tld_builder_reset(&b, NAME("E"), &d, 0);
    for (int i = 0; i < 127; i++)
        CHECK_EQ_INT(tld_builder_add_uint8(&b, NAME("f"), 1, 0, 0), TLD_OK);
    /* An array needs two slots: with one left it fails and poisons the event. */
    uint8_t one = 1;
    CHECK_EQ_INT(tld_builder_add_array(&b, NAME("a"), TLD_IN_UINT8, &one, 1, 1, 0, 0), TLD_E_TOO_MANY_FIELDS);
    CHECK_EQ_INT(tld_builder_check_state(&b), TLD_E_ERROR_STATE);
    CHECK_EQ_INT(tld_builder_add_uint8(&b, NAME("f"), 1, 0, 0), TLD_E_ERROR_STATE);
    /* 128 scalar fields are fine; the 129th is not. */
    tld_builder_reset(&b, NAME("E"), &d, 0);
    for (int i = 0; i < 128; i++)
        CHECK_EQ_INT(tld_builder_add_uint8(&b, NAME("f"), 1, 0, 0), TLD_OK);
    CHECK_EQ_INT(tld_builder_add_uint8(&b, NAME("f"), 1, 0, 0), TLD_E_TOO_MANY_FIELDS);
    CHECK_EQ_INT(tld_builder_add_uint8(&b, NAME("f"), 1, 0, 0), TLD_E_ERROR_STATE);
    CHECK_EQ_INT(tld_builder_reset(&b, NAME("E"), &d, 0), TLD_OK);
    CHECK_EQ_INT(tld_builder_check_state(&b), TLD_OK);
    tld_builder_destroy(&b);
}

static void test_data_and_meta_limits(void)
{
    tld_event_builder b;
    tld_builder_init(&b, 64, 64); /* small hints: limits must not depend on them */
    tld_event_descriptor d = tld_event_descriptor_default(5, 1);
    tld_builder_reset(&b, NAME("E"), &d, 0);
    static uint8_t blob[70000];
    memset(blob, 0x11, sizeof blob);
    /* 2 + 65534 = 65536 bytes of data: exactly the limit. */
    CHECK_EQ_INT(tld_builder_add_cbinary(&b, NAME("a"), blob, 65534, 0, 0), TLD_OK);
    size_t n;
    const uint8_t *p = tld_builder_data(&b, &n);
    CHECK_EQ_INT(n, 65536);
    CHECK(p[0] == 0xFE && p[1] == 0xFF && p[2] == 0x11 && p[65535] == 0x11); /* data intact (D1) */
    CHECK_EQ_INT(tld_builder_add_uint8(&b, NAME("b"), 1, 0, 0), TLD_E_DATA_TOO_LONG);
    CHECK_EQ_INT(tld_builder_check_state(&b), TLD_E_ERROR_STATE);

    tld_builder_reset(&b, NAME("E"), &d, 0);
    CHECK_EQ_INT(tld_builder_add_cbinary(&b, NAME("a"), blob, 65535, 0, 0), TLD_E_DATA_TOO_LONG);

    /* Metadata: many long-named fields until the 32768-byte limit. */
    tld_builder_reset(&b, NAME("E"), &d, 0);
    char name[300];
    memset(name, 'x', sizeof name);
    int rc = TLD_OK, added = 0;
    while (rc == TLD_OK && added < 120) {
        rc = tld_builder_add_uint8(&b, name, sizeof name, 1, 0, 0);
        added++;
    }
    CHECK_EQ_INT(rc, TLD_E_META_TOO_LONG);
    tld_builder_meta(&b, &n);
    CHECK(n <= TLD_MAX_META_SIZE && n + 302 > TLD_MAX_META_SIZE);
    tld_builder_destroy(&b);
}

static void test_value_errors_leave_builder_alone(void)
{
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    tld_event_descriptor d = tld_event_descriptor_default(5, 1);
    tld_builder_reset(&b, NAME("E"), &d, 0);
    uint8_t sid_short[1] = {1};
    uint8_t sid_bad[9] = {1, 1, 0, 0, 0, 0, 0, 5, 0};
    uint8_t sid_ok[12] = {1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0};
    CHECK_EQ_INT(tld_builder_add_sid(&b, NAME("s"), sid_short, 1, 0, 0), TLD_E_SID_SHORT);
    CHECK_EQ_INT(tld_builder_add_sid(&b, NAME("s"), sid_bad, 9, 0, 0), TLD_E_SID_LENGTH);
    CHECK_EQ_INT(tld_builder_add_struct(&b, NAME("s"), 0, 0, 0), TLD_E_STRUCT_COUNT);
    CHECK_EQ_INT(tld_builder_add_struct(&b, NAME("s"), 128, 0, 0), TLD_E_STRUCT_COUNT);
    CHECK_EQ_INT(tld_builder_add_int8(&b, NAME("n\0"), 1, 0, 0), TLD_E_NAME_NUL);
    size_t n;
    tld_builder_meta(&b, &n);
    CHECK_EQ_INT(n, 5); /* nothing was appended */
    CHECK_EQ_INT(tld_builder_add_sid(&b, NAME("s"), sid_ok, 12, 0, 0), TLD_OK);
    const uint8_t *p = tld_builder_data(&b, &n);
    CHECK_HEX(p, n, "01 01 00 00 00 00 00 05 12 00 00 00");
    CHECK_EQ_INT(tld_builder_check_state(&b), TLD_OK);
    CHECK(strlen(tld_strerror(TLD_E_SID_LENGTH)) > 10);
    tld_builder_destroy(&b);
}

int main(void)
{
    test_minimal_event();
    test_tags_and_strings();
    test_sequence_struct_guid_binary();
    test_four_byte_tag_and_masking();
    test_reset_errors();
    test_slot_limit();
    test_data_and_meta_limits();
    test_value_errors_leave_builder_alone();
    return check_report("test_builder");
}
