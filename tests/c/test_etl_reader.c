/*
 * test_etl_reader.c — the .etl reader and the TraceLogging decoder:
 *
 *   - AMSITrace.etl, a real file written by Windows (path: argv[1], else
 *     $TLD_AMSI_ETL, else ../shared/data/AMSITrace.etl): 19 AmsiScript
 *     events with their header fields, field values and timestamps;
 *   - every in-type, arrays, nested structs, struct arrays, constant counts,
 *     out-types and string edge cases through tl_decode_fields_json();
 *   - hand-built .etl files: extended items (traits, schema, stacks,
 *     related activity), system and classic records, non-TraceLogging
 *     events, the JSON and text lines;
 *   - damage: truncated records and files, items past their record,
 *     zero-size records, SavedOffset past BufferSize, unknown record types,
 *     metadata promising more than the data holds, and every prefix plus
 *     thousands of byte flips of AMSITrace.etl (run under ASan/UBSan).
 *
 * Extra modes for development: `--dump FILE [--text]` prints the decoded
 * events, `--bench FILE [MiB]` measures decoder throughput, `--seeds DIR`
 * writes hand-built files as fuzzing seeds.
 */
#include "tracelogging/tld.h"

#include "byteorder.h"
#include "clock.h"
#include "etl_reader.h"
#include "json_writer.h"
#include "tl_decoder.h"

#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NAME(s) s, (sizeof s - 1)

static tl_decoder *dec;

/* Checks that `hay` contains `needle`, printing both when not. */
#define CHECK_CONTAINS(hay, needle)                                                              \
    do {                                                                                         \
        check_count++;                                                                           \
        if (!strstr((hay), (needle))) {                                                          \
            check_failures++;                                                                    \
            fprintf(stderr, "%s:%d: missing %s\n  in: %.2000s\n", __FILE__, __LINE__, (needle), (hay)); \
        }                                                                                        \
    } while (0)

#define CHECK_STREQ(got, want)                                                                   \
    do {                                                                                         \
        check_count++;                                                                           \
        if (strcmp((got), (want)) != 0) {                                                        \
            check_failures++;                                                                    \
            fprintf(stderr, "%s:%d: got  %s\n    want %s\n", __FILE__, __LINE__, (got), (want)); \
        }                                                                                        \
    } while (0)

/* ---- a tiny .etl writer for hand-built files ----------------------------- */

typedef struct fbuild {
    uint8_t *data;
    size_t len;
    uint32_t bs;
    uint32_t off;   /* fill offset in the current (last) buffer */
} fbuild;

static const uint64_t T_START_CLOCK = 5000000;       /* SystemTime in the header */
static const uint64_t T_START_FT = 133000000000000000ull; /* 2022-06-18T04:26:40Z */
static const uint64_t T_FREQ = 10000000;

static void fb_begin_buffer(fbuild *f)
{
    f->data = realloc(f->data, f->len + f->bs);
    memset(f->data + f->len, 0, ETL_BUFFER_HEADER_SIZE);
    store_le32(f->data + f->len, f->bs);
    store_le16(f->data + f->len + 0x2C, 3);
    f->len += f->bs;
    f->off = ETL_BUFFER_HEADER_SIZE;
}

static void fb_end_buffer(fbuild *f)
{
    uint8_t *b = f->data + f->len - f->bs;
    store_le32(b + 4, f->off);
    store_le32(b + 8, f->off);
    store_le32(b + 0x30, f->off);
    store_le16(b + 0x34, 0x20);
    memset(b + f->off, 0xFF, f->bs - f->off);
}

static void fb_init(fbuild *f, uint32_t bs, uint32_t clock_type)
{
    memset(f, 0, sizeof *f);
    f->bs = bs;
    fb_begin_buffer(f);
    uint8_t *r = f->data + ETL_BUFFER_HEADER_SIZE;
    static const uint8_t names[] = {'S', 0, 'e', 0, 's', 0, 0, 0, 'f', 0, '.', 0, 'e', 0, 't', 0, 'l', 0, 0, 0};
    uint32_t size = 0x20 + 0x118 + sizeof names;
    memset(r, 0, size);
    store_le32(r, 0xC0020002u);
    store_le16(r + 4, (uint16_t)size);
    store_le64(r + 0x10, T_START_CLOCK);
    uint8_t *t = r + 0x20;
    store_le32(t + 0x00, bs);
    store_le32(t + 0x08, 19041);
    store_le32(t + 0x0C, 4);
    store_le64(t + 0x10, T_START_FT + 36000000000ull); /* EndTime: one hour later */
    store_le32(t + 0x2C, 8);
    store_le32(t + 0x30, 7); /* EventsLost */
    store_le64(t + 0x100, T_FREQ);
    store_le64(t + 0x108, T_START_FT);
    store_le32(t + 0x110, clock_type);
    memcpy(t + 0x118, names, sizeof names);
    f->off += (size + 7) & ~7u;
}

/* Appends a record (padded to 8) to the current buffer, or a new one. */
static void fb_add(fbuild *f, const uint8_t *rec, size_t size)
{
    size_t padded = (size + 7) & ~(size_t)7;
    if (f->off + padded > f->bs) {
        fb_end_buffer(f);
        fb_begin_buffer(f);
    }
    uint8_t *b = f->data + f->len - f->bs;
    memcpy(b + f->off, rec, size);
    memset(b + f->off + size, 0, padded - size);
    f->off += (uint32_t)padded;
}

/* Ends the file as a stopped session leaves it: BuffersWritten set, the
 * flush marker (flag 0x01) on buffer 0 and on the last buffer. */
static void fb_finish(fbuild *f)
{
    fb_end_buffer(f);
    store_le32(f->data + ETL_BUFFER_HEADER_SIZE + 0x20 + 0x24, (uint32_t)(f->len / f->bs));
    store_le16(f->data + 0x34, 0x21);
    store_le16(f->data + f->len - f->bs + 0x34, 0x21);
}

typedef struct tevent {
    tld_guid provider;
    tld_event_descriptor desc;
    uint32_t pid, tid;
    uint64_t ts;
    const uint8_t *traits;
    size_t traits_len;
    const uint8_t *meta;
    size_t meta_len;
    const uint8_t *data;
    size_t data_len;
    const tld_guid *activity;
    const tld_guid *related;
    const uint64_t *stack;
    uint32_t nstack;
    uint16_t extra_flags;
} tevent;

static size_t put_item(uint8_t *p, uint16_t type, const void *d, size_t n, int more)
{
    size_t size = (8 + n + 7) & ~(size_t)7;
    memset(p, 0, size);
    store_le16(p, (uint16_t)size);
    store_le16(p + 2, type);
    store_le16(p + 4, more ? 1 : 0);
    store_le16(p + 6, (uint16_t)n);
    if (n)
        memcpy(p + 8, d, n);
    return size;
}

/* Builds an EVENT_HEADER record into out[65536]; returns its size. */
static size_t make_event(uint8_t *out, const tevent *e)
{
    memset(out, 0, 0x50);
    int items = (e->related != NULL) + (e->traits != NULL) + (e->meta != NULL) + (e->stack != NULL);
    store_le16(out + 2, 0xC013);
    store_le16(out + 4, (uint16_t)((items ? 1 : 0) | e->extra_flags));
    store_le32(out + 8, e->tid);
    store_le32(out + 12, e->pid);
    store_le64(out + 16, e->ts);
    memcpy(out + 24, e->provider.bytes_le, 16);
    tld_event_descriptor_pack(&e->desc, out + 40);
    if (e->activity)
        memcpy(out + 64, e->activity->bytes_le, 16);
    size_t at = 0x50;
    if (e->related)
        at += put_item(out + at, 1, e->related->bytes_le, 16, --items > 0);
    if (e->traits)
        at += put_item(out + at, 0x0C, e->traits, e->traits_len, --items > 0);
    if (e->meta)
        at += put_item(out + at, 0x0B, e->meta, e->meta_len, --items > 0);
    if (e->stack) {
        uint8_t s[8 + 8 * 64];
        store_le64(s, 77); /* MatchId */
        for (uint32_t i = 0; i < e->nstack; i++)
            store_le64(s + 8 + 8 * i, e->stack[i]);
        at += put_item(out + at, 0x06, s, 8 + 8 * (size_t)e->nstack, --items > 0);
    }
    memcpy(out + at, e->data, e->data_len);
    at += e->data_len;
    store_le16(out, (uint16_t)at);
    return at;
}

static size_t make_traits(uint8_t *out, const char *name)
{
    size_t n = strlen(name);
    store_le16(out, (uint16_t)(n + 3));
    memcpy(out + 2, name, n + 1);
    return n + 3;
}

/* Decodes a whole in-memory file: all JSON lines into `out`; returns the
 * number of events, counting reader errors into *errors. */
static int decode_all(const uint8_t *data, size_t len, jw_buf *out, int *errors, int *decode_errors, int format)
{
    etl_reader r;
    etl_event ev;
    int n = 0, rc;
    *errors = 0;
    if (decode_errors)
        *decode_errors = 0;
    if (etl_reader_open(&r, data, len) != 0) {
        (*errors)++;
        etl_reader_close(&r);
        return 0;
    }
    int guard = 0;
    while ((rc = etl_reader_next(&r, &ev)) != TLD_E_END) {
        if (++guard > 1000000) {
            CHECK(!"reader does not terminate");
            break;
        }
        if (rc < 0) {
            (*errors)++;
            CHECK(etl_reader_message(&r)[0] != '\0');
            continue;
        }
        n++;
        int drc = tl_decoder_format_event(dec, &ev, format, out);
        CHECK(drc == 0 || drc == TLD_E_DECODE_PARTIAL);
        if (drc == TLD_E_DECODE_PARTIAL && decode_errors)
            (*decode_errors)++;
    }
    etl_reader_close(&r);
    return n;
}

/* ---- AMSITrace.etl -------------------------------------------------------- */

static const char *amsi_path(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (argv[i][0] != '-')
            return argv[i];
    const char *e = getenv("TLD_AMSI_ETL");
    return e ? e : "../shared/data/AMSITrace.etl";
}

