#!/usr/bin/env python3
"""Compiles the Windows build's C sources for Windows on ARM64 with clang
(--target=aarch64-w64-windows-gnu, mingw-w64's headers, -Werror).

Debian has no aarch64 mingw-w64 toolchain, linker or C runtime, so this
compiles only (no linking, nothing runs): it proves the sources — the
ARM64 thunk template and packed unwind data included — build for that
target. The file list and flags are those of the x64 cross build
(build/windows/compile_commands.json, i.e. meson.build's lists), with the
x64 thunk template and unwind files swapped for their ARM64 counterparts.

Usage: compile-windows-arm64.py BUILD_DIR OUT_DIR
"""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

SWAP = {
    'thunk_cpu_x86_64.c': 'thunk_cpu_aarch64.c',
    'thunk_template_x86_64_windows.c': 'thunk_template_aarch64_windows.c',
    'unwind_windows_x86_64.c': 'unwind_windows_aarch64.c',
}
# gcc options clang does not take for this target, and dependency-file options.
DROP = {'-mtls-dialect=gnu2', '-MD', '-pipe', '-Winvalid-pch'}
DROP_WITH_VALUE = {'-MQ', '-MF', '-o', '-c'}
MINGW_HEADERS = '/usr/share/mingw-w64/include'


def main() -> int:
    build, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    entries = json.loads((build / 'compile_commands.json').read_text())
    done = 0
    for entry in entries:
        source = (Path(entry['directory']) / entry['file']).resolve()
        # The library sources (core, platform, jit, both extensions); the C
        # tests are x64 programs (they read x64 CONTEXT registers).
        if '/src/' not in str(source):
            continue
        source = source.with_name(SWAP.get(source.name, source.name))
        args = shlex.split(entry['command'])[1:]
        kept, skip = [], False
        for a in args:
            if skip:
                skip = False
            elif a in DROP_WITH_VALUE:
                skip = True
            elif a not in DROP and not a.startswith('-MF') and a != entry['file']:
                kept.append(a)
        obj = out / (str(source.relative_to(source.parents[2])).replace('/', '_') + '.obj')
        cmd = ['clang', '--target=aarch64-w64-windows-gnu', '-isystem', MINGW_HEADERS, '-Werror',
               *kept, '-c', str(source), '-o', str(obj)]
        r = subprocess.run(cmd, cwd=entry['directory'], capture_output=True, text=True)
        if r.returncode != 0:
            print(f'compile-windows-arm64: {source} does not build for Windows ARM64:\n{r.stderr}', file=sys.stderr)
            return 1
        done += 1
    if done == 0:
        print(f'compile-windows-arm64: no sources in {build}/compile_commands.json', file=sys.stderr)
        return 1
    print(f'compile-windows-arm64: {done} source files compiled for Windows ARM64 (not linked: no toolchain here)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
