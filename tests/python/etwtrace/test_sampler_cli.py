"""`python -m etwtrace --capture FILE` with the built-in sampler, as a user
runs it: PythonSample events of every thread naming only the program's
frames, no thunks and no eval hook unless asked, nothing left in /tmp, the
--sample and --rate options, and Ctrl-C during a capture (both routes: the
built-in sampler alone, and --perf) still leaving a file that decodes
fully."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from etwtrace_helpers import (SANITIZED, SCRIPTS, TIMEOUT, as_int, clean_env, needs_core, python_events, run,
                              samples_of)

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith('linux'), reason='the built-in sampler is Linux only'),
    needs_core,
]

PERF = shutil.which('perf')


def _tmp_files_of(pid):
    return sorted(str(p) for pattern in (f'perf-{pid}.map', f'jit-{pid}.dump', f'jitted-{pid}-*.so')
                  for p in Path('/tmp').glob(pattern))


def _capture(args, cwd=SCRIPTS):
    """Runs the CLI; returns (CompletedProcess, pid) without removing
    anything it left in /tmp (run() would remove its perf map)."""
    cmd = [sys.executable, '-m', 'etwtrace', *map(str, args)]
    p = subprocess.Popen(cmd, cwd=cwd, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate(timeout=TIMEOUT)
    assert p.returncode == 0, err
    return subprocess.CompletedProcess(cmd, p.returncode, out, err), p.pid


def test_capture_samples_the_program_only_without_thunks(tmp_path):
    etl = tmp_path / 'busy.etl'
    proc, pid = _capture(['--capture', etl, '--', SCRIPTS / 'busy.py', '0.4'])
    m = re.search(r'trace written to (\S+): (\d+) events; (\d+) samples of 1 thread, cpu time at 1000 Hz', proc.stderr)
    assert m and Path(m.group(1)) == etl, proc.stderr
    events = python_events(etl)
    assert int(m.group(2)) == len(events)
    samples = samples_of(events)
    assert int(m.group(3)) == len(samples) > 0
    # Only the program's frames: the CLI's and runpy's below it are left out.
    busy = str(SCRIPTS / 'busy.py')
    for s in samples:
        assert s.frames[-1][:2] == ('<module>', busy), s
        assert all(f[1] == busy for f in s.frames), s
    assert any(s.names == ['c', 'b', 'a', '<module>'] for s in samples)
    # No thunks (no address ranges), no perf map or jitdump anywhere in /tmp.
    assert all(as_int(e['fields']['BeginAddress']) == 0 for e in events if e['event'] == 'PythonFunction')
    assert _tmp_files_of(pid) == []
    starts = [e['fields'] for e in events if e['event'] == 'PythonSampler' and e['opcode'] == 1]
    assert starts and starts[0]['Rate'] == 1000 and starts[0]['Clock'] == 1


def test_no_eval_hook_while_sampling(tmp_path):
    (tmp_path / 'probe.py').write_text('from etwtrace import _etwtrace\n'
                                       'print("hook", _etwtrace.active(), _etwtrace.sampler_active())\n')
    proc, _ = _capture(['--capture', tmp_path / 'probe.etl', '--', tmp_path / 'probe.py'])
    assert 'hook None True' in proc.stdout
    proc, _ = _capture(['--capture', tmp_path / 'probe2.etl', '--thunks', '--', tmp_path / 'probe.py'])
    assert 'hook stack True' in proc.stdout


def test_sample_and_rate_options(tmp_path):
    etl = tmp_path / 'threaded.etl'
    proc, _ = _capture(['--capture', etl, '--sample=wall', '--rate', '500', '--', SCRIPTS / 'busy.py', '0.3'])
    assert 'wall time at 500 Hz' in proc.stderr
    events = python_events(etl)
    assert {s.clock for s in samples_of(events)} == {2}
    starts = [e['fields'] for e in events if e['event'] == 'PythonSampler' and e['opcode'] == 1]
    assert starts[0]['Rate'] == 500 and starts[0]['Clock'] == 2


@pytest.mark.parametrize('args, problem', [
    (['--sample=gpu'], "--sample takes 'cpu' or 'wall', not 'gpu'"),
    (['--rate', '0'], "--rate takes samples per second from 1 to 100000, not '0'"),
    (['--rate=fast'], "--rate takes samples per second from 1 to 100000, not 'fast'"),
    (['--perf', '--perf-stack-size', '999999'], "--perf-stack-size takes bytes from 8 to 65528, not '999999'"),
    (['--perf', '--perf-args', '"unclosed'], '--perf-args: No closing quotation'),
    (['--perf-args', '-F 99'], '--perf-stack-size and --perf-args are options of --perf: add --perf'),
    (['--rate'], '--rate needs a value'),
    (['--instrumented', '--perf'], '--perf is for stack mode: it does not go with --instrumented'),
    (['--instrumented', '--sample=wall'], '--sample is for stack mode: it does not go with --instrumented'),
])
def test_bad_capture_options(tmp_path, args, problem):
    proc = run(['-m', 'etwtrace', '--capture', tmp_path / 'x.etl', *args, '--', SCRIPTS / 'basic.py'], check=False)
    assert proc.returncode == 2 and f'etwtrace: {problem}' in proc.stderr, proc.stderr
    assert not (tmp_path / 'x.etl').exists()


def test_capture_options_need_capture():
    proc = run(['-m', 'etwtrace', '--rate', '500', '--', SCRIPTS / 'basic.py'], check=False)
    assert proc.returncode == 2 and 'etwtrace: --rate is an option of --capture: add --capture FILE' in proc.stderr


def test_help_lists_the_sampler_options():
    out = run(['-m', 'etwtrace', '--help']).stdout
    for opt in ('--sample=cpu', '--sample=wall', '--rate HZ', '--thunks', '--perf', '--perf-stack-size',
                '--perf-args'):
        assert opt in out, opt


def test_instrumented_capture_has_no_samples(tmp_path):
    etl = tmp_path / 'instr.etl'
    run(['-m', 'etwtrace', '--instrumented', '--capture', etl, '--', SCRIPTS / 'busy.py', '0.2'])
    events = python_events(etl)
    assert not [e for e in events if e['event'] in ('PythonSample', 'PythonSampler')]
    assert [e for e in events if e['event'] == 'PythonFunctionPush']


def test_capture_says_when_child_processes_did_the_work(tmp_path):
    """A trace holds one process. When the program's children (a forked
    worker, a Python subprocess) burnt most of the CPU, the capture says so
    instead of showing a report that looks complete; a program without
    children gets no such line."""
    prog = tmp_path / 'parent.py'
    prog.write_text(
        'import os, subprocess, sys, time\n'
        'def burn(seconds):\n'
        '    t = time.process_time()\n'
        '    while time.process_time() - t < seconds:\n'
        '        pass\n'
        'pid = os.fork()\n'
        'if pid == 0:\n'
        '    burn(0.2)\n'
        '    os._exit(0)\n'
        'os.waitpid(pid, 0)\n'
        'subprocess.run([sys.executable, "-c", "import time\\nt = time.process_time()\\n'
        'while time.process_time() - t < 0.3: pass"], check=True)\n')
    proc, _ = _capture(['--capture', tmp_path / 'parent.etl', '--', prog], cwd=tmp_path)
    m = re.search(r'note: child processes used ([0-9.]+) s of CPU, this process ([0-9.]+) s; '
                  r'the trace covers this process only', proc.stderr)
    assert m, proc.stderr
    assert float(m.group(1)) >= 0.45 and float(m.group(1)) > float(m.group(2)), m.group(0)

    alone, _ = _capture(['--capture', tmp_path / 'alone.etl', '--', SCRIPTS / 'busy.py', '0.2'])
    assert 'child processes' not in alone.stderr, alone.stderr


# ---- Ctrl-C ----

def _interrupt_capture(tmp_path, extra, presses=1):
    """Starts a capture of until_interrupted.py, presses Ctrl-C once it runs
    (SIGINT to the CLI's process group, as a terminal does), and returns the
    finished CompletedProcess."""
    etl, marker = tmp_path / 'interrupted.etl', tmp_path / 'running'
    cmd = [sys.executable, '-m', 'etwtrace', '--capture', str(etl), *extra, '--',
           str(SCRIPTS / 'until_interrupted.py'), str(marker)]
    p = subprocess.Popen(cmd, cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not marker.exists():
            assert p.poll() is None, p.communicate()
            assert time.monotonic() < deadline, 'the program never started'
            time.sleep(0.05)
        time.sleep(0.3)   # some samples first
        for _ in range(presses):
            os.killpg(p.pid, signal.SIGINT)
            time.sleep(0.05)
        out, err = p.communicate(timeout=TIMEOUT * 2)
    except BaseException:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise
    return etl, subprocess.CompletedProcess(cmd, p.returncode, out, err)


@pytest.mark.parametrize('presses', [1, 3])
def test_ctrl_c_with_the_builtin_sampler(tmp_path, presses):
    etl, proc = _interrupt_capture(tmp_path, [], presses)
    assert proc.returncode != 0                     # the program was interrupted
    assert 'KeyboardInterrupt' in proc.stderr
    assert re.search(r'trace written to \S+: \d+ events; \d+ samples', proc.stderr), proc.stderr
    events = python_events(etl)                     # decodes fully, nothing lost
    samples = samples_of(events)
    assert any(s.names[:2] == ['spin', 'main'] for s in samples)
    ends = [e['fields'] for e in events if e['event'] == 'PythonSampler' and e['opcode'] == 2]
    assert len(ends) == 1 and ends[0]['Written'] == len(samples)


@pytest.mark.skipif(PERF is None, reason='perf is not installed (Debian: linux-perf)')
@pytest.mark.skipif(SANITIZED, reason='perf DWARF unwinding under ASan is too slow and not what is tested')
def test_ctrl_c_with_perf(tmp_path):
    etl, proc = _interrupt_capture(tmp_path, ['--perf'])
    err = proc.stderr
    assert 'KeyboardInterrupt' in err, err
    # In order: the program finished its capture, then perf, then perf inject.
    written, injected = err.find('trace written to'), err.find('perf samples written to')
    assert 0 <= written < injected, err
    events = python_events(etl)
    assert any(s.names[:2] == ['spin', 'main'] for s in samples_of(events))
    data = Path(str(etl) + '.perf') / 'perf.data'
    script = subprocess.run(['perf', 'script', '-i', str(data), '-F', 'ip,sym'], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, timeout=120)
    assert script.returncode == 0, script.stderr
    assert re.search(r'py::spin:\S*until_interrupted\.py', script.stdout), script.stdout[:2000]


def test_report_of_a_sampled_capture(tmp_path):
    etl = tmp_path / 'busy.etl'
    _capture(['--capture', etl, '--', SCRIPTS / 'busy.py', '0.4'])
    folded = run(['-m', 'etwtrace', 'report', etl, '--format', 'collapsed']).stdout
    weights = {}
    for line in folded.splitlines():
        stack, _, count = line.rpartition(' ')
        weights[tuple(re.sub(r' \(.*\)$', '', f) for f in stack.split(';'))] = int(count)
    assert weights.get(('<module>', 'a', 'b', 'c'), 0) > 0.8 * sum(weights.values()), weights
    top = run(['-m', 'etwtrace', 'report', etl]).stdout
    assert re.search(r'\bc \(\S*busy\.py:\d+\)', top) and 'damaged' not in top, top


def test_report_lines_of_a_sampled_capture(tmp_path):
    """report --lines: each frame is its function at the line it was running
    (busy.py: c burns in lines 8-10, called from b's line 15, a's line 19,
    the module's line 23); without it, functions with their first lines."""
    etl = tmp_path / 'busy.etl'
    _capture(['--capture', etl, '--', SCRIPTS / 'busy.py', '0.4'])
    folded = run(['-m', 'etwtrace', 'report', etl, '--format', 'collapsed', '--lines']).stdout
    weights = {}
    for line in folded.splitlines():
        stack, _, count = line.rpartition(' ')
        frames = tuple(re.sub(r' \(\S*busy\.py:(\d+)\)$', r':\1', f) for f in stack.split(';'))
        weights[frames] = weights.get(frames, 0) + int(count)
    in_c = {k: v for k, v in weights.items() if k[:3] == ('<module>:23', 'a:19', 'b:15') and len(k) == 4}
    assert sum(in_c.values()) > 0.8 * sum(weights.values()), weights
    assert {k[3] for k in in_c} <= {'c:8', 'c:9', 'c:10'}, in_c
    plain = run(['-m', 'etwtrace', 'report', etl, '--format', 'collapsed']).stdout
    assert re.search(r'^<module> \(\S*busy\.py:1\);a \(\S*busy\.py:18\);b \(\S*busy\.py:14\);'
                     r'c \(\S*busy\.py:6\) \d+$', plain, re.M), plain
