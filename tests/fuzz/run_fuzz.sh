#!/bin/sh
# run_fuzz.sh — builds the libFuzzer target for the .etl reader (plain and
# compressed buffers, kernel records), the LZ77 decoder and the TraceLogging
# decoder (tests/fuzz/fuzz_etl_decode.c) with clang, ASan and UBSan, makes a
# seed corpus (hand-built files from tests/c/test_etl_reader.c and
# tests/c/test_etl_windows.c, pieces of the real Windows file), and fuzzes
# for SECONDS (default 120). `make fuzz-smoke` runs it briefly.
#
#   tests/fuzz/run_fuzz.sh [SECONDS]
#
# Environment: OUT (default build/fuzz), TLD_AMSI_ETL (default
# ../shared/data/AMSITrace.etl relative to the repository).
set -eu
cd "$(dirname "$0")/../.."
OUT=${OUT:-build/fuzz}
AMSI=${TLD_AMSI_ETL:-$(pwd)/../shared/data/AMSITrace.etl}
mkdir -p "$OUT"
INC="-Iinclude -Isrc/core -Isrc/core/encoder -Isrc/core/session -Isrc/core/etl -Isrc/core/decoder -Isrc/platform -Itests/c"
WARN="-std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE"
READER="src/core/etl/etl_reader.c src/core/etl/etl_kernel.c src/core/etl/lz77_plain.c src/platform/file_read_posix.c
        src/core/decoder/tl_decoder.c src/core/decoder/json_writer.c src/core/decoder/address_names.c
        src/core/decoder/etl_summary.c"
# The seed generators need the builder (to make events), the clock and the
# tests' platform layer (scratch directory); errors.c for tld_strerror.
CORE="src/core/encoder/event_builder.c src/core/encoder/event_fields.c src/core/encoder/event_descriptor.c
      src/core/encoder/utf16.c src/core/errors.c src/platform/clock_posix.c src/platform/thread_posix.c
      src/platform/cpu_features.c tests/c/test_platform_posix.c"
CC=${CC:-clang}
SECS=${1:-120}
$CC $WARN -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all $INC \
    -o "$OUT/fuzz_etl_decode" tests/fuzz/fuzz_etl_decode.c $READER src/core/errors.c -lm
CORPUS="$OUT/fuzz_corpus"
SEEDS="$OUT/fuzz_seeds"
mkdir -p "$CORPUS" "$SEEDS"
# Seeds: hand-built files from the test programs (our layouts, and Windows'
# compressed, older-logger and kernel layouts), then pieces of the real
# file. The target's first byte picks a mode (bits 0-1: 0 a whole file,
# 1 records behind a synthetic buffer header of 256 << ((b >> 2) & 3),
# 2 an LZ77 stream as a compressed buffer, 3 records compressed into one)
# and options (bit 4 kernel records, 5 through the pool, 6 tiny pool,
# 7 abandon the walk).
$CC $WARN -O1 $INC -o "$OUT/test_etl_reader_seeds" tests/c/test_etl_reader.c $READER $CORE -lm -lpthread
"$OUT/test_etl_reader_seeds" --seeds "$SEEDS"
$CC $WARN -O1 $INC -o "$OUT/test_etl_windows_seeds" tests/c/test_etl_windows.c $READER $CORE -lm -lpthread
"$OUT/test_etl_windows_seeds" --seeds "$SEEDS"
python3 - "$AMSI" "$SEEDS" <<'PY'
import os, random, sys
src, out = sys.argv[1], sys.argv[2]
data = open(src, 'rb').read()
bs = int.from_bytes(data[:4], 'little')
def put(name, b):
    open(os.path.join(out, name), 'wb').write(b)
put('amsi_full', b'\x00' + data)
put('amsi_full_pooled', b'\x60' + data)
for n in (0x300, 0x2000, 0x8000):
    put(f'amsi_prefix_{n:x}', b'\x00' + data[:n])
# Records of buffer 1 behind a synthetic 2 KiB buffer header (mode 1, size
# bits 3: byte 0x0d): the two 364-byte AmsiScript events at 0x708 and 0x878;
# the same compressed into one buffer (mode 3: 0x0f).
recs = data[bs + 0x708: bs + 0x9e8]
put('amsi_records', b'\x0d' + recs)
put('amsi_records_compressed', b'\x0f' + recs)
rnd = random.Random(1)
for i in range(24):
    b = bytearray(recs if i % 2 else data[:0x300] + data[bs:bs + 0x1000])
    for _ in range(1 + i % 5):
        b[rnd.randrange(len(b))] ^= 1 << rnd.randrange(8)
    put(f'amsi_flip_{i}', (b'\x0d' if i % 2 else b'\x00') + bytes(b))
PY
"$OUT/fuzz_etl_decode" -max_total_time="$SECS" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 "$CORPUS" "$SEEDS"