static void test_amsi(const char *path)
{
    uint8_t *data;
    size_t len;
    int rc = etl_load_file(path, &data, &len);
    if (rc != 0) {
        fprintf(stderr, "cannot read %s (set TLD_AMSI_ETL or pass the path)\n", path);
        CHECK_EQ_INT(rc, 0);
        return;
    }
    CHECK_EQ_INT(len, 393216);
    etl_reader r;
    CHECK_EQ_INT(etl_reader_open(&r, data, len), 0);
    const etl_logfile_header *h = etl_reader_header(&r);
    CHECK(h->present);
    CHECK_EQ_INT(h->buffer_size, 65536);
    CHECK_EQ_INT(h->buffers_written, 6);
    CHECK_EQ_INT(h->pointer_size, 8);
    CHECK_EQ_INT(h->perf_freq, 10000000);
    CHECK_EQ_INT(h->clock_type, 1);
    CHECK_EQ_INT(h->provider_version, 18362);
    CHECK_EQ_INT(h->number_of_processors, 8);
    CHECK(h->start_time == 0x01d5e5908e630582ull);
    CHECK(h->end_time == 0x01d5e590c3cbc636ull);
    CHECK(h->start_clock == 0x27f2e70e03dull);
    jw_buf s;
    jw_init(&s);
    jw_escape_utf16le(&s, h->logger_name, h->logger_name_bytes);
    CHECK_STREQ(jw_cstr_view(&s), "AMSITraceSession");
    jw_clear(&s);
    jw_escape_utf16le(&s, h->logfile_name, h->logfile_name_bytes);
    CHECK_STREQ(jw_cstr_view(&s), "c:\\\\work\\\\AMSITrace.etl");
    jw_free(&s);

    etl_event ev;
    jw_buf out;
    jw_init(&out);
    int events = 0, errors = 0;
    unsigned pid_29868 = 0, pid_33992 = 0;
    uint64_t prev_ts = 0;
    uint32_t prev_off[6] = {0};
    char first[4096] = "", earliest[4096] = "";
    while ((rc = etl_reader_next(&r, &ev)) != TLD_E_END) {
        if (rc < 0) {
            errors++;
            fprintf(stderr, "unexpected: %s\n", etl_reader_message(&r));
            continue;
        }
        events++;
        /* Records come in time order (the six buffers interleave in time),
         * each buffer's in file order. */
        CHECK(ev.timestamp >= prev_ts);
        prev_ts = ev.timestamp;
        CHECK(ev.buffer_index >= 1 && ev.buffer_index < 6);
        if (ev.buffer_index < 6) {
            CHECK(ev.offset > prev_off[ev.buffer_index]);
            prev_off[ev.buffer_index] = ev.offset;
        }
        CHECK_EQ_INT(ev.kind, ETL_KIND_EVENT_HEADER);
        CHECK_EQ_INT(ev.header_type, 0xC013);
        CHECK_EQ_INT(ev.descriptor.level, 5);
        CHECK(ev.descriptor.keyword == 0);
        CHECK_EQ_INT(ev.descriptor.channel, 11);
        CHECK_EQ_INT(ev.descriptor.id, 0);
        CHECK(ev.prov_traits != NULL && ev.event_schema != NULL);
        CHECK_EQ_INT(ev.ext_count, 2);
        CHECK(!ev.has_stack && !ev.has_related_activity_id);
        CHECK(ev.filetime >= h->start_time && ev.filetime <= h->end_time);
        pid_29868 += ev.process_id == 29868;
        pid_33992 += ev.process_id == 33992;
        tl_event_names names;
        CHECK_EQ_INT(tl_event_get_names(&ev, &names), 0);
        CHECK(names.provider_len == 9 && memcmp(names.provider, "AmsiTrace", 9) == 0);
        CHECK(names.event_len == 10 && memcmp(names.event, "AmsiScript", 10) == 0);

        jw_clear(&out);
        CHECK_EQ_INT(tl_decoder_format_event(dec, &ev, TL_FORMAT_JSON, &out), 0);
        const char *line = jw_cstr_view(&out);
        CHECK_CONTAINS(line, "\"provider\":\"AmsiTrace\",\"provider_id\":\"8e805eb3-6a8f-4a1e-90fa-a831d94e54a1\","
                             "\"event\":\"AmsiScript\",\"level\":5,\"keyword\":\"0x0\",\"opcode\":0,\"id\":0,"
                             "\"version\":0,\"task\":0,\"channel\":11,");
        CHECK_CONTAINS(line, "\"related_activity_id\":null,\"fields\":{\"Engine\":\"");
        CHECK_CONTAINS(line, "\",\"Script\":\"");
        CHECK_CONTAINS(line, "\",\"Raw Script\":\"");
        CHECK(strstr(line, "\"error\"") == NULL && strstr(line, "\"unparsed\"") == NULL);
        if (ev.buffer_index == 1 && ev.offset == 0x48) /* the first in file order */
            snprintf(first, sizeof first, "%s", line);
        if (events == 1)
            snprintf(earliest, sizeof earliest, "%s", line);
    }
    CHECK_EQ_INT(errors, 0);
    CHECK_EQ_INT(events, 19);
    CHECK_EQ_INT(r.events, 19);
    CHECK_EQ_INT(r.damaged_records, 0);
    CHECK_EQ_INT(r.system_records, 2); /* the logfile header and the 0x50-byte HookId 0x0050 record */
    /* The README names 29868 and 33992; the file also has events from five other processes. */
    CHECK_EQ_INT(pid_29868, 5);
    CHECK_EQ_INT(pid_33992, 5);

    /* The earliest event (buffer 3; the first in file order, below, is 0.3 s later). */
    CHECK_CONTAINS(earliest, "{\"time\":\"2020-02-17T12:48:57.4542723Z\",");
    CHECK_CONTAINS(earliest, "\"pid\":38080,\"tid\":40928,\"activity_id\":null,");
    CHECK_CONTAINS(earliest, "\"Engine\":\"VBScript\",\"Script\":\"IWshShell3.Run(");

    /* The first event in file order, field by field (values checked against a separate Python walk of the file). */
    CHECK_CONTAINS(first, "{\"time\":\"2020-02-17T12:48:57.7518824Z\",");
    CHECK_CONTAINS(first, "\"pid\":29868,\"tid\":27320,\"activity_id\":\"66931e3d-e311-0000-06d0-af6611e3d501\",");
    CHECK_CONTAINS(first, "\"Engine\":\"PowerShell_C:\\\\Windows\\\\System32\\\\WindowsPowerShell\\\\v1.0\\\\powershell.exe_10.0.18362.1\"");
    CHECK_CONTAINS(first, "\"Script\":\"if ($this.Name.IndexOf('-') -lt 0)\\r\\n          {\\r\\n          ");
    /* Raw Script is UINT16[] with out-type STRING (char16): the same text as Script. */
    CHECK_CONTAINS(first, "\"Raw Script\":\"if ($this.Name.IndexOf('-') -lt 0)\\r\\n");
    const char *a = strstr(first, "\"Script\":\""), *b = strstr(first, "\"Raw Script\":\"");
    if (a && b) {
        a += 10;
        b += 14;
        const char *ae = strstr(a, "\",\""), *be = strstr(b, "\"}");
        CHECK(ae && be && ae - a == be - b && memcmp(a, b, (size_t)(ae - a)) == 0);
        CHECK(ae && ae - a > 300);
    }

    /* Text form of the earliest event. */
    etl_reader_open(&r, data, len);
    etl_reader_next(&r, &ev);
    jw_clear(&out);
    CHECK_EQ_INT(tl_decoder_format_event(dec, &ev, TL_FORMAT_TEXT, &out), 0);
    CHECK_CONTAINS(jw_cstr_view(&out), "2020-02-17T12:48:57.4542723Z AmsiTrace/AmsiScript 5 38080 40928 Engine=\"VBScript\"");
    CHECK_CONTAINS(jw_cstr_view(&out), " Raw Script=\"IWshShell3.Run(");
    etl_reader_close(&r);

    /* Whole file in one go; every line is one event. */
    jw_clear(&out);
    int derr;
    CHECK_EQ_INT(decode_all(data, len, &out, &errors, &derr, TL_FORMAT_JSON), 19);
    CHECK_EQ_INT(errors, 0);
    CHECK_EQ_INT(derr, 0);
    size_t lines = 0;
    for (size_t i = 0; i < out.len; i++)
        lines += out.data[i] == '\n';
    CHECK_EQ_INT(lines, 19);
    jw_free(&out);
    etl_free_file(data);
}

/* ---- JSON writer ------------------------------------------------------------ */

static void test_json_writer(void)
{
    jw_buf b;
    jw_init(&b);
    jw_string_utf8(&b, (const uint8_t *)"a\"b\\c\n\t\x01\x1f\x7f", 10);
    CHECK_STREQ(jw_cstr_view(&b), "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f\x7f\"");
    jw_clear(&b);
    /* Valid multi-byte UTF-8 passes; invalid bytes, overlongs, surrogates become U+FFFD. */
    static const char mixed[] = "\xc3\xa9\xf0\x9f\x98\x80|\xff|\xc0\xaf|\xed\xa0\x80|\xe2\x82";
    jw_string_utf8(&b, (const uint8_t *)mixed, sizeof mixed - 1);
    CHECK_STREQ(jw_cstr_view(&b), "\"\xc3\xa9\xf0\x9f\x98\x80|\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|"
                                  "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\"");
    jw_clear(&b);
    /* UTF-16: BMP, a surrogate pair, a lone high and a lone low surrogate, an odd trailing byte. */
    static const uint8_t u16[] = {'A', 0, 0xE9, 0, 0x3D, 0xD8, 0x00, 0xDE, 0x3D, 0xD8, 'x', 0, 0x00, 0xDC, '"', 0, 7};
    jw_string_utf16le(&b, u16, sizeof u16);
    CHECK_STREQ(jw_cstr_view(&b), "\"A\xc3\xa9\xf0\x9f\x98\x80\xef\xbf\xbdx\xef\xbf\xbd\\\"\xef\xbf\xbd\"");
    jw_clear(&b);
    static const uint8_t ansi[] = {'a', 0x80, 0x81, 0xE9, 0x9F};
    jw_string_cp1252(&b, ansi, sizeof ansi);
    CHECK_STREQ(jw_cstr_view(&b), "\"a\xe2\x82\xac\xef\xbf\xbd\xc3\xa9\xc5\xb8\"");
    jw_clear(&b);
    jw_i64(&b, INT64_MIN);
    jw_char(&b, ' ');
    jw_u64(&b, UINT64_MAX);
    jw_char(&b, ' ');
    jw_hex_u64(&b, 0);
    jw_hex_u64(&b, 0xDEADBEEFCAFEull);
    CHECK_STREQ(jw_cstr_view(&b), "-9223372036854775808 18446744073709551615 \"0x0\"\"0xdeadbeefcafe\"");
    jw_clear(&b);
    jw_double(&b, 0.1);
    jw_char(&b, ' ');
    jw_double(&b, 1.0 / 3);
    jw_char(&b, ' ');
    jw_double(&b, NAN);
    jw_double(&b, -INFINITY);
    jw_float(&b, INFINITY);
    jw_char(&b, ' ');
    jw_float(&b, 0.1f);
    jw_char(&b, ' ');
    jw_double(&b, 1e300);
    jw_char(&b, ' ');
    jw_double(&b, -0.0);
    CHECK_STREQ(jw_cstr_view(&b), "0.1 0.33333333333333331 \"nan\"\"-inf\"\"inf\" 0.1 1e+300 -0");
    jw_clear(&b);
    jw_filetime(&b, 0);
    jw_filetime(&b, T_START_FT + 1234567);
    jw_filetime(&b, UINT64_MAX);
    CHECK_STREQ(jw_cstr_view(&b), "\"1601-01-01T00:00:00.0000000Z\"\"2022-06-18T04:26:40.1234567Z\""
                                  "\"60056-05-28T05:36:10.9551615Z\"");
    jw_clear(&b);
    static const uint8_t g[16] = {0xb3, 0x5e, 0x80, 0x8e, 0x8f, 0x6a, 0x1e, 0x4a,
                                  0x90, 0xfa, 0xa8, 0x31, 0xd9, 0x4e, 0x54, 0xa1};
    jw_guid(&b, g);
    jw_hex_bytes(&b, g, 3);
    CHECK_STREQ(jw_cstr_view(&b), "\"8e805eb3-6a8f-4a1e-90fa-a831d94e54a1\"\"b35e80\"");
    jw_free(&b);
}

