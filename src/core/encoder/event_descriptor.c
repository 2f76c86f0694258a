/*
 * event_descriptor.c — the 16-byte ETW EVENT_DESCRIPTOR: its TraceLogging
 * defaults and its little-endian wire form.
 */
#include "tracelogging/tld.h"

#include "byteorder.h"

tld_event_descriptor tld_event_descriptor_default(uint8_t level, uint64_t keyword)
{
    tld_event_descriptor d = {0};
    d.channel = 11; /* WINEVENT_CHANNEL_TRACELOGGING: decoders expect it */
    d.level = level;
    d.keyword = keyword;
    return d;
}

void tld_event_descriptor_pack(const tld_event_descriptor *d, uint8_t out[16])
{
    store_le16(out + 0, d->id);
    out[2] = d->version;
    out[3] = d->channel;
    out[4] = d->level;
    out[5] = d->opcode;
    store_le16(out + 6, d->task);
    store_le64(out + 8, d->keyword);
}
