/*
 * simple_event.c — builds a TraceLogging event with the C API, writes it to
 * a provider, and prints the encoded blobs (what ETW or a session receives).
 *
 *     build/dev/simple_event
 */
#include <tracelogging/tld.h>

#include <stdio.h>
#include <string.h>

static void print_hex(const char *label, const uint8_t *p, size_t n)
{
    printf("%-6s", label);
    for (size_t i = 0; i < n; i++)
        printf(" %02x", p[i]);
    printf("\n");
}

int main(void)
{
    static const char provider_name[] = "MyCompany.MyComponent";
    tld_provider *provider;
    int rc = tld_provider_open(&provider, provider_name, strlen(provider_name), NULL, NULL);
    if (rc != TLD_OK) {
        fprintf(stderr, "cannot open provider: %s\n", tld_strerror(rc));
        return 1;
    }

    tld_event_builder eb;
    if ((rc = tld_builder_init(&eb, 0, 0)) != TLD_OK) {
        fprintf(stderr, "cannot create builder: %s\n", tld_strerror(rc));
        return 1;
    }
    tld_event_descriptor desc = tld_event_descriptor_default(4, 0x21);
    desc.opcode = 1; /* start */
    const char *user = "alice";
    const uint16_t path[] = {'C', ':', '\\', 't', 'm', 'p'};
    if ((rc = tld_builder_reset(&eb, "Request", 7, &desc, 0)) != TLD_OK ||
        (rc = tld_builder_add_int32(&eb, "count", 5, 42, 0, 0)) != TLD_OK ||
        (rc = tld_builder_add_str8(&eb, "user", 4, user, strlen(user), TLD_OUT_UTF8, 0)) != TLD_OK ||
        (rc = tld_builder_add_str16(&eb, "path", 4, path, 6, 0, 0)) != TLD_OK ||
        (rc = tld_builder_add_hexint32(&eb, "flags", 5, 0xBEEF, 0, 0)) != TLD_OK ||
        (rc = tld_builder_add_struct(&eb, "point", 5, 2, 0, 0)) != TLD_OK ||
        (rc = tld_builder_add_float64(&eb, "x", 1, 1.5, 0, 0)) != TLD_OK ||
        (rc = tld_builder_add_float64(&eb, "y", 1, -2.0, 0, 0)) != TLD_OK) {
        fprintf(stderr, "cannot build event: %s\n", tld_strerror(rc));
        return 1;
    }

    size_t n;
    const uint8_t *p = tld_provider_traits(provider, &n);
    print_hex("traits", p, n);
    p = tld_builder_meta(&eb, &n);
    print_hex("meta", p, n);
    p = tld_builder_data(&eb, &n);
    print_hex("data", p, n);
    uint8_t d[16];
    tld_event_descriptor_pack(&eb.desc, d);
    print_hex("desc", d, 16);

    printf("enabled: %s\n", tld_provider_is_enabled(provider, 4, 0x21) ? "yes" : "no (no session listens)");
    printf("write: %d\n", tld_provider_write(provider, &eb, NULL, NULL));

    tld_builder_destroy(&eb);
    tld_provider_close(provider);
    return 0;
}
