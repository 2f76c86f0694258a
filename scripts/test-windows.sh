#!/usr/bin/env bash
# make test-windows: the Windows x64 build, from Linux.
#
#   1. cross-compiles with Debian's mingw-w64 (-Werror, meson cross file
#      scripts/cross/x86_64-w64-mingw32.ini): the C core with the Windows
#      platform layer, the ETW sink, the thunk arena, their C tests, and the
#      two Python extension DLLs against CPython's Windows headers
#      (scripts/fetch-cpython-headers.sh) and an import library for
#      python3X.dll (scripts/windows_python_implib.py);
#   2. checks the programs need only DLLs every Windows has;
#   3. runs the C tests under Wine (a prefix in .cache/wine, WINEDEBUG=-all,
#      a timeout per test);
#   4. compiles the same sources for Windows on ARM64 with clang (compile
#      only: Debian has no linker or C runtime for that target);
#   5. compares the descriptors the ETW sink hands to EventWriteTransfer in
#      the Windows build with those of the Linux build (test_etw_sink --dump):
#      they must be identical, byte for byte.
#
# What this proves and what it cannot: docs/windows.md.
# Needs: gcc-mingw-w64-x86-64, wine64 (wine), clang, and apt-get with network access
# for the CPython headers on the first run (cached in .cache/).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV_BIN=${VENV_BIN:-$ROOT/.venv/bin}
MESON=$VENV_BIN/meson
NINJA=$VENV_BIN/ninja
BUILD=build/windows
LINUX_BUILD=build/dev
TEST_TIMEOUT=${TEST_TIMEOUT:-120}

for tool in x86_64-w64-mingw32-gcc x86_64-w64-mingw32-objdump wine; do
    command -v "$tool" >/dev/null || {
        echo "test-windows: $tool is missing (Debian packages gcc-mingw-w64-x86-64 wine64 wine)" >&2
        exit 1
    }
done

export WINEPREFIX=$ROOT/.cache/wine WINEDEBUG=-all WINEARCH=win64
# No Mono or Gecko install prompts in a fresh prefix.
export WINEDLLOVERRIDES="mscoree=;mshtml="
cleanup() { wineserver -k >/dev/null 2>&1 || true; }
trap cleanup EXIT
if [ ! -f "$WINEPREFIX/system.reg" ]; then
    echo "test-windows: creating the Wine prefix $WINEPREFIX" >&2
    timeout 300 wine wineboot --init >/dev/null 2>&1
fi

PYTHON_HEADERS=$(bash scripts/fetch-cpython-headers.sh)

if [ ! -f "$BUILD/build.ninja" ]; then
    "$MESON" setup "$BUILD" --cross-file scripts/cross/x86_64-w64-mingw32.ini \
        -Dbuildtype=debugoptimized -Db_lto=false -Dwindows_python="$PYTHON_HEADERS" >/dev/null
else
    "$MESON" configure "$BUILD" -Dwindows_python="$PYTHON_HEADERS" >/dev/null
fi
"$NINJA" -C "$BUILD"

# Only system DLLs (and python3X.dll for the extensions): no mingw runtime
# DLL (libwinpthread, libgcc) a Windows machine would not have.
allowed='^(KERNEL32|msvcrt|ADVAPI32|ntdll|USER32|SHELL32|python3[0-9]+)\.dll$'
bad=0
for f in "$BUILD"/*.exe "$BUILD"/*.pyd; do
    while read -r dll; do
        if ! [[ $dll =~ $allowed ]]; then
            echo "test-windows: $(basename "$f") needs $dll, which Windows does not ship" >&2
            bad=1
        fi
    done < <(x86_64-w64-mingw32-objdump -p "$f" | awk '/DLL Name:/ { print $3 }')
done
[ "$bad" = 0 ]
echo "test-windows: built $(ls "$BUILD"/*.exe | wc -l) programs and $(ls "$BUILD"/*.pyd | wc -l) extension DLLs"

# Each test under Wine with a time limit (meson's timeouts are 300 s).
"$MESON" test -C "$BUILD" --print-errorlogs --timeout-multiplier "$(awk "BEGIN { print $TEST_TIMEOUT / 300 }")"

# Windows on ARM64: the same sources compiled with clang (no linker or C
# runtime for that target here, so not linked and not run).
if command -v clang >/dev/null; then
    rm -rf build/windows-arm64
    python3 scripts/compile-windows-arm64.py "$BUILD" build/windows-arm64
else
    echo "test-windows: clang not installed: the Windows ARM64 compile was not run" >&2
    if [ -n "${CI:-}" ]; then exit 1; fi
fi

# The descriptors EventWriteTransfer gets, Windows build against Linux build.
"$NINJA" -C "$LINUX_BUILD" test_etw_sink >/dev/null
dumps=$ROOT/.cache/etw-descriptors
mkdir -p "$dumps"
"$LINUX_BUILD/test_etw_sink" --dump "$dumps/linux.txt" >/dev/null
timeout "$TEST_TIMEOUT" wine "$BUILD/test_etw_sink.exe" --dump "$dumps/windows.txt" >/dev/null
if ! cmp -s "$dumps/linux.txt" "$dumps/windows.txt"; then
    echo "test-windows: the ETW descriptors of the Windows build differ from the Linux build's:" >&2
    diff "$dumps/linux.txt" "$dumps/windows.txt" >&2 || true
    exit 1
fi
echo "test-windows: EventWriteTransfer descriptors identical to the Linux build's" \
     "($(grep -c '^event' "$dumps/linux.txt") events)"
