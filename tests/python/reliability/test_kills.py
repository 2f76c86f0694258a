"""A traced process killed at a random moment (SIGKILL) leaves a file that
decodes up to its last flush, with every event in order and no damage; one
interrupted (SIGINT, Ctrl-C) stops its session and leaves a complete file."""
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time

from etl_helpers import read_etl

WRITER = textwrap.dedent('''
    import ctypes, sys, threading, time
    import traceloggingdynamic as tld
    # Bounded even when the test runner dies before killing us: we die with
    # it (PR_SET_PDEATHSIG, SIGKILL), and the file stops at max_size.
    ctypes.CDLL(None).prctl(1, 9)
    path = sys.argv[1]
    provider = tld.Provider(b'Reliability.Kill')
    session = tld.Session(path, ['Reliability.Kill'], buffer_size=8192, flush_interval=0.01,
                          max_size=256 << 20)
    session.start()

    def writer(k):
        eb = tld.EventBuilder()
        seq = 0
        while True:
            eb.reset(b'Seq', 5, 1)
            eb.add_uint32(b'thread', k)
            eb.add_uint64(b'seq', seq)
            provider.write(eb)
            seq += 1
            if seq % 64 == 0:
                time.sleep(0.0005)

    for k in range(1, 3):
        threading.Thread(target=writer, args=(k,), daemon=True).start()
    print('ready', flush=True)
    try:
        writer(0)
    except KeyboardInterrupt:
        st = session.stop()
        print('stopped', st.events_written, st.events_lost, flush=True)
''')


def check_prefix_per_thread(events):
    per_thread = {}
    for e in events:
        per_thread.setdefault(e['fields']['thread'], []).append(e['fields']['seq'])
    for k, seqs in per_thread.items():
        # every thread's events are a gap-free prefix 0..n-1: nothing lost
        # before the last flush, nothing duplicated
        assert seqs == list(range(len(seqs))), f'thread {k}'
    return sum(len(s) for s in per_thread.values())


def start_writer(path):
    proc = subprocess.Popen([sys.executable, '-c', WRITER, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == 'ready'
    return proc


def test_sigkill_at_random_moments(tmp_path, soak):
    rng = random.Random(1234)
    trials = soak(6, 100)
    for trial in range(trials):
        path = tmp_path / f'kill{trial}.etl'
        proc = start_writer(path)
        time.sleep(rng.uniform(0.0, 0.3))
        proc.kill()
        proc.communicate(timeout=30)
        events, errors, header = read_etl(path)
        assert errors == [], (trial, errors)
        check_prefix_per_thread(events)
        path.unlink()


def test_sigint_stops_the_session_and_completes_the_file(tmp_path, soak):
    rng = random.Random(99)
    for trial in range(soak(3, 30)):
        path = tmp_path / f'int{trial}.etl'
        proc = start_writer(path)
        time.sleep(rng.uniform(0.05, 0.3))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        _, written, lost = out.split()[-3:]
        events, errors, header = read_etl(path)
        assert errors == []
        assert int(lost) == 0 and header['events_lost'] == 0
        assert check_prefix_per_thread(events) == int(written)
        path.unlink()
