/*
 * etl_records.c — record layout of the .etl writer (etl_records.h).
 */
#include "etl_records.h"

#include "byteorder.h"
#include "clock.h"
#include "memory.h"
#include "stack.h"
#include "utf16.h"

#include <string.h>

void etl_fill_buffer_header(uint8_t *h, uint32_t buffer_size, uint16_t logger_id, uint32_t used,
                            uint64_t timestamp, uint64_t sequence, uint16_t flag, uint16_t type)
{
    memset(h, 0, ETL_BUFFER_HEADER_SIZE);
    store_le32(h + ETL_BUFFER_SIZE_OFFSET, buffer_size);
    store_le32(h + ETL_BUFFER_SAVED_OFFSET, used);
    store_le32(h + ETL_BUFFER_CURRENT_OFFSET, used);
    store_le64(h + ETL_BUFFER_TIMESTAMP_OFFSET, timestamp);
    store_le64(h + ETL_BUFFER_SEQUENCE_OFFSET, sequence);
    store_le16(h + ETL_BUFFER_LOGGER_OFFSET, logger_id);
    store_le32(h + ETL_BUFFER_STATE_OFFSET, ETL_BUFFER_STATE_FLUSH);
    store_le32(h + ETL_BUFFER_FILLED_OFFSET, used);
    store_le16(h + ETL_BUFFER_FLAG_OFFSET, flag);
    store_le16(h + ETL_BUFFER_TYPE_OFFSET, type);
}

static void store_system_trace_header(uint8_t *p, uint16_t size, uint16_t hook, uint64_t ticks)
{
    store_le32(p + 0x00, ETL_SYSTEM_TRACE_MARKER64);
    store_le16(p + 0x04, size);
    store_le16(p + 0x06, hook);
    store_le32(p + 0x08, tld_thread_id());
    store_le32(p + 0x0C, tld_process_id());
    store_le64(p + 0x10, ticks);            /* SystemTime */
    store_le32(p + 0x18, 0);                /* KernelTime */
    store_le32(p + 0x1C, 0);                /* UserTime */
}

