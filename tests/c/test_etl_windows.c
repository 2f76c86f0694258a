/*
 * test_etl_windows.c — the reader on the layouts Windows writes, built
 * from the format (etl_build_test.h), not from particular files:
 *
 *   - compressed files (LogFileMode 0x04000000, buffers after the first
 *     compressed, each as long on disk as its compressed bytes): the same
 *     records as the uncompressed file, from memory and from a path with a
 *     pool of two buffers (evictions, reloads); damaged compressed data,
 *     a damaged BufferSize (the walk finds the next buffer header), a file
 *     cut inside a compressed buffer;
 *   - older loggers: SavedOffset 0 in every buffer, buffer 0 included;
 *     32-bit logfile headers; zero padding after the last buffer;
 *   - timestamps for each clock type and several PerfFreq values;
 *   - kernel records (SYSTEM, compact and PERFINFO headers, 64- and
 *     32-bit): classes and names, the payload decoders, JSON and text,
 *     stacks named module+offset and Python functions named from
 *     PythonFunction ranges; records of the EventTrace group not handed out;
 *   - a session that was never stopped; opening a path that is not a
 *     regular file, or missing.
 */
#include "tracelogging/tld.h"

#include "etl_build_test.h"
#include "etl_kernel.h"
#include "etl_reader.h"
#include "etl_summary.h"
#include "json_writer.h"
#include "tl_decoder.h"

#include "check.h"
#include "test_tmpdir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NAME(s) s, (sizeof s - 1)

#define CHECK_CONTAINS(hay, needle)                                                              \
    do {                                                                                         \
        check_count++;                                                                           \
        if (!strstr((hay), (needle))) {                                                          \
            check_failures++;                                                                    \
            fprintf(stderr, "%s:%d: missing %s\n  in: %.3000s\n", __FILE__, __LINE__, (needle), (hay)); \
        }                                                                                        \
    } while (0)

static tl_decoder *dec;

static const tld_guid PROV = {{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00}};
/* etwtrace's provider "Python": 99a10640-320d-4b37-9e26-c311d86da7ab (bytes_le). */
static const tld_guid PYTHON = {{0x40, 0x06, 0xa1, 0x99, 0x0d, 0x32, 0x37, 0x4b, 0x9e, 0x26, 0xc3, 0x11, 0xd8, 0x6d,
                                 0xa7, 0xab}};

/* ---- TraceLogging events ---------------------------------------------------------- */

static size_t put_item(uint8_t *p, uint16_t type, const void *d, size_t n, int more)
{
    size_t size = (8 + n + 7) & ~(size_t)7;
    memset(p, 0, size);
    store_le16(p, (uint16_t)size);
    store_le16(p + 2, type);
    store_le16(p + 4, more ? 1 : 0);
    store_le16(p + 6, (uint16_t)n);
    memcpy(p + 8, d, n);
    return size;
}

/* An EVENT_HEADER record of the builder's event from provider `name`
 * (`prov`), optionally with a stack. */
static size_t tl_record(uint8_t *out, tld_event_builder *eb, const tld_guid *prov, const char *name, uint32_t pid,
                        uint32_t tid, uint64_t ts, const uint64_t *stack, uint32_t nstack)
{
    uint8_t traits[64];
    size_t nl = strlen(name);
    store_le16(traits, (uint16_t)(nl + 3));
    memcpy(traits + 2, name, nl + 1);
    size_t ml, dl;
    const uint8_t *meta = tld_builder_meta(eb, &ml);
    const uint8_t *data = tld_builder_data(eb, &dl);
    memset(out, 0, ETL_EVENT_HEADER_SIZE);
    store_le16(out + 2, 0xC013);
    store_le16(out + 4, ETL_EVENT_FLAG_EXTENDED_INFO);
    store_le32(out + 8, tid);
    store_le32(out + 12, pid);
    store_le64(out + 16, ts);
    memcpy(out + 24, prov->bytes_le, 16);
    tld_event_descriptor d = tld_event_descriptor_default(5, 0);
    tld_event_descriptor_pack(&d, out + 40);
    size_t at = ETL_EVENT_HEADER_SIZE;
    at += put_item(out + at, ETL_EXT_PROV_TRAITS, traits, nl + 3, 1);
    at += put_item(out + at, ETL_EXT_EVENT_SCHEMA_TL, meta, ml, stack != NULL);
    if (stack) {
        uint8_t s[8 + 8 * 32];
        store_le64(s, 1);
        for (uint32_t i = 0; i < nstack; i++)
            store_le64(s + 8 + 8 * i, stack[i]);
        at += put_item(out + at, ETL_EXT_STACK_TRACE64, s, 8 + 8 * (size_t)nstack, 0);
    }
    memcpy(out + at, data, dl);
    at += dl;
    store_le16(out, (uint16_t)at);
    return at;
}

/* Event "Tick" {seq: int32} of provider "Win.Test". */
static size_t tick(uint8_t *out, tld_event_builder *eb, int32_t seq, uint32_t tid, uint64_t ts)
{
    tld_event_descriptor d = tld_event_descriptor_default(5, 0);
    tld_builder_reset(eb, NAME("Tick"), &d, 0);
    tld_builder_add_int32(eb, NAME("seq"), seq, 0, 0);
    return tl_record(out, eb, &PROV, "Win.Test", 7, tid, ts, NULL, 0);
}

/* A file of `n` ticks spread over 4 CPUs' buffers, interleaved in time. */
static void tick_file(eb_file *f, const eb_options *o, int n)
{
    tld_event_builder eb;
    tld_builder_init(&eb, 0, 0);
    eb_init(f, o);
    uint8_t rec[4096];
    /* Runs of `per` ticks, one CPU each; four consecutive runs share a
     * time span (their ticks alternate in time), as per-CPU buffers do. */
    int per = 60;
    for (int start = 0; start < n; start += per) {
        int run = start / per;
        uint16_t cpu = (uint16_t)(run % 4);
        eb_new_buffer(f, cpu);
        for (int i = start; i < start + per && i < n; i++) {
            uint64_t slot = (uint64_t)(run / 4) * per * 4 + (uint64_t)(i - start) * 4 + cpu;
            eb_add(f, rec, tick(rec, &eb, i, 100 + cpu, EB_START_CLOCK + 1000u * slot));
        }
    }
    eb_finish(f);
    tld_builder_destroy(&eb);
}

