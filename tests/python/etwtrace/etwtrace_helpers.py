"""Shared helpers for the etwtrace tests: run the CLI or a script in a real
subprocess, decode the .etl it wrote with our decoder, and rebuild which
Python functions each PythonStackSample was taken in.

Two ways to turn addresses into functions, as the upstream tests do:

- stack sampling: a `PythonFunction` event gives each function's thunk range
  [BeginAddress, EndAddress); each return address of the native stack
  attached to `PythonStackSample` that falls in a range is a Python frame
  (innermost first);
- instrumented: `PythonFunctionPush`/`Pop` per thread give the Python stack
  at the time of each `PythonStackSample`.
"""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from traceloggingdynamic.etl import EtlFile

REPO = Path(__file__).resolve().parents[3]
SCRIPTS = Path(__file__).resolve().parent / 'scripts'
PROVIDER_ID = '99a10640-320d-4b37-9e26-c311d86da7ab'
SANITIZED = os.environ.get('TLD_SANITIZED') == '1'
IN_CI = bool(os.environ.get('CI'))
TIMEOUT = 180 if SANITIZED else 60


def core_missing_reason():
    """None when the etwtrace core is built in; else why the tests cannot run."""
    try:
        import etwtrace
        from etwtrace import _etwtrace  # noqa: F401
        etwtrace.StackSamplingTracer, etwtrace.InstrumentedTracer  # noqa: B018
    except (ImportError, AttributeError) as e:
        return f'the etwtrace core (etwtrace._etwtrace, StackSamplingTracer) is not in this build: {e}'
    return None


CORE_MISSING = core_missing_reason()
needs_core = pytest.mark.xfail(CORE_MISSING is not None, reason=str(CORE_MISSING), strict=True)


