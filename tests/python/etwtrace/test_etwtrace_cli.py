"""`python -m etwtrace`: options, help, unused arguments, --info, --profile,
--stacktags, --enable/--disable file handling (in-process, site-packages
redirected to a temporary directory), and running targets (subprocesses):
sys.argv, sys.path[0], -m, exit status, --capture output."""

import ast
import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from etwtrace_helpers import REPO, SCRIPTS, capture, needs_core, python_events, run

import etwtrace
import etwtrace.__main__ as cli



@pytest.mark.parametrize('opt', [[], ['-h'], ['-?'], ['--help'], ['/?'], ['/H'], ['-H']])
def test_help(capsys, opt):
    assert cli.main(opt) == 0
    out, err = capsys.readouterr()
    assert 'python -m etwtrace' in out and '--capture FILE' in out and '--enable' in out
    assert err == ''


def test_unused_arguments(capsys):
    assert cli.main(['/EXTRA', '-h', 'with a space']) == 2
    out, err = capsys.readouterr()
    assert out == ''
    assert err == "etwtrace: unexpected argument '/EXTRA'; to run a program put it after --: " \
                  "python -m etwtrace [options] -- /EXTRA [args ...]\n"


def test_unknown_option_alone(capsys):
    assert cli.main(['--frobnicate']) == 2
    assert '--frobnicate' in capsys.readouterr().err


def test_capture_needs_file(capsys):
    assert cli.main(['--capture']) == 2
    assert 'needs a FILE' in capsys.readouterr().err


def test_nothing_after_double_dash(capsys):
    assert cli.main(['--']) == 2
    assert 'give the program to run' in capsys.readouterr().err


def test_missing_script(capsys, tmp_path):
    assert cli.main(['--', str(tmp_path / 'nope.py')]) == 2
    assert "can't open file" in capsys.readouterr().err


@pytest.mark.parametrize('opt, name', [('--profile', 'python.wprp'), ('/profile', 'python.wprp'),
                                       ('--stacktags', 'python.stacktags'), ('--STACKTAGS', 'python.stacktags')])
def test_profile_paths(capsys, opt, name):
    assert cli.main([opt]) == 0
    path = Path(capsys.readouterr().out.strip())
    assert path.name == name and path.is_file()
    ET.parse(path)


def test_profile_sources_are_valid():
    """The shipped XML of the repository (whatever is installed)."""
    root = ET.parse(REPO / 'python' / 'etwtrace' / 'profile' / 'python.wprp').getroot()
    assert root.tag == 'WindowsPerformanceRecorder'
    providers = root.findall('.//EventProvider')
    python = [p for p in providers if p.get('Name') == '99a10640-320d-4b37-9e26-c311d86da7ab']
    assert python and python[0].get('Level') == '5'
    kw = int(python[0].find('Keywords/Keyword').get('Value'), 16)
    assert kw & 0x3F00 == 0x3F00
    stack_kw = python[0].find('StackKeywordLevelFilter/Keyword').get('Value')
    assert int(stack_kw, 16) == 0x200
    names = {p.get('Name') for p in root.findall('.//Profile')}
    assert {'Default', 'ARM64', 'Minimal'} <= names
    tags = ET.parse(REPO / 'python' / 'etwtrace' / 'profile' / 'python.stacktags').getroot()
    assert tags.tag == 'Tag' and tags.find('Tag').get('Name') == 'Python'


@needs_core
def test_info(capsys):
    assert cli.main(['--info']) == 0
    info = ast.literal_eval(capsys.readouterr().out)
    assert info['python'].split()[0] == sys.version.split()[0]
    assert info['executable'] == sys.executable
    assert 'error' not in info, info.get('error')
    from etwtrace import _etwtrace
    for key, value in _etwtrace.info().items():
        assert info[key] == value


# ---- --enable / --disable (the file only; tracing at startup: test_etwtrace_pth.py) ----