int etl_build_header_buffer(uint8_t *b, uint32_t buffer_size, uint16_t logger_id, const char *logger_name,
                            const char *path, uint32_t *used_out)
{
    size_t logger_bytes = tld_utf16le_from_utf8z(logger_name, NULL, 0);
    size_t path_bytes = tld_utf16le_from_utf8z(path, NULL, 0);
    size_t rec = ETL_SYSTEM_TRACE_HEADER_SIZE + ETL_LOGFILE_HEADER_SIZE + logger_bytes + path_bytes;
    size_t used = ETL_BUFFER_HEADER_SIZE + etl_align8(rec) + ETL_EXTRA_RECORD_SIZE;
    if (rec > 0xFFFF || used > buffer_size)
        return TLD_E_INVALID_ARG;

    memset(b, 0xFF, buffer_size);
    uint64_t start_ticks = tld_clock_ticks();
    uint64_t start_filetime = tld_clock_filetime_now();

    etl_fill_buffer_header(b, buffer_size, logger_id, (uint32_t)used, 0, 0, ETL_BUFFER_FLAG_FIRST_OR_LAST,
                           ETL_BUFFER_TYPE_HEADER);

    uint8_t *r = b + ETL_BUFFER_HEADER_SIZE;
    memset(r, 0, etl_align8(rec));
    store_system_trace_header(r, (uint16_t)rec, ETL_HOOK_LOGFILE_HEADER, start_ticks);

    uint8_t *h = r + ETL_SYSTEM_TRACE_HEADER_SIZE;
    store_le32(h + ETL_LOGFILE_BUFFER_SIZE, buffer_size);
    h[0x04] = 0x0a; h[0x05] = 0x00; h[0x06] = 0x01; h[0x07] = 0x05; /* Version: 10.0, layout 1.5 */
    store_le32(h + ETL_LOGFILE_PROVIDER_VERSION, 19041);      /* a Windows build number */
    store_le32(h + ETL_LOGFILE_PROCESSORS, tld_processor_count());
    store_le64(h + ETL_LOGFILE_END_TIME, start_filetime);    /* updated at each flush */
    store_le32(h + ETL_LOGFILE_TIMER_RESOLUTION, 156250);
    store_le32(h + ETL_LOGFILE_MODE, ETL_LOG_FILE_MODE_SEQUENTIAL);
    store_le32(h + ETL_LOGFILE_BUFFERS_WRITTEN, 1);          /* updated at each flush */
    store_le32(h + ETL_LOGFILE_START_BUFFERS, 1);
    store_le32(h + ETL_LOGFILE_POINTER_SIZE, 8);
    store_le32(h + ETL_LOGFILE_CPU_SPEED, tld_cpu_speed_mhz()); /* never 0 */
    /* 0x38..0x48 LoggerName/LogFileName slots: 0. 0x48: TIME_ZONE_INFORMATION
     * for UTC: Bias 0, StandardName "UTC", all dates and biases 0. */
    static const char utc[] = "UTC";
    for (size_t i = 0; i < 3; i++) {
        store_le16(h + ETL_LOGFILE_TIME_ZONE + 4 + 2 * i, (uint16_t)utc[i]); /* StandardName */
        store_le16(h + ETL_LOGFILE_TIME_ZONE + 4 + 64 + 16 + 4 + 2 * i, (uint16_t)utc[i]); /* DaylightName */
    }
    store_le64(h + ETL_LOGFILE_BOOT_TIME, tld_clock_boot_filetime());
    store_le64(h + ETL_LOGFILE_PERF_FREQ, tld_clock_frequency());
    store_le64(h + ETL_LOGFILE_START_TIME, start_filetime);
    store_le32(h + ETL_LOGFILE_CLOCK_TYPE, ETL_CLOCK_TYPE_QPC);
    uint8_t *names = h + ETL_LOGFILE_HEADER_SIZE;
    tld_utf16le_from_utf8z(logger_name, names, logger_bytes);
    tld_utf16le_from_utf8z(path, names + logger_bytes, path_bytes);

    /* The undocumented 0x50-byte record real files carry: header, 48 zero bytes. */
    uint8_t *x = r + etl_align8(rec);
    memset(x, 0, ETL_EXTRA_RECORD_SIZE);
    store_system_trace_header(x, ETL_EXTRA_RECORD_SIZE, ETL_HOOK_EXTRA_RECORD, start_ticks);

    *used_out = (uint32_t)used;
    return TLD_OK;
}


void etl_update_header_buffer(uint8_t *b, uint64_t end_filetime, uint64_t perf_freq, uint32_t buffers_written,
                              uint32_t events_lost)
{
    uint8_t *h = b + ETL_BUFFER_HEADER_SIZE + ETL_SYSTEM_TRACE_HEADER_SIZE;
    store_le64(h + ETL_LOGFILE_END_TIME, end_filetime);
    store_le64(h + ETL_LOGFILE_PERF_FREQ, perf_freq);
    store_le32(h + ETL_LOGFILE_BUFFERS_WRITTEN, buffers_written);
    store_le32(h + ETL_LOGFILE_EVENTS_LOST, events_lost);
}

static size_t ext_item_size(size_t data_len)
{
    return etl_align8(ETL_EXT_ITEM_HEADER_SIZE + data_len);
}

size_t etl_record_size(const etl_writer_event *ev)
{
    size_t n = ETL_EVENT_HEADER_SIZE;
    if (ev->traits_len)
        n += ext_item_size(ev->traits_len);
    if (ev->meta_len)
        n += ext_item_size(ev->meta_len);
    if (ev->stack_len)
        n += ext_item_size(8 * (1 + ev->stack_len));
    if (ev->related_activity_id)
        n += ext_item_size(16);
    return n + ev->data_len;
}

/* Writes one extended item at p; returns the bytes used. The caller has
 * checked that everything fits in 16 bits. */