/* ---- walking -------------------------------------------------------------------------- */

typedef struct walked {
    jw_buf lines;       /* every JSON line */
    int events, errors, notes;
    int last_code;
    char last_error[400];
    uint64_t loads, compressed;
    size_t buffers;
} walked;

static void walked_free(walked *w)
{
    jw_free(&w->lines);
}

static void walk_reader(etl_reader *r, walked *w, int format)
{
    etl_event ev;
    int rc, guard = 0;
    while ((rc = etl_reader_next(r, &ev)) != TLD_E_END) {
        if (++guard > 10000000) {
            CHECK(!"the walk does not end");
            break;
        }
        if (rc < 0) {
            if (rc == TLD_E_NOT_STOPPED)
                w->notes++;
            else
                w->errors++;
            w->last_code = rc;
            snprintf(w->last_error, sizeof w->last_error, "%s", etl_reader_message(r));
            continue;
        }
        w->events++;
        int drc = tl_decoder_format_event(dec, &ev, format, &w->lines);
        CHECK(drc == 0 || drc == TLD_E_DECODE_PARTIAL);
    }
    w->loads = r->buffer_loads;
    w->compressed = r->compressed_buffers;
    w->buffers = r->buffer_count;
}

/* Walks a file in memory; returns what the open returned. */
static int walk_memory_any(const uint8_t *data, size_t len, unsigned options, walked *w, int format)
{
    memset(w, 0, sizeof *w);
    jw_init(&w->lines);
    etl_reader r;
    int rc = etl_reader_open_memory(&r, data, len, options);
    if (rc == 0)
        walk_reader(&r, w, format);
    etl_reader_close(&r);
    return rc;
}

static void walk_memory(const uint8_t *data, size_t len, unsigned options, walked *w, int format)
{
    CHECK_EQ_INT(walk_memory_any(data, len, options, w, format), 0);
}

static void write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL);
    if (fp) {
        CHECK_EQ_INT(fwrite(data, 1, len, fp), len);
        fclose(fp);
    }
}

static void walk_path(const char *path, unsigned options, size_t pool, walked *w)
{
    memset(w, 0, sizeof *w);
    jw_init(&w->lines);
    etl_reader r;
    int rc = etl_reader_open_path(&r, path, options);
    CHECK_EQ_INT(rc, 0);
    if (rc == 0) {
        if (pool)
            etl_reader_set_pool_size(&r, pool);
        walk_reader(&r, w, TL_FORMAT_JSON);
    }
    etl_reader_close(&r);
}

/* ---- compressed files ----------------------------------------------------------------- */

static void test_compressed(void)
{
    eb_options plain_o = {.buffer_size = 4096, .clock_type = 1, .perf_freq = 10000000};
    eb_options z_o = plain_o;
    z_o.compress = 1;
    z_o.log_file_mode = ETL_LOG_FILE_MODE_COMPRESSED | ETL_LOG_FILE_MODE_SEQUENTIAL;
    z_o.buffer0_size = 1024; /* buffer 0 shorter than the logfile's BufferSize, as seen in relogged files */
    eb_file plain, z;
    tick_file(&plain, &plain_o, 2000);
    tick_file(&z, &z_o, 2000);
    CHECK(z.len < plain.len / 2); /* compressed for real */
    walked a, b, c;
    walk_memory(plain.data, plain.len, 0, &a, TL_FORMAT_JSON);
    walk_memory(z.data, z.len, 0, &b, TL_FORMAT_JSON);
    CHECK_EQ_INT(a.events, 2000);
    CHECK_EQ_INT(a.errors, 0);
    CHECK_EQ_INT(b.errors, 0);
    CHECK_EQ_INT(b.events, 2000);
    CHECK_EQ_INT(b.compressed, z.count - 1);
    CHECK_EQ_INT(b.buffers, z.count);
    CHECK(a.lines.len == b.lines.len && memcmp(a.lines.data, b.lines.data, a.lines.len) == 0);
    CHECK_CONTAINS(jw_cstr_view(&b.lines), "\"event\":\"Tick\"");

    /* From a path, with a pool of two buffers: evictions and reloads. */
    char path[512];
    snprintf(path, sizeof path, "%s/z.etl", tmpdir);
    write_file(path, z.data, z.len);
    walk_path(path, 0, 1, &c);
    CHECK_EQ_INT(c.errors, 0);
    CHECK_EQ_INT(c.events, 2000);
    CHECK(c.lines.len == b.lines.len && memcmp(c.lines.data, b.lines.data, b.lines.len) == 0);
    CHECK(c.loads > (uint64_t)z.count); /* buffers came back after eviction */
    walked_free(&c);
    snprintf(path, sizeof path, "%s/plain.etl", tmpdir);
    write_file(path, plain.data, plain.len);
    walk_path(path, 0, 1, &c);
    CHECK_EQ_INT(c.events, 2000);
    CHECK_EQ_INT(c.errors, 0);
    CHECK(c.lines.len == a.lines.len && memcmp(c.lines.data, a.lines.data, a.lines.len) == 0);
    walked_free(&c);

    /* Find the compressed buffers' offsets by walking their own sizes. */
    size_t offs[512], nb = 0;
    for (size_t at = 0; at < z.len && nb < 512; at += load_le32(z.data + at))
        offs[nb++] = at;
    CHECK_EQ_INT(nb, z.count);

    /* A flipped byte inside buffer 3's compressed data: damage reported
     * once; the records decoded before it and all other buffers come out. */
    uint8_t *d = malloc(z.len);
    memcpy(d, z.data, z.len);
    size_t zlen3 = load_le32(d + offs[3]) - ETL_BUFFER_HEADER_SIZE;
    memset(d + offs[3] + ETL_BUFFER_HEADER_SIZE + 2 * zlen3 / 3, 0xFF, zlen3 - 2 * zlen3 / 3);
    walked e;
    walk_memory(d, z.len, 0, &e, TL_FORMAT_JSON);
    CHECK_EQ_INT(e.errors, 1);
    CHECK(e.events < 2000 && e.events > 2000 - 30);
    CHECK_CONTAINS(e.last_error, "buffer 3 (file offset");
    CHECK_CONTAINS(e.last_error, "its compressed data is damaged at byte");
    walked_free(&e);

    /* Garbage for buffer 5's BufferSize: reported; the walk finds buffer 6. */
    memcpy(d, z.data, z.len);
    store_le32(d + offs[5], 0x7FFFFFF0u);
    walk_memory(d, z.len, 0, &e, TL_FORMAT_JSON);
    CHECK_EQ_INT(e.errors, 1);
    CHECK_CONTAINS(e.last_error, "BufferSize 2147483632 is impossible");
    CHECK_CONTAINS(e.last_error, "skipped to the next buffer header");
    CHECK(e.events >= 2000 - 40 && e.events < 2000);
    walked_free(&e);

    /* Cut inside the last compressed buffer: truncation, earlier records kept. */
    size_t cut = offs[nb - 1] + ETL_BUFFER_HEADER_SIZE + 40;
    walk_memory(z.data, cut, 0, &e, TL_FORMAT_JSON);
    CHECK_EQ_INT(e.errors, 1);
    CHECK_EQ_INT(e.last_code, TLD_E_TRUNCATED);
    CHECK(e.events < 2000 && e.events >= 2000 - 60);
    walked_free(&e);

    /* Every cut of the file and many byte flips (ASan/UBSan check the bounds). */
    uint32_t seed = 3;
    for (size_t k = 0; k < z.len; k += 97) {
        int orc = walk_memory_any(z.data, k, 0, &e, TL_FORMAT_JSON);
        CHECK(orc == 0 || (orc == TLD_E_NOT_ETL && k < ETL_BUFFER_HEADER_SIZE));
        CHECK(e.events <= 2000);
        walked_free(&e);
    }
    for (int round = 0; round < 400; round++) {
        memcpy(d, z.data, z.len);
        for (int i = 0; i <= round % 4; i++) {
            seed = seed * 1103515245u + 12345u;
            d[(seed >> 4) % z.len] ^= (uint8_t)(1u << (seed & 7));
        }
        walk_memory_any(d, z.len, ETL_READ_SYSTEM_RECORDS, &e, round % 2 ? TL_FORMAT_TEXT : TL_FORMAT_JSON);
        CHECK(e.events <= 2100);
        walked_free(&e);
    }
    free(d);
    walked_free(&a);
    walked_free(&b);
    free(plain.data);
    free(z.data);
}

