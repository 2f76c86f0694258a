"""fork() while a session records: the child owns nothing of the parent's
sessions (it neither hangs at exit nor writes into the parent's file), and
the parent's file holds every event of every writer thread exactly once.

Each trial runs in a subprocess with a timeout, so a hang fails the test
instead of hanging CI. TLD_SOAK=1 runs hundreds of forks."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from etl_helpers import read_etl

FORKER = textwrap.dedent('''
    import json, multiprocessing, os, subprocess, sys, threading, time, warnings
    import traceloggingdynamic as tld
    warnings.simplefilter('ignore', DeprecationWarning)   # fork() with threads, 3.12+
    path, forks, threads_n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    provider = tld.Provider(b'Reliability.Fork')
    session = tld.Session(path, ['Reliability.Fork'], buffer_size=8192, flush_interval=0.005)
    session.start()
    stop = threading.Event()
    written = [0] * threads_n

    def writer(k):
        eb = tld.EventBuilder()
        seq = 0
        while not stop.is_set():
            eb.reset(b'Seq', 5, 1)
            eb.add_uint32(b'thread', k)
            eb.add_uint64(b'seq', seq)
            assert provider.write(eb) == 0
            seq += 1
            if seq % 64 == 0:
                time.sleep(0.001)     # keeps the file small enough to check quickly
        written[k] = seq

    def child_writes():
        # Whatever a child writes must reach no file of the parent's.
        eb = tld.EventBuilder()
        for i in range(50):
            eb.reset(b'FromChild', 5, 1)
            eb.add_uint32(b'pid', os.getpid())
            provider.write(eb)

    def mp_child():
        child_writes()

    workers = [threading.Thread(target=writer, args=(k,)) for k in range(threads_n)]
    for w in workers:
        w.start()
    kinds = {'sys_exit': 0, 'os_exit': 0, 'exception': 0, 'multiprocessing': 0, 'subprocess': 0}
    ctx = multiprocessing.get_context('fork')
    for i in range(forks):
        kind = list(kinds)[i % len(kinds)]
        kinds[kind] += 1
        if kind == 'multiprocessing':
            p = ctx.Process(target=mp_child)
            p.start(); p.join(60)
            assert p.exitcode == 0, p.exitcode
            continue
        if kind == 'subprocess':
            subprocess.run([sys.executable, '-c', 'pass'], check=True, timeout=60)
            continue
        pid = os.fork()
        if pid == 0:
            child_writes()
            if kind == 'sys_exit':
                sys.exit(0)           # runs atexit: stops the inherited session object
            if kind == 'exception':
                raise SystemExit(3)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        assert code == (3 if kind == 'exception' else 0), (kind, code)
        time.sleep(0.002)
    stop.set()
    for w in workers:
        w.join()
    st = session.stop()
    print(json.dumps({'written': written, 'kinds': kinds, 'stats': list(st)}))
''')


def run_python(args, timeout):
    """Runs python ARGS in a process group of its own; on timeout every
    process of it (hung forked children included) is killed and the test
    fails."""
    with subprocess.Popen([sys.executable, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, start_new_session=True) as p:
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            pytest.fail(f'the trial hung: no end after {timeout} s')
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def run_trial(tmp_path, forks, threads):
    path = tmp_path / 'fork.etl'
    proc = run_python(['-c', FORKER, path, forks, threads], timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return path, json.loads(proc.stdout.splitlines()[-1])


def test_forks_with_writer_threads(tmp_path, soak):
    forks = soak(25, 500)
    started = time.monotonic()
    path, out = run_trial(tmp_path, forks, threads=3)
    written, stats = out['written'], out['stats']
    assert sum(out['kinds'].values()) == forks and min(out['kinds'].values()) >= forks // 5
    events, errors, header = read_etl(path)
    assert errors == []
    assert stats[1] == 0 and header['events_lost'] == 0     # nothing lost
    assert not any(e['event'] == 'FromChild' for e in events)
    per_thread = {}
    for e in events:
        per_thread.setdefault(e['fields']['thread'], []).append(e['fields']['seq'])
    for k, n in enumerate(written):
        # each sequence once and in order: no whole buffers missing or duplicated
        assert per_thread.get(k, []) == list(range(n)), f'thread {k}: expected 0..{n - 1}'
    assert stats[0] == sum(written) == len(events)
    assert time.monotonic() - started < 240


CHILD_ALONE = textwrap.dedent('''
    import os, sys, time
    import traceloggingdynamic as tld
    s = tld.Session(sys.argv[1], ['A'])
    s.start()
    time.sleep(0.05)              # the flush thread now waits on its condition variable
    if os.fork() == 0:
        sys.exit(0)               # hung forever before: pthread_cond_destroy at exit
    _, status = os.waitpid(-1, 0)
    s.stop()
    print(os.waitstatus_to_exitcode(status))
''')


def test_child_leaving_with_sys_exit_does_not_hang(tmp_path):
    proc = run_python(['-c', CHILD_ALONE, tmp_path / 'min.etl'], timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '0'
    events, errors, _ = read_etl(tmp_path / 'min.etl')
    assert errors == []


CHILD_SESSION = textwrap.dedent('''
    import os, sys
    import traceloggingdynamic as tld
    p = tld.Provider(b'Reliability.ChildOwn')
    s = tld.Session(sys.argv[1], ['Reliability.ChildOwn'])
    s.start()
    pid = os.fork()
    if pid == 0:
        assert not p.is_enabled()                # the parent's session is not the child's
        try:
            s.flush()
        except RuntimeError as e:
            assert 'parent process' in str(e)
        else:
            raise AssertionError('flush() of the parent session worked in the child')
        own = tld.Session(sys.argv[2], ['Reliability.ChildOwn'])
        own.start()
        eb = tld.EventBuilder(); eb.reset(b'ChildEvent'); p.write(eb)
        own.stop()
        sys.exit(0)
    os.waitpid(pid, 0)
    eb = tld.EventBuilder(); eb.reset(b'ParentEvent'); p.write(eb)
    s.stop()
''')


def test_child_may_start_its_own_session(tmp_path):
    parent, child = tmp_path / 'parent.etl', tmp_path / 'child.etl'
    proc = run_python(['-c', CHILD_SESSION, parent, child], timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert [e['event'] for e in read_etl(parent)[0]] == ['ParentEvent']
    assert [e['event'] for e in read_etl(child)[0]] == ['ChildEvent']
