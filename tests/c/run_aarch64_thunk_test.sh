#!/usr/bin/env bash
# Cross-compiles the thunk arena test (tests/c/test_thunks.c with the aarch64
# template) for aarch64, statically, and runs it under qemu-aarch64-static:
# it calls through thunks, unwinds through them with the registered CFI,
# forks, and checks W^X; then once more with executable memory refused.
#
# Needs Debian's gcc-aarch64-linux-gnu and qemu-user-static
# (apt-get install -y gcc-aarch64-linux-gnu qemu-user-static).
# Exits non-zero if a tool is missing (with CI set) or the test fails.
set -euo pipefail
cd "$(dirname "$0")/../.."

CC=${AARCH64_CC:-aarch64-linux-gnu-gcc}
QEMU=${QEMU_AARCH64:-qemu-aarch64-static}
OUT=${OUT_DIR:-build/aarch64}

for tool in "$CC" "$QEMU"; do
    if ! command -v "$tool" >/dev/null; then
        echo "run_aarch64_thunk_test: $tool not installed (apt-get install -y gcc-aarch64-linux-gnu qemu-user-static)"
        if [ -n "${CI:-}" ]; then exit 1; fi
        exit 0
    fi
done

# The thunk arenas as meson.build builds them for Linux on aarch64, and the
# platform layer's threads they lock with.
THUNK_SOURCES=(src/jit/thunk_arena.c src/jit/thunk_arena_linux.c src/jit/thunk_template.c
    src/jit/thunk_cpu_aarch64.c src/jit/thunk_template_aarch64.c
    src/jit/eh_frame.c src/jit/unwind_linux.c src/platform/thread_posix.c)

mkdir -p "$OUT"
set -x
"$CC" -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -static -pthread \
    -mbranch-protection=standard -fno-omit-frame-pointer \
    -Isrc/platform -Isrc/jit -Itests/c \
    -o "$OUT/test_thunks" \
    tests/c/test_thunks.c "${THUNK_SOURCES[@]}"
file "$OUT/test_thunks" || true
"$QEMU" "$OUT/test_thunks"
# The refusal path (the test cannot re-execute itself under qemu-user).
ETWTRACE_TEST_DENY_EXEC=1 "$QEMU" "$OUT/test_thunks" --deny-exec-child
# The jitdump records for the aarch64 template (CFI, sizes, stride).
"$CC" -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -static -pthread \
    -Isrc/platform -Isrc/jit -Itests/c \
    -o "$OUT/test_jitdump" \
    tests/c/test_jitdump.c src/jit/jitdump_linux.c "${THUNK_SOURCES[@]}"
"$QEMU" "$OUT/test_jitdump"