def clean_env(**extra):
    """The environment for child interpreters: no session autostart or
    etwtrace variables leaking in from the test run."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('TRACELOGGING_SESSION_', 'ETWTRACE'))}
    env['PYTHONUTF8'] = '1'
    env.update(extra)
    return env


def run(args, *, cwd=SCRIPTS, env=None, check=True, python=sys.executable, timeout=TIMEOUT):
    """Runs `python ARGS` and returns the CompletedProcess (text). The perf
    map etwtrace wrote for that process (/tmp/perf-<pid>.map) is removed."""
    cmd = [str(python), *map(str, args)]
    with subprocess.Popen(cmd, cwd=cwd, env=env or clean_env(), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, start_new_session=True) as p:
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            # Its own process group: forked children holding the pipes go too.
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
            raise AssertionError(f'{args} did not finish in {timeout} s\nstdout:\n{out}\nstderr:\n{err}')
    _remove(f'/tmp/perf-{p.pid}.map')
    proc = subprocess.CompletedProcess(cmd, p.returncode, out, err)
    if check and proc.returncode != 0:
        raise AssertionError(f'{args} exited with {proc.returncode}\nstdout:\n{proc.stdout}\n'
                             f'stderr:\n{proc.stderr}')
    return proc


def _remove(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def capture(tmp_path, script, *script_args, mode=None, extra=(), name=None, check=True, perf=False, thunks=True):
    """`python -m etwtrace [--MODE] --capture FILE -- SCRIPT ARGS`; returns
    (events of the Python provider, CompletedProcess). perf=False adds
    --no-perf (the perf pipeline has its own test); thunks=True adds
    --thunks in stack mode (these tests check the thunks; the built-in
    sampler's captures have tests of their own)."""
    etl = tmp_path / (name or Path(script).with_suffix('.etl').name)
    args = ['-m', 'etwtrace']
    if mode:
        args.append(f'--{mode}')
    if not perf:
        args.append('--no-perf')
    if thunks and mode in (None, 'stack'):
        args.append('--thunks')
    args += [*extra, '--capture', etl, '--', SCRIPTS / script, *script_args]
    proc = run(args, check=check)
    return python_events(etl), proc


def python_events(path):
    """Decoded events of the Python provider in an .etl file, in file order;
    asserts that the file decoded without damage and lost nothing."""
    f = EtlFile(str(path))
    events = [e for e in f.events() if e.get('provider_id') == PROVIDER_ID]
    assert f.errors == [], f.errors
    assert f.header.get('events_lost', 0) == 0, f.header
    return events


def as_int(value):
    """POINTER / HEXINT64 fields decode as "0x..." strings."""
    if isinstance(value, str):
        return int(value, 0)
    return int(value)


def functions_of(events, source):
    """PythonFunction events whose SourceFile is `source` (a path)."""
    source = os.path.realpath(source)
    return [e for e in events if e['event'] == 'PythonFunction'
            and e['fields'].get('SourceFile') and _same_file(e['fields']['SourceFile'], source)]


def _same_file(name, real):
    return name == real or os.path.realpath(name) == real


def names(events):
    return sorted(e['fields']['Name'] for e in events)


def distinct_function_names(events, source):
    """The names of `source`'s functions, one per FunctionID. A capture's
    built-in sampler announces the functions it samples again (once per
    sampler run, as docs/events.md says); such repeats must say the same."""
    by_id = {}
    for e in functions_of(events, source):
        first = by_id.setdefault(e['fields']['FunctionID'], e['fields'])
        assert e['fields'] == first, (first, e['fields'])
    return sorted(f['Name'] for f in by_id.values())


def sampled_stacks(events, source):
    """Stack sampling: for each PythonStackSample (in file order), the names of
    the functions of `source` whose thunk ranges hold an address of its native
    stack, innermost first. Samples with no such address are left out."""
    source = os.path.realpath(source)
    funcs = {}      # a function seen again (a later enable) keeps its thunk: one entry per range
    out = []
    for e in events:
        if e['event'] == 'PythonFunction':
            f = e['fields']
            if f.get('SourceFile') and _same_file(f['SourceFile'], source):
                funcs[as_int(f['BeginAddress']), as_int(f['EndAddress'])] = f['Name']
        elif e['event'] == 'PythonStackSample':
            stack = []
            for ip in e.get('stack') or ():
                for (lo, hi), name in funcs.items():
                    if lo <= ip < hi:
                        stack.append(name)
            if stack:
                out.append(stack)
    return out


def instrumented_stacks(events, source):
    """Instrumented: Python stacks per thread rebuilt from Push/Pop; for each
    PythonStackSample the names of the functions of `source` on its thread's
    stack, innermost first. Asserts Push/Pop balance per thread."""
    source = os.path.realpath(source)
    funcs = {}
    stacks = {}
    out = []
    for e in events:
        f = e['fields']
        if e['event'] == 'PythonFunction':
            if f.get('SourceFile') and _same_file(f['SourceFile'], source):
                funcs[as_int(f['FunctionID'])] = f['Name']
        elif e['event'] == 'PythonFunctionPush':
            stacks.setdefault(e['tid'], []).append(as_int(f['FunctionID']))
        elif e['event'] == 'PythonFunctionPop':
            stack = stacks.get(e['tid'])
            assert stack, f'Pop without Push on thread {e["tid"]}: {e}'
            top = stack.pop()
            assert top == as_int(f['FunctionID']), f'Pop of {f["FunctionID"]} but {top:#x} was pushed last'
        elif e['event'] == 'PythonStackSample':
            stack = [funcs[i] for i in reversed(stacks.get(e['tid'], [])) if i in funcs]
            if stack:
                out.append(stack)
    return out


def package_files():
    """Files etwtrace must never report: its own package and threading."""
    import threading
    import etwtrace
    return Path(etwtrace.__file__).resolve().parent, os.path.realpath(threading.__file__)


# ---- the built-in sampler ----

SAMPLER_PRELUDE = '''\
import json, os, sys, threading, time
import etwtrace
from traceloggingdynamic import Session
_session = Session(sys.argv[1], [etwtrace._etwtrace.PROVIDER_ID + ':5'])
_session.start()
sampler = etwtrace.Sampler(rate=int(sys.argv[2]), clock=sys.argv[3])
'''

SAMPLER_EPILOGUE = '''
_stats = sampler.stats if not sampler.running else sampler.stop()
_session.stop()
print('STATS ' + json.dumps(_stats._asdict() if _stats is not None else None))
'''


def sample_program(tmp_path, body, *, rate=1000, clock='cpu', name='sampled', start=True, check=True,
                   timeout=TIMEOUT):
    """Runs `body` (Python source, run as the file tmp_path/NAME.py) with
    `sampler` (an etwtrace.Sampler) started around it and a session writing
    tmp_path/NAME.etl. Returns (events, stats dict or None, CompletedProcess)."""
    import textwrap
    script = tmp_path / f'{name}.py'
    etl = tmp_path / f'{name}.etl'
    text = SAMPLER_PRELUDE + ('sampler.start()\n' if start else '') + textwrap.dedent(body) + SAMPLER_EPILOGUE
    script.write_text(text)
    proc = run([script, etl, rate, clock], cwd=tmp_path, check=check, timeout=timeout)
    stats = None
    for line in proc.stdout.splitlines():
        if line.startswith('STATS '):
            import json
            stats = json.loads(line[len('STATS '):])
    return python_events(etl), stats, proc


class Sample:
    """A decoded PythonSample: thread, weight, flags and frames, innermost
    first, as (name, file, line)."""

    def __init__(self, event, functions):
        f = event['fields']
        self.tid = f['ThreadID']
        self.weight = f['Weight']
        self.flags = as_int(f['Flags'])
        self.clock = f['Clock']
        self.time = f['Time']
        self.frames = [(functions[i][0], functions[i][1], line) if i in functions else ('?', '?', line)
                       for i, line in zip(f['FunctionIDs'], f['Lines'])]
        self.names = [fr[0] for fr in self.frames]

    def __repr__(self):
        return f'<Sample tid={self.tid} w={self.weight} flags={self.flags:#x} {self.frames}>'


def samples_of(events):
    """The PythonSample events decoded, in file order; asserts every
    FunctionID was announced by a PythonFunction first."""
    functions, out = {}, []
    for e in events:
        if e['event'] == 'PythonFunction':
            f = e['fields']
            functions[as_int(f['FunctionID'])] = (f['Name'], f['SourceFile'])
        elif e['event'] == 'PythonSample':
            for i in e['fields']['FunctionIDs']:
                assert i in functions, f'FunctionID {i} was not announced before {e}'
            out.append(Sample(e, functions))
    return out


def source_lines(path, marker):
    """Line numbers (1-based) of the lines of `path` that contain `marker`."""
    return {n for n, line in enumerate(Path(path).read_text().splitlines(), 1) if marker in line}
