"""Many threads x many events into one session, exact counts.

What this file is for (issue 3, "no event lost or reordered within a thread
in the multi-thread test"): 8 threads each write N numbered events through
one provider (and, in the second test, through their own providers into two
sessions); the file holds exactly 8 x N events, each thread's numbers 0..N-1
in order, the session's counters agree, and nothing is lost — with the
default buffers and with small buffers that fill and flush constantly.
"""

import os
import threading

import pytest

import traceloggingdynamic as tld
from traceloggingdynamic import EventBuilder, Provider

from etl_helpers import buffer_size_of, buffers_written_of, iso_to_filetime, read_etl, scaled

NTHREADS = 8
PER_THREAD = scaled(20000, 4000)


def run_writers(providers, n):
    barrier = threading.Barrier(len(providers))
    tids = [None] * len(providers)

    def work(k):
        eb = EventBuilder()
        prov = providers[k]
        tids[k] = threading.get_native_id()
        barrier.wait()
        for i in range(n):
            eb.reset(b'Seq', level=4, keyword=1)
            eb.add_uint8(b't', k)
            eb.add_uint32(b'seq', i)
            eb.add_str8(b'pad', 'x' * (i % 37))
            prov.write(eb)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(providers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tids


def check_file(path, tids, n, stats):
    evs, errors, header = read_etl(path)
    assert errors == []
    assert len(evs) == len(tids) * n
    assert stats.events_written == len(evs)
    assert stats.events_lost == 0
    assert header['events_lost'] == 0
    assert header['buffers_written'] == stats.buffers_written
    data = path.read_bytes()
    assert len(data) == stats.buffers_written * buffer_size_of(data)
    assert buffers_written_of(data) == stats.buffers_written
    per = {}
    for e in evs:
        f = e['fields']
        per.setdefault(f['t'], []).append((f['seq'], e['tid'], iso_to_filetime(e['time']), f['pad']))
    assert sorted(per) == list(range(len(tids)))
    for k, rows in per.items():
        assert [r[0] for r in rows] == list(range(n)), f'thread {k}: events lost or reordered'
        assert {r[1] for r in rows} == {tids[k]}
        times = [r[2] for r in rows]
        assert times == sorted(times), f'thread {k}: timestamps decrease'
        assert all(r[3] == 'x' * (r[0] % 37) for r in rows)
    assert {e['pid'] for e in evs} == {os.getpid()}


@pytest.mark.parametrize('buffer_size', [65536, 4096])
def test_many_threads_exact_counts(tmp_path, buffer_size):
    name = 'TldTests.Threads.One'
    path = tmp_path / 'many.etl'
    prov = Provider(name.encode())
    n = PER_THREAD if buffer_size == 65536 else PER_THREAD // 4
    with tld.Session(str(path), [name], buffer_size=buffer_size, flush_interval=0.05) as s:
        tids = run_writers([prov] * NTHREADS, n)
        live = s.stats()
        assert live.events_written <= NTHREADS * n
        assert live.events_lost == 0
        stats = s.stop()
    prov.close()
    assert buffer_size_of(path.read_bytes()) == buffer_size
    check_file(path, tids, n, stats)


def test_many_threads_two_sessions_own_providers(tmp_path):
    n = PER_THREAD // 2
    provs = [Provider(f'TldTests.Threads.P{k}'.encode()) for k in range(NTHREADS)]
    a, b = tmp_path / 'a.etl', tmp_path / 'b.etl'
    sa = tld.Session(str(a), ['TldTests.Threads.P%d' % k for k in range(0, NTHREADS, 2)])
    sb = tld.Session(str(b), ['TldTests.Threads.P%d' % k for k in range(NTHREADS)], buffer_size=8192)
    sa.start()
    sb.start()
    tids = run_writers(provs, n)
    st_a, st_b = sa.stop(), sb.stop()
    for p in provs:
        p.close()
    check_file(b, tids, n, st_b)
    evs, errors, _ = read_etl(a)
    assert errors == []
    assert st_a.events_written == len(evs) == (NTHREADS // 2) * n
    for k in range(0, NTHREADS, 2):
        mine = [e for e in evs if e['fields']['t'] == k]
        assert [e['fields']['seq'] for e in mine] == list(range(n))
        assert {e['provider'] for e in mine} == {f'TldTests.Threads.P{k}'}