@pytest.fixture
def site_dir(tmp_path, monkeypatch):
    site = tmp_path / 'site-packages'
    site.mkdir()
    real = cli.sysconfig.get_paths

    def fake(*a, **kw):
        paths = dict(real(*a, **kw))
        paths['purelib'] = paths['platlib'] = str(site)
        return paths
    monkeypatch.setattr(cli.sysconfig, 'get_paths', fake)
    return site


def _pth_code(site):
    lines = (site / 'etwtrace.pth').read_text().splitlines()
    return [line for line in lines if line.startswith('import')]


def test_enable_default(capsys, site_dir):
    assert cli.main(['--enable']) == 0
    out = capsys.readouterr().out
    assert f'Created {site_dir / "etwtrace.pth"}' in out
    assert 'ETWTRACE_TYPE=instrumented' in out
    (code,) = _pth_code(site_dir)
    assert "enable_if('', 'ETWTRACE_TYPE')" in code


def test_enable_one_variable(capsys, site_dir):
    assert cli.main(['--enable', 'TEST_ON']) == 0
    out = capsys.readouterr().out
    assert 'Set TEST_ON=1' in out and 'TEST_ON_TYPE=instrumented' in out
    (code,) = _pth_code(site_dir)
    assert "enable_if('TEST_ON', 'TEST_ON_TYPE')" in code
    assert "'TEST_ON' in os.environ" in code


@pytest.mark.parametrize('args', [['--enable', 'TEST_ON', 'TEST_KIND'], ['/Enable', 'TEST_ON', 'TEST_KIND'],
                                  ['--enable', '--variable', 'TEST_ON', 'TEST_KIND']])
def test_enable_two_variables(capsys, site_dir, args):
    assert cli.main(args) == 0
    assert 'Set TEST_KIND=instrumented' in capsys.readouterr().out
    (code,) = _pth_code(site_dir)
    assert "enable_if('TEST_ON', 'TEST_KIND')" in code


def test_enable_variable_form(capsys, site_dir):
    assert cli.main(['--enable', '--variable', 'ONLY_VAR']) == 0
    (code,) = _pth_code(site_dir)
    assert "enable_if('ONLY_VAR', 'ONLY_VAR_TYPE')" in code


def test_enable_extra_args_unused(capsys, site_dir):
    assert cli.main(['--enable', 'A', 'B', 'C']) == 2
    assert "'C' is a third" in capsys.readouterr().err
    assert not (site_dir / 'etwtrace.pth').exists()


def test_pth_line_guards_the_cli(site_dir, monkeypatch):
    """The .pth line imports etwtrace only when the variable is set and never
    in `python -m etwtrace`."""
    assert cli.main(['--enable', 'GUARD_VAR']) == 0
    (code,) = _pth_code(site_dir)
    calls = []

    class FakeEtwtrace:
        @staticmethod
        def is_active():
            return False

        @staticmethod
        def enable_if(*a):
            calls.append(a)

    monkeypatch.setitem(sys.modules, 'etwtrace', FakeEtwtrace)
    env_without = {k: v for k, v in os.environ.items() if k != 'GUARD_VAR'}
    for argv, orig, env, expected in [
            (['x.py'], ['py', 'x.py'], env_without, 0),
            (['x.py'], ['py', 'x.py'], {**env_without, 'GUARD_VAR': '1'}, 1),
            (['-m'], ['py', '-X', 'dev', '-m', 'etwtrace', '--', 'x.py'], {**env_without, 'GUARD_VAR': '1'}, 0),
            (['-m'], ['py', '-metwtrace'], {**env_without, 'GUARD_VAR': '1'}, 0),
            (['-m'], ['py', '-m', 'json.tool'], {**env_without, 'GUARD_VAR': '1'}, 1)]:
        calls.clear()
        FakeEtwtrace._pth_done = False     # a new interpreter start
        monkeypatch.setattr(sys, 'argv', argv)
        monkeypatch.setattr(sys, 'orig_argv', orig, raising=False)
        monkeypatch.setattr(os, 'environ', env)
        exec(code, {})
        assert len(calls) == expected, (orig, env.get('GUARD_VAR'))
        if expected:
            assert calls[0] == ('GUARD_VAR', 'GUARD_VAR_TYPE')
            exec(code, {})                 # site-packages listed twice (lib, lib64): once only
            assert len(calls) == 1