/* ---- older loggers, headers, clocks -------------------------------------------------- */

static void first_time(const eb_options *o, uint64_t ts, uint64_t *filetime, int *present)
{
    tld_event_builder eb;
    tld_builder_init(&eb, 0, 0);
    eb_file f;
    eb_init(&f, o);
    uint8_t rec[1024];
    eb_new_buffer(&f, 0);
    eb_add(&f, rec, tick(rec, &eb, 1, 5, ts));
    eb_finish(&f);
    etl_reader r;
    etl_event ev;
    int orc = etl_reader_open(&r, f.data, f.len);
    CHECK_EQ_INT(orc, 0);
    if (orc)
        fprintf(stderr, "  %s\n", etl_reader_message(&r));
    *present = r.header.present;
    CHECK_EQ_INT(etl_reader_next(&r, &ev), 0);
    *filetime = ev.filetime;
    CHECK_EQ_INT(etl_reader_next(&r, &ev), TLD_E_END);
    etl_reader_close(&r);
    free(f.data);
    tld_builder_destroy(&eb);
}

static void test_headers_and_clocks(void)
{
    uint64_t ft;
    int present;
    /* An older logger: SavedOffset 0 everywhere. The header is found, the
     * times converted, and nothing is called damaged. */
    eb_options old = {.buffer_size = 8192, .clock_type = 1, .perf_freq = 3579545, .saved_offset_zero = 1};
    eb_file f;
    tick_file(&f, &old, 500);
    walked w;
    walk_memory(f.data, f.len, 0, &w, TL_FORMAT_JSON);
    CHECK_EQ_INT(w.errors, 0);
    CHECK_EQ_INT(w.events, 500);
    CHECK_CONTAINS(jw_cstr_view(&w.lines), "\"time\":\"2022-06-18T04:26:40.0000000Z\"");
    CHECK(!strstr(jw_cstr_view(&w.lines), "\"time\":\"1601"));
    walked_free(&w);
    free(f.data);

    /* QPC at several frequencies: one second of ticks is one second. */
    static const uint64_t freqs[] = {10000000, 3579545, 14318180, 2343750, 3000000000ull};
    for (size_t i = 0; i < sizeof freqs / sizeof freqs[0]; i++) {
        eb_options o = {.clock_type = 1, .perf_freq = freqs[i]};
        first_time(&o, EB_START_CLOCK + freqs[i], &ft, &present);
        CHECK(present);
        CHECK_EQ_INT(ft, EB_START_FT + 10000000);
    }
    /* System time: the timestamps are FILETIMEs. */
    eb_options st = {.clock_type = 2, .perf_freq = 10000000, .start_clock = EB_START_FT};
    first_time(&st, EB_START_FT + 12345, &ft, &present);
    CHECK_EQ_INT(ft, EB_START_FT + 12345);
    /* CPU cycles at CpuSpeedInMHz. */
    eb_options cyc = {.clock_type = 3, .perf_freq = 10000000, .cpu_mhz = 2400};
    first_time(&cyc, EB_START_CLOCK + 2400000000ull, &ft, &present);
    CHECK_EQ_INT(ft, EB_START_FT + 10000000);
    /* No PerfFreq recorded: 10 MHz is assumed. */
    eb_options nof = {.clock_type = 1, .perf_freq = 0};
    first_time(&nof, EB_START_CLOCK + 10000000, &ft, &present);
    CHECK_EQ_INT(ft, EB_START_FT + 10000000);
    /* A 32-bit logfile header (4-byte name pointers). */
    eb_options p32 = {.clock_type = 1, .perf_freq = 10000000, .pointer_size = 4};
    first_time(&p32, EB_START_CLOCK + 5000000, &ft, &present);
    CHECK(present);
    CHECK_EQ_INT(ft, EB_START_FT + 5000000);

    /* Zero padding after the last buffer (a preallocated file): not damage. */
    eb_options o = {.clock_type = 1, .perf_freq = 10000000};
    tick_file(&f, &o, 100);
    uint8_t *padded = calloc(1, f.len + 3 * 4096);
    memcpy(padded, f.data, f.len);
    walk_memory(padded, f.len + 3 * 4096, 0, &w, TL_FORMAT_JSON);
    CHECK_EQ_INT(w.errors, 0);
    CHECK_EQ_INT(w.events, 100);
    walked_free(&w);
    free(padded);

    /* A session never stopped: the last buffer lacks the flush marker. The
     * records all come out, then the note, once. */
    etl_reader r;
    uint64_t last;
    CHECK_EQ_INT(etl_reader_open(&r, f.data, f.len), 0);
    CHECK_EQ_INT(etl_reader_not_stopped(&r, &last), 0);
    etl_reader_close(&r);
    free(f.data);
    eb_options ns = o;
    ns.not_stopped = 1;
    tick_file(&f, &ns, 100);
    CHECK_EQ_INT(etl_reader_open(&r, f.data, f.len), 0);
    CHECK_EQ_INT(etl_reader_not_stopped(&r, &last), 1);
    CHECK_EQ_INT(last, EB_START_FT);
    etl_reader_close(&r);
    walk_memory(f.data, f.len, 0, &w, TL_FORMAT_JSON);
    CHECK_EQ_INT(w.events, 100);
    CHECK_EQ_INT(w.errors, 0);
    CHECK_EQ_INT(w.notes, 1);
    CHECK_CONTAINS(w.last_error, "was not stopped");
    CHECK_CONTAINS(w.last_error, "2022-06-18T04:26:40Z");
    walked_free(&w);
    free(f.data);
    /* Only buffer 0, its EndTime never rewritten: never stopped either. */
    eb_init(&f, &ns);
    eb_finish(&f);
    CHECK_EQ_INT(etl_reader_open(&r, f.data, f.len), 0);
    CHECK_EQ_INT(etl_reader_not_stopped(&r, NULL), 1);
    etl_reader_close(&r);
    free(f.data);
    eb_init(&f, &o);
    eb_finish(&f);
    CHECK_EQ_INT(etl_reader_open(&r, f.data, f.len), 0);
    CHECK_EQ_INT(etl_reader_not_stopped(&r, NULL), 0);
    etl_reader_close(&r);
    free(f.data);
}

