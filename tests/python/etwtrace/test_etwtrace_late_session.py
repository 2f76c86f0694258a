"""A session that starts while tracing already runs (issue 10 item 4): with
`--enable` and the session variables, etwtrace.pth runs before
traceloggingdynamic-session.pth, and any program may start a Session
mid-trace. Whatever the order, every function a session sees must have
been announced to it (PythonFunction), and Push/Pop must balance per thread
from the session's first event (no Pop whose Push it did not see).

Checked in this process (tracer first, then the session, also with a
second thread calling all along) and in a fresh virtual environment whose
session .pth file sorts after etwtrace.pth, as the installed one does.
"""

import json
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

import pytest

import traceloggingdynamic as tld
from traceloggingdynamic.etl import EtlFile

import etwtrace

from etwtrace_helpers import PROVIDER_ID, SCRIPTS, TIMEOUT, clean_env, needs_core, run


def _int(v):
    return int(v, 16) if isinstance(v, str) else int(v)


def check_trace(path):
    """Asserts the two properties on the .etl at `path`; returns its events."""
    f = EtlFile(path)
    events = [e for e in f.events() if e.get('provider_id', '').strip('{}').lower() == PROVIDER_ID
              or e.get('provider') == 'Python']
    assert f.errors == []
    named, stacks = set(), {}
    pushes = pops = 0
    for e in events:
        kind = e['event']
        if kind == 'PythonFunction':
            named.add(_int(e['fields']['FunctionID']))
        elif kind == 'PythonFunctionPush':
            fid = _int(e['fields']['FunctionID'])
            assert fid in named, f'Push of function {fid} before any PythonFunction naming it'
            caller = _int(e['fields']['Caller'])
            assert caller == 0 or caller in named, f'Caller {caller} was never named'
            stacks.setdefault(e['tid'], []).append(fid)
            pushes += 1
        elif kind == 'PythonFunctionPop':
            fid = _int(e['fields']['FunctionID'])
            stack = stacks.setdefault(e['tid'], [])
            assert stack, f'Pop of {fid} on thread {e["tid"]} before any Push there'
            assert stack[-1] == fid, f'Pop of {fid} while {stack[-1]} is on top (thread {e["tid"]})'
            stack.pop()
            pops += 1
    return events, pushes, pops


def leaf(n):
    return n + 1


def middle(n):
    return leaf(n) + leaf(n + 1)


def start_session_inside(path, depth, sessions):
    """Starts the session `depth` frames deep, so frames pushed before it
    return (and pop) while it listens."""
    if depth:
        return start_session_inside(path, depth - 1, sessions)
    s = tld.Session(str(path), [f'{PROVIDER_ID}:5'])
    s.start()
    sessions.append(s)
    return middle(1)


@needs_core
@pytest.mark.parametrize('tracer_type', [etwtrace.InstrumentedTracer, etwtrace.StackSamplingTracer])
def test_session_started_mid_trace(tmp_path, tracer_type):
    path = tmp_path / 'late.etl'
    sessions = []
    with tracer_type():
        middle(0)                                  # announced before any session listens
        start_session_inside(path, 3, sessions)
        middle(2)
    sessions[0].stop()
    events, pushes, pops = check_trace(path)
    names = {e['fields']['Name'] for e in events if e['event'] == 'PythonFunction'}
    assert {'middle', 'leaf'} <= names, names
    if tracer_type is etwtrace.InstrumentedTracer:
        assert pushes and pops


@needs_core
def test_session_started_mid_trace_with_a_busy_thread(tmp_path):
    """Another thread calls functions all the time the session starts and
    stops: its Push/Pop still balance from the session's first event."""
    path = tmp_path / 'busy.etl'
    stop = threading.Event()

    def busy():
        while not stop.is_set():
            middle(3)

    with etwtrace.InstrumentedTracer():
        t = threading.Thread(target=busy)
        t.start()
        try:
            for i in range(5):
                with tld.Session(str(path.with_name(f'busy{i}.etl')), [f'{PROVIDER_ID}:5']):
                    for _ in range(200):
                        middle(4)
        finally:
            stop.set()
            t.join()
    for i in range(5):
        _, pushes, _ = check_trace(path.with_name(f'busy{i}.etl'))
        assert pushes


@needs_core
def test_two_sessions_each_balanced(tmp_path):
    """A second session starting while a first one records: the second sees
    every function named and no Pop before its Push; the first keeps a
    consistent stack too (it misses only Pops of frames running at the
    second's start, never gets a stray one)."""
    first, second = tmp_path / 'first.etl', tmp_path / 'second.etl'
    sessions = []
    with etwtrace.InstrumentedTracer():
        with tld.Session(str(first), [f'{PROVIDER_ID}:5']):
            middle(0)
            start_session_inside(second, 2, sessions)
            middle(5)
            sessions[0].stop()
    for path in (first, second):
        _, pushes, _ = check_trace(path)
        assert pushes


# ---- the .pth order, in a fresh virtual environment ------------------------------------

SESSION_LINE = ("import os; os.environ.get('TRACELOGGING_SESSION_FILE') and "
                "__import__('traceloggingdynamic._autostart')")


@pytest.fixture(scope='module')
def venv_session_last(tmp_path_factory):
    """A venv that sees the installed packages, with the session autostart
    line in a .pth file that sorts after etwtrace.pth (as
    traceloggingdynamic-session.pth does in a real install)."""
    root = tmp_path_factory.mktemp('venv-order') / 'env'
    base = getattr(sys, '_base_executable', sys.executable)
    subprocess.run([base, '-m', 'venv', '--without-pip', str(root)], check=True, timeout=TIMEOUT)
    python = root / 'bin' / 'python'
    purelib = Path(subprocess.run([str(python), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                                  check=True, stdout=subprocess.PIPE, text=True).stdout.strip())
    (purelib / '_pytrace_path.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    (purelib / 'zz-session.pth').write_text(SESSION_LINE + '\n')
    assert sorted(p.name for p in purelib.glob('*.pth'))[-1] == 'zz-session.pth'
    yield python
    subprocess.run([str(python), '-m', 'etwtrace', '--disable'], env=clean_env(), stdout=subprocess.PIPE)


@needs_core
@pytest.mark.parametrize('kind', ['instrumented', 'stack'])
def test_pth_order_does_not_matter(venv_session_last, tmp_path, kind):
    python = venv_session_last
    run(['-m', 'etwtrace', '--enable', 'PYTRACE_ORDER_ON'], python=python)
    etl = tmp_path / 'order.etl'
    env = clean_env(PYTRACE_ORDER_ON='1', PYTRACE_ORDER_ON_TYPE=kind, TRACELOGGING_SESSION_FILE=str(etl),
                    TRACELOGGING_SESSION_PROVIDERS=f'{PROVIDER_ID}:5')
    proc = run([SCRIPTS / 'pth_probe.py'], python=python, env=env)
    assert json.loads(proc.stdout)['active'] is True
    assert proc.stderr == ''
    events, pushes, pops = check_trace(etl)
    if kind == 'instrumented':
        assert pushes > 10 and pops > 10
    assert any(e['event'] == 'PythonFunction' and e['fields']['Name'] == 'probe' for e in events)
