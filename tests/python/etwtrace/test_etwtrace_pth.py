"""`python -m etwtrace --enable/--disable` in a fresh virtual environment:
every interpreter start of that environment is traced, gated by a variable,
in the mode TYPEVAR selects; the CLI itself is never traced by the .pth.

The environment is made with `venv --without-pip` from this interpreter's
base (about a second) and sees the already-installed package through a
path-only .pth file (`_pytrace_path.pth`, which also carries the
traceloggingdynamic session autostart line so a session can record from
interpreter start). Nothing is written outside the temporary directory.
"""

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from etwtrace_helpers import (PROVIDER_ID, SCRIPTS, TIMEOUT, clean_env, functions_of, instrumented_stacks,
                              needs_core, python_events, run, sampled_stacks)

SESSION_LINE = ("import os; os.environ.get('TRACELOGGING_SESSION_FILE') and "
                "__import__('traceloggingdynamic._autostart')")


@pytest.fixture(scope='module')
def venv(tmp_path_factory):
    root = tmp_path_factory.mktemp('venv') / 'env'
    base = getattr(sys, '_base_executable', sys.executable)
    subprocess.run([base, '-m', 'venv', '--without-pip', str(root)], check=True, timeout=TIMEOUT)
    python = root / 'bin' / 'python'
    purelib = Path(subprocess.run([str(python), '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
                                  check=True, stdout=subprocess.PIPE, text=True).stdout.strip())
    ours = sysconfig.get_paths()['purelib']          # where `make install` put both packages
    (purelib / '_pytrace_path.pth').write_text(f'{ours}\n{SESSION_LINE}\n')
    return python, purelib


@pytest.fixture
def enabled(venv):
    python, purelib = venv
    yield python, purelib
    subprocess.run([str(python), '-m', 'etwtrace', '--disable'], env=clean_env(), stdout=subprocess.PIPE)
    assert not (purelib / 'etwtrace.pth').exists()


def probe(python, **env):
    proc = run([SCRIPTS / 'pth_probe.py'], python=python, env=clean_env(**env))
    return json.loads(proc.stdout)


def session_env(path, stacks=True):
    env = {'TRACELOGGING_SESSION_FILE': str(path), 'TRACELOGGING_SESSION_PROVIDERS': f'{PROVIDER_ID}:5'}
    if stacks:
        env['TRACELOGGING_SESSION_STACKS'] = '0x200'
    return env


@needs_core
def test_enable_with_variable_then_disable(enabled, tmp_path):
    python, purelib = enabled
    proc = run(['-m', 'etwtrace', '--enable', 'PYTRACE_TEST_ON'], python=python)
    pth = purelib / 'etwtrace.pth'
    assert f'Created {pth}' in proc.stdout
    assert 'PYTRACE_TEST_ON' in proc.stdout and 'PYTRACE_TEST_ON_TYPE' in proc.stdout
    assert pth.is_file()

    assert probe(python) == {'active': False, 'loaded_at_start': False}    # costs no import when unset
    assert probe(python, PYTRACE_TEST_ON='1') == {'active': True, 'loaded_at_start': True}
    for off in ('0', 'no', 'FALSE'):
        assert probe(python, PYTRACE_TEST_ON=off)['active'] is False, off

    proc = run(['-m', 'etwtrace', '--disable'], python=python)
    assert proc.stdout.strip() == f'Removed {pth}'
    assert not pth.exists()
    assert probe(python, PYTRACE_TEST_ON='1')['active'] is False


@needs_core
def test_traced_from_start_stack_mode(enabled, tmp_path):
    python, _ = enabled
    run(['-m', 'etwtrace', '--enable', 'PYTRACE_TEST_ON'], python=python)
    etl = tmp_path / 'stack.etl'
    assert probe(python, PYTRACE_TEST_ON='1', **session_env(etl))['active'] is True
    events = python_events(etl)
    assert sampled_stacks(events, SCRIPTS / 'pth_probe.py') == [['probe', '<module>']]
    assert not [e for e in events if e['event'] == 'PythonFunctionPush']


@needs_core
def test_traced_from_start_instrumented(enabled, tmp_path):
    python, _ = enabled
    run(['-m', 'etwtrace', '--enable', 'PYTRACE_TEST_ON', 'PYTRACE_TEST_KIND'], python=python)
    etl = tmp_path / 'instrumented.etl'
    assert probe(python, PYTRACE_TEST_ON='yes', PYTRACE_TEST_KIND='instrumented',
                 **session_env(etl, stacks=False))['active'] is True
    events = python_events(etl)
    assert instrumented_stacks(events, SCRIPTS / 'pth_probe.py') == [['probe', '<module>']]
    funcs = functions_of(events, SCRIPTS / 'pth_probe.py')
    assert {e['fields']['BeginAddress'] for e in funcs} in ({'0x0'}, {0})


@needs_core
def test_unknown_type_is_reported_not_fatal(enabled):
    python, _ = enabled
    run(['-m', 'etwtrace', '--enable', 'PYTRACE_TEST_ON', 'PYTRACE_TEST_KIND'], python=python)
    proc = run([SCRIPTS / 'pth_probe.py'], python=python,
               env=clean_env(PYTRACE_TEST_ON='1', PYTRACE_TEST_KIND='bogus'))
    assert json.loads(proc.stdout)['active'] is False
    # One line, no site traceback ("Error processing line 3 of ...etwtrace.pth").
    assert proc.stderr == ("etwtrace: not tracing: 'bogus' (from PYTRACE_TEST_KIND) is not a supported trace "
                           "type. Use 'stack' or 'instrumented'.\n"), proc.stderr


@needs_core
def test_enable_without_variable_traces_every_start(enabled):
    python, _ = enabled
    proc = run(['-m', 'etwtrace', '--enable'], python=python)
    assert 'ETWTRACE_TYPE' in proc.stdout
    assert probe(python)['active'] is True


@needs_core
def test_cli_itself_is_not_traced(enabled, tmp_path):
    """With the variable set, `python -m etwtrace ...` runs untraced: a session
    live from interpreter start sees no function at all for --info."""
    python, _ = enabled
    run(['-m', 'etwtrace', '--enable', 'PYTRACE_TEST_ON'], python=python)
    etl = tmp_path / 'cli.etl'
    run(['-m', 'etwtrace', '--info'], python=python, env=clean_env(PYTRACE_TEST_ON='1', **session_env(etl)))
    assert [e for e in python_events(etl) if e['event'] == 'PythonFunction'] == []
    # ...and running a program through the CLI still works (no double enable).
    proc = run(['-m', 'etwtrace', '--', SCRIPTS / 'pth_probe.py'], python=python,
               env=clean_env(PYTRACE_TEST_ON='1'))
    assert json.loads(proc.stdout)['active'] is True


def test_enable_writes_only_into_site_packages(enabled):
    python, purelib = enabled
    before = set(purelib.parent.rglob('*'))
    run(['-m', 'etwtrace', '--enable', 'X'], python=python)
    after = set(purelib.parent.rglob('*'))
    assert {p for p in after - before if '__pycache__' not in p.parts} == {purelib / 'etwtrace.pth'}