static size_t put_ext_item(uint8_t *p, uint16_t type, int more, const void *data, size_t len)
{
    size_t size = ext_item_size(len);
    store_le16(p + 0, (uint16_t)size);
    store_le16(p + 2, type);
    store_le16(p + 4, more ? 1 : 0);        /* Linkage: another item follows */
    store_le16(p + 6, (uint16_t)len);
    memcpy(p + ETL_EXT_ITEM_HEADER_SIZE, data, len);
    memset(p + ETL_EXT_ITEM_HEADER_SIZE + len, 0, size - ETL_EXT_ITEM_HEADER_SIZE - len);
    return size;
}

void etl_format_record(uint8_t *p, size_t size, const etl_writer_event *ev, uint64_t timestamp)
{
    int items = (ev->traits_len != 0) + (ev->meta_len != 0) + (ev->stack_len != 0) +
                (ev->related_activity_id != NULL);
    store_le16(p + 0x00, (uint16_t)size);
    store_le16(p + 0x02, ETL_EVENT_HEADER_TYPE64);
    store_le16(p + 0x04, items ? ETL_EVENT_FLAG_EXTENDED_INFO : 0);
    store_le16(p + 0x06, 0);                /* EventProperty */
    store_le32(p + 0x08, ev->thread_id);
    store_le32(p + 0x0C, ev->process_id);
    store_le64(p + 0x10, timestamp);
    memcpy(p + 0x18, ev->provider_id->bytes_le, 16);
    tld_event_descriptor_pack(ev->desc, p + 0x28);
    store_le32(p + 0x38, 0);                /* KernelTime */
    store_le32(p + 0x3C, 0);                /* UserTime */
    if (ev->activity_id)
        memcpy(p + 0x40, ev->activity_id->bytes_le, 16);
    else
        memset(p + 0x40, 0, 16);

    uint8_t *q = p + ETL_EVENT_HEADER_SIZE;
    if (ev->traits_len)
        q += put_ext_item(q, ETL_EXT_PROV_TRAITS, --items > 0, ev->traits, ev->traits_len);
    if (ev->meta_len)
        q += put_ext_item(q, ETL_EXT_EVENT_SCHEMA_TL, --items > 0, ev->meta, ev->meta_len);
    if (ev->stack_len) {
        size_t len = 8 * (1 + ev->stack_len);
        store_le16(q + 0, (uint16_t)ext_item_size(len));
        store_le16(q + 2, ETL_EXT_STACK_TRACE64);
        store_le16(q + 4, --items > 0);
        store_le16(q + 6, (uint16_t)len);
        store_le64(q + 8, 0);               /* MatchId */
        for (size_t i = 0; i < ev->stack_len; i++)
            store_le64(q + 16 + 8 * i, ev->stack[i]);
        q += ext_item_size(len);
    }
    if (ev->related_activity_id)
        q += put_ext_item(q, ETL_EXT_RELATED_ACTIVITYID, --items > 0, ev->related_activity_id->bytes_le, 16);
    if (ev->data_len)
        memcpy(q, ev->data, ev->data_len);
    memset(p + size, 0, etl_align8(size) - size);
}

/* ---- prepared records ---------------------------------------------------------- */

etl_prepared_record *etl_prepared_record_create(const etl_writer_event *ev)
{
    etl_writer_event e = *ev;
    e.data = NULL;
    e.data_len = 0;
    e.stack = NULL;
    e.stack_len = 0;
    e.process_id = 0;
    e.thread_id = 0;
    size_t head_len = etl_record_size(&e); /* header and items: multiples of 8 */
    if (head_len > ETL_MAX_RECORD_SIZE)
        return NULL;
    etl_prepared_record *r = tld_calloc_lines(1, sizeof *r + head_len);
    if (r == NULL)
        return NULL;
    r->head_len = head_len;
    etl_format_record(r->head, head_len, &e, 0);
    return r;
}

void etl_prepared_record_free(etl_prepared_record *r)
{
    tld_free_aligned(r);
}