/* ---- kernel records ------------------------------------------------------------------- */

static size_t process_payload(eb_pay *p, uint32_t pid, uint32_t ppid, const char *image, const char *cmd, int ptr32)
{
    p->n = 0;
    pay_ptr(p, 0xFFFF800012340000ull, ptr32); /* UniqueProcessKey */
    pay_u32(p, pid);
    pay_u32(p, ppid);
    pay_u32(p, 1);                      /* SessionId */
    pay_u32(p, 0);                      /* ExitStatus */
    pay_ptr(p, 0x1ab000, ptr32);        /* DirectoryTableBase */
    pay_u32(p, 0);                      /* Flags (v4) */
    /* UserSID: TOKEN_USER (two pointers) + S-1-5-21-1-2 */
    pay_ptr(p, 0xFFFF9000AAAA0000ull, ptr32);
    pay_ptr(p, 0, ptr32);
    static const uint8_t sid[] = {1, 3, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0};
    pay_bytes(p, sid, sizeof sid);
    pay_bytes(p, image, strlen(image) + 1);
    pay_wstr(p, cmd);
    pay_wstr(p, "");                    /* PackageFullName */
    pay_wstr(p, "");                    /* ApplicationId */
    return p->n;
}

static size_t image_payload(eb_pay *p, uint64_t base, uint64_t size, uint32_t pid, const char *path, int ptr32)
{
    p->n = 0;
    pay_ptr(p, base, ptr32);
    pay_ptr(p, size, ptr32);
    pay_u32(p, pid);
    pay_u32(p, 0x1234);                 /* checksum */
    pay_u32(p, 0x5f000000);             /* TimeDateStamp */
    pay_u32(p, 0);                      /* signature level/type, reserved */
    pay_ptr(p, base, ptr32);            /* DefaultBase */
    for (int i = 0; i < 4; i++)
        pay_u32(p, 0);
    pay_wstr(p, path);
    return p->n;
}

static size_t thread_payload(eb_pay *p, uint32_t pid, uint32_t tid)
{
    p->n = 0;
    pay_u32(p, pid);
    pay_u32(p, tid);
    pay_u64(p, 0xFFFFA00000010000ull);  /* StackBase */
    pay_u64(p, 0xFFFFA0000000A000ull);  /* StackLimit */
    pay_u64(p, 0x000000E000100000ull);  /* UserStackBase */
    pay_u64(p, 0x000000E0000F0000ull);  /* UserStackLimit */
    pay_u64(p, 0xF);                    /* Affinity (v3) */
    pay_u64(p, 0x7FF612340000ull);      /* Win32StartAddr */
    pay_u64(p, 0x000000E000200000ull);  /* TebBase */
    pay_u32(p, 0);                      /* SubProcessTag */
    pay_u8(p, 8);
    pay_u8(p, 5);
    pay_u8(p, 2);
    pay_u8(p, 0);
    return p->n;
}

