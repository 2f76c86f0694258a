"""Compact call records (PythonCallBatch): what instrumented mode writes per
thread in batches reads back, through the decoder, as exactly the Push/Pop
events the one-event-per-call form writes; batches cut at every boundary
(thread end, flush, stop, fork, a session stopped while a thread is in the
middle of a batch) lose and duplicate nothing; damage in a batch costs only
that batch.
"""
import json
import os
import subprocess
import sys
import textwrap

import pytest

from etwtrace_helpers import PROVIDER_ID, TIMEOUT, clean_env, needs_core
from traceloggingdynamic.etl import EtlFile

CALLS = ('PythonFunctionPush', 'PythonFunctionPop')

# Deterministic: the same calls in the same order on every run, in the main
# thread and in two threads run one after the other; builtins, generators,
# exceptions and calls from C (sorted's key) included.
WORKLOAD = textwrap.dedent('''
    import os, sys, threading
    import etwtrace
    import traceloggingdynamic as tld
    from etwtrace import _etwtrace

    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    def gen(n):
        for i in range(n):
            yield fib(i % 7)

    def boom(n):
        if n == 0:
            raise ValueError('x')
        boom(n - 1)

    def work(k):
        total = sum(gen(40 + k))
        try:
            boom(5)
        except ValueError:
            pass
        total += len(sorted(range(30), key=lambda v: -v))
        return total + fib(12)

    def thread_body(k):
        work(k)

    path, events = sys.argv[1], sys.argv[2]
    _etwtrace.set_call_events(events)
    with tld.Session(path, ['99a10640-320d-4b37-9e26-c311d86da7ab:5'], buffer_size=16384):
        with etwtrace.InstrumentedTracer(with_threads=True):
            work(0)
            for k in (1, 2):
                t = threading.Thread(target=thread_body, args=(k,))
                t.start(); t.join()
            work(3)
''')


def run_python(args, **kwargs):
    proc = subprocess.run([sys.executable, *map(str, args)], capture_output=True, text=True, timeout=TIMEOUT,
                          env=clean_env(), **kwargs)
    assert proc.returncode == 0, proc.stderr
    return proc


def calls_by_thread(path):
    """Per thread id, the Push/Pop events in order as (event, FunctionID,
    Caller, CallerLine) — everything but the time."""
    f = EtlFile(str(path))
    out = {}
    for e in f.events():
        if e.get('provider_id') == PROVIDER_ID and e['event'] in CALLS:
            fields = e['fields']
            out.setdefault(e['tid'], []).append(
                (e['event'], fields['FunctionID'], fields.get('Caller'), fields.get('CallerLine'),
                 e['level'], e['keyword'], e['opcode'], e['pid'] > 0))
    return out, f.errors


def raw_event_names(path):
    """Event names as stored (batches not expanded): the decoder's JSON of a
    file read without expansion is not available, so count through the
    summary of PythonCallBatch records."""
    from traceloggingdynamic import _tld
    return [json.loads(line)['event'] for line in _tld.decode_etl(str(path))]


@needs_core
def test_compact_expands_to_the_same_calls_as_push_pop(tmp_path):
    script = tmp_path / 'workload.py'
    script.write_text(WORKLOAD)
    compact, push_pop = tmp_path / 'compact.etl', tmp_path / 'push_pop.etl'
    run_python([script, compact, 'compact'])
    run_python([script, push_pop, 'push-pop'])
    got, errors_c = calls_by_thread(compact)
    want, errors_p = calls_by_thread(push_pop)
    assert errors_c == [] and errors_p == []
    assert len(got) == len(want) == 3
    # Thread ids differ between runs; their calls, in order, must not.
    got_seqs = sorted(got.values(), key=len)
    want_seqs = sorted(want.values(), key=len)
    for g, w in zip(got_seqs, want_seqs):
        assert len(g) > 100
        assert g == w
    # The compact file is much smaller.
    assert compact.stat().st_size * 4 < push_pop.stat().st_size


@needs_core
def test_timestamps_of_expanded_calls_are_in_order_and_within_the_trace(tmp_path):
    script = tmp_path / 'workload.py'
    script.write_text(WORKLOAD)
    path = tmp_path / 'compact.etl'
    run_python([script, path, 'compact'])
    f = EtlFile(str(path))
    times = {}
    for e in f.events():
        if e['event'] in CALLS:
            times.setdefault(e['tid'], []).append(e['time'])
    assert f.errors == []
    for tid, ts in times.items():
        assert ts == sorted(ts), tid
        assert f.header['start_time'] <= ts[0] and ts[-1] <= f.header['end_time']


