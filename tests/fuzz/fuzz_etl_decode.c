/*
 * fuzz_etl_decode.c — libFuzzer target for the .etl reader (plain and
 * compressed buffers, kernel records, the pool's windows), the Plain LZ77
 * decoder, the kernel payload decoders, the TraceLogging decoder, the
 * summary and the JSON writer: arbitrary bytes are walked as an .etl file
 * and every record is rendered as JSON and as text. The target also
 * checks promises beyond "no crash": the walk terminates within a bound
 * that depends only on the input (its size and, for compressed buffers,
 * the logfile's BufferSize they expand to), every JSON line is valid UTF-8
 * with no raw control characters, and an error always comes with a
 * message.
 *
 * Build and run: tests/fuzz/run_fuzz.sh (clang, ASan, UBSan).
 *
 * Small inputs rarely hold a whole 64 KiB buffer, so the first byte picks
 * a mode (bits 0-1), a buffer size (bits 2-3) and options (bits 4-7):
 *   0: the bytes as they are (a whole file);
 *   1: records behind a synthetic buffer 0 header (BufferSize 256..2048);
 *   2: a synthetic buffer 0, then the bytes as one compressed buffer's
 *      Plain LZ77 stream (the decoder on arbitrary streams);
 *   3: a synthetic buffer 0, then the bytes as records, compressed by the
 *      test compressor into one compressed buffer (records through the
 *      decompressor).
 * Option bits: 4 kernel records handed out, 5 read through the pool by
 * windows (a file's path), 6 a pool of two buffers, 7 abandon the walk.
 */
#include "etl_kernel.h"
#include "etl_reader.h"
#include "etl_summary.h"
#include "json_writer.h"
#include "tl_decoder.h"

#include "byteorder.h"
#include "lz77_compress_test.h"

#include <stdlib.h>
#include <string.h>

static tl_decoder *dec;
static jw_buf out;

/* Valid UTF-8 and no control characters except the final '\n'. */
static void check_line(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20) {
            if (c == '\n' && i == n - 1)
                return;
            abort();
        }
        size_t k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
        if (k == 0 || i + k > n)
            abort();
        for (size_t j = 1; j < k; j++)
            if (((unsigned char)s[i + j] & 0xC0) != 0x80)
                abort();
        i += k;
    }
    if (n == 0 || s[n - 1] != '\n')
        abort();
}

static void kernel_payloads(const etl_event *ev)
{
    etl_sampled_profile sp;
    etl_stack_walk sw;
    etl_image im;
    etl_process pr;
    etl_thread th;
    etl_kernel_sampled_profile(ev, &sp);
    if (etl_kernel_stack_walk(ev, &sw) == 0 && sw.count)
        (void)etl_stack_walk_address(&sw, sw.count - 1);
    if (etl_kernel_image(ev, &im) == 0 && im.file_name_bytes)
        (void)im.file_name[im.file_name_bytes - 1];
    if (etl_kernel_process(ev, &pr) == 0 && pr.command_line_bytes)
        (void)pr.command_line[pr.command_line_bytes - 1];
    etl_kernel_thread(ev, &th);
}

static void walk(const uint8_t *data, size_t len, unsigned opts, size_t max_stride)
{
    etl_reader r;
    etl_event ev;
    unsigned options = ((opts & 1) ? ETL_READ_SYSTEM_RECORDS : 0) | ((opts & 2) ? ETL_READ_THROUGH_POOL : 0);
    if (etl_reader_open_memory(&r, data, len, options) != 0) {
        if (r.message[0] == '\0')
            abort();
        etl_reader_close(&r);
        return;
    }
    if (r.buffer_size > max_stride) {
        /* Work grows with buffers times their expanded size: stay quick. */
        etl_reader_close(&r);
        return;
    }
    if (opts & 4)
        etl_reader_set_pool_size(&r, 1);
    etl_summary *sum = NULL;
    etl_summary_new(&sum);
    /* Each step consumes at least 8 bytes of a buffer's (expanded) records
     * or ends a buffer; a buffer expands to at most the logfile's
     * BufferSize, and occupies at least 73 bytes of the file. */
    size_t stride = r.buffer_size ? r.buffer_size : ETL_MAX_BUFFER_SIZE;
    size_t limit = len / 8 + (len / 72 + 4) * (stride / 8 + 4);
    size_t steps = 0;
    int rc;
    while ((rc = etl_reader_next(&r, &ev)) != TLD_E_END) {
        if (++steps > limit)
            abort();
        if (rc < 0) {
            if (r.message[0] == '\0')
                abort();
            continue;
        }
        for (int fmt = 0; fmt < 2; fmt++) {
            jw_clear(&out);
            int drc = tl_decoder_format_event(dec, &ev, fmt, &out);
            if (drc != 0 && drc != TLD_E_DECODE_PARTIAL)
                abort(); /* only TLD_E_NO_MEMORY, which must not happen here */
            if (fmt == TL_FORMAT_JSON)
                check_line(out.data, out.len);
        }
        tl_event_names names;
        tl_event_get_names(&ev, &names);
        kernel_payloads(&ev);
        if (sum)
            etl_summary_add(sum, &ev);
        /* Sometimes a walk is abandoned: close must free everything. */
        if ((opts & 8) && r.events + r.system_handed_out == 3)
            break;
    }
    etl_summary_free(sum);
    etl_reader_close(&r);
}