/* ---- field types ------------------------------------------------------------ */

/* Decodes the builder's event with tl_decode_fields_json and compares. */
static void expect_fields(tld_event_builder *eb, unsigned psize, int want_rc, const char *want, int line)
{
    size_t ml, dl;
    const uint8_t *m = tld_builder_meta(eb, &ml);
    const uint8_t *d = tld_builder_data(eb, &dl);
    jw_buf out;
    jw_init(&out);
    int rc = tl_decode_fields_json(dec, m, ml, d, dl, psize, &out);
    const char *got = jw_cstr_view(&out);
    check_count++;
    if (rc != want_rc || strcmp(got, want) != 0) {
        check_failures++;
        fprintf(stderr, "%s:%d: rc %d (want %d)\n  got  %s\n  want %s\n  error: %s\n", __FILE__, line, rc,
                want_rc, got, want, tl_decoder_error(dec));
    }
    jw_free(&out);
}
#define EXPECT_FIELDS(eb, want) expect_fields((eb), 8, 0, (want), __LINE__)

static void begin(tld_event_builder *eb)
{
    tld_event_descriptor d = tld_event_descriptor_default(5, 1);
    tld_builder_reset(eb, NAME("E"), &d, 0);
}

static void test_scalars(void)
{
    tld_event_builder eb;
    tld_builder_init(&eb, 0, 0);
    begin(&eb);
    tld_builder_add_int8(&eb, NAME("i8"), -128, 0, 0);
    tld_builder_add_uint8(&eb, NAME("u8"), 255, 0, 0);
    tld_builder_add_int16(&eb, NAME("i16"), -32768, 0, 0);
    tld_builder_add_uint16(&eb, NAME("u16"), 65535, 0, 0);
    tld_builder_add_int32(&eb, NAME("i32"), INT32_MIN, 0, 0);
    tld_builder_add_uint32(&eb, NAME("u32"), UINT32_MAX, 0, 0);
    tld_builder_add_int64(&eb, NAME("i64"), INT64_MIN, 0, 0);
    tld_builder_add_uint64(&eb, NAME("u64"), UINT64_MAX, 0, 0);
    tld_builder_add_float32(&eb, NAME("f"), 1.5f, 0, 0);
    tld_builder_add_float64(&eb, NAME("d"), -2.25e-300, 0, 0);
    tld_builder_add_float64(&eb, NAME("nan"), NAN, 0, 0);
    tld_builder_add_float32(&eb, NAME("inf"), -INFINITY, 0, 0);
    tld_builder_add_bool32(&eb, NAME("t"), 1, 0, 0);
    tld_builder_add_bool32(&eb, NAME("f2"), 0, 0, 0);
    tld_builder_add_hexint32(&eb, NAME("h32"), 0xABCDEF01u, 0, 0);
    tld_builder_add_hexint64(&eb, NAME("h64"), 0x0123456789ABCDEFull, 0, 0);
    tld_builder_add_int32(&eb, NAME("hexout"), -1, TLD_OUT_HEX, 0);
    tld_builder_add_uint8(&eb, NAME("bool8"), 2, TLD_OUT_BOOLEAN, 0);
    tld_builder_add_uint8(&eb, NAME("c8"), 0xE9, TLD_OUT_STRING, 0);
    tld_builder_add_uint16(&eb, NAME("c16"), 0x20AC, TLD_OUT_STRING, 0);
    tld_builder_add_uint32(&eb, NAME("ip"), 0x0100007F, TLD_OUT_IPV4, 0);
    tld_builder_add_uint16(&eb, NAME("port"), 0x5000, TLD_OUT_PORT, 0);
    tld_builder_add_int32(&eb, NAME("hr"), (int32_t)0x80004005, TLD_OUT_HRESULT, 0);
    tld_builder_add_uint32(&eb, NAME("pid"), 1234, TLD_OUT_PID, 0);
    tld_builder_add_int32(&eb, NAME("tagged"), 7, 0, 0x0ABCDEF);
    EXPECT_FIELDS(&eb, "{\"i8\":-128,\"u8\":255,\"i16\":-32768,\"u16\":65535,\"i32\":-2147483648,"
                       "\"u32\":4294967295,\"i64\":-9223372036854775808,\"u64\":18446744073709551615,"
                       "\"f\":1.5,\"d\":-2.25e-300,\"nan\":\"nan\",\"inf\":\"-inf\",\"t\":true,\"f2\":false,"
                       "\"h32\":\"0xabcdef01\",\"h64\":\"0x123456789abcdef\",\"hexout\":\"0xffffffff\","
                       "\"bool8\":true,\"c8\":\"\xc3\xa9\",\"c16\":\"\xe2\x82\xac\",\"ip\":\"127.0.0.1\","
                       "\"port\":80,\"hr\":\"0x80004005\",\"pid\":1234,\"tagged\":7}");

    begin(&eb);
    static const uint8_t g[16] = {0xb3, 0x5e, 0x80, 0x8e, 0x8f, 0x6a, 0x1e, 0x4a,
                                  0x90, 0xfa, 0xa8, 0x31, 0xd9, 0x4e, 0x54, 0xa1};
    tld_guid guid;
    memcpy(guid.bytes_le, g, 16);
    tld_builder_add_guid(&eb, NAME("g"), &guid, 0, 0);
    tld_builder_add_filetime(&eb, NAME("ft"), (int64_t)T_START_FT + 5, 0, 0);
    static const uint8_t st[16] = {0xE6, 0x07, 11, 0, 6, 0, 21, 0, 20, 0, 51, 0, 21, 0, 0x0A, 0x01};
    tld_builder_add_systemtime(&eb, NAME("st"), st, 0, 0);
    static const uint8_t sid[] = {1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 2, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0xE9, 3, 0, 0};
    tld_builder_add_sid(&eb, NAME("sid"), sid, sizeof sid, 0, 0);
    static const uint8_t sid0[] = {1, 0, 0, 0, 0, 0, 0, 0};
    tld_builder_add_sid(&eb, NAME("sid0"), sid0, sizeof sid0, 0, 0);
    tld_builder_add_binary(&eb, NAME("bin"), "\x00\x01\xfe\xff", 4, 0, 0);
    tld_builder_add_cbinary(&eb, NAME("cbin"), "AB", 2, 0, 0);
    tld_builder_add_binary(&eb, NAME("empty"), "", 0, 0, 0);
    static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    tld_builder_add_binary(&eb, NAME("v6"), v6, 16, TLD_OUT_IPV6, 0);
    EXPECT_FIELDS(&eb, "{\"g\":\"8e805eb3-6a8f-4a1e-90fa-a831d94e54a1\",\"ft\":\"2022-06-18T04:26:40.0000005Z\","
                       "\"st\":\"2022-11-21T20:51:21.266Z\",\"sid\":\"S-1-5-21-513-3-4-1001\",\"sid0\":\"S-1-0\","
                       "\"bin\":\"0001feff\",\"cbin\":\"4142\",\"empty\":\"\",\"v6\":\"2001:db8:0:0:0:0:0:1\"}");

    /* Strings: escaping, UTF-16 pairs, ANSI as UTF-8 (out-type UTF8) or Windows-1252 (no out-type). */
    begin(&eb);
    tld_builder_add_zstr8(&eb, NAME("z8"), "q\"\\\n\xc3\xa9", 6, TLD_OUT_UTF8, 0);
    tld_builder_add_zstr8(&eb, NAME("ansi"), "\x80\xe9", 2, 0, 0);
    static const uint16_t w[] = {'h', 0xD83D, 0xDE00, '\t', 0xDC00};
    tld_builder_add_zstr16(&eb, NAME("z16"), w, 5, 0, 0);
    tld_builder_add_str8(&eb, NAME("s8"), "bad\xff", 4, TLD_OUT_UTF8, 0);
    tld_builder_add_str16(&eb, NAME("s16"), w, 3, 0, 0);
    tld_builder_add_zstr16(&eb, NAME("e16"), w, 0, 0, 0);
    tld_builder_add_str8(&eb, NAME("json"), "{\"a\":1}", 7, TLD_OUT_JSON, 0);
    EXPECT_FIELDS(&eb, "{\"z8\":\"q\\\"\\\\\\n\xc3\xa9\",\"ansi\":\"\xe2\x82\xac\xc3\xa9\",\"z16\":\"h\xf0\x9f\x98\x80\\t"
                       "\xef\xbf\xbd\",\"s8\":\"bad\xef\xbf\xbd\",\"s16\":\"h\xf0\x9f\x98\x80\",\"e16\":\"\","
                       "\"json\":\"{\\\"a\\\":1}\"}");
    tld_builder_destroy(&eb);
}

