/*
 * providerid.c — provider id from provider name, as ETW tools compute it
 * (EventSource, LoggingChannel, `tracelog -guid *Name`): SHA-1 over a fixed
 * 16-byte namespace followed by the upper-cased name in UTF-16BE; the first
 * 16 digest bytes, with the version nibble of byte 7 set to 5, read as a GUID
 * in bytes_le order. (Almost, not quite, an RFC 4122 v5 UUID: kept as is to
 * match the established ids.)
 */
#include "tracelogging/tld.h"

#include "sha1.h"

#include <stdlib.h>
#include <string.h>

static const uint8_t provider_namespace[16] = {
    0x48, 0x2C, 0x2D, 0xB2, 0xC3, 0x90, 0x47, 0xC8,
    0x87, 0xF8, 0x1A, 0x15, 0xBF, 0xC1, 0x30, 0xFB,
};

void tld_providerid_from_utf16be(const uint8_t *name_upper_utf16be, size_t len, tld_guid *out)
{
    uint8_t digest[20];
    tld_sha1_two(provider_namespace, sizeof provider_namespace, name_upper_utf16be, len, digest);
    memcpy(out->bytes_le, digest, 16);
    out->bytes_le[7] = (uint8_t)((out->bytes_le[7] & 0x0F) | 0x50);
}

int tld_providerid_from_name_ascii(const char *name, size_t len, tld_guid *out)
{
    if ((name == NULL && len != 0) || out == NULL)
        return TLD_E_INVALID_ARG;
    uint8_t small[256];
    uint8_t *utf16 = len * 2 <= sizeof small ? small : malloc(len * 2);
    if (utf16 == NULL)
        return TLD_E_NO_MEMORY;
    int rc = TLD_OK;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (c >= 0x80) {
            rc = TLD_E_INVALID_ARG;
            break;
        }
        if (c >= 'a' && c <= 'z')
            c = (unsigned char)(c - 'a' + 'A');
        utf16[2 * i] = 0;
        utf16[2 * i + 1] = c;
    }
    if (rc == TLD_OK)
        tld_providerid_from_utf16be(utf16, len * 2, out);
    if (utf16 != small)
        free(utf16);
    return rc;
}