static void test_kernel(void)
{
    eb_options o = {.buffer_size = 8192, .clock_type = 1, .perf_freq = 10000000};
    eb_file f;
    eb_init(&f, &o);
    eb_new_buffer(&f, 0);
    uint8_t rec[4096];
    eb_pay p;
    uint64_t t = EB_START_CLOCK;
    /* Rundown: process, thread, images (one a kernel image). */
    process_payload(&p, 4242, 4, "python.exe", "python.exe fib.py", 0);
    eb_add(&f, rec, eb_system(rec, ETL_HOOK_PROCESS_DC_START, 4, 0, 0, t + 1, p.b, p.n, 0));
    thread_payload(&p, 4242, 777);
    eb_add(&f, rec, eb_system(rec, ETL_HOOK_THREAD_DC_START, 3, 0, 0, t + 2, p.b, p.n, 0));
    image_payload(&p, 0x7FFA00000000ull, 0x200000, 4242, "\\Device\\HarddiskVolume3\\Windows\\System32\\ntdll.dll", 0);
    eb_add(&f, rec, eb_system(rec, ETL_HOOK_IMAGE_DC_START, 3, 0, 0, t + 3, p.b, p.n, 0));
    image_payload(&p, 0xFFFFF80000000000ull, 0x1000000, 0, "\\SystemRoot\\system32\\ntoskrnl.exe", 0);
    eb_add(&f, rec, eb_system(rec, ETL_HOOK_IMAGE_DC_START, 3, 0, 0, t + 4, p.b, p.n, 0));
    /* A Python function's thunk range (etwtrace), then a TL event whose stack goes through it. */
    tld_event_builder eb;
    tld_builder_init(&eb, 0, 0);
    tld_event_descriptor d = tld_event_descriptor_default(5, 0x400);
    tld_builder_reset(&eb, NAME("PythonFunction"), &d, 0);
    tld_builder_add_hexint64(&eb, NAME("FunctionID"), 1, 0, 0);
    tld_builder_add_pointer(&eb, NAME("BeginAddress"), (const void *)(uintptr_t)0x7F0000001000ull, 0, 0);
    tld_builder_add_pointer(&eb, NAME("EndAddress"), (const void *)(uintptr_t)0x7F0000001020ull, 0, 0);
    tld_builder_add_int32(&eb, NAME("LineNumber"), 3, 0, 0);
    tld_builder_add_zstr16(&eb, NAME("SourceFile"), (const uint16_t *)u"C:\\src\\fib.py", 13, 0, 0);
    tld_builder_add_zstr16(&eb, NAME("Name"), (const uint16_t *)u"fib", 3, 0, 0);
    tld_builder_add_int32(&eb, NAME("IsPythonCode"), 1, 0, 0);
    eb_add(&f, rec, tl_record(rec, &eb, &PYTHON, "Python", 4242, 777, t + 5, NULL, 0));
    d = tld_event_descriptor_default(5, 0x200);
    tld_builder_reset(&eb, NAME("PythonStackSample"), &d, 0);
    tld_builder_add_zstr16(&eb, NAME("Mark"), (const uint16_t *)u"m", 1, 0, 0);
    uint64_t stack[3] = {0x7F0000001010ull, 0x7FFA00000123ull, 0x1234};
    eb_add(&f, rec, tl_record(rec, &eb, &PYTHON, "Python", 4242, 777, t + 6, stack, 3));
    /* A sample (PERFINFO header: no ids) and its stack (the sample's clock
     * as EventTimeStamp): kernel frame, Python thunk, ntdll. */
    p.n = 0;
    pay_u64(&p, 0xFFFFF80000000100ull);
    pay_u32(&p, 777);
    pay_u16(&p, 1);
    pay_u8(&p, 0);
    pay_u8(&p, 0);
    eb_add(&f, rec, eb_perfinfo(rec, ETL_HOOK_SAMPLED_PROFILE, 2, t + 7, p.b, p.n, 0));
    p.n = 0;
    pay_u64(&p, t + 7);
    pay_u32(&p, 4242);
    pay_u32(&p, 777);
    pay_u64(&p, 0xFFFFF80000000100ull);
    pay_u64(&p, 0x7F0000001008ull);
    pay_u64(&p, 0x7FFA00000400ull);
    eb_add(&f, rec, eb_perfinfo(rec, ETL_HOOK_STACK_WALK, 2, t + 8, p.b, p.n, 0));
    /* A class not decoded (DiskIo read), a compact header, an EventTrace-group record. */
    p.n = 0;
    pay_u32(&p, 0xdeadbeef);
    eb_add(&f, rec, eb_system(rec, 0x010A, 3, 9, 8, t + 9, p.b, p.n, 0));
    eb_add(&f, rec, eb_compact(rec, 0x0A10, 2, 9, 8, t + 10, p.b, p.n));
    eb_add(&f, rec, eb_system(rec, 0x0008, 2, 0, 0, t + 11, p.b, p.n, 0));
    eb_add(&f, rec, eb_system(rec, 0x2A05, 2, 9, 8, t + 11, p.b, p.n, 0)); /* a group not known */
    /* A WPP message: sequence, GUID, timestamp, thread and process, then its payload. */
    p.n = 0;
    pay_u16(&p, 0);
    pay_u16(&p, 0x9000);
    pay_u16(&p, 17); /* message number */
    pay_u16(&p, ETL_MSG_FLAG_SEQUENCE | ETL_MSG_FLAG_GUID | ETL_MSG_FLAG_TIMESTAMP | ETL_MSG_FLAG_SYSTEMINFO);
    pay_u32(&p, 5);
    pay_bytes(&p, PROV.bytes_le, 16);
    pay_u64(&p, t + 11);
    pay_u32(&p, 31);
    pay_u32(&p, 30);
    pay_bytes(&p, "wpp!", 4);
    store_le16(p.b, (uint16_t)p.n);
    eb_add(&f, p.b, p.n);
    /* An image unloaded: later stacks no longer name it. */
    image_payload(&p, 0x7FFA00000000ull, 0x200000, 4242, "\\Device\\HarddiskVolume3\\Windows\\System32\\ntdll.dll", 0);
    eb_add(&f, rec, eb_system(rec, ETL_HOOK_IMAGE_UNLOAD, 3, 0, 0, t + 12, p.b, p.n, 0));
    p.n = 0;
    pay_u64(&p, t + 12);
    pay_u32(&p, 4242);
    pay_u32(&p, 777);
    pay_u64(&p, 0x7FFA00000400ull);
    eb_add(&f, rec, eb_perfinfo(rec, ETL_HOOK_STACK_WALK, 2, t + 13, p.b, p.n, 0));
    /* 32-bit records: an image load and a sample. */
    image_payload(&p, 0x10000000, 0x5000, 99, "C:\\app32\\x.dll", 1);
    eb_add(&f, rec, eb_system(rec, ETL_HOOK_IMAGE_LOAD, 2, 1, 99, t + 14, p.b, p.n, 1));
    p.n = 0;
    pay_u32(&p, 0x10000100);
    pay_u32(&p, 55);
    pay_u16(&p, 1);
    pay_u16(&p, 0);
    eb_add(&f, rec, eb_perfinfo(rec, ETL_HOOK_SAMPLED_PROFILE, 2, t + 15, p.b, p.n, 1));
    /* A process record too short for its version. */
    p.n = 0;
    pay_u64(&p, 1);
    eb_add(&f, rec, eb_system(rec, ETL_HOOK_PROCESS_START, 4, 0, 0, t + 16, p.b, p.n, 0));
    eb_finish(&f);
    tld_builder_destroy(&eb);
    if (getenv("TLD_DUMP_KERNEL"))
        write_file(getenv("TLD_DUMP_KERNEL"), f.data, f.len);

    /* Without the option the kernel records are stepped over, counted. */
    walked w;
    walk_memory(f.data, f.len, 0, &w, TL_FORMAT_JSON);
    CHECK_EQ_INT(w.events, 3);
    CHECK_EQ_INT(w.errors, 0);
    CHECK_CONTAINS(jw_cstr_view(&w.lines), "\"provider\":null,\"provider_id\":\"44332211-6655-8877-99aa-bbccddeeff00\","
                                           "\"event\":null,\"level\":0,\"keyword\":\"0x0\",\"opcode\":0,\"id\":17,");
    CHECK_CONTAINS(jw_cstr_view(&w.lines), "\"pid\":30,\"tid\":31,\"activity_id\":null,\"related_activity_id\":null,"
                                           "\"payload\":\"77707021\"}");
    walked_free(&w);

    /* With it: the C decoders. */
    etl_reader r;
    etl_event ev;
    CHECK_EQ_INT(etl_reader_open_memory(&r, f.data, f.len, ETL_READ_SYSTEM_RECORDS), 0);
    int seen = 0;
    int rc;
    while ((rc = etl_reader_next(&r, &ev)) != TLD_E_END) {
        CHECK_EQ_INT(rc, 0);
        if (rc < 0)
            continue;
        seen++;
        if (ev.kind != ETL_KIND_SYSTEM)
            continue;
        CHECK(ev.hook_id >> 8 != ETL_GROUP_HEADER); /* EventTrace records are not handed out */
        if (ev.hook_id == ETL_HOOK_PROCESS_DC_START) {
            etl_process pr;
            CHECK_EQ_INT(etl_kernel_process(&ev, &pr), 0);
            CHECK_EQ_INT(pr.process_id, 4242);
            CHECK_EQ_INT(pr.parent_id, 4);
            CHECK(pr.has_flags && pr.user_sid && pr.user_sid_len == 20);
            CHECK(pr.image_file_name_len == 10 && memcmp(pr.image_file_name, "python.exe", 10) == 0);
            CHECK_EQ_INT(pr.command_line_bytes, 2 * strlen("python.exe fib.py"));
            etl_image im;
            CHECK_EQ_INT(etl_kernel_image(&ev, &im), TLD_E_INVALID_ARG);
        } else if (ev.hook_id == ETL_HOOK_THREAD_DC_START) {
            etl_thread th;
            CHECK_EQ_INT(etl_kernel_thread(&ev, &th), 0);
            CHECK(th.process_id == 4242 && th.thread_id == 777 && th.has_priorities && th.base_priority == 8);
            CHECK(th.win32_start_address == 0x7FF612340000ull);
        } else if (ev.hook_id == ETL_HOOK_SAMPLED_PROFILE && ev.pointer_size == 8) {
            etl_sampled_profile sp;
            CHECK_EQ_INT(etl_kernel_sampled_profile(&ev, &sp), 0);
            CHECK(sp.instruction_pointer == 0xFFFFF80000000100ull && sp.thread_id == 777 && sp.count == 1);
            CHECK_EQ_INT(ev.thread_id, ETL_ID_NONE);
            CHECK_EQ_INT(ev.timestamp, t + 7);
        } else if (ev.hook_id == ETL_HOOK_SAMPLED_PROFILE) {
            etl_sampled_profile sp;
            CHECK_EQ_INT(etl_kernel_sampled_profile(&ev, &sp), 0);
            CHECK(sp.instruction_pointer == 0x10000100 && sp.thread_id == 55);
        } else if (ev.hook_id == ETL_HOOK_STACK_WALK && ev.timestamp == t + 8) {
            etl_stack_walk sw;
            CHECK_EQ_INT(etl_kernel_stack_walk(&ev, &sw), 0);
            CHECK(sw.event_timestamp == t + 7 && sw.process_id == 4242 && sw.thread_id == 777 && sw.count == 3);
            CHECK(etl_stack_walk_address(&sw, 1) == 0x7F0000001008ull);
        } else if (ev.hook_id == ETL_HOOK_IMAGE_LOAD) {
            etl_image im;
            CHECK_EQ_INT(ev.pointer_size, 4);
            CHECK_EQ_INT(etl_kernel_image(&ev, &im), 0);
            CHECK(im.base == 0x10000000 && im.size == 0x5000 && im.process_id == 99);
            CHECK_EQ_INT(im.file_name_bytes, 2 * strlen("C:\\app32\\x.dll"));
        } else if (ev.hook_id == ETL_HOOK_PROCESS_START) {
            etl_process pr;
            CHECK_EQ_INT(etl_kernel_process(&ev, &pr), TLD_E_KERNEL_PAYLOAD);
        }
    }
    CHECK_EQ_INT(seen, 17);
    CHECK_EQ_INT(r.system_records, 15 + 2); /* + the logfile header and its companion */
    CHECK_EQ_INT(r.system_handed_out, 14);
    etl_reader_close(&r);

    /* JSON lines. */
    walk_memory(f.data, f.len, ETL_READ_SYSTEM_RECORDS, &w, TL_FORMAT_JSON);
    const char *j = jw_cstr_view(&w.lines);
    CHECK_CONTAINS(j, "\"provider\":\"MSNT_SystemTrace\",\"provider_id\":\"3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c\","
                      "\"event\":\"Process/DCStart\",\"level\":0,\"keyword\":\"0x0\",\"opcode\":3,\"id\":0,"
                      "\"version\":4,");
    CHECK_CONTAINS(j, "\"fields\":{\"UniqueProcessKey\":\"0xffff800012340000\",\"ProcessId\":4242,\"ParentId\":4,"
                      "\"SessionId\":1,\"ExitStatus\":0,\"DirectoryTableBase\":\"0x1ab000\",\"Flags\":0,"
                      "\"UserSID\":\"S-1-5-21-1-2\",\"ImageFileName\":\"python.exe\","
                      "\"CommandLine\":\"python.exe fib.py\",\"PackageFullName\":\"\",\"ApplicationId\":\"\"}");
    CHECK_CONTAINS(j, "\"event\":\"Thread/DCStart\"");
    CHECK_CONTAINS(j, "\"Affinity\":\"0xf\",\"Win32StartAddr\":\"0x7ff612340000\"");
    CHECK_CONTAINS(j, "\"event\":\"Image/DCStart\"");
    CHECK_CONTAINS(j, "\"FileName\":\"\\\\Device\\\\HarddiskVolume3\\\\Windows\\\\System32\\\\ntdll.dll\"");
    CHECK_CONTAINS(j, "\"provider_id\":\"ce1dbfb4-137e-4da6-87b0-3f59aa102cbc\",\"event\":\"PerfInfo/SampledProfile\"");
    CHECK_CONTAINS(j, "\"pid\":null,\"tid\":777,\"activity_id\":null,\"related_activity_id\":null,\"hook\":\"0x0f2e\"");
    CHECK_CONTAINS(j, "\"fields\":{\"InstructionPointer\":\"0xfffff80000000100\",\"ThreadId\":777,\"Count\":1}");
    char want[256];
    snprintf(want, sizeof want, "\"event\":\"StackWalk/Stack\"");
    CHECK_CONTAINS(j, want);
    snprintf(want, sizeof want, "\"clock\":%llu,\"fields\":{\"EventTimeStamp\":%llu,\"StackProcess\":4242,"
             "\"StackThread\":777},\"stack\":[%llu,%llu,%llu]", (unsigned long long)(t + 8),
             (unsigned long long)(t + 7), 0xFFFFF80000000100ull, 0x7F0000001008ull, 0x7FFA00000400ull);
    CHECK_CONTAINS(j, want);
    snprintf(want, sizeof want, "\"event\":\"PerfInfo/SampledProfile\",\"level\":0,\"keyword\":\"0x0\",\"opcode\":46");
    CHECK_CONTAINS(j, want);
    CHECK_CONTAINS(j, "\"event\":\"DiskIo/10\"");
    CHECK_CONTAINS(j, "\"payload\":\"efbeadde\"");
    CHECK_CONTAINS(j, "\"provider_id\":null,\"event\":\"DbgPrint/16\"");
    CHECK_CONTAINS(j, "\"provider_id\":null,\"event\":\"Kernel 0x2a/5\"");
    CHECK_CONTAINS(j, "\"pid\":8,\"tid\":9,"); /* the compact header's ids */
    CHECK_CONTAINS(j, "\"event\":\"Image/Load\"");
    CHECK_CONTAINS(j, "\"ImageBase\":\"0x10000000\",\"ImageSize\":\"0x5000\",\"ProcessId\":99");
    CHECK_CONTAINS(j, "\"error\":\"Process/Start (version 4): its 8-byte payload is too short");
    CHECK(!strstr(j, "EventTrace"));
    walked_free(&w);

    /* Text: stacks in hex, named. */
    tl_decoder_free(dec);
    tl_decoder_new(&dec); /* a fresh decoder: names are learnt from this walk only */
    walk_memory(f.data, f.len, ETL_READ_SYSTEM_RECORDS, &w, TL_FORMAT_TEXT);
    const char *tx = jw_cstr_view(&w.lines);
    CHECK_CONTAINS(tx, " Python/PythonStackSample 5 4242 777 Mark=\"m\" stack=[\"0x7f0000001010 fib (fib.py:3)\","
                       "\"0x7ffa00000123 ntdll.dll+0x123\",\"0x1234\"]");
    CHECK_CONTAINS(tx, " MSNT_SystemTrace/StackWalk/Stack 0 4242 777 EventTimeStamp=");
    CHECK_CONTAINS(tx, "stack=[\"0xfffff80000000100 ntoskrnl.exe+0x100\",\"0x7f0000001008 fib (fib.py:3)\","
                       "\"0x7ffa00000400 ntdll.dll+0x400\"]");
    CHECK_CONTAINS(tx, " MSNT_SystemTrace/PerfInfo/SampledProfile 0 - 777 InstructionPointer=\"0xfffff80000000100\"");
    /* After the unload, ntdll no longer names the address. */
    CHECK_CONTAINS(tx, "StackProcess=4242 StackThread=777 stack=[\"0x7ffa00000400\"]");
    walked_free(&w);

    /* The summary. */
    etl_summary *s;
    CHECK_EQ_INT(etl_summary_new(&s), 0);
    CHECK_EQ_INT(etl_reader_open_memory(&r, f.data, f.len, ETL_READ_SYSTEM_RECORDS), 0);
    while ((rc = etl_reader_next(&r, &ev)) != TLD_E_END)
        if (rc == 0)
            CHECK_EQ_INT(etl_summary_add(s, &ev), 0);
    etl_reader_close(&r);
    CHECK_EQ_INT(etl_summary_count(s, ETL_KIND_SYSTEM), 14);
    CHECK_EQ_INT(etl_summary_count(s, ETL_KIND_MESSAGE), 1);
    CHECK_EQ_INT(etl_summary_count(s, ETL_KIND_EVENT_HEADER), 2);
    int found_stack = 0, found_fn = 0;
    for (size_t i = 0; i < etl_summary_rows(s); i++) {
        const etl_summary_row *row = etl_summary_row_at(s, i);
        if (!strcmp(row->provider, "MSNT_SystemTrace") && !strcmp(row->event, "StackWalk/Stack"))
            found_stack = row->count == 2;
        if (!strcmp(row->provider, "Python") && !strcmp(row->event, "PythonFunction"))
            found_fn = row->count == 1;
    }
    CHECK(found_stack && found_fn);
    etl_summary_free(s);
    free(f.data);
}