static void test_arrays_structs(void)
{
    tld_event_builder eb;
    tld_builder_init(&eb, 0, 0);
    begin(&eb);
    int32_t ints[3] = {1, -2, 3};
    uint8_t le[12];
    for (int i = 0; i < 3; i++)
        store_le32(le + 4 * i, (uint32_t)ints[i]);
    tld_builder_add_array(&eb, NAME("ints"), TLD_IN_INT32, le, 3, 4, 0, 0);
    tld_builder_add_array(&eb, NAME("none"), TLD_IN_INT32, le, 0, 4, 0, 0);
    tld_builder_add_array(&eb, NAME("hex"), TLD_IN_UINT16, le, 2, 2, TLD_OUT_HEX, 0);
    static const uint8_t chars[] = {'h', 0, 'i', 0};
    tld_builder_add_array(&eb, NAME("c16"), TLD_IN_UINT16, chars, 2, 2, TLD_OUT_STRING, 0);
    tld_builder_add_array(&eb, NAME("c8"), TLD_IN_UINT8, "ok", 2, 1, TLD_OUT_STRING, 0);
    static const uint8_t guids[32] = {1, 0, 0, 0, 2, 0, 3, 0, 4, 5, 6, 7, 8, 9, 10, 11};
    tld_builder_add_array(&eb, NAME("guids"), TLD_IN_GUID, guids, 2, 16, 0, 0);
    uint8_t dbl[8];
    double half = 0.5;
    memcpy(dbl, &half, 8);
    tld_builder_add_array(&eb, NAME("dbl"), TLD_IN_DOUBLE, dbl, 1, 8, 0, 0);
    /* Arrays of variable-size values: written field record + data by hand. */
    tld_builder_add_field(&eb, NAME("strs"), TLD_IN_UNICODESTRING | TLD_IN_VCOUNT, 0, 0, 0);
    tld_builder_data_append(&eb, "\x02\x00" "a\0\0\0" "b\0c\0\0\0", 2 + 4 + 6);
    tld_builder_add_field(&eb, NAME("cstrs"), TLD_IN_COUNTEDANSISTRING | TLD_IN_VCOUNT, TLD_OUT_UTF8, 0, TLD_FIELD_HAS_OUT);
    tld_builder_data_append(&eb, "\x02\x00" "\x01\x00x" "\x00\x00", 2 + 3 + 2);
    tld_builder_add_field(&eb, NAME("bins"), TLD_IN_BINARY | TLD_IN_VCOUNT, 0, 0, 0);
    tld_builder_data_append(&eb, "\x02\x00" "\x01\x00\xaa" "\x02\x00\xbb\xcc", 2 + 3 + 4);
    tld_builder_add_field(&eb, NAME("sids"), TLD_IN_SID | TLD_IN_VCOUNT, 0, 0, 0);
    tld_builder_data_append(&eb, "\x02\x00" "\x01\x00\x00\x00\x00\x00\x00\x01" "\x01\x01\x00\x00\x00\x00\x00\x05\x12\x00\x00\x00", 2 + 8 + 12);
    EXPECT_FIELDS(&eb, "{\"ints\":[1,-2,3],\"none\":[],\"hex\":[\"0x1\",\"0x0\"],\"c16\":\"hi\",\"c8\":\"ok\","
                       "\"guids\":[\"00000001-0002-0003-0405-060708090a0b\",\"00000000-0000-0000-0000-000000000000\"],"
                       "\"dbl\":[0.5],\"strs\":[\"a\",\"bc\"],\"cstrs\":[\"x\",\"\"],\"bins\":[\"aa\",\"bbcc\"],"
                       "\"sids\":[\"S-1-1\",\"S-1-5-18\"]}");

    /* Nested structs, a struct array, duplicate names at one level. */
    begin(&eb);
    tld_builder_add_int32(&eb, NAME("a"), 1, 0, 0);
    tld_builder_add_struct(&eb, NAME("s"), 3, 0, 0);
    tld_builder_add_zstr16(&eb, NAME("name"), (const uint16_t *)u"x", 1, 0, 0);
    tld_builder_add_struct(&eb, NAME("t"), 1, 0, 0);
    tld_builder_add_uint8(&eb, NAME("deep"), 9, 0, 0);
    tld_builder_add_int32(&eb, NAME("name"), 2, 0, 0); /* same name as s.name: a duplicate within s */
    tld_builder_add_field(&eb, NAME("pts"), TLD_IN_STRUCT | TLD_IN_VCOUNT, 2, 0, TLD_FIELD_HAS_OUT);
    tld_builder_add_int16(&eb, NAME("x"), 0, 0, 0); /* values are written below */
    tld_builder_add_int16(&eb, NAME("y"), 0, 0, 0);
    tld_builder_add_int32(&eb, NAME("a"), 3, 0, 0); /* top-level duplicate */
    tld_builder_add_int32(&eb, NAME("a"), 4, 0, 0);
    /* Rewrite the data: the struct array's count and values go before x/y's slots. */
    size_t dl;
    const uint8_t *d0 = tld_builder_data(&eb, &dl);
    uint8_t data[64];
    size_t n = 0;
    memcpy(data, d0, 4 + 4 + 1 + 4); /* a, s.name ("x\0"), t.deep, s.name#2 */
    n = 13;
    memcpy(data + n, "\x02\x00" "\x01\x00\xff\xff" "\x03\x00\x04\x00", 10);
    n += 10;
    memcpy(data + n, d0 + 13 + 4, 8); /* a#2, a#3 */
    n += 8;
    size_t ml;
    const uint8_t *m = tld_builder_meta(&eb, &ml);
    jw_buf out;
    jw_init(&out);
    CHECK_EQ_INT(tl_decode_fields_json(dec, m, ml, data, n, 8, &out), 0);
    CHECK_STREQ(jw_cstr_view(&out), "{\"a\":1,\"s\":{\"name\":\"x\",\"t\":{\"deep\":9},\"name#2\":2},"
                                    "\"pts\":[{\"x\":1,\"y\":-1},{\"x\":3,\"y\":4}],\"a#2\":3,\"a#3\":4}");

    /* Hand-written metadata: constant counts (0x20 + u16 count after the
     * out-type), in-type 16 POINTER (4 or 8 bytes), custom (0x60), a
     * constant-count struct array, and a struct array inside a struct. */
    static const uint8_t meta[] = {
        0, 0, 0, 'E', 0,
        'c', 0, 0x20 | 7, 3, 0,                 /* int32[3] */
        'p', 0, 16,                             /* POINTER */
        'k', 0, 0x80 | 0x20 | 4, 2, 2, 0,       /* uint8[2] out STRING: "ab" */
        'u', 0, 0x80 | 0x60 | 5, 0, 2, 0, 0xAA, 0xBB, /* custom protocol 5, schema 2 bytes */
        'S', 0, 0x80 | 0x20 | 24, 1, 2, 0,      /* struct[2] of one member */
        'v', 0, 4,
        'O', 0, 0x80 | 24, 1,                   /* struct { inner: struct[vcount] { w } } */
        'I', 0, 0x80 | 0x40 | 24, 1,
        'w', 0, 0x80 | 8, 0x80 | 4, 0x81, 0x82, 0x83, 0x04, /* hex out-type with a 4-byte field tag */
    };
    uint8_t mm[sizeof meta];
    memcpy(mm, meta, sizeof meta);
    store_le16(mm, sizeof meta);
    static const uint8_t vals8[] = {
        1, 0, 0, 0, 2, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF,
        0xEF, 0xBE, 0xAD, 0xDE, 0, 0, 0, 0,
        'a', 'b',
        3, 0, 1, 2, 3,
        7, 8,
        2, 0, 0x10, 0, 0, 0, 0x20, 0, 0, 0,
    };
    jw_clear(&out);
    CHECK_EQ_INT(tl_decode_fields_json(dec, mm, sizeof mm, vals8, sizeof vals8, 8, &out), 0);
    CHECK_STREQ(jw_cstr_view(&out), "{\"c\":[1,2,-1],\"p\":\"0xdeadbeef\",\"k\":\"ab\",\"u\":\"010203\","
                                    "\"S\":[{\"v\":7},{\"v\":8}],\"O\":{\"I\":[{\"w\":\"0x10\"},{\"w\":\"0x20\"}]}}");
    static const uint8_t vals4[] = {
        1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0,
        0xEF, 0xBE, 0xAD, 0xDE,
        'a', 'b', 0, 0, 7, 8, 0, 0,
    };
    jw_clear(&out);
    CHECK_EQ_INT(tl_decode_fields_json(dec, mm, sizeof mm, vals4, sizeof vals4, 4, &out), 0);
    CHECK_STREQ(jw_cstr_view(&out), "{\"c\":[1,2,3],\"p\":\"0xdeadbeef\",\"k\":\"ab\",\"u\":\"\","
                                    "\"S\":[{\"v\":7},{\"v\":8}],\"O\":{\"I\":[]}}");
    jw_free(&out);
    tld_builder_destroy(&eb);
}

