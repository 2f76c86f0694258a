"""Python frames in Linux `perf` on the stock interpreter (no frame
pointers): `python -m etwtrace --capture FILE -- busy.py` runs the program
under `perf record -k 1 --call-graph dwarf` with a jitdump file, then
`perf inject --jit`; the sampled call chains must read c <- b <- a.

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


def test_perf_sees_c_b_a(tmp_path):
    assert PERF, 'perf is not installed but CI is set: install linux-perf'
    etl = tmp_path / 'busy.etl'
    proc = run(['-m', 'etwtrace', '--capture', etl, '--', SCRIPTS / 'busy.py', BUSY_SECONDS], timeout=300)
    data = Path(str(etl) + '.perf.data')
    assert data.is_file(), proc.stderr
    assert not Path(str(data) + '.raw').exists()
    m = re.search(r'perf samples written to (\S+)', proc.stderr)
    assert m and Path(m.group(1)) == data, proc.stderr
    pid = int(re.search(r'/tmp/perf-(\d+)\.map', proc.stderr).group(1))
    assert list(Path('/tmp').glob(f'jitted-{pid}-*.so')), 'perf inject made no jitted .so files'
    assert python_events(etl)                                   # the .etl trace is still written
    # perf's build-id cache is left alone (perf inject used a temporary one).
    cache = Path(os.environ.get('HOME', '/root')) / '.debug' / 'tmp'
    assert not list(cache.glob(f'jitted-{pid}-*')), 'perf inject copied jitted .so files into ~/.debug'

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

    for p in [f'/tmp/perf-{pid}.map', f'/tmp/jit-{pid}.dump', *map(str, Path('/tmp').glob(f'jitted-{pid}-*.so'))]:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass


def test_no_perf_option_skips_perf(tmp_path):
    etl = tmp_path / 'noperf.etl'
    proc = run(['-m', 'etwtrace', '--no-perf', '--capture', etl, '--', SCRIPTS / 'basic.py'])
    assert 'perf samples' not in proc.stderr
    assert not Path(str(etl) + '.perf.data').exists()


def test_instrumented_capture_does_not_run_perf(tmp_path):
    etl = tmp_path / 'instr.etl'
    proc = run(['-m', 'etwtrace', '--instrumented', '--capture', etl, '--', SCRIPTS / 'basic.py'])
    assert 'perf samples' not in proc.stderr
    assert not Path(str(etl) + '.perf.data').exists()


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
