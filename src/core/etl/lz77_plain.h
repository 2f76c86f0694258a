/*
 * lz77_plain.h — decompression of [MS-XCA] "Plain LZ77" (LZXPRESS), the
 * format of compressed .etl buffers (relogged traces, WPR's merged output).
 * Written from the format description in
 * ../shared/spec/etw-kernel-events.md §6 ([MS-XCA] §2.3-2.4):
 *
 *     u32 flag word, read from bit 31 down (32 flags), then per flag:
 *       0 -> one literal byte
 *       1 -> end of stream when the input is exhausted, else a u16 match
 *            token: offset = (w >> 3) + 1, length from w & 7, extended by a
 *            shared half-byte, a byte, a u16 and a u32 for longer matches
 *
 * Every length read from the input is checked: a match reaching before the
 * start of the output, an input that ends inside a token, an impossible
 * extended length or an output larger than the caller's space are errors,
 * never reads or writes out of bounds. What was decoded before the error
 * is left in the output and counted, so a caller can keep the records that
 * are whole.
 */
#ifndef TLD_LZ77_PLAIN_H
#define TLD_LZ77_PLAIN_H

#include <stddef.h>
#include <stdint.h>

#include "tracelogging/tld_errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Decodes in[0..in_len) into out[0..out_cap). Returns 0 when the stream
 * ended: the input is used up where a flag word, a literal or a match
 * would start (compressors pad the last flag word with 1s; a stream that
 * ends on a 0 flag is accepted as readers of the format do, and a
 * truncated stream shows as less output than expected), TLD_E_LZ77_DAMAGED for a
 * malformed stream, or TLD_E_LZ77_OUTPUT_FULL when the output needs more
 * than out_cap bytes. In every case *out_len is the number of bytes decoded
 * (all of them correct) and, when error_at is not NULL, *error_at the input
 * offset where decoding stopped. A caller that only needs the first N bytes
 * passes out_cap = N and takes TLD_E_LZ77_OUTPUT_FULL as success.
 */
int tld_lz77_plain_decompress(const uint8_t *in, size_t in_len, uint8_t *out, size_t out_cap, size_t *out_len,
                              size_t *error_at);

#ifdef __cplusplus
}
#endif

#endif