/* Decoding damage inside one event: the fields before it and an error. */
static void test_field_errors(void)
{
    tld_event_builder eb;
    tld_builder_init(&eb, 0, 0);
    jw_buf out;
    jw_init(&out);
    size_t ml, dl;
    const uint8_t *m, *d;

    /* Metadata promises more fields than the data holds. */
    begin(&eb);
    tld_builder_add_int32(&eb, NAME("a"), 1, 0, 0);
    tld_builder_add_int64(&eb, NAME("b"), 2, 0, 0);
    m = tld_builder_meta(&eb, &ml);
    d = tld_builder_data(&eb, &dl);
    CHECK_EQ_INT(tl_decode_fields_json(dec, m, ml, d, 4 + 3, 8, &out), TLD_E_DECODE_PARTIAL);
    CHECK_STREQ(jw_cstr_view(&out), "{\"a\":1}");
    CHECK_STREQ(tl_decoder_error(dec), "field 'b': data ends at offset 7 but 5 more bytes are needed");

    /* Unterminated string, array count past the data, struct inside which the damage lies. */
    begin(&eb);
    tld_builder_add_zstr16(&eb, NAME("s"), (const uint16_t *)u"ab", 2, 0, 0);
    m = tld_builder_meta(&eb, &ml);
    d = tld_builder_data(&eb, &dl);
    jw_clear(&out);
    CHECK_EQ_INT(tl_decode_fields_json(dec, m, ml, d, dl - 2, 8, &out), TLD_E_DECODE_PARTIAL);
    CHECK_STREQ(jw_cstr_view(&out), "{}");
    CHECK_CONTAINS(tl_decoder_error(dec), "is not NUL-terminated");

    begin(&eb);
    tld_builder_add_uint8(&eb, NAME("ok"), 1, 0, 0);
    tld_builder_add_struct(&eb, NAME("st"), 1, 0, 0);
    tld_builder_add_array(&eb, NAME("arr"), TLD_IN_UINT32, "\1\0\0\0", 1, 4, 0, 0);
    m = tld_builder_meta(&eb, &ml);
    d = tld_builder_data(&eb, &dl);
    uint8_t bad[16];
    memcpy(bad, d, dl);
    store_le16(bad + 1, 9000); /* count far past the data */
    jw_clear(&out);
    CHECK_EQ_INT(tl_decode_fields_json(dec, m, ml, bad, dl, 8, &out), TLD_E_DECODE_PARTIAL);
    CHECK_STREQ(jw_cstr_view(&out), "{\"ok\":1}");

    /* Malformed metadata: struct with too few members, unknown in-type,
     * unterminated names, size fields out of range, nesting too deep. */
    static const struct { const char *meta; size_t len; const char *err; } cases[] = {
        {"\x09\x00\x00" "E\0" "s\0\x98\x03", 9, "declares 3 members but only 0 fields follow"},
        {"\x08\x00\x00" "E\0" "x\0\x1f", 8, "unknown in-type 31"},
        {"\x07\x00\x00" "E\0" "xy", 7, "name in the metadata is not NUL-terminated"},
        {"\x05\x00\x00" "EE", 5, "event name in the metadata is not NUL-terminated"},
        {"\x40\x00\x00" "E\0", 5, "says it is 64 bytes but only 5 are present"},
        {"\x01", 1, "too short"},
        {"\x07\x00\x00" "E\0" "x\0", 7, "metadata ends before its in-type"},
        {"\x08\x00\x00" "E\0" "x\0\x87", 8, "metadata ends before its out-type"},
        {"\x0a\x00\x00" "E\0" "x\0\x87\x80\x80", 10, "ends inside its field tag"},
        {"\x09\x00\x00" "E\0" "x\0\x27\x01", 9, "constant element count"},
        {"\x06\x00\x80\x80\x80\x80", 6, "ends inside the event tag"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        jw_clear(&out);
        int rc = tl_decode_fields_json(dec, (const uint8_t *)cases[i].meta, cases[i].len, NULL, 0, 8, &out);
        CHECK_EQ_INT(rc, TLD_E_DECODE_PARTIAL);
        CHECK_STREQ(jw_cstr_view(&out), "{}");
        CHECK_CONTAINS(tl_decoder_error(dec), cases[i].err);
    }
    /* 40 nested one-member structs: deeper than the decoder follows. */
    uint8_t deep[2 + 1 + 2 + 40 * 4 + 3];
    size_t k = 0;
    deep[k++] = 0;
    deep[k++] = 0;
    deep[k++] = 0;
    deep[k++] = 'E';
    deep[k++] = 0;
    for (int i = 0; i < 40; i++) {
        deep[k++] = 's';
        deep[k++] = 0;
        deep[k++] = 0x80 | 24;
        deep[k++] = 1;
    }
    deep[k++] = 'v';
    deep[k++] = 0;
    deep[k++] = 4;
    store_le16(deep, (uint16_t)k);
    jw_clear(&out);
    CHECK_EQ_INT(tl_decode_fields_json(dec, deep, k, (const uint8_t *)"\1", 1, 8, &out), TLD_E_DECODE_PARTIAL);
    CHECK_CONTAINS(tl_decoder_error(dec), "nested more than");
    /* Expansion bomb: 65535 elements of a zero-member struct array inside
     * a 65535-element array would be 4 billion values from 4 data bytes. */
    static const uint8_t bomb[] = {0, 0, 0, 'E', 0, 'o', 0, 0x80 | 0x40 | 24, 1, 'i', 0, 0x80 | 0x40 | 24, 0};
    uint8_t bm[sizeof bomb];
    memcpy(bm, bomb, sizeof bomb);
    store_le16(bm, sizeof bomb);
    uint8_t bombdata[2 + 2 * 65535];
    memset(bombdata, 0xFF, sizeof bombdata);
    jw_clear(&out);
    CHECK_EQ_INT(tl_decode_fields_json(dec, bm, sizeof bm, bombdata, sizeof bombdata, 8, &out), TLD_E_DECODE_PARTIAL);
    CHECK_CONTAINS(tl_decoder_error(dec), "too many values");
    CHECK(out.len < 4 * 1024 * 1024);
    jw_free(&out);
    tld_builder_destroy(&eb);
}

/* ---- hand-built .etl files -------------------------------------------------- */

static const tld_guid PROV = {{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00}};

/* A TraceLogging event "Ev" with fields n (int32) and s (utf16) at clock ts. */
static size_t make_tl_event(uint8_t *rec, tld_event_builder *eb, uint64_t ts, int32_t n, const tld_guid *act,
                            const tld_guid *rel, const uint64_t *stack, uint32_t nstack)
{
    static uint8_t traits[64];
    size_t tl = make_traits(traits, "My.Provider");
    tld_event_descriptor d = tld_event_descriptor_default(4, 0x8000000000000021ull);
    d.id = 7;
    d.opcode = 1;
    d.task = 3;
    d.version = 2;
    tld_builder_reset(eb, NAME("Ev"), &d, 0);
    tld_builder_add_int32(eb, NAME("n"), n, 0, 0);
    tld_builder_add_zstr16(eb, NAME("s"), (const uint16_t *)u"\"q\"", 3, 0, 0);
    tevent e;
    memset(&e, 0, sizeof e);
    e.provider = PROV;
    e.desc = d;
    e.pid = 100;
    e.tid = 200;
    e.ts = ts;
    e.traits = traits;
    e.traits_len = tl;
    e.meta = tld_builder_meta(eb, &e.meta_len);
    e.data = tld_builder_data(eb, &e.data_len);
    e.activity = act;
    e.related = rel;
    e.stack = stack;
    e.nstack = nstack;
    return make_event(rec, &e);
}

static void test_handmade_file(void)
{
    tld_event_builder eb;
    tld_builder_init(&eb, 0, 0);
    static uint8_t rec[65536];
    fbuild f;
    fb_init(&f, 1024, 1);
    tld_guid act = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
    tld_guid rel = {{0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff}};
    uint64_t stack[3] = {0x7fff00001000ull, 0x7fff00002000ull, UINT64_MAX};
    /* The records are in time order, as in any buffer the reader merges
     * (etl_reader.h, "Order"); the ties at T_START_CLOCK keep file order. */
    /* A system record in between (stepped over). */
    uint8_t sys[0x30] = {0};
    store_le32(sys, 0xC0020002u);
    store_le16(sys + 4, sizeof sys);
    fb_add(&f, sys, sizeof sys);
    /* A perfinfo record. */
    uint8_t perf[0x18] = {0};
    store_le32(perf, 0xC0110002u);
    store_le16(perf + 4, sizeof perf);
    fb_add(&f, perf, sizeof perf);
    /* 1: a manifest-style event (no schema): payload as hex; 0.5 s before the start clock. */
    size_t n;
    tevent e;
    memset(&e, 0, sizeof e);
    e.provider = PROV;
    e.desc = tld_event_descriptor_default(2, 0);
    e.desc.id = 42;
    e.desc.channel = 16;
    e.pid = 1;
    e.tid = 2;
    e.ts = T_START_CLOCK - 5000000;
    e.data = (const uint8_t *)"\x01\x02\xff";
    e.data_len = 3;
    n = make_event(rec, &e);
    fb_add(&f, rec, n);
    /* 2: a classic EVENT_TRACE_HEADER event. */
    uint8_t cl[0x34] = {0};
    store_le16(cl, sizeof cl);
    store_le16(cl + 2, 0xC014);
    cl[4] = 11; /* type (opcode) */
    cl[5] = 3;  /* level */
    store_le16(cl + 6, 2);
    store_le32(cl + 8, 9);
    store_le32(cl + 12, 8);
    store_le64(cl + 16, T_START_CLOCK);
    memcpy(cl + 24, PROV.bytes_le, 16);
    memcpy(cl + 0x30, "\xde\xad\xbe\xef", 4);
    fb_add(&f, cl, sizeof cl);
    /* 3: a string-only event. */
    memset(&e, 0, sizeof e);
    e.provider = PROV;
    e.extra_flags = ETL_EVENT_FLAG_STRING_ONLY;
    e.ts = T_START_CLOCK;
    e.data = (const uint8_t *)"h\0i\0\0\0";
    e.data_len = 6;
    n = make_event(rec, &e);
    fb_add(&f, rec, n);
    /* 4..23: enough TL events to spill into more buffers. */
    for (int i = 0; i < 20; i++) {
        n = make_tl_event(rec, &eb, T_START_CLOCK + 10000 * (uint64_t)i, i, NULL, NULL, NULL, 0);
        fb_add(&f, rec, n);
    }
    /* 24: TL event with activity, related activity and a stack, 1.5 s after start. */
    n = make_tl_event(rec, &eb, T_START_CLOCK + 15000000, -5, &act, &rel, stack, 3);
    fb_add(&f, rec, n);
    fb_finish(&f);
    CHECK(f.len / f.bs >= 3);

    etl_reader r;
    etl_event ev;
    CHECK_EQ_INT(etl_reader_open(&r, f.data, f.len), 0);
    CHECK(r.header.present);
    CHECK_EQ_INT(r.header.events_lost, 7);
    CHECK_EQ_INT(r.header.buffers_written, f.len / f.bs);
    jw_buf s;
    jw_init(&s);
    jw_escape_utf16le(&s, r.header.logger_name, r.header.logger_name_bytes);
    jw_char(&s, '|');
    jw_escape_utf16le(&s, r.header.logfile_name, r.header.logfile_name_bytes);
    CHECK_STREQ(jw_cstr_view(&s), "Ses|f.etl");
    jw_free(&s);

    jw_buf out;
    jw_init(&out);
    CHECK_EQ_INT(etl_reader_next(&r, &ev), 0);
    CHECK_HEX(ev.user_data, ev.user_data_len, "01 02 ff");
    jw_clear(&out);
    CHECK_EQ_INT(tl_decoder_format_event(dec, &ev, TL_FORMAT_JSON, &out), 0);
    CHECK_STREQ(jw_cstr_view(&out),
                "{\"time\":\"2022-06-18T04:26:39.5000000Z\",\"provider\":null,"
                "\"provider_id\":\"44332211-6655-8877-99aa-bbccddeeff00\",\"event\":null,\"level\":2,"
                "\"keyword\":\"0x0\",\"opcode\":0,\"id\":42,\"version\":0,\"task\":0,\"channel\":16,"
                "\"pid\":1,\"tid\":2,\"activity_id\":null,\"related_activity_id\":null,\"payload\":\"0102ff\"}\n");
    jw_clear(&out);
    CHECK_EQ_INT(tl_decoder_format_event(dec, &ev, TL_FORMAT_TEXT, &out), 0);
    CHECK_STREQ(jw_cstr_view(&out), "2022-06-18T04:26:39.5000000Z {44332211-6655-8877-99aa-bbccddeeff00}/42 2 1 2 payload=\"0102ff\"\n");

    CHECK_EQ_INT(etl_reader_next(&r, &ev), 0);
    CHECK_EQ_INT(ev.kind, ETL_KIND_CLASSIC);
    CHECK_EQ_INT(ev.descriptor.opcode, 11);
    CHECK_EQ_INT(ev.descriptor.level, 3);
    CHECK_EQ_INT(ev.user_data_len, 4);
    jw_clear(&out);
    CHECK_EQ_INT(tl_decoder_format_event(dec, &ev, TL_FORMAT_JSON, &out), 0);
    CHECK_CONTAINS(jw_cstr_view(&out), "\"level\":3,\"keyword\":\"0x0\",\"opcode\":11,\"id\":0,\"version\":2,");
    CHECK_CONTAINS(jw_cstr_view(&out), "\"pid\":8,\"tid\":9,\"activity_id\":null,\"related_activity_id\":null,\"payload\":\"deadbeef\"}");

    CHECK_EQ_INT(etl_reader_next(&r, &ev), 0);
    jw_clear(&out);
    CHECK_EQ_INT(tl_decoder_format_event(dec, &ev, TL_FORMAT_JSON, &out), 0);
    CHECK_CONTAINS(jw_cstr_view(&out), "\"payload\":\"680069000000\",\"message\":\"hi\"}");

    int count;
    uint64_t last_ft = 0;
    for (count = 0; count < 20 && etl_reader_next(&r, &ev) == 0; count++) {
        CHECK(ev.filetime == T_START_FT + 10000 * (uint64_t)count);
        CHECK(ev.filetime >= last_ft);
        last_ft = ev.filetime;
    }
    CHECK_EQ_INT(count, 20);

    CHECK_EQ_INT(etl_reader_next(&r, &ev), 0);
    CHECK(ev.has_stack && ev.stack_count == 3 && ev.stack_match_id == 77);
    CHECK_EQ_INT(ev.ext_count, 4);
    jw_clear(&out);
    CHECK_EQ_INT(tl_decoder_format_event(dec, &ev, TL_FORMAT_JSON, &out), 0);
    CHECK_STREQ(jw_cstr_view(&out),
                "{\"time\":\"2022-06-18T04:26:41.5000000Z\",\"provider\":\"My.Provider\","
                "\"provider_id\":\"44332211-6655-8877-99aa-bbccddeeff00\",\"event\":\"Ev\",\"level\":4,"
                "\"keyword\":\"0x8000000000000021\",\"opcode\":1,\"id\":7,\"version\":2,\"task\":3,\"channel\":11,"
                "\"pid\":100,\"tid\":200,\"activity_id\":\"04030201-0605-0807-090a-0b0c0d0e0f10\","
                "\"related_activity_id\":\"000000a0-0000-0000-0000-0000000000ff\","
                "\"fields\":{\"n\":-5,\"s\":\"\\\"q\\\"\"},"
                "\"stack\":[140733193392128,140733193396224,18446744073709551615]}\n");
    jw_clear(&out);
    CHECK_EQ_INT(tl_decoder_format_event(dec, &ev, TL_FORMAT_TEXT, &out), 0);
    CHECK_STREQ(jw_cstr_view(&out), "2022-06-18T04:26:41.5000000Z My.Provider/Ev 4 100 200 opcode=start n=-5 s=\"\\\"q\\\"\""
                                    " stack=[\"0x7fff00001000\",\"0x7fff00002000\",\"0xffffffffffffffff\"]\n");

    CHECK_EQ_INT(etl_reader_next(&r, &ev), TLD_E_END);
    CHECK_EQ_INT(r.events, 24);
    CHECK_EQ_INT(r.system_records, 3);
    CHECK_EQ_INT(r.errors, 0);

    etl_reader_close(&r);

    /* Clock type 2: the record timestamps are FILETIMEs already. */
    fbuild g;
    fb_init(&g, 512, 2);
    n = make_tl_event(rec, &eb, T_START_FT + 99, 1, NULL, NULL, NULL, 0);
    fb_add(&g, rec, n);
    fb_finish(&g);
    CHECK_EQ_INT(etl_reader_open(&r, g.data, g.len), 0);
    CHECK_EQ_INT(etl_reader_next(&r, &ev), 0);
    CHECK(ev.filetime == T_START_FT + 99);

    /* Conversion limits: saturate instead of wrapping. */
    r.header.clock_type = 1;
    CHECK(etl_reader_filetime(&r, UINT64_MAX) == UINT64_MAX);
    CHECK(etl_reader_filetime(&r, 0) == T_START_FT - T_START_CLOCK);
    r.header.perf_freq = 3; /* odd frequencies: exact floor division */
    CHECK(etl_reader_filetime(&r, T_START_CLOCK + 1) == T_START_FT + 3333333);
    r.header.perf_freq = UINT64_MAX;
    CHECK(etl_reader_filetime(&r, UINT64_MAX) == T_START_FT + 9999999); /* ~2^64 ticks at 2^64 Hz: 1 s */
    r.header.start_time = 5;
    r.header.perf_freq = 1;
    CHECK(etl_reader_filetime(&r, 0) == 0);
    etl_reader_close(&r);

    jw_free(&out);
    free(f.data);
    free(g.data);
    tld_builder_destroy(&eb);
}

/* ---- merge: events in timestamp order across buffers ----------------------- */

/* Buffers 1..4 of `bs` bytes: each buffer's events in time order, the
 * buffers interleaved in time (as per-thread or per-processor buffers
 * are), one buffer empty. An event is (tid = its buffer, ts). offsets[]:
 * where buffer 2's second record and buffer 3's first start. */
static void make_interleaved(fbuild *f, size_t offsets[2])
{
    static const uint64_t ts[4][3] = {{10, 30, 50}, {20, 30, 60}, {5, 70, 0}, {0, 0, 0}};
    static const int count[4] = {3, 3, 2, 0};
    fb_init(f, 512, 1);
    uint8_t rec[0x60];
    for (int b = 0; b < 4; b++) {
        fb_end_buffer(f);
        fb_begin_buffer(f);
        for (int i = 0; i < count[b]; i++) {
            tevent e;
            memset(&e, 0, sizeof e);
            e.provider = PROV;
            e.pid = 1;
            e.tid = (uint32_t)b + 1;
            e.ts = T_START_CLOCK + ts[b][i];
            e.data = (const uint8_t *)"\x01\x02";
            e.data_len = 2;
            if (b == 1 && i == 1)
                offsets[0] = f->len - f->bs + f->off;
            if (b == 2 && i == 0)
                offsets[1] = f->len - f->bs + f->off;
            fb_add(f, rec, make_event(rec, &e));
        }
    }
    fb_finish(f);
}

/* Walks data[0..len): "tid:ts" for each event, "E" for each error. */
static void merged_order(const uint8_t *data, size_t len, char *out, size_t outsize, char *last_error, size_t esize)
{
    etl_reader r;
    etl_event ev;
    out[0] = last_error[0] = '\0';
    size_t at = 0;
    CHECK_EQ_INT(etl_reader_open(&r, data, len), 0);
    int rc;
    while ((rc = etl_reader_next(&r, &ev)) != TLD_E_END && at + 32 < outsize) {
        if (rc < 0) {
            at += (size_t)snprintf(out + at, outsize - at, "E ");
            snprintf(last_error, esize, "%s", etl_reader_message(&r));
        } else {
            at += (size_t)snprintf(out + at, outsize - at, "%u:%llu ", ev.thread_id,
                                   (unsigned long long)(ev.timestamp - T_START_CLOCK));
        }
    }
    etl_reader_close(&r);
}

static void test_merge(void)
{
    fbuild f;
    size_t offsets[2] = {0, 0};
    make_interleaved(&f, offsets);
    CHECK_EQ_INT(f.len, 5 * 512);
    char order[512], err[256];

    /* Time order; the tie at 30 in buffer order. */
    merged_order(f.data, f.len, order, sizeof order, err, sizeof err);
    CHECK_STREQ(order, "3:5 1:10 2:20 1:30 2:30 1:50 2:60 3:70 ");

    /* A damaged record ends its buffer's cursor, reported once the buffer's
     * events before it were handed out; the other buffers go on. */
    uint8_t *d = malloc(f.len);
    memcpy(d, f.data, f.len);
    store_le16(d + offsets[0], 0);
    merged_order(d, f.len, order, sizeof order, err, sizeof err);
    CHECK_STREQ(order, "3:5 1:10 2:20 E 1:30 1:50 3:70 ");
    char want[128];
    snprintf(want, sizeof want, "buffer 2, offset 0x%zx: record (type 0xc013) claims 0 bytes", offsets[0] - 1024);
    CHECK_CONTAINS(err, want);

    /* A buffer that is out of order inside (not written by one thread or
     * processor) still comes out whole, in its own order. */
    memcpy(d, f.data, f.len);
    store_le64(d + offsets[1] + 16, T_START_CLOCK + 40); /* buffer 3: 40, 70 */
    merged_order(d, f.len, order, sizeof order, err, sizeof err);
    CHECK_STREQ(order, "1:10 2:20 1:30 2:30 3:40 1:50 2:60 3:70 ");

    /* Cut short inside buffer 3 (after its first record): the events before
     * the cut come out, in time order, and the truncation is reported once. */
    size_t cut = offsets[1] + 0x58;
    uint8_t *c = malloc(cut);
    memcpy(c, f.data, cut);
    merged_order(c, cut, order, sizeof order, err, sizeof err);
    CHECK_STREQ(order, "3:5 E 1:10 2:20 1:30 2:30 1:50 2:60 ");
    CHECK_STREQ(err, "buffer 3: the file ends after 160 of its 512 bytes; records past that point are lost");
    free(c);

    /* Memory: one cursor per buffer, freed at the end or by close. */
    etl_reader r;
    etl_event ev;
    CHECK_EQ_INT(etl_reader_open(&r, f.data, f.len), 0);
    CHECK_EQ_INT(r.buffer_count, 0); /* buffers are found by the walk */
    CHECK_EQ_INT(etl_reader_next(&r, &ev), 0);
    CHECK_EQ_INT(r.buffer_count, 5);
    CHECK_EQ_INT(r.heap_count, 3); /* buffers 1, 2, 3 (0 and 4 hold no events) */
    etl_reader_close(&r);
    CHECK(r.heap == NULL);
    CHECK_EQ_INT(etl_reader_next(&r, &ev), TLD_E_END);
    etl_reader_close(&r);
    free(d);
    free(f.data);
}

/* ---- damage ----------------------------------------------------------------- */

/* A small file: buffer 0 (header + 2 events), buffer 1 (3 events), buffer 2 (2 events). */
static void make_small(fbuild *f, tld_event_builder *eb, size_t offsets[8])
{
    static uint8_t rec[65536];
    fb_init(f, 1024, 1);
    int k = 0;
    for (int b = 0; b < 3; b++) {
        int per = b == 0 ? 2 : b == 1 ? 3 : 2;
        for (int i = 0; i < per; i++) {
            size_t n = make_tl_event(rec, eb, T_START_CLOCK + (uint64_t)k, k, NULL, NULL, NULL, 0);
            offsets[k++] = (f->len - f->bs) + f->off;
            fb_add(f, rec, n);
        }
        if (b < 2) {
            fb_end_buffer(f);
            fb_begin_buffer(f);
        }
    }
    fb_finish(f);
    offsets[k] = 0;
}

static void test_damage(void)
{
    tld_event_builder eb;
    tld_builder_init(&eb, 0, 0);
    fbuild f;
    size_t off[8];
    make_small(&f, &eb, off);
    CHECK_EQ_INT(f.len, 3 * 1024);
    jw_buf out;
    jw_init(&out);
    int errors, derrs;
    CHECK_EQ_INT(decode_all(f.data, f.len, &out, &errors, &derrs, TL_FORMAT_JSON), 7);
    CHECK_EQ_INT(errors, 0);
    uint8_t *d = malloc(f.len);
    etl_reader r;
    etl_event ev;

    /* Zero-size record (the 2nd of buffer 1): the rest of buffer 1 is lost, buffer 2 decodes. */
    memcpy(d, f.data, f.len);
    store_le16(d + off[3], 0);
    jw_clear(&out);
    CHECK_EQ_INT(decode_all(d, f.len, &out, &errors, NULL, TL_FORMAT_JSON), 2 + 1 + 2);
    CHECK_EQ_INT(errors, 1);
    etl_reader_open(&r, d, f.len);
    int rc;
    while ((rc = etl_reader_next(&r, &ev)) == 0) {
    }
    CHECK_EQ_INT(rc, TLD_E_DAMAGED);
    CHECK_CONTAINS(etl_reader_message(&r), "buffer 1, offset 0x");
    CHECK_CONTAINS(etl_reader_message(&r), "claims 0 bytes, less than its 80-byte header");
    while ((rc = etl_reader_next(&r, &ev)) == 0) {
    }
    CHECK_EQ_INT(rc, TLD_E_END);
    CHECK_EQ_INT(r.damaged_records, 1);
    CHECK_EQ_INT(r.events, 5);

    /* A record claiming to run past SavedOffset. */
    memcpy(d, f.data, f.len);
    store_le16(d + off[2], 0xFFF0);
    CHECK_EQ_INT(decode_all(d, f.len, &out, &errors, NULL, TL_FORMAT_JSON), 2 + 2);
    CHECK_EQ_INT(errors, 1);

    /* An extended item running past its record: only that event is lost. */
    memcpy(d, f.data, f.len);
    store_le16(d + off[3] + 0x50, 0x7FF8);
    etl_reader_close(&r);
    etl_reader_open(&r, d, f.len);
    int got = 0;
    while ((rc = etl_reader_next(&r, &ev)) != TLD_E_END) {
        if (rc < 0) {
            CHECK_EQ_INT(rc, TLD_E_DAMAGED);
            CHECK_CONTAINS(etl_reader_message(&r), "runs past the end of the");
        } else {
            got++;
        }
    }
    CHECK_EQ_INT(got, 6);
    /* Item smaller than its header, DataSize larger than the item, and a
     * record whose extended-info flag promises an item that is not there. */
    memcpy(d, f.data, f.len);
    store_le16(d + off[3] + 0x50, 4);
    CHECK_EQ_INT(decode_all(d, f.len, &out, &errors, NULL, TL_FORMAT_JSON), 6);
    CHECK_EQ_INT(errors, 1);
    memcpy(d, f.data, f.len);
    store_le16(d + off[3] + 0x50 + 6, 0x100);
    CHECK_EQ_INT(decode_all(d, f.len, &out, &errors, NULL, TL_FORMAT_JSON), 6);
    CHECK_EQ_INT(errors, 1);

    /* SavedOffset > BufferSize or 0 (older loggers): the filled offset at
     * 0x30 says where the records end; nothing is damaged... */
    memcpy(d, f.data, f.len);
    store_le32(d + 1024 + 4, 5000);
    CHECK_EQ_INT(decode_all(d, f.len, &out, &errors, NULL, TL_FORMAT_JSON), 7);
    CHECK_EQ_INT(errors, 0);
    store_le32(d + 1024 + 4, 0);
    CHECK_EQ_INT(decode_all(d, f.len, &out, &errors, NULL, TL_FORMAT_JSON), 7);
    CHECK_EQ_INT(errors, 0);
    /* ...and when both are unusable (reported) the records are walked to the filler. */
    store_le32(d + 1024 + 0x30, 5000);
    CHECK_EQ_INT(decode_all(d, f.len, &out, &errors, NULL, TL_FORMAT_JSON), 7);
    CHECK_EQ_INT(errors, 1);

    /* A buffer whose own BufferSize disagrees; an unknown record type; a compressed buffer. */
    memcpy(d, f.data, f.len);
    store_le32(d + 1024, 2048);
    CHECK_EQ_INT(decode_all(d, f.len, &out, &errors, NULL, TL_FORMAT_JSON), 4);
    CHECK_EQ_INT(errors, 1);
    memcpy(d, f.data, f.len);
    store_le16(d + off[5] + 2, 0xC0EE);
    CHECK_EQ_INT(decode_all(d, f.len, &out, &errors, NULL, TL_FORMAT_JSON), 5);
    CHECK_EQ_INT(errors, 1);
    memcpy(d, f.data, f.len);
    store_le16(d + off[5] + 2, 0x1234);
    CHECK_EQ_INT(decode_all(d, f.len, &out, &errors, NULL, TL_FORMAT_JSON), 5);
    CHECK_EQ_INT(errors, 1);
    memcpy(d, f.data, f.len);
    store_le16(d + 2048 + 0x34, 0x61); /* records that are not LZ77 data */
    CHECK_EQ_INT(decode_all(d, f.len, &out, &errors, NULL, TL_FORMAT_JSON), 5);
    CHECK_EQ_INT(errors, 1);

    /* Not an .etl file at all. */
    etl_reader_close(&r);
    CHECK_EQ_INT(etl_reader_open(&r, d, 10), TLD_E_NOT_ETL);
    CHECK_EQ_INT(etl_reader_next(&r, &ev), TLD_E_END);
    memcpy(d, f.data, f.len);
    store_le32(d, 1023);
    etl_reader_close(&r);
    CHECK_EQ_INT(etl_reader_open(&r, d, f.len), TLD_E_NOT_ETL);
    CHECK_CONTAINS(etl_reader_message(&r), "BufferSize 1023");

    /* Truncated file: cut inside the 2nd record of buffer 1. */
    size_t cut = off[3] + 20;
    etl_reader_close(&r);
    etl_reader_open(&r, f.data, cut);
    got = 0;
    int truncs = 0;
    while ((rc = etl_reader_next(&r, &ev)) != TLD_E_END) {
        if (rc == TLD_E_TRUNCATED)
            truncs++;
        else if (rc == 0)
            got++;
        else
            CHECK(!"unexpected error kind");
    }
    CHECK_EQ_INT(got, 3);
    CHECK_EQ_INT(truncs, 1); /* reported once */
    CHECK_CONTAINS(etl_reader_message(&r), "buffer 1, offset 0x");
    CHECK_CONTAINS(etl_reader_message(&r), "the file ends inside a");
    /* Cut exactly at a buffer boundary: the header still tells. */
    etl_reader_close(&r);
    etl_reader_open(&r, f.data, 2048);
    got = 0;
    while ((rc = etl_reader_next(&r, &ev)) == 0)
        got++;
    CHECK_EQ_INT(got, 5);
    CHECK_EQ_INT(rc, TLD_E_TRUNCATED);
    CHECK_CONTAINS(etl_reader_message(&r), "the file holds 2 buffers but its header says 3 were written");
    CHECK_EQ_INT(etl_reader_next(&r, &ev), TLD_E_END);

    /* Metadata promising more than the data: the event is emitted, with an error. */
    memcpy(d, f.data, f.len);
    uint16_t rsize = load_le16(d + off[0]);
    store_le16(d + off[0], (uint16_t)(rsize - 4)); /* cut the last 4 data bytes (string) */
    etl_reader_close(&r);
    etl_reader_open(&r, d, f.len);
    CHECK_EQ_INT(etl_reader_next(&r, &ev), 0);
    jw_clear(&out);
    CHECK_EQ_INT(tl_decoder_format_event(dec, &ev, TL_FORMAT_JSON, &out), TLD_E_DECODE_PARTIAL);
    CHECK_CONTAINS(jw_cstr_view(&out), "\"fields\":{\"n\":0},\"error\":\"field 's': string at data offset 4 is not NUL-terminated\"}\n");
    jw_clear(&out);
    CHECK_EQ_INT(tl_decoder_format_event(dec, &ev, TL_FORMAT_TEXT, &out), TLD_E_DECODE_PARTIAL);
    CHECK_CONTAINS(jw_cstr_view(&out), "My.Provider/Ev 4 100 200 opcode=start n=0 error=\"field 's'");
    /* Extra data after the last field is shown, not hidden. */
    store_le16(d + off[0], (uint16_t)(rsize));
    etl_reader_close(&r);
    etl_reader_open(&r, d, f.len);
    CHECK_EQ_INT(etl_reader_next(&r, &ev), 0);
    ev.user_data_len += 2; /* pretend two more bytes (still inside the buffer) */
    jw_clear(&out);
    CHECK_EQ_INT(tl_decoder_format_event(dec, &ev, TL_FORMAT_JSON, &out), 0);
    CHECK_CONTAINS(jw_cstr_view(&out), "\"unparsed\":\"");

    etl_reader_close(&r);
    free(d);
    free(f.data);
    jw_free(&out);
    tld_builder_destroy(&eb);
}

/* Every prefix length class and thousands of byte flips of the real file:
 * the reader and decoder must terminate without touching memory they do
 * not own (ASan/UBSan do the checking) and never decode more events. */
static void test_hostile_amsi(const char *path)
{
    uint8_t *data;
    size_t len;
    if (etl_load_file(path, &data, &len) != 0)
        return;
    jw_buf out;
    jw_init(&out);
    int errors, last = 0;
    for (size_t cut = 0; cut <= len; cut += (cut < 70000 ? 61 : 4093)) {
        uint8_t *copy = malloc(cut ? cut : 1); /* exact-size copy: ASan sees any overrun */
        memcpy(copy, data, cut);
        jw_clear(&out);
        int n = decode_all(copy, cut, &out, &errors, NULL, TL_FORMAT_JSON);
        CHECK(n <= 19);
        CHECK(n >= last); /* more file never means fewer events */
        last = n;
        if (cut < len)
            CHECK(errors >= 1 || cut < 0x48);
        free(copy);
    }
    uint32_t seed = 12345;
    uint8_t *copy = malloc(len);
    for (int round = 0; round < 3000; round++) {
        memcpy(copy, data, len);
        int flips = 1 + round % 8;
        for (int i = 0; i < flips; i++) {
            seed = seed * 1103515245u + 12345u;
            /* Aim most flips at the interesting part: headers and the first records of each buffer. */
            size_t at = (round & 1) ? (seed >> 8) % len : ((seed >> 8) % 6) * 65536 + (seed >> 3) % 0x900;
            seed = seed * 1103515245u + 12345u;
            copy[at] ^= (uint8_t)(1u << ((seed >> 16) & 7));
        }
        jw_clear(&out);
        int n = decode_all(copy, len, &out, &errors, NULL, round % 3 == 0 ? TL_FORMAT_TEXT : TL_FORMAT_JSON);
        CHECK(n <= 19 + 100);
    }
    free(copy);
    jw_free(&out);
    etl_free_file(data);
}

/* ---- development modes -------------------------------------------------------- */

/* Writes hand-built files as fuzzing seeds (first byte 0x01: the fuzz
 * target's "bytes as they are" mode). */
static int write_seeds(const char *dir)
{
    tld_event_builder eb;
    tld_builder_init(&eb, 0, 0);
    static uint8_t rec[65536];
    fbuild f;
    fb_init(&f, 512, 1);
    tld_guid act = {{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}};
    uint64_t stack[2] = {0x1000, 0x2000};
    size_t n = make_tl_event(rec, &eb, T_START_CLOCK + 1, 1, &act, &act, stack, 2);
    fb_add(&f, rec, n);
    /* One event with every scalar type and a nested struct array. */
    tld_event_descriptor d = tld_event_descriptor_default(5, 1);
    tld_builder_reset(&eb, NAME("All"), &d, 0);
    tld_builder_add_int8(&eb, NAME("a"), -1, 0, 0);
    tld_builder_add_uint16(&eb, NAME("b"), 2, TLD_OUT_PORT, 0);
    tld_builder_add_uint32(&eb, NAME("c"), 3, TLD_OUT_IPV4, 0);
    tld_builder_add_uint64(&eb, NAME("d"), 4, TLD_OUT_HEX, 5);
    tld_builder_add_float64(&eb, NAME("e"), 0.25, 0, 0);
    tld_builder_add_bool32(&eb, NAME("f"), 1, 0, 0);
    tld_builder_add_binary(&eb, NAME("g"), "xy", 2, 0, 0);
    static const uint8_t sid[] = {1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0};
    tld_builder_add_sid(&eb, NAME("h"), sid, sizeof sid, 0, 0);
    tld_builder_add_zstr8(&eb, NAME("i"), "s", 1, TLD_OUT_UTF8, 0);
    tld_builder_add_str16(&eb, NAME("j"), (const uint16_t *)u"w", 1, 0, 0);
    static const uint8_t st[16] = {0xE6, 0x07, 1, 0, 1, 0, 1};
    tld_builder_add_systemtime(&eb, NAME("k"), st, 0, 0);
    tld_builder_add_filetime(&eb, NAME("l"), 1, 0, 0);
    tld_builder_add_struct(&eb, NAME("m"), 2, 0, 0);
    tld_builder_add_hexint32(&eb, NAME("n"), 6, 0, 0);
    tld_builder_add_array(&eb, NAME("o"), TLD_IN_UINT16, "\1\0\2\0", 2, 2, 0, 0);
    tevent e;
    memset(&e, 0, sizeof e);
    e.provider = PROV;
    e.desc = d;
    static uint8_t traits[32];
    e.traits = traits;
    e.traits_len = make_traits(traits, "P");
    e.meta = tld_builder_meta(&eb, &e.meta_len);
    e.data = tld_builder_data(&eb, &e.data_len);
    n = make_event(rec, &e);
    fb_add(&f, rec, n);
    fb_finish(&f);
    char path[4096];
    snprintf(path, sizeof path, "%s/handmade", dir);
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        perror(path);
        return 1;
    }
    fputc(0, fp); /* fuzz mode 0: a whole file (tests/fuzz/fuzz_etl_decode.c) */
    fwrite(f.data, 1, f.len, fp);
    fclose(fp);
    free(f.data);
    size_t off[8];
    make_small(&f, &eb, off);
    snprintf(path, sizeof path, "%s/small", dir);
    fp = fopen(path, "wb");
    if (!fp) {
        perror(path);
        return 1;
    }
    fputc(0x20, fp); /* a whole file, read through the pool */
    fwrite(f.data, 1, f.len, fp);
    fclose(fp);
    free(f.data);
    tld_builder_destroy(&eb);
    return 0;
}