/* ---- paths ------------------------------------------------------------------------------- */

static void test_paths(void)
{
    etl_reader r;
    CHECK_EQ_INT(etl_reader_open_path(&r, "/dev/null", 0), TLD_E_NOT_REGULAR_FILE);
    CHECK_CONTAINS(etl_reader_message(&r), "/dev/null is not a regular file");
    etl_reader_close(&r);
    CHECK_EQ_INT(etl_reader_open_path(&r, tmpdir, 0), TLD_E_NOT_REGULAR_FILE);
    etl_reader_close(&r);
    char path[512];
    snprintf(path, sizeof path, "%s/missing.etl", tmpdir);
    CHECK_EQ_INT(etl_reader_open_path(&r, path, 0), -ENOENT);
    CHECK_CONTAINS(etl_reader_message(&r), "cannot open");
    etl_reader_close(&r);
    snprintf(path, sizeof path, "%s/short.etl", tmpdir);
    write_file(path, (const uint8_t *)"hello", 5);
    CHECK_EQ_INT(etl_reader_open_path(&r, path, 0), TLD_E_NOT_ETL);
    CHECK_CONTAINS(etl_reader_message(&r), "short.etl: not an .etl file");
    etl_reader_close(&r);
    etl_reader_close(&r); /* twice is fine */
    CHECK(strcmp(tld_strerror(TLD_E_NOT_STOPPED), "unknown error") != 0);
}

