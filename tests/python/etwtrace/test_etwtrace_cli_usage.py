"""`python -m etwtrace` as a new user meets it: every usage mistake is found
before the program runs (one line, exit status 2, nothing run or written),
the output path of --capture is checked first, Ctrl-C looks and ends as
under plain `python`, and --enable accepts only variable names."""

import os
import signal
import subprocess
import sys
import time

import pytest

from etwtrace_helpers import SCRIPTS, TIMEOUT, clean_env, needs_core, python_events, run

import etwtrace.__main__ as cli


@pytest.fixture
def marker_script(tmp_path):
    """A script that leaves a file when it runs: nothing may run on a usage error."""
    ran = tmp_path / 'ran'
    script = tmp_path / 'script.py'
    script.write_text(f'open({str(ran)!r}, "w").close()\n')
    return script, ran


@pytest.mark.parametrize('args, message', [
    (['--capture', 'a.etl'], '--capture records a program: put it after --'),
    (['--bogus', '--', '{script}'], "unknown option '--bogus'"),
    (['--stack', '--instrumented', '--', '{script}'], '--stack and --instrumented exclude each other'),
    (['/instrument', '--STACK', '--', '{script}'], '--instrument and --stack exclude each other'),
    (['{script}'], "unexpected argument '{script}'; to run a program put it after --"),
    (['--enable', '--', '{script}'], '--enable and -- PROGRAM exclude each other'),
    (['--enable', '--disable'], '--enable and --disable exclude each other'),
    (['--info', '--', '{script}'], '--info and -- PROGRAM exclude each other'),
    (['--capture', 'x.etl', '--capture', 'y.etl', '--', '{script}'], '--capture is given twice'),
    (['--stack'], '--stack selects how a program runs'),
    (['-v', '--', '{script}'], "unknown option '-v'"),
])
def test_usage_errors_before_anything_runs(tmp_path, marker_script, capsys, monkeypatch, args, message):
    script, ran = marker_script
    monkeypatch.chdir(tmp_path)
    site = tmp_path.parent / (tmp_path.name + '-site')   # --enable must write nothing, but never to the real one
    monkeypatch.setattr(cli, '_site_packages', lambda: site)
    args = [a.format(script=script) for a in args]
    assert cli.main(args) == 2
    out, err = capsys.readouterr()
    assert out == ''
    assert err.count('\n') == 1 and err.startswith('etwtrace: '), err
    assert message.format(script=script) in err
    assert not ran.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ['script.py']   # no a.etl, x.etl, ...


def test_usage_errors_in_a_real_process(marker_script):
    """The same through `python -m etwtrace`: status 2, no traceback, no run."""
    script, ran = marker_script
    proc = run(['-m', 'etwtrace', '--bogus', '--', script], check=False)
    assert proc.returncode == 2
    assert proc.stderr == "etwtrace: unknown option '--bogus' (python -m etwtrace -h lists them)\n"
    assert not ran.exists()


@pytest.mark.parametrize('args', [['/stack', '--', '{script}'], ['/INSTRUMENTED', '--', '{script}'],
                                  ['--Stack', '--', '{script}']])
@needs_core
def test_upstream_spellings_still_run(marker_script, args):
    script, ran = marker_script
    run(['-m', 'etwtrace', *[a.format(script=script) for a in args]])
    assert ran.exists()


@pytest.mark.parametrize('opt', ['-?', '/?', '/h', '--HELP'])
def test_help_spellings(capsys, opt):
    assert cli.main([opt]) == 0
    assert 'Usage: python -m etwtrace' in capsys.readouterr().out


# ---- the output path ----------------------------------------------------------

@pytest.mark.parametrize('where, message', [
    ('nonexistent/dir/t.etl', 'does not exist'),
    ('adir', 'it is a directory'),
])
@pytest.mark.parametrize('perf', [False, True])
def test_capture_path_checked_first(tmp_path, marker_script, capsys, where, message, perf):
    script, ran = marker_script
    (tmp_path / 'adir').mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    target = str(tmp_path / where)
    args = (['--perf'] if perf else ['--no-perf']) + ['--capture', target, '--', str(script)]
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err == f'etwtrace: cannot write the trace to {target}: ' + (
        f'the directory {os.path.dirname(target)} does not exist\n' if 'exist' in message
        else 'it is a directory\n')
    assert not ran.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == before          # no stray file or FILE.perf
    assert list((tmp_path / 'adir').iterdir()) == []


def test_capture_path_unwritable(tmp_path, marker_script, capsys):
    """A place no file can be created (procfs refuses even root; a read-only
    file system says EROFS the same way): one line, nothing run."""
    script, ran = marker_script
    assert cli.main(['--capture', '/proc/etwtrace-test.etl', '--', str(script)]) == 2
    err = capsys.readouterr().err
    assert err.startswith('etwtrace: cannot write the trace to /proc/etwtrace-test.etl: ') and err.count('\n') == 1
    assert not ran.exists()