static int dump(const char *path, int format)
{
    uint8_t *data;
    size_t len;
    if (etl_load_file(path, &data, &len) != 0) {
        perror(path);
        return 1;
    }
    etl_reader r;
    etl_event ev;
    if (etl_reader_open(&r, data, len) != 0) {
        fprintf(stderr, "%s\n", etl_reader_message(&r));
        etl_reader_close(&r);
        etl_free_file(data);
        return 1;
    }
    jw_buf out;
    jw_init(&out);
    int rc;
    while ((rc = etl_reader_next(&r, &ev)) != TLD_E_END) {
        if (rc < 0) {
            fprintf(stderr, "error: %s\n", etl_reader_message(&r));
            continue;
        }
        jw_clear(&out);
        tl_decoder_format_event(dec, &ev, format, &out);
        fwrite(out.data, 1, out.len, stdout);
    }
    fprintf(stderr, "%llu events, %llu system records, %llu damaged records, %llu errors\n",
            (unsigned long long)r.events, (unsigned long long)r.system_records,
            (unsigned long long)r.damaged_records, (unsigned long long)r.errors);
    etl_reader_close(&r);
    jw_free(&out);
    etl_free_file(data);
    return 0;
}

static double now_s(void)
{
    return (double)tld_clock_ticks() / (double)tld_clock_frequency();
}