def test_disable_removes_every_copy(capsys, site_dir, tmp_path, monkeypatch):
    (site_dir / 'etwtrace.pth').write_text('')
    (site_dir / 'not-etwtrace.pth').write_text('')
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'etwtrace.pth').write_text('')
    monkeypatch.setattr(sys, 'path', [str(other), str(site_dir), str(tmp_path / 'missing'),
                                      str(tmp_path / 'afile.zip')])
    assert cli.main(['--disable']) == 0
    out = capsys.readouterr().out.splitlines()
    assert sorted(out) == sorted([f'Removed {site_dir / "etwtrace.pth"}', f'Removed {other / "etwtrace.pth"}'])
    assert sorted(p.name for p in site_dir.iterdir()) == ['not-etwtrace.pth']
    assert cli.main(['--disable']) == 0
    assert capsys.readouterr().out == ''


# ---- running a program (subprocesses) ----

@needs_core
@pytest.mark.parametrize('mode', [None, 'stack', 'instrumented'])
def test_script_argv_path_and_exit_status(mode):
    args = ['-m', 'etwtrace'] + ([f'--{mode}'] if mode else []) + ['--', SCRIPTS / 'argv_exit.py', '7', 'x y']
    proc = run(args, check=False, cwd=REPO)
    assert proc.returncode == 7, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen['argv'] == [str(SCRIPTS / 'argv_exit.py'), '7', 'x y']
    assert seen['path0'] == str(SCRIPTS)
    assert seen['name'] == '__main__'


@needs_core
def test_module_argv_and_exit_status(tmp_path):
    (tmp_path / 'mymod.py').write_text((SCRIPTS / 'argv_exit.py').read_text())
    proc = run(['-m', 'etwtrace', '--', '-m', 'mymod', '3', 'arg'], cwd=tmp_path, check=False)
    assert proc.returncode == 3, proc.stderr
    seen = json.loads(proc.stdout)
    assert seen['argv'] == [str(tmp_path / 'mymod.py'), '3', 'arg']
    assert seen['name'] == '__main__'
    assert os.path.samefile(seen['path0'], tmp_path)


@needs_core
def test_capture_reports_file_and_event_count(tmp_path):
    events, proc = capture(tmp_path, 'argv_exit.py', '0')
    m = re.search(r'trace written to (\S+): (\d+) events', proc.stderr)
    assert m, proc.stderr
    assert Path(m.group(1)) == tmp_path / 'argv_exit.etl'
    assert int(m.group(2)) == len(python_events(tmp_path / 'argv_exit.etl'))
    # Only the program was traced, not the CLI: every function is the script's.
    traced = {e['fields']['SourceFile'] for e in events if e['event'] == 'PythonFunction'
              and e['fields']['IsPythonCode']}
    assert str(SCRIPTS / 'argv_exit.py') in traced
    package = Path(etwtrace.__file__).resolve().parent
    assert not any(Path(s).resolve().is_relative_to(package) for s in traced), traced
    assert not any(Path(s).name in ('runpy.py', '<frozen runpy>') for s in traced), traced


@needs_core
def test_capture_colon_form(tmp_path):
    etl = tmp_path / 'colon.etl'
    run(['-m', 'etwtrace', '--no-perf', f'--capture:{etl}', '--', SCRIPTS / 'basic.py'])
    assert python_events(etl)


@needs_core
def test_capture_exit_status_propagates(tmp_path):
    _, proc = capture(tmp_path, 'argv_exit.py', '5', check=False)
    assert proc.returncode == 5