/* A buffer 0 of `bs` bytes with a logfile header record. */
static size_t header_buffer(uint8_t *b, uint32_t bs, uint32_t mode)
{
    memset(b, 0xFF, bs);
    memset(b, 0, ETL_BUFFER_HEADER_SIZE + 0x140);
    uint8_t *rec = b + ETL_BUFFER_HEADER_SIZE;
    uint32_t size = ETL_SYSTEM_TRACE_HEADER_SIZE + ETL_LOGFILE_HEADER_SIZE + 4;
    store_le32(rec, ETL_SYSTEM_MARKER64_TYPE | 2u);
    store_le16(rec + ETL_SYS_SIZE, (uint16_t)size);
    store_le64(rec + ETL_SYS_TIMESTAMP, 1000);
    uint8_t *t = rec + ETL_SYSTEM_TRACE_HEADER_SIZE;
    store_le32(t + ETL_LOGFILE_BUFFER_SIZE, bs);
    store_le32(t + ETL_LOGFILE_MODE, mode);
    store_le32(t + ETL_LOGFILE_BUFFERS_WRITTEN, 2);
    store_le32(t + ETL_LOGFILE_POINTER_SIZE, 8);
    store_le64(t + ETL_LOGFILE_PERF_FREQ, 10000000);
    store_le64(t + ETL_LOGFILE_START_TIME, 133000000000000000ull);
    store_le32(t + ETL_LOGFILE_CLOCK_TYPE, 1);
    uint32_t used = ETL_BUFFER_HEADER_SIZE + ((size + 7) & ~7u);
    store_le32(b + ETL_BUFFER_SIZE_OFFSET, bs);
    store_le32(b + ETL_BUFFER_SAVED_OFFSET, used);
    store_le32(b + ETL_BUFFER_FILLED_OFFSET, used);
    store_le16(b + ETL_BUFFER_FLAG_OFFSET, 0x21);
    store_le16(b + ETL_BUFFER_TYPE_OFFSET, ETL_BUFFER_TYPE_HEADER);
    return bs;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dec) {
        if (tl_decoder_new(&dec) != 0)
            abort();
        jw_init(&out);
    }
    if (size == 0)
        return 0;
    unsigned mode = data[0] & 3, opts = data[0] >> 4;
    uint32_t bs = 256u << ((data[0] >> 2) & 3); /* 256, 512, 1024 or 2048 */
    data++;
    size--;
    if (mode == 0) {
        /* Whole files: keep buffers small enough that expansions stay quick. */
        walk(data, size, opts, 1u << 20);
        return 0;
    }
    if (mode == 1) {
        /* Records behind a synthetic buffer header. */
        size_t len = ETL_BUFFER_HEADER_SIZE + size;
        uint8_t *buf = malloc(len);
        if (!buf)
            return 0;
        memset(buf, 0, ETL_BUFFER_HEADER_SIZE);
        memcpy(buf + ETL_BUFFER_HEADER_SIZE, data, size);
        store_le32(buf, bs);
        uint32_t saved = (uint32_t)(len < bs ? len : bs);
        store_le32(buf + 4, saved);
        store_le32(buf + 0x30, saved);
        walk(buf, len, opts, ETL_MAX_BUFFER_SIZE);
        free(buf);
        return 0;
    }
    /* A compressed buffer after a synthetic buffer 0 (which needs 512 bytes
     * for the logfile header record). */
    if (bs < 512)
        bs = 512;
    uint8_t *z = NULL;
    size_t zn = size;
    if (mode == 3) {
        size_t n = size < bs - ETL_BUFFER_HEADER_SIZE ? size : bs - ETL_BUFFER_HEADER_SIZE;
        z = lz77_compress_test(data, n, 0, &zn);
    }
    size_t len = bs + ETL_BUFFER_HEADER_SIZE + zn;
    uint8_t *buf = malloc(len);
    if (!buf) {
        free(z);
        return 0;
    }
    header_buffer(buf, bs, ETL_LOG_FILE_MODE_COMPRESSED | ETL_LOG_FILE_MODE_SEQUENTIAL);
    uint8_t *h = buf + bs;
    memset(h, 0, ETL_BUFFER_HEADER_SIZE);
    store_le32(h + ETL_BUFFER_SIZE_OFFSET, (uint32_t)(ETL_BUFFER_HEADER_SIZE + zn));
    uint32_t filled = mode == 3 ? (uint32_t)(ETL_BUFFER_HEADER_SIZE + (size < bs - 0x48 ? size : bs - 0x48)) : bs;
    store_le32(h + ETL_BUFFER_FILLED_OFFSET, filled);
    store_le32(h + ETL_BUFFER_SAVED_OFFSET, filled);
    store_le16(h + ETL_BUFFER_FLAG_OFFSET, ETL_BUFFER_FLAG_COMPRESSED | ETL_BUFFER_FLAG_FLUSH_MARKER);
    memcpy(h + ETL_BUFFER_HEADER_SIZE, mode == 3 ? z : data, zn);
    walk(buf, len, opts, ETL_MAX_BUFFER_SIZE);
    free(buf);
    free(z);
    return 0;
}