/* Decoder throughput: the file's buffers (after buffer 0) repeated in
 * memory behind one copy of buffer 0, decoded to JSON into a memory buffer. */
static int bench(const char *path, double mib)
{
    uint8_t *data;
    size_t len;
    if (etl_load_file(path, &data, &len) != 0) {
        perror(path);
        return 1;
    }
    uint32_t bs = load_le32(data);
    size_t body = len - bs;
    size_t reps = (size_t)(mib * 1048576.0 / (double)body) + 1;
    size_t total = bs + reps * body;
    uint8_t *big = malloc(total);
    memcpy(big, data, bs);
    for (size_t i = 0; i < reps; i++)
        memcpy(big + bs + i * body, data + bs, body);
    store_le32(big + ETL_BUFFER_HEADER_SIZE + 0x20 + 0x24, (uint32_t)(total / bs));
    for (int fmt = 0; fmt < 2; fmt++) {
        jw_buf out;
        jw_init(&out);
        double t0 = now_s();
        etl_reader r;
        etl_event ev;
        etl_reader_open(&r, big, total);
        size_t outbytes = 0, recbytes = 0;
        int rc;
        while ((rc = etl_reader_next(&r, &ev)) != TLD_E_END) {
            if (rc < 0)
                continue;
            recbytes += ev.size;
            tl_decoder_format_event(dec, &ev, fmt, &out);
            if (out.len > (1u << 20)) { /* flush to "nowhere" like a pipe would */
                outbytes += out.len;
                jw_clear(&out);
            }
        }
        outbytes += out.len;
        double dt = now_s() - t0;
        /* Three rates: whole file (buffers are mostly 0xFF filler in this
         * sample), event records only (the honest one), and output. */
        printf("%s: %.1f MiB file, %.1f MB of event records, %llu events in %.3f s: "
               "%.0f MB/s of file, %.0f MB/s of records, %.0f MB/s of output, %.2f M events/s\n",
               fmt ? "text" : "json", total / 1048576.0, recbytes / 1e6, (unsigned long long)r.events, dt,
               total / 1e6 / dt, recbytes / 1e6 / dt, outbytes / 1e6 / dt, r.events / 1e6 / dt);
        etl_reader_close(&r);
        jw_free(&out);
    }
    free(big);
    etl_free_file(data);

    /* Worst-ish case: small events of many integer fields (every value a
     * separate metadata walk and number formatting). */
    tld_event_builder eb;
    tld_builder_init(&eb, 0, 0);
    static uint8_t rec[65536];
    fbuild f;
    fb_init(&f, 65536, 1);
    size_t recbytes = 0, nev = 0;
    while (f.len < (size_t)(mib * 1048576.0 / 4)) {
        tld_event_descriptor d = tld_event_descriptor_default(5, 1);
        tld_builder_reset(&eb, NAME("Ints"), &d, 0);
        for (int i = 0; i < 16; i++) {
            char nm[8] = {'f', (char)('a' + i), 0};
            tld_builder_add_int32(&eb, nm, 2, (int32_t)(nev * 7919u + (unsigned)i * 104729u), 0, 0);
        }
        tld_builder_add_uint64(&eb, NAME("big"), nev * 0x9E3779B97F4A7C15ull, 0, 0);
        tld_builder_add_zstr8(&eb, NAME("s"), "hello", 5, TLD_OUT_UTF8, 0);
        tevent e;
        memset(&e, 0, sizeof e);
        e.provider = PROV;
        e.desc = d;
        static uint8_t traits[32];
        e.traits = traits;
        e.traits_len = make_traits(traits, "Bench");
        e.meta = tld_builder_meta(&eb, &e.meta_len);
        e.data = tld_builder_data(&eb, &e.data_len);
        e.ts = T_START_CLOCK + nev;
        size_t n = make_event(rec, &e);
        fb_add(&f, rec, n);
        recbytes += n;
        nev++;
    }
    fb_finish(&f);
    jw_buf out;
    jw_init(&out);
    double t0 = now_s();
    etl_reader r;
    etl_event ev;
    etl_reader_open(&r, f.data, f.len);
    int rc;
    while ((rc = etl_reader_next(&r, &ev)) != TLD_E_END) {
        if (rc == 0)
            tl_decoder_format_event(dec, &ev, TL_FORMAT_JSON, &out);
        if (out.len > (1u << 20))
            jw_clear(&out);
    }
    double dt = now_s() - t0;
    printf("json, small 18-field events: %.1f MB of records, %zu events in %.3f s: %.0f MB/s of file, "
           "%.0f MB/s of records, %.2f M events/s\n", recbytes / 1e6, nev, dt, f.len / 1e6 / dt,
           recbytes / 1e6 / dt, nev / 1e6 / dt);
    etl_reader_close(&r);
    jw_free(&out);
    free(f.data);
    tld_builder_destroy(&eb);
    return 0;
}

int main(int argc, char **argv)
{
    if (tl_decoder_new(&dec) != 0)
        return 2;
    int rc;
    if (argc >= 3 && strcmp(argv[1], "--dump") == 0) {
        rc = dump(argv[2], argc >= 4 && strcmp(argv[3], "--text") == 0 ? TL_FORMAT_TEXT : TL_FORMAT_JSON);
    } else if (argc >= 3 && strcmp(argv[1], "--seeds") == 0) {
        rc = write_seeds(argv[2]);
    } else if (argc >= 3 && strcmp(argv[1], "--bench") == 0) {
        rc = bench(argv[2], argc >= 4 ? atof(argv[3]) : 256);
    } else {
        const char *path = amsi_path(argc, argv);
        test_json_writer();
        test_scalars();
        test_arrays_structs();
        test_field_errors();
        test_handmade_file();
        test_merge();
        test_damage();
        test_amsi(path);
        test_hostile_amsi(path);
        rc = check_report("test_etl_reader");
    }
    tl_decoder_free(dec);
    return rc;
}
