"""`--capture FILE` with WPR (etwtrace/_wpr.py), on Linux: a stand-in `wpr`
on PATH records the command lines it gets and writes the file `-stop`
names. Checked: the commands (profile!Default or !ARM64, -filemode, one
instance name from start to stop), that the program runs between start and
stop, what is said about the file, and every fallback to the in-process
session (no wpr, not elevated, `wpr -start` refused) with its one line;
`wpr -cancel` when the program raises; a failed `-stop`. The CLI's glue is
run in a subprocess with WPR turned on as on Windows."""

import json
import os
import stat
import sys
import textwrap
from pathlib import Path

import pytest

from etwtrace_helpers import SCRIPTS, clean_env, needs_core, run

from etwtrace import _wpr

FAKE_WPR = textwrap.dedent('''\
    #!{python}
    """Stand-in for wpr.exe: logs its arguments, writes the -stop file."""
    import json, os, sys
    args = sys.argv[1:]
    with open(os.environ['FAKE_WPR_LOG'], 'a') as log:
        log.write(json.dumps(args) + '\\n')
    if args and args[0] == '-start' and os.environ.get('FAKE_WPR_START_FAILS'):
        print('Error: 0xc5583001 ' + os.environ['FAKE_WPR_START_FAILS'])
        sys.exit(1)
    if args and args[0] == '-stop':
        if os.environ.get('FAKE_WPR_STOP_FAILS'):
            print('Error: the trace could not be merged')
            sys.exit(1)
        with open(args[1], 'wb') as f:
            f.write(b'not really an etl file')
''')