BOUNDARIES = textwrap.dedent('''
    import json, os, sys, threading, time
    import etwtrace
    import traceloggingdynamic as tld
    from etwtrace import _etwtrace
    calls = {}

    def leaf():
        return 1

    def node(n):
        calls[threading.get_native_id()] = calls.get(threading.get_native_id(), 0) + 1 + n
        for _ in range(n):
            leaf()

    path = sys.argv[1]
    s = tld.Session(path, ['99a10640-320d-4b37-9e26-c311d86da7ab:5'], buffer_size=65536)
    s.start()
    t = etwtrace.InstrumentedTracer(with_threads=True)
    t.enable()
    stop = threading.Event()
    def busy():
        while not stop.is_set():
            node(3)
    workers = [threading.Thread(target=busy) for _ in range(2)]
    for w in workers:
        w.start()
    node(5)
    s.flush()                                  # a flush in the middle of every thread's batch
    for i in range(3):
        short = threading.Thread(target=node, args=(i,))
        short.start(); short.join()            # batches cut at thread end
    pid = os.fork()                            # the child drops the parent's unwritten records
    if pid == 0:
        node(2)
        os._exit(0)
    os.waitpid(pid, 0)
    node(4)
    time.sleep(0.05)
    stop.set()
    for w in workers:
        w.join()
    s.stop()                                   # while the main thread is mid-batch (tracing still on)
    node(1)                                    # after the stop: recorded nowhere
    t.disable()
    print(json.dumps(calls))
''')


@needs_core
def test_batches_cut_at_every_boundary_lose_and_duplicate_nothing(tmp_path):
    script = tmp_path / 'boundaries.py'
    script.write_text(BOUNDARIES)
    path = tmp_path / 'b.etl'
    proc = run_python([script, path])
    by_thread, errors = calls_by_thread(path)
    assert errors == []
    for tid, seq in by_thread.items():
        depth = 0
        for event, *_ in seq:
            depth += 1 if event == 'PythonFunctionPush' else -1
            assert depth >= 0, f'thread {tid}: a Pop without its Push'
        leaves = sum(1 for e in seq if e[0] == 'PythonFunctionPush')
        assert leaves > 0
    counted = json.loads(proc.stdout.splitlines()[-1])
    # Exactly the calls of node() and leaf() made while the session ran:
    # every one of the workers' and short threads', and the main thread's
    # but node(1) after stop(); none of the forked child's.
    f = EtlFile(str(path))
    names = {e['fields']['FunctionID']: e['fields']['Name'] for e in f.events()
             if e['event'] == 'PythonFunction'}
    recorded = {tid: sum(1 for ev in seq if ev[0] == 'PythonFunctionPush' and names.get(ev[1]) in ('node', 'leaf'))
                for tid, seq in by_thread.items()}
    expected = {int(tid): n for tid, n in counted.items()}
    assert set(recorded) - set(expected) <= {t for t in recorded if recorded[t] == 0}
    for tid, n in expected.items():
        got = recorded.get(tid, 0)
        assert got in (n, n - 2), (tid, got, n)
    assert sum(1 for tid, n in expected.items() if recorded.get(tid, 0) == n - 2) == 1   # the main thread
    assert len(expected) == 2 + 3 + 1                                                  # workers, short, main


@needs_core
def test_damaged_batch_is_reported_and_the_rest_decodes(tmp_path):
    script = tmp_path / 'workload.py'
    script.write_text(WORKLOAD)
    path = tmp_path / 'compact.etl'
    run_python([script, path, 'compact'])
    good, _ = calls_by_thread(path)
    data = bytearray(path.read_bytes())
    # Find a large batch: after its schema's last field name ("Records")
    # comes the event's data: ThreadID u32, BaseTime u64, Count u32,
    # Checksum u32, then the Records' u16 length and bytes. Change one byte
    # in the middle of its records.
    target = None
    at = 0
    while target is None:
        at = data.find(b'Records\x00', at + 1)
        assert at > 0, 'no batch with enough records found'
        # The name, its NUL, the in-type byte; the data starts at the next
        # 8-byte boundary (records and their items are 8-byte aligned).
        head = (at + len(b'Records\x00') + 1 + 7) & ~7
        count = int.from_bytes(data[head + 12:head + 16], 'little')
        length = int.from_bytes(data[head + 20:head + 22], 'little')
        if count >= 100:
            assert count <= length <= 16384
            target = head + 22 + length // 2
    data[target] ^= 0x10
    damaged = tmp_path / 'damaged.etl'
    damaged.write_bytes(bytes(data))
    f = EtlFile(str(damaged))
    events = list(f.events())
    assert len(f.errors) == 1 and 'PythonCallBatch' in f.errors[0] and 'checksum' in f.errors[0], f.errors
    got, _ = calls_by_thread(damaged)
    total_good = sum(len(v) for v in good.values())
    total_got = sum(len(v) for v in got.values())
    assert 0 < total_got < total_good        # one batch's records are missing, the rest are there
    assert any(e['event'] == 'PythonThread' for e in events)
