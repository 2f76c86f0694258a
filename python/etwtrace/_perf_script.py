"""The perf adapter of etwtrace.report: reads a perf.data file through
``perf script`` and feeds its samples into a profile.

``perf script -F pid,tid,time,ip,sym,dso`` prints each sample as a header
line ``PID/TID TIME:`` followed by its call chain, innermost first, one
frame a line: ``ADDRESS SYMBOL (DSO)``. Python frames are the thunks that
etwtrace's jitdump names ``py::<qualname>:<filename>`` (spec/etwtrace.md,
linux-profiling.md); they become Python functions, with their first line
taken from the PythonFunction events of the .etl file that ``--capture``
writes beside its perf data (FILE for FILE.perf/perf.data, or for
FILE.perf.data) when it is there. Other frames are native
functions named by their symbol (or address) with their DSO as file; with
``python_only`` they are left out.
"""

import os
import re
import shutil
import subprocess

_HEADER = re.compile(r'^\s*(\d+)/(\d+)\s+(\d+)\.(\d+):')
_FRAME = re.compile(r'^\s+([0-9a-fA-F]+)\s+(.*?)(?:\s+\(([^()]*)\))?\s*$')
_PYTHON = re.compile(r'^py::(.+?):(.*)$')


def _definitions_from_decoder(etl):
    """{(qualname, file): first line} from the PythonFunction events of `etl`."""
    try:
        from traceloggingdynamic.etl import EtlFile
    except ImportError:
        return {}
    lines = {}
    try:
        for e in EtlFile(etl).events():
            if e.get('event') != 'PythonFunction':
                continue
            f = e.get('fields') or {}
            key = (f.get('Name'), f.get('SourceFile'))
            line = f.get('LineNumber') or 0
            if line and (key not in lines or line < lines[key]):
                lines[key] = line
    except (OSError, ValueError):
        return lines
    return lines


def load_perf(path, *, timeline=True, python_only=False, error=RuntimeError):
    """A finished _report.Profile of the samples in perf.data file `path`."""
    from . import _report
    perf = shutil.which('perf')
    if not perf:
        raise error(f'{path} is a perf.data file, and reading it needs `perf` (Debian: linux-perf), '
                    'which is not on PATH')
    etl = _etl_beside(path)
    lines = _definitions_from_decoder(etl) if etl and os.path.isfile(etl) else {}
    proc = subprocess.Popen([perf, 'script', '-i', path, '-F', 'pid,tid,time,ip,sym,dso'],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors='replace')
    profile = _report.Profile(timeline=timeline, python_only=python_only)
    ids = {}
    samples = 0
    try:
        sample = None
        for line in proc.stdout:
            if not line.strip():
                if sample:
                    _add(profile, sample, ids, lines, python_only)
                    samples += 1
                sample = None
                continue
            m = _HEADER.match(line)
            if m and not line.startswith('\t'):
                if sample:
                    _add(profile, sample, ids, lines, python_only)
                    samples += 1
                frac = (m.group(4) + '000000000')[:9]
                sample = (int(m.group(1)), int(m.group(2)), int(m.group(3)) * 1_000_000_000 + int(frac), [])
                continue
            if sample is not None:
                f = _FRAME.match(line)
                if f:
                    sample[3].append((f.group(2), f.group(3) or '', int(f.group(1), 16)))
        if sample:
            _add(profile, sample, ids, lines, python_only)
            samples += 1
    finally:
        stderr = proc.stderr.read()
        status = proc.wait()
    if status != 0:
        raise error(f'perf script could not read {path}: {stderr.strip() or f"exit status {status}"}')
    if samples == 0 and stderr.strip():
        profile.note_damage(f'perf script read no samples: {stderr.strip().splitlines()[-1]}')
    return profile.finish()


def _add(profile, sample, ids, lines, python_only):
    pid, tid, ts, frames = sample
    stack = []
    for sym, dso, address in reversed(frames):          # root first
        m = _PYTHON.match(sym)
        if m:
            key = ('py', pid, m.group(1), m.group(2))
        elif python_only:
            continue
        else:
            name = sym if sym and sym != '[unknown]' else f'0x{address:x}'
            key = ('native', pid, name, dso)
        fid = ids.get(key)
        if fid is None:
            fid = ids[key] = len(ids) + 1
            if key[0] == 'py':
                profile.define_function(pid, fid, key[2], key[3], lines.get((key[2], key[3]), 0))
            else:
                profile.define_function(pid, fid, key[2], os.path.basename(dso) if dso else '', 0,
                                        is_python=False)
        stack.append(fid)
    profile.sample(pid, tid, ts, stack, 1.0)


def _etl_beside(path):
    """The .etl a --capture --perf wrote with perf data `path`: FILE for
    FILE.perf/perf.data (and for FILE.perf.data, as earlier versions wrote)."""
    import os
    folder, name = os.path.split(os.path.abspath(path))
    if name == 'perf.data' and folder.endswith('.perf'):
        return folder[:-len('.perf')]
    if path.endswith('.perf.data'):
        return path[:-len('.perf.data')]
    return None