/* ---- fuzzing seeds ----------------------------------------------------------------- */

static int put_seed(const char *dir, const char *name, uint8_t mode, const uint8_t *data, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        perror(path);
        return 1;
    }
    fputc(mode, fp);
    fwrite(data, 1, len, fp);
    fclose(fp);
    return 0;
}

/* Small files of each layout, as seeds for tests/fuzz/fuzz_etl_decode.c
 * (first byte: its mode and options). */
static int write_seeds(const char *dir)
{
    int rc = 0;
    eb_file f;
    eb_options z = {.buffer_size = 1024, .clock_type = 1, .perf_freq = 10000000, .compress = 1,
                    .log_file_mode = ETL_LOG_FILE_MODE_COMPRESSED | ETL_LOG_FILE_MODE_SEQUENTIAL, .buffer0_size = 512};
    tick_file(&f, &z, 40);
    rc |= put_seed(dir, "win_compressed", 0x00, f.data, f.len);
    rc |= put_seed(dir, "win_compressed_pooled", 0x60, f.data, f.len);
    free(f.data);
    eb_options old = {.buffer_size = 1024, .clock_type = 3, .cpu_mhz = 3000, .saved_offset_zero = 1,
                      .pointer_size = 4, .not_stopped = 1};
    tick_file(&f, &old, 30);
    rc |= put_seed(dir, "win_old_logger", 0x00, f.data, f.len);
    free(f.data);
    /* Kernel records of each decoded class, in one buffer. */
    eb_options o = {.buffer_size = 2048, .clock_type = 1, .perf_freq = 10000000};
    eb_init(&f, &o);
    eb_new_buffer(&f, 1);
    uint8_t rec[2048];
    eb_pay p;
    process_payload(&p, 10, 4, "a.exe", "a b", 0);
    eb_add(&f, rec, eb_system(rec, ETL_HOOK_PROCESS_START, 4, 1, 2, EB_START_CLOCK + 1, p.b, p.n, 0));
    thread_payload(&p, 10, 11);
    eb_add(&f, rec, eb_system(rec, ETL_HOOK_THREAD_START, 3, 1, 2, EB_START_CLOCK + 2, p.b, p.n, 0));
    image_payload(&p, 0x7FF000000000ull, 0x10000, 10, "C:\\a.dll", 0);
    eb_add(&f, rec, eb_system(rec, ETL_HOOK_IMAGE_LOAD, 3, 1, 2, EB_START_CLOCK + 3, p.b, p.n, 0));
    p.n = 0;
    pay_u64(&p, 0x7FF000000100ull);
    pay_u32(&p, 11);
    pay_u32(&p, 1);
    eb_add(&f, rec, eb_perfinfo(rec, ETL_HOOK_SAMPLED_PROFILE, 2, EB_START_CLOCK + 4, p.b, p.n, 0));
    p.n = 0;
    pay_u64(&p, EB_START_CLOCK + 4);
    pay_u32(&p, 10);
    pay_u32(&p, 11);
    pay_u64(&p, 0x7FF000000100ull);
    eb_add(&f, rec, eb_perfinfo(rec, ETL_HOOK_STACK_WALK, 2, EB_START_CLOCK + 5, p.b, p.n, 0));
    size_t records_at = 2048 + ETL_BUFFER_HEADER_SIZE;
    eb_finish(&f);
    rc |= put_seed(dir, "win_kernel", 0x10, f.data, f.len);
    /* The same records alone: behind a synthetic header, and compressed. */
    size_t rlen = load_le32(f.data + 2048 + ETL_BUFFER_FILLED_OFFSET) - ETL_BUFFER_HEADER_SIZE;
    rc |= put_seed(dir, "win_kernel_records", 0x1D, f.data + records_at, rlen);
    rc |= put_seed(dir, "win_kernel_records_compressed", 0x1F, f.data + records_at, rlen);
    free(f.data);
    /* The worked examples of the LZ77 format as compressed buffers (mode 2). */
    static const uint8_t ex1[] = {0xFF, 0xFF, 0xFF, 0x17, 0x61, 0x62, 0x63, 0x17, 0x00, 0xA2, 0x78, 0x07, 0x00};
    static const uint8_t ex2[] = {0xFF, 0xFF, 0xFF, 0x7F, 0x7A, 0x07, 0x00, 0x0F, 0xFF, 0x28, 0x01};
    rc |= put_seed(dir, "lz77_example1", 0x02, ex1, sizeof ex1);
    rc |= put_seed(dir, "lz77_example2", 0x0E, ex2, sizeof ex2);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--seeds") == 0)
        return write_seeds(argv[2]);
    if (tl_decoder_new(&dec) != 0)
        return 1;
    if (tmpdir_create("etlwin") != 0)
        return 1;
    test_compressed();
    test_headers_and_clocks();
    test_kernel();
    test_paths();
    tl_decoder_free(dec);
    uint8_t one = 1;
    CHECK_HEX(&one, 1, "01");
    char p[300];
    tmp_path(p, sizeof p, "x");
    return tmpdir_finish(check_report("test_etl_windows"));
}
