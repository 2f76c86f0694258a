#!/usr/bin/env python3
"""Makes the import library the Windows extension DLLs link against.

There is no Windows CPython here, so no python3X.lib: this lists what the
extension objects import (``nm -u``: the ``__imp_`` symbols their
dllimport declarations reference), checks that each is one the CPython
headers declare with PyAPI_FUNC or PyAPI_DATA (what python3X.dll exports:
the headers are preprocessed by the cross compiler as the extensions see
them, so macro renamings such as PY_SSIZE_T_CLEAN's are followed), writes
a module-definition file and has dlltool turn it into an import library
for python3X.dll. An imported name the headers do not export is an error:
the extension would not load.

Used by meson.build (Windows cross build with -Dwindows_python=DIR).
"""

import argparse
import pathlib
import re
import subprocess
import sys

# What PyAPI_FUNC/PyAPI_DATA expand to (mingw spells __declspec this way).
IMPORTED = re.compile(r'__declspec\(dllimport\)|__attribute__\(\(dllimport\)\)')
HEADERS = '#include <Python.h>\n#include <frameobject.h>\n#include <structmember.h>\n'


def exported_names(cc: str, include_dir: pathlib.Path) -> dict:
    """Name -> 'FUNC' or 'DATA' for every dllimport declaration of the
    headers (PyAPI_FUNC / PyAPI_DATA, after preprocessing)."""
    pc_dir = include_dir.parent / 'PC'
    text = subprocess.run([cc, '-E', '-P', '-DMS_WIN64', '-DPY_SSIZE_T_CLEAN', f'-I{include_dir}', f'-I{pc_dir}',
                           '-x', 'c', '-'], input=HEADERS, check=True, capture_output=True, text=True).stdout
    names = {}
    for declaration in re.sub(r'\s+', ' ', text).split(';'):
        found = IMPORTED.search(declaration)
        if found is None:
            continue
        rest = declaration[found.end():]
        if 'extern' in declaration[:found.start()]:
            # PyAPI_DATA: the variable is the last name, or (*name) for a
            # function pointer.
            pointer = re.search(r'\(\s*\*\s*([A-Za-z_]\w*)\s*\)', rest)
            name = pointer.group(1) if pointer else re.findall(r'[A-Za-z_]\w*', rest.split('[')[0])[-1]
            names.setdefault(name, 'DATA')
        else:
            match = re.search(r'([A-Za-z_]\w*)\s*\(', rest)
            if match:
                names.setdefault(match.group(1), 'FUNC')
    return names


def imported_names(nm: str, archives: list) -> set:
    """Names the objects leave undefined: __imp_X for what their dllimport
    declarations reference, X itself for a function whose address a static
    initializer takes (a type's tp_iter = PyObject_SelfIter): the import
    library's stub for X serves those."""
    out = subprocess.run([nm, '--undefined-only', '--no-sort', *archives], check=True,
                         capture_output=True, text=True).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[-2] == 'U':
            name = parts[-1]
            names.add(name[len('__imp_'):] if name.startswith('__imp_') else name)
    return names


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--dll', required=True, help='the DLL the library imports from, e.g. python311.dll')
    ap.add_argument('--include', required=True, type=pathlib.Path, help="CPython's Include directory")
    ap.add_argument('--cc', required=True, help='the (cross) C compiler, to preprocess the headers')
    ap.add_argument('--nm', required=True)
    ap.add_argument('--dlltool', required=True)
    ap.add_argument('--output', required=True, type=pathlib.Path)
    ap.add_argument('archives', nargs='+', help='static libraries of the extension objects')
    args = ap.parse_args()

    exported = exported_names(args.cc, args.include)
    if not exported:
        print(f'windows_python_implib: no PyAPI declarations under {args.include}', file=sys.stderr)
        return 1
    # Windows system DLLs (kernel32, advapi32, ntdll, the C runtime) come
    # from mingw's own import libraries; only Python's names are ours.
    wanted = sorted(n for n in imported_names(args.nm, args.archives) if n.startswith(('Py', '_Py')))
    missing = [n for n in wanted if n not in exported]
    if missing:
        print(f'windows_python_implib: the extensions import names {args.dll} does not export '
              f'(not declared PyAPI_FUNC/PyAPI_DATA in {args.include}): {", ".join(missing)}', file=sys.stderr)
        return 1
    definition = args.output.with_suffix('.def')
    lines = [f'LIBRARY {args.dll}', 'EXPORTS']
    lines += [f'    {n} DATA' if exported[n] == 'DATA' else f'    {n}' for n in wanted]
    definition.write_text('\n'.join(lines) + '\n', encoding='ascii')
    subprocess.run([args.dlltool, '--input-def', str(definition), '--dllname', args.dll,
                    '--output-lib', str(args.output)], check=True)
    print(f'windows_python_implib: {len(wanted)} names imported from {args.dll}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
