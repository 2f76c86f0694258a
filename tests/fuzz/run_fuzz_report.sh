#!/bin/sh
# run_fuzz_report.sh — builds the libFuzzer target of the report path
# (tests/fuzz/fuzz_report_etl.c: .etl adapter, profile model, every writer)
# with clang, ASan and UBSan, seeds it with a small instrumented trace of
# tests/python/etwtrace/scripts/report_known.py (made with the installed
# etwtrace, cut into pieces of a few buffers) and fuzzes for SECONDS
# (default 60).
#
#   tests/fuzz/run_fuzz_report.sh [SECONDS]
#
# Environment: OUT (default build/fuzz-report), PYTHON (default .venv/bin/python).
set -eu
cd "$(dirname "$0")/../.."
OUT=${OUT:-build/fuzz-report}
PYTHON=${PYTHON:-.venv/bin/python}
CC=${CC:-clang}
SECS=${1:-60}
mkdir -p "$OUT/corpus" "$OUT/seeds"
INC="-Iinclude -Isrc/core -Isrc/core/encoder -Isrc/core/etl -Isrc/core/decoder -Isrc/report"
"$PYTHON" src/report/html/embed.py src/report/html/report.html "$OUT/report_html_template.c"
$CC -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=all $INC -o "$OUT/fuzz_report_etl" tests/fuzz/fuzz_report_etl.c \
    src/report/*.c "$OUT/report_html_template.c" src/core/etl/etl_reader.c src/core/errors.c -lm
if [ ! -f "$OUT/seeds/whole.etl" ]; then
    "$PYTHON" -m etwtrace --instrumented --no-perf --capture "$OUT/seeds/whole.etl" -- \
        tests/python/etwtrace/scripts/report_known.py >/dev/null 2>&1
    "$PYTHON" - "$OUT/seeds" <<'PY'
import os, sys
out = sys.argv[1]
data = open(os.path.join(out, 'whole.etl'), 'rb').read()
bs = int.from_bytes(data[:4], 'little')
# Smaller pieces fuzz faster: buffer 0 plus one more buffer, then halves.
for i in range(1, len(data) // bs):
    piece = data[:bs] + data[i * bs:(i + 1) * bs]
    open(os.path.join(out, f'buffers-0-{i}.etl'), 'wb').write(piece)
    open(os.path.join(out, f'half-0-{i}.etl'), 'wb').write(piece[:bs + bs // 2])
os.unlink(os.path.join(out, 'whole.etl'))
PY
fi
"$OUT/fuzz_report_etl" -max_total_time="$SECS" -max_len=200000 -timeout=20 -rss_limit_mb=2048 -artifact_prefix="$OUT/" \
    "$OUT/corpus" "$OUT/seeds"