@pytest.fixture
def fake_wpr(tmp_path, monkeypatch):
    bindir = tmp_path / 'bin'
    bindir.mkdir()
    wpr = bindir / 'wpr'
    wpr.write_text(FAKE_WPR.format(python=sys.executable))
    wpr.chmod(wpr.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / 'wpr.log'
    monkeypatch.setenv('FAKE_WPR_LOG', str(log))
    monkeypatch.setenv('PATH', f'{bindir}{os.pathsep}{os.environ["PATH"]}')
    monkeypatch.delenv('WPR_EXE', raising=False)
    monkeypatch.setenv('SystemRoot', str(tmp_path / 'no-windows-here'))

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return wpr, calls


def test_commands():
    profile = _wpr.PROFILE
    assert _wpr.start_command('wpr', 'etwtrace-1', 'AMD64') == [
        'wpr', '-start', f'{profile}!Default', '-filemode', '-instancename', 'etwtrace-1']
    assert _wpr.start_command('wpr', 'etwtrace-1', 'ARM64')[2] == f'{profile}!ARM64'
    assert _wpr.stop_command('wpr', 'etwtrace-1', 'C:/t/out.etl') == [
        'wpr', '-stop', 'C:/t/out.etl', '-instancename', 'etwtrace-1']
    assert _wpr.cancel_command('wpr', 'etwtrace-1') == ['wpr', '-cancel', '-instancename', 'etwtrace-1']
    # The profile names exist in the bundled profile.
    text = profile.read_text()
    assert 'Name="Default"' in text and 'Name="ARM64"' in text


def test_find_wpr(tmp_path, fake_wpr):
    wpr, _ = fake_wpr
    assert _wpr.find_wpr() == str(wpr)                       # on PATH
    system32 = tmp_path / 'win' / 'System32'
    system32.mkdir(parents=True)
    (system32 / 'wpr.exe').write_bytes(b'')
    assert _wpr.find_wpr(dict(os.environ, SystemRoot=str(tmp_path / 'win'))) == str(system32 / 'wpr.exe')
    assert _wpr.find_wpr(dict(os.environ, WPR_EXE=str(wpr))) == str(wpr)
    assert _wpr.find_wpr(dict(os.environ, WPR_EXE=str(tmp_path / 'missing.exe'))) is None
    assert _wpr.find_wpr({'PATH': str(tmp_path / 'empty'), 'SystemRoot': str(tmp_path)}) is None


def test_capture_runs_the_program_between_start_and_stop(tmp_path, fake_wpr):
    _, calls = fake_wpr
    out = tmp_path / 'trace.etl'
    said = []

    def program():
        assert [c[0] for c in calls()] == ['-start']  # recording already
        return 3

    assert _wpr.capture(str(out), program, machine='AMD64', say=said.append) == 3
    start, stop = calls()
    assert start[:4] == ['-start', f'{_wpr.PROFILE}!Default', '-filemode', '-instancename']
    assert stop == ['-stop', str(out), '-instancename', start[4]]
    assert start[4].startswith('etwtrace-')
    assert out.read_bytes() == b'not really an etl file'
    assert len(said) == 1
    assert said[0].startswith(f'WPR wrote {out} (22 bytes, profile python.wprp!Default)')
    assert 'python.stacktags' in said[0] and 'decode' in said[0]


def test_arm64_profile(tmp_path, fake_wpr):
    _, calls = fake_wpr
    assert _wpr.capture(str(tmp_path / 't.etl'), lambda: 0, machine='ARM64', say=lambda m: None) == 0
    assert calls()[0][1].endswith('!ARM64')


def test_no_wpr_falls_back_with_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', str(tmp_path))
    monkeypatch.setenv('SystemRoot', str(tmp_path))
    monkeypatch.delenv('WPR_EXE', raising=False)
    said = []
    ran = []
    assert _wpr.capture(str(tmp_path / 't.etl'), lambda: ran.append(1), say=said.append) is None
    assert ran == []
    assert said == ['wpr.exe not found (not in System32, WPR_EXE or PATH): recording in-process instead']


def test_not_elevated_falls_back(tmp_path, fake_wpr):
    _, calls = fake_wpr
    said = []
    assert _wpr.capture(str(tmp_path / 't.etl'), lambda: 0, elevated=False, say=said.append) is None
    assert said == ['WPR needs an elevated (administrator) prompt: recording in-process instead']
    assert calls() == []


def test_start_refused_falls_back(tmp_path, fake_wpr, monkeypatch):
    _, calls = fake_wpr
    monkeypatch.setenv('FAKE_WPR_START_FAILS', 'access denied')
    said = []
    assert _wpr.capture(str(tmp_path / 't.etl'), lambda: 0, say=said.append) is None
    assert said == ['wpr -start failed (Error: 0xc5583001 access denied): recording in-process instead']
    assert [c[0] for c in calls()] == ['-start']


def test_program_raising_cancels(tmp_path, fake_wpr):
    _, calls = fake_wpr

    def program():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _wpr.capture(str(tmp_path / 't.etl'), program, say=lambda m: None)
    start, cancel = calls()
    assert cancel == ['-cancel', '-instancename', start[4]]
    assert not (tmp_path / 't.etl').exists()


def test_stop_failing_is_an_error(tmp_path, fake_wpr, monkeypatch):
    monkeypatch.setenv('FAKE_WPR_STOP_FAILS', '1')
    said = []
    assert _wpr.capture(str(tmp_path / 't.etl'), lambda: 0, say=said.append) == 2
    assert said == [f'wpr -stop {tmp_path / "t.etl"} failed (Error: the trace could not be merged); '
                    'nothing was written']


RUN_AS_ON_WINDOWS = ('import sys, etwtrace._wpr as w; w.APPLIES = True; '
                     'import etwtrace.__main__ as cli; sys.exit(cli.main(sys.argv[1:]))')


@needs_core
def test_cli_uses_wpr(tmp_path, fake_wpr):
    _, calls = fake_wpr
    out = tmp_path / 'cli.etl'
    env = clean_env(PATH=os.environ['PATH'], FAKE_WPR_LOG=os.environ['FAKE_WPR_LOG'],
                    SystemRoot=os.environ['SystemRoot'])
    r = run(['-c', RUN_AS_ON_WINDOWS, '--capture', str(out), '--', str(SCRIPTS / 'argv_exit.py'), '5'],
            env=env, check=False)
    assert r.returncode == 5, r.stderr
    assert [c[0] for c in calls()] == ['-start', '-stop']
    assert out.read_bytes() == b'not really an etl file'
    assert f'etwtrace: WPR wrote {out}' in r.stderr


@needs_core
def test_cli_falls_back_in_process(tmp_path, fake_wpr):
    _, calls = fake_wpr
    out = tmp_path / 'fallback.etl'
    env = clean_env(PATH=os.environ['PATH'], FAKE_WPR_LOG=os.environ['FAKE_WPR_LOG'],
                    SystemRoot=os.environ['SystemRoot'], FAKE_WPR_START_FAILS='access denied')
    r = run(['-c', RUN_AS_ON_WINDOWS, '--capture', str(out), '--no-perf', '--',
             str(SCRIPTS / 'argv_exit.py'), '0'], env=env, check=False)
    assert r.returncode == 0, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith('etwtrace:')]
    assert lines[0] == 'etwtrace: wpr -start failed (Error: 0xc5583001 access denied): recording in-process instead'
    assert lines[1].startswith(f'etwtrace: trace written to {out}')
    assert out.read_bytes()[:4] != b'not '  # our own .etl
    assert Path(out).stat().st_size > 0
