"""Python frames in Linux `perf` on the stock interpreter (no frame
pointers): `python -m etwtrace --capture FILE --perf -- busy.py` runs the
program under `perf record -k 1 --call-graph dwarf` with thunks and a
jitdump file in FILE.perf/, then `perf inject --jit`; the sampled call
chains must read c <- b <- a, nothing may be left in /tmp, and the built-in
sampler's PythonSample events must be in FILE as well. perf is opt-in:
without --perf it never runs; a perf that cannot run says so in one line.

Skipped only when perf is missing outside CI; in CI (CI set) a missing or
unusable perf fails.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from etwtrace_helpers import IN_CI, SCRIPTS, SANITIZED, clean_env, needs_core, python_events, run

PERF = shutil.which('perf')

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith('linux'), reason='perf is Linux only'),
    pytest.mark.skipif(PERF is None and not IN_CI,
                       reason='perf is not installed (Debian: linux-perf); in CI this test fails instead'),
    pytest.mark.skipif(SANITIZED, reason='perf DWARF unwinding under ASan is too slow and not what is tested'),
    needs_core,
]

BUSY_SECONDS = '0.6'


def _chains(perf_data):
    """perf script's samples of the busy.py process: lists of symbol names,
    innermost first."""
    out = subprocess.run(['perf', 'script', '-i', str(perf_data), '-F', 'comm,pid,ip,sym'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    chains, cur = [], None
    for line in out.stdout.splitlines():
        if not line.strip():
            if cur:
                chains.append(cur)
            cur = None
        elif not line.startswith((' ', '\t')):
            cur = []
        elif cur is not None:
            parts = line.split(None, 1)
            cur.append(parts[1] if len(parts) > 1 else '')
    if cur:
        chains.append(cur)
    return chains


def _python_names(chain):
    """The Python function names in a chain (thunk symbols name the function
    and its file), innermost first."""
    names = []
    for sym in chain:
        m = re.search(r'py::([^:\s]+):\S*busy\.py', sym)
        if m:
            names.append(m.group(1))
    return names


def _tmp_files_of(pid):
    return sorted(str(p) for pattern in (f'perf-{pid}.map', f'jit-{pid}.dump', f'jitted-{pid}-*.so')
                  for p in Path('/tmp').glob(pattern))


def _program_pid(folder):
    dumps = list(folder.glob('jit-*.dump'))
    assert len(dumps) == 1, list(folder.iterdir())
    return int(dumps[0].name[len('jit-'):-len('.dump')])


def _jit_folder(stderr, folder):
    """Where the capture put the jitdump and jitted objects: FILE.perf, or
    the /tmp/jitted-etwtrace-* folder it names where perf unwinds with libdw."""
    from etwtrace._capture import perf_unwinds_jitted_code_anywhere
    m = re.search(r'what perf reads with them is in \S+ and (\S+)', stderr)
    if perf_unwinds_jitted_code_anywhere():
        assert m is None, stderr
        return folder
    assert m and m.group(1).startswith('/tmp/jitted-etwtrace-'), stderr
    jit = Path(m.group(1))
    assert jit.stat().st_mode & 0o777 == 0o700
    return jit


def test_perf_sees_c_b_a(tmp_path):
    assert PERF, 'perf is not installed but CI is set: install linux-perf'
    etl = tmp_path / 'busy.etl'
    proc = run(['-m', 'etwtrace', '--capture', etl, '--perf', '--', SCRIPTS / 'busy.py', BUSY_SECONDS], timeout=300)
    folder = Path(str(etl) + '.perf')
    data = folder / 'perf.data'
    assert data.is_file(), proc.stderr
    assert not (folder / 'raw.data').exists() and not (folder / 'buildid').exists()
    m = re.search(r'perf samples written to (\S+)', proc.stderr)
    assert m and Path(m.group(1)) == data, proc.stderr
    jit = _jit_folder(proc.stderr, folder)
    pid = _program_pid(jit)
    assert list(jit.glob(f'jitted-{pid}-*.so')), 'perf inject made no jitted .so files'
    assert _tmp_files_of(pid) == []                              # nothing loose in /tmp
    # perf's build-id cache is left alone (perf inject used one in the folder, removed).
    cache = Path(os.environ.get('HOME', '/root')) / '.debug'
    assert not list(cache.glob(f'**/jitted-{pid}-*')), 'perf inject copied jitted .so files into ~/.debug'
    # The built-in sampler ran in the program too.
    events = python_events(etl)
    names = {e['fields']['FunctionID']: e['fields']['Name'] for e in events if e['event'] == 'PythonFunction'}
    sampled = [[names[hex(i)] for i in e['fields']['FunctionIDs']] for e in events if e['event'] == 'PythonSample']
    assert any(s[:3] == ['c', 'b', 'a'] for s in sampled), sampled[:10]

    chains = [_python_names(c) for c in _chains(data)]
    in_c = [c for c in chains if c and c[0] == 'c']
    assert in_c, f'no sample inside c(); chains seen: {chains[:20]}'
    full = [c for c in in_c if c[:3] == ['c', 'b', 'a']]
    assert len(full) >= len(in_c) * 0.8, f'{len(full)} of {len(in_c)} samples in c() unwind to b and a: {in_c[:10]}'
    for c in full:
        assert c[3:4] in ([], ['<module>']), c

    report = subprocess.run(['perf', 'report', '-i', str(data), '--stdio', '--no-children',
                             '--call-graph', 'graph,0.5,callee', '--percent-limit', '5'], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, timeout=120)
    assert report.returncode == 0, report.stderr
    # The callee-ordered call graph of the hottest entry reads c, then its
    # caller b, then a, top to bottom.
    text = report.stdout
    pos = 0
    for name in ('c', 'b', 'a'):
        m = re.compile(rf'py::{re.escape(name)}:\S*busy\.py').search(text, pos)
        assert m, f'py::{name} not found after position {pos} in perf report:\n{text[:4000]}'
        pos = m.end()


def test_perf_stack_size_and_arguments(tmp_path):
    assert PERF, 'perf is not installed but CI is set: install linux-perf'
    etl = tmp_path / 'sized.etl'
    proc = run(['-m', 'etwtrace', '--capture', etl, '--perf', '--perf-stack-size', '16384',
                '--perf-args', '-F 499 --no-inherit', '--', SCRIPTS / 'busy.py', '0.2'], timeout=300)
    data = Path(str(etl) + '.perf') / 'perf.data'
    assert data.is_file(), proc.stderr
    evlist = subprocess.run(['perf', 'evlist', '-v', '-i', str(data)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, timeout=120).stdout
    assert 'sample_stack_user: 16384' in evlist, evlist           # --call-graph dwarf,16384
    assert re.search(r'sample_freq \}: 499\b', evlist), evlist   # -F 499 (after ours: it wins)
    assert 'inherit: 1' not in evlist, evlist                     # --no-inherit


def test_unusable_perf_says_so_once_and_samples_still_come(tmp_path):
    """A perf that fails before the program starts (as with Debian's
    kernel.perf_event_paranoid=3) is one line; the capture goes on without it."""
    fake = tmp_path / 'bin'
    fake.mkdir()
    (fake / 'perf').write_text('#!/bin/sh\necho "perf_event_paranoid setting is 3:" >&2\n'
                               'echo "Access to performance monitoring and observability operations is limited." >&2\n'
                               'exit 255\n')
    (fake / 'perf').chmod(0o755)
    etl = tmp_path / 'noperf.etl'
    env = clean_env(PATH=f'{fake}:{os.environ.get("PATH", "")}')
    proc = run(['-m', 'etwtrace', '--capture', etl, '--perf', '--', SCRIPTS / 'busy.py', '0.3'], env=env)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith('etwtrace: --perf')]
    assert len(lines) == 1, proc.stderr
    assert 'built-in sampler only' in lines[0] and 'limited' in lines[0], lines[0]
    assert not re.search(r'perf (samples|inject)', proc.stderr), proc.stderr
    assert any(e['event'] == 'PythonSample' for e in python_events(etl))


def test_missing_perf_says_so_once(tmp_path):
    etl = tmp_path / 'missing.etl'
    env = clean_env(PATH=str(tmp_path))   # no perf on it
    proc = run(['-m', 'etwtrace', '--capture', etl, '--perf', '--', SCRIPTS / 'busy.py', '0.3'], env=env)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith('etwtrace: --perf')]
    assert lines == ['etwtrace: --perf: perf is not installed (Debian: apt install linux-perf); capturing with '
                     'the built-in sampler only'], proc.stderr
    assert any(e['event'] == 'PythonSample' for e in python_events(etl))


def test_perf_is_opt_in(tmp_path):
    etl = tmp_path / 'plain.etl'
    for opts in (['--no-perf'], []):
        proc = run(['-m', 'etwtrace', *opts, '--capture', etl, '--', SCRIPTS / 'basic.py'])
        assert not re.search(r'perf (samples|record|inject)|etwtrace: --perf', proc.stderr), proc.stderr
        assert not Path(str(etl) + '.perf').exists()


def test_instrumented_capture_does_not_run_perf(tmp_path):
    etl = tmp_path / 'instr.etl'
    proc = run(['-m', 'etwtrace', '--instrumented', '--capture', etl, '--', SCRIPTS / 'basic.py'])
    assert 'perf samples' not in proc.stderr
    assert not Path(str(etl) + '.perf').exists()
    proc = run(['-m', 'etwtrace', '--instrumented', '--capture', etl, '--perf', '--', SCRIPTS / 'basic.py'],
               check=False)
    assert proc.returncode == 2 and '--perf is for stack mode' in proc.stderr


def test_perf_by_hand_with_jitdump_variable(tmp_path):
    """The documented manual recipe, without the CLI's orchestration:
    ETWTRACE_JITDUMP=1, perf record -k 1 --call-graph dwarf, perf inject --jit."""
    assert PERF, 'perf is not installed but CI is set: install linux-perf'
    raw, data, cache = tmp_path / 'raw.data', tmp_path / 'perf.data', tmp_path / 'buildid'
    cmd = ['perf', 'record', '-q', '-k', '1', '--call-graph', 'dwarf', '-F', '999', '--no-buildid-cache',
           '-o', str(raw), '--', sys.executable, '-m', 'etwtrace', '--no-perf', '--',
           str(SCRIPTS / 'busy.py'), BUSY_SECONDS]
    rec = subprocess.run(cmd, env=clean_env(ETWTRACE_JITDUMP='1'), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, timeout=300)
    assert rec.returncode == 0, rec.stderr
    inj = subprocess.run(['perf', '--buildid-dir', str(cache), 'inject', '--jit', '-i', str(raw), '-o', str(data)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert inj.returncode == 0, inj.stdout
    chains = [_python_names(c) for c in _chains(data)]
    in_c = [c for c in chains if c and c[0] == 'c']
    assert in_c and sum(c[:3] == ['c', 'b', 'a'] for c in in_c) >= len(in_c) * 0.8, in_c[:10]
    pids = {int(m.group(1)) for m in re.finditer(r'jitted-(\d+)-', ' '.join(map(str, Path('/tmp').glob('jitted-*'))))}
    for pid in pids:
        if Path(f'/tmp/jit-{pid}.dump').exists() and 'busy.py' in Path(f'/tmp/jit-{pid}.dump').read_bytes().decode(
                'latin-1'):
            for p in [f'/tmp/perf-{pid}.map', f'/tmp/jit-{pid}.dump', *map(str, Path('/tmp').glob(f'jitted-{pid}-*.so'))]:
                try:
                    os.unlink(p)
                except FileNotFoundError:
                    pass
