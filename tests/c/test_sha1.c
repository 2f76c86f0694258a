/*
 * test_sha1.c — the core's SHA-1 against FIPS 180 vectors, and provider ids
 * against ids the reference module computes.
 */
#include "tracelogging/tld.h"

#include "check.h"

static void digest_hex(const char *msg, size_t len, const char *hex)
{
    unsigned char d[20];
    tld_sha1(msg, len, d);
    CHECK_HEX(d, 20, hex);
}

static void guid_string(const tld_guid *g, char out[37])
{
    const unsigned char *b = g->bytes_le;
    sprintf(out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
            b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static void id_is(const char *name, const char *want)
{
    tld_guid g;
    CHECK_EQ_INT(tld_providerid_from_name_ascii(name, strlen(name), &g), TLD_OK);
    char s[37];
    guid_string(&g, s);
    if (strcmp(s, want) != 0) {
        check_failures++;
        fprintf(stderr, "id of '%s' is %s, expected %s\n", name, s, want);
    }
    check_count++;
}

int main(void)
{
    digest_hex("", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    digest_hex("abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
    digest_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
               "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    /* A message that crosses several blocks unevenly. */
    static char million[1000000];
    memset(million, 'a', sizeof million);
    digest_hex(million, sizeof million, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");

    id_is("MyProvider", "b3864c38-4273-58c5-545b-8b3608343471");
    id_is("MYPROVIDER", "b3864c38-4273-58c5-545b-8b3608343471");
    id_is("TestProvider", "97c801ee-c28b-5bb6-2ae4-11e18fe6137a");
    id_is("MyCompany.MyComponent", "ce5fa4ea-ab00-5402-8b76-9f76ac858fb5");
    id_is("", "4445ee6c-fd5a-5b15-047a-5866ffa76aa6");
    id_is("P", "3857f44b-d9e4-5b43-5bd0-84ae013c326b");

    tld_guid g;
    CHECK_EQ_INT(tld_providerid_from_name_ascii("Stra\xc3\x9f" "e", 7, &g), TLD_E_INVALID_ARG);
    return check_report("test_sha1");
}
