/*
 * test_provider.c — providers through the C API: traits blob (with and
 * without group), ids, the enable-state rules that sinks drive (level
 * bound, MatchAny/MatchAll, several sinks combined), and write().
 */
#include "tracelogging/tld.h"

#include "provider_state.h"
#include "sink.h"

#include "check.h"

/* Two stand-in sinks (think ETW and a session) that count deliveries. */
static int delivered[2];
static int count_delivery(const tld_sink *sink, const tld_provider *p, const tld_event_view *ev)
{
    (void)p;
    (void)ev;
    delivered[sink->name[0] - 'A']++;
    return 0;
}
static const tld_sink sink_a = {.name = "A", .deliver = count_delivery};
static const tld_sink sink_b = {.name = "B", .deliver = count_delivery};

#define NAME(s) s, (sizeof s - 1)

static void test_traits(void)
{
    tld_provider *p;
    tld_guid group = {{0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff}};
    CHECK_EQ_INT(tld_provider_open(&p, NAME("MyProvider"), NULL, &group), TLD_OK);
    size_t n;
    const uint8_t *t = tld_provider_traits(p, &n);
    CHECK_HEX(t, n, "20 00 4d 79 50 72 6f 76 69 64 65 72 00 | 13 00 01 33 22 11 00 55 44 77 66 88 99 aa bb cc dd ee ff");
    /* b3864c38-4273-58c5-545b-8b3608343471 in bytes_le order */
    CHECK_HEX(tld_provider_id(p)->bytes_le, 16, "38 4c 86 b3 73 42 c5 58 54 5b 8b 36 08 34 34 71");
    tld_provider_close(p);

    CHECK_EQ_INT(tld_provider_open(&p, NAME("MyCompany.MyComponent"), NULL, NULL), TLD_OK);
    t = tld_provider_traits(p, &n);
    CHECK_HEX(t, n, "18 00 4d 79 43 6f 6d 70 61 6e 79 2e 4d 79 43 6f 6d 70 6f 6e 65 6e 74 00");
    tld_provider_close(p);

    CHECK_EQ_INT(tld_provider_open(&p, "", 0, NULL, NULL), TLD_E_PROVIDER_NAME);
    CHECK(p == NULL);
    CHECK_EQ_INT(tld_provider_open(&p, NAME("a\0b"), NULL, NULL), TLD_E_PROVIDER_NAME);
}

static void test_enable_rules(void)
{
    tld_provider *p;
    tld_provider_open(&p, NAME("Rules"), NULL, NULL);
    CHECK_EQ_INT(tld_sink_register(&sink_a), TLD_OK);
    CHECK_EQ_INT(tld_sink_register(&sink_b), TLD_OK);
    /* Nobody listens. */
    CHECK_EQ_INT(tld_provider_is_enabled(p, 0, 0), 0);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 1, 1), 0);

    /* Sink A: a listener at level 4 with MatchAny 0x0F and MatchAll 0x03. */
    tld_provider_set_enable_state(p, &sink_a, 4 + 1, 0x0F, 0x03);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 0, 0), 1);      /* level 0 and keyword 0 match everything */
    CHECK_EQ_INT(tld_provider_is_enabled(p, 4, 0), 1);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 5, 0), 0);      /* above the listener's level */
    CHECK_EQ_INT(tld_provider_is_enabled(p, 4, 0x03), 1);   /* any bit and all bits */
    CHECK_EQ_INT(tld_provider_is_enabled(p, 4, 0x07), 1);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 4, 0x01), 0);   /* misses a MatchAll bit */
    CHECK_EQ_INT(tld_provider_is_enabled(p, 4, 0x30), 0);   /* no MatchAny bit */

    /* Sink B adds a listener at level 5 for 0x30 (MatchAll 0x10): the
     * combination is conservative (union of levels and MatchAny, common
     * MatchAll bits), and sink A's wish is not overwritten. */
    tld_provider_set_enable_state(p, &sink_b, 5 + 1, 0x30, 0x10);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 5, 0x20), 1);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 4, 0x01), 1);   /* no longer excluded by A's MatchAll */
    CHECK_EQ_INT(tld_provider_is_enabled(p, 6, 0x01), 0);
    tld_provider_set_enable_state(p, &sink_b, 0, 0, 0);     /* B's listener leaves: A's rules again */
    CHECK_EQ_INT(tld_provider_is_enabled(p, 4, 0x01), 0);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 4, 0x03), 1);

    /* A listener with level 0 takes every level. */
    tld_provider_set_enable_state(p, &sink_a, 256, ~0ull, 0);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 255, 0x8000000000000000ull), 1);

    /* write(): filtered by the same check, then handed to every sink. */
    tld_event_builder b;
    tld_builder_init(&b, 0, 0);
    CHECK_EQ_INT(tld_provider_write(p, &b, NULL, NULL), TLD_E_ERROR_STATE);
    tld_event_descriptor d = tld_event_descriptor_default(5, 1);
    tld_builder_reset(&b, NAME("E"), &d, 0);
    CHECK_EQ_INT(tld_provider_write(p, &b, NULL, NULL), 0);
    CHECK_EQ_INT(delivered[0], 1);
    CHECK_EQ_INT(delivered[1], 1);

    /* Everybody left: disabled again, and nothing is delivered. */
    tld_provider_set_enable_state(p, &sink_a, 0, 0, 0);
    CHECK_EQ_INT(tld_provider_is_enabled(p, 0, 0), 0);
    CHECK_EQ_INT(tld_provider_write(p, &b, NULL, NULL), 0);
    CHECK_EQ_INT(delivered[0], 1);
    tld_builder_destroy(&b);
    tld_provider_close(p);
    tld_provider_close(NULL);
}

int main(void)
{
    test_traits();
    test_enable_rules();
    return check_report("test_provider");
}