def test_capture_path_check_leaves_nothing(tmp_path, marker_script):
    """Checking the path creates and removes the file: a run that then
    fails to start writes nothing either."""
    script, _ = marker_script
    settings = cli.parse_args(['--capture', str(tmp_path / 't.etl'), '--', str(script)])
    assert settings.capture == str(tmp_path / 't.etl')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['script.py']


# ---- Ctrl-C ---------------------------------------------------------------------

def _interrupt(args, cwd):
    """Starts `python ARGS`, waits for the script's 'waiting' line, sends
    SIGINT to its process group (as a terminal's Ctrl-C does), returns
    (status, stderr)."""
    proc = subprocess.Popen([sys.executable, *map(str, args)], cwd=cwd, env=clean_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + TIMEOUT
        line = proc.stdout.readline()
        assert line.startswith('waiting '), (line, proc.stderr.read() if proc.poll() is not None else '')
        time.sleep(0.2)   # inside time.sleep, as a user's Ctrl-C would find it
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=max(1, deadline - time.monotonic()))
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return proc.returncode, err


def _traceback_files(stderr):
    return [line.split('"')[1] for line in stderr.splitlines() if line.startswith('  File "')]


@needs_core
@pytest.mark.parametrize('extra', [[], ['--instrumented'], ['--no-perf', '--capture', '{tmp}/t.etl'],
                                   ['--instrumented', '--capture', '{tmp}/t.etl'],
                                   ['--capture', '{tmp}/p.etl']])
def test_ctrl_c_like_plain_python(tmp_path, extra):
    script = SCRIPTS / 'wait_for_sigint.py'
    plain_status, plain_err = _interrupt([script], tmp_path)
    assert plain_status == -signal.SIGINT
    args = ['-m', 'etwtrace', *[a.format(tmp=tmp_path) for a in extra], '--', script]
    status, err = _interrupt(args, tmp_path)
    assert status == plain_status, err
    assert _traceback_files(err) == _traceback_files(plain_err) == [str(script)] * 2, err
    assert 'KeyboardInterrupt' in err.splitlines()[-1] or any(
        line == 'KeyboardInterrupt' for line in err.splitlines()), err
    for name in ('t.etl', 'p.etl'):
        if (tmp_path / name).exists():    # the trace is still written
            # (in stack mode the built-in sampler's stop event: the program
            # only waited, so no CPU-time sample names a function)
            assert any(e['event'] == 'PythonFunction' or (e['event'] == 'PythonSampler' and e['opcode'] == 2)
                       for e in python_events(tmp_path / name))


@needs_core
def test_ctrl_c_status_in_a_shell(tmp_path):
    """A shell reports 130 for the CLI after Ctrl-C, as for plain python."""
    script = SCRIPTS / 'wait_for_sigint.py'
    shell = (f'{sys.executable} -m etwtrace -- {script}; echo "status=$?" >&2')
    proc = subprocess.Popen(['sh', '-c', shell], cwd=tmp_path, env=clean_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith('waiting '), line
        time.sleep(0.2)
        # Only the python process (the program runs in the CLI's): the shell
        # must see it die of SIGINT.
        os.kill(int(line.split()[1]), signal.SIGINT)
        _, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert 'status=130' in err, err


# ---- --enable names (issue 17) ----------------------------------------------------

@pytest.mark.parametrize('name', ['A"B', "A'B", 'A\nB', 'A B', '1ABC', 'A;import os', ''])
def test_enable_refuses_names_that_are_not_variables(tmp_path, monkeypatch, capsys, name):
    monkeypatch.setattr(cli, '_site_packages', lambda: tmp_path)
    assert cli.main(['--enable', name]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'is not an environment variable name' in err, err
    assert not (tmp_path / 'etwtrace.pth').exists()


@pytest.mark.parametrize('var, type_var', [('A"B', 'T'), ("A'B\nimport os", 'T"\\'), ('X', '\n\r\'"\\')])
def test_pth_line_is_valid_python_whatever_the_names(var, type_var):
    """Even names the CLI refuses cannot break out of the generated line."""
    line = cli._pth_line(var, type_var)
    assert '\n' not in line
    calls = []

    class FakeEtwtrace:
        @staticmethod
        def is_active():
            return False

        @staticmethod
        def enable_if(*a):
            calls.append(a)
    saved = sys.modules.get('etwtrace')
    sys.modules['etwtrace'] = FakeEtwtrace
    saved_env = dict(os.environ)
    try:
        os.environ.pop('TRACELOGGING_SESSION_FILE', None)
        os.environ[var.replace('\0', '')] = '1' if '\0' not in var else ''
        exec(compile(line, 'etwtrace.pth', 'exec'), {})
    except ValueError:   # os.environ refuses some of these names itself
        pass
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        sys.modules['etwtrace'] = saved
    assert calls in ([], [(var, type_var)])
