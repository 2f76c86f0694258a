"""Files we create where others can write: nothing planted at the path
beforehand (FIFO, device, directory, symbolic link, another user's file)
may block, redirect, truncate or expose what we write. Every open is tried
in a subprocess with a timeout, so a block fails instead of hanging."""
import os
import pwd
import stat
import subprocess
import sys
import textwrap
import threading

import pytest

START_SESSION = textwrap.dedent('''
    import sys
    import traceloggingdynamic as tld
    try:
        tld.Session(sys.argv[1], ['A']).start()
    except OSError as e:
        print('refused:', e)
        sys.exit(3)
    print('started')
''')


def start_session_at(path, timeout=30):
    return subprocess.run([sys.executable, '-c', START_SESSION, str(path)], capture_output=True, text=True,
                          timeout=timeout)


def test_fifo_at_session_path_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / 'trace.etl'
    os.mkfifo(fifo)
    proc = start_session_at(fifo)            # blocked forever in open() before
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert 'FIFO' in proc.stdout and str(fifo) in proc.stdout


def test_fifo_with_a_reader_is_refused_too(tmp_path):
    fifo = tmp_path / 'trace.etl'
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)     # someone listening at the other end
    try:
        proc = start_session_at(fifo)
    finally:
        os.close(fd)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert 'not a regular file' in proc.stdout


@pytest.mark.parametrize('kind', ['symlink', 'directory', 'device'])
def test_other_planted_objects_are_refused(tmp_path, kind):
    path = tmp_path / 'trace.etl'
    victim = tmp_path / 'victim'
    victim.write_text('precious')
    if kind == 'symlink':
        path.symlink_to(victim)
    elif kind == 'directory':
        path.mkdir()
    else:
        path = '/dev/null'
    proc = start_session_at(path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert victim.read_text() == 'precious'


def other_user():
    for name in ('nobody', 'daemon'):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    return None


@pytest.mark.skipif(os.geteuid() != 0, reason='planting a file of another user needs root')
def test_file_of_another_user_is_not_truncated_or_exposed(tmp_path):
    user = other_user()
    assert user is not None
    path = tmp_path / 'trace.etl'
    path.write_text('theirs')
    os.chown(path, user.pw_uid, user.pw_gid)
    os.chmod(path, 0o666)                    # they could read what we would write
    proc = start_session_at(path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert 'another user' in proc.stdout
    assert path.read_text() == 'theirs'      # not truncated


def test_own_file_is_reused_private(tmp_path):
    path = tmp_path / 'trace.etl'
    path.write_text('old')
    os.chmod(path, 0o644)
    proc = start_session_at(path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


PERF_MAP_PROBE = textwrap.dedent('''
    import json, os, sys, time
    import etwtrace
    from etwtrace import _etwtrace
    time.sleep(float(sys.argv[1]))           # the test plants the file meanwhile
    def traced():
        return 1
    with etwtrace.StackSamplingTracer():
        traced()
    info = _etwtrace.info()
    print(json.dumps({'perf_map': info['perf_map'], 'error': info['perf_map_error']}))
''')


@pytest.mark.parametrize('kind', ['fifo', 'symlink', 'foreign'])
def test_planted_perf_map_is_refused_and_said(tmp_path, kind):
    import json
    if kind == 'foreign' and (os.geteuid() != 0 or other_user() is None):
        pytest.skip('planting a file of another user needs root')
    proc = subprocess.Popen([sys.executable, '-c', PERF_MAP_PROBE, '0.5'], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    path = f'/tmp/perf-{proc.pid}.map'
    target = tmp_path / 'target'
    target.write_text('')
    try:
        if kind == 'fifo':
            os.mkfifo(path)
        elif kind == 'symlink':
            os.symlink(target, path)
        else:
            with open(path, 'w') as f:
                f.write('')
            user = other_user()
            os.chown(path, user.pw_uid, user.pw_gid)
            os.chmod(path, 0o666)
        out, err = proc.communicate(timeout=30)      # blocked forever with a FIFO before
    finally:
        if proc.poll() is None:
            proc.kill()
        os.unlink(path)
    assert proc.returncode == 0, err
    result = json.loads(out.splitlines()[-1])
    assert result['perf_map'] is None and result['error']
    assert 'not writing the perf map' in err and path in err
    assert target.read_text() == ''


JITDUMP_PROBE = textwrap.dedent('''
    import sys, time
    from etwtrace import _etwtrace
    time.sleep(0.5)
    try:
        _etwtrace.set_jitdump(True)
    except OSError as e:
        print('refused:', e.filename, e)
        sys.exit(3)
''')


def test_planted_jitdump_fifo_is_refused_with_its_path():
    proc = subprocess.Popen([sys.executable, '-c', JITDUMP_PROBE], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    path = f'/tmp/jit-{proc.pid}.dump'
    try:
        os.mkfifo(path)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.unlink(path)
    assert proc.returncode == 3, out + err
    assert path in out
