/*
 * fuzz_etl_decode.c — libFuzzer target for the .etl reader, the TraceLogging
 * decoder and the JSON writer: arbitrary bytes are walked as an .etl file
 * and every event is rendered as JSON and as text. The target also checks
 * two promises beyond "no crash": the walk terminates within a bound that
 * depends only on the input size, and every JSON line is valid UTF-8 with
 * no raw control characters.
 *
 * Build (see tests/c/build_reader_tests.sh fuzz):
 *   clang -fsanitize=fuzzer,address,undefined -Iinclude -Isrc/core/etl -Isrc/core/decoder -Isrc/core/encoder -Isrc/platform \
 *     tests/fuzz/fuzz_etl_decode.c src/core/etl/etl_reader.c src/core/decoder/tl_decoder.c \
 *     src/core/decoder/json_writer.c src/core/errors.c -lm
 *
 * Small inputs rarely hold a whole 64 KiB buffer, so the first byte picks a
 * mode: the bytes are either used as they are, or prefixed with a valid
 * 256-byte buffer header (BufferSize = 256 .. 4 KiB) so the fuzzer spends
 * its time on records, extended items and TraceLogging metadata.
 */
#include "etl_reader.h"
#include "json_writer.h"
#include "tl_decoder.h"

#include "byteorder.h"

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

static void walk(const uint8_t *data, size_t len)
{
    etl_reader r;
    etl_event ev;
    if (etl_reader_open(&r, data, len) != 0) {
        etl_reader_close(&r);
        return;
    }
    /* Each step either consumes at least 8 bytes of the file or ends a
     * buffer, so the walk is bounded by the input size. */
    size_t limit = len / 8 + 2 * r.buffer_count + 4;
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
        if (ev.user_data < data || ev.user_data + ev.user_data_len > data + len)
            abort();
        for (int fmt = 0; fmt < 2; fmt++) {
            jw_clear(&out);
            int drc = tl_decoder_format_event(dec, &ev, fmt, &out);
            if (drc < 0)
                abort(); /* only TLD_E_NO_MEMORY, which must not happen here */
            if (fmt == TL_FORMAT_JSON)
                check_line(out.data, out.len);
        }
        tl_event_names names;
        tl_event_get_names(&ev, &names);
        /* Sometimes a walk is abandoned: close must free the cursors. */
        if (len % 7 == 0 && r.events == 3)
            break;
    }
    etl_reader_close(&r);
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
    if (data[0] & 1) {
        walk(data + 1, size - 1);
        return 0;
    }
    /* Synthetic buffer 0 header in front of the bytes: BufferSize from data[0]. */
    uint32_t bs = 256u << ((data[0] >> 1) & 3); /* 256, 512, 1024 or 2048 */
    size_t len = 0x48 + (size - 1);
    uint8_t *buf = malloc(len);
    if (!buf)
        return 0;
    memset(buf, 0, 0x48);
    memcpy(buf + 0x48, data + 1, size - 1);
    store_le32(buf, bs);
    uint32_t saved = (uint32_t)(len < bs ? len : bs);
    store_le32(buf + 4, saved);
    store_le32(buf + 0x30, saved);
    walk(buf, len);
    free(buf);
    return 0;
}
