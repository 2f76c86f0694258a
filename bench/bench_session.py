"""Events per second into an in-process session from the Python API, and
decoder throughput through ``_tld.decode_etl``.

1. Writing: ``eb.reset(b'Tick', 4, 1); eb.add_int32(...); eb.add_str8(...);
   provider.write(eb)`` in a loop (one EventBuilder per thread), with a
   Session recording the provider, on 1 thread and on 4 threads (the GIL
   serializes the Python part; the session's own lock is held only while an
   event is copied). The same loop with nobody listening is printed beside
   it, so the session's share can be read off.
2. Decoding: MB/s of ``for line in _tld.decode_etl(path): pass`` (JSON and
   text) over the file written in 1., and over a file made of the Windows
   sample ``AMSITrace.etl`` repeated (its buffers copied N times), when that
   sample is found.

No thresholds: it prints numbers. Usage:

    python bench/bench_session.py [--events N] [--rounds R] [--dir DIR]

(`make bench` runs bench_event.py; run this one by hand. The C API's numbers
come from `build/dev/bench_session_c` after `make test-c`.)
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time

import traceloggingdynamic as tld
from traceloggingdynamic import _tld

AMSI = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'data', 'AMSITrace.etl')


def _writer(provider, n, barrier):
    eb = tld.EventBuilder()
    reset, add_i, add_s, write = eb.reset, eb.add_int32, eb.add_str8, provider.write
    barrier.wait()
    for i in range(n):
        reset(b'Tick', 4, 1)
        add_i(b'i', i)
        add_s(b's', 'hello')
        write(eb)


def write_rate(provider, threads, n):
    """Events per second of `threads` threads writing n events each."""
    barrier = threading.Barrier(threads + 1)
    workers = [threading.Thread(target=_writer, args=(provider, n, barrier)) for _ in range(threads)]
    for w in workers:
        w.start()
    barrier.wait()
    t0 = time.perf_counter()
    for w in workers:
        w.join()
    return threads * n / (time.perf_counter() - t0)


def decode_rate(path, fmt):
    """(MB/s, events) of decoding the whole file to lines."""
    size = os.path.getsize(path)
    t0 = time.perf_counter()
    reader = _tld.decode_etl(path, fmt)
    count = 0
    for _ in reader:
        count += 1
    dt = time.perf_counter() - t0
    if reader.errors:
        print(f'  ({len(reader.errors)} damage messages, first: {reader.errors[0]})')
    return size / dt / 1e6, count


def repeated_amsi(path, copies):
    """Writes AMSITrace.etl's header buffer then its other buffers `copies` times."""
    with open(AMSI, 'rb') as f:
        data = f.read()
    buffer_size = int.from_bytes(data[0:4], 'little')
    with open(path, 'wb') as out:
        out.write(data[:buffer_size])
        for _ in range(copies):
            out.write(data[buffer_size:])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--events', type=int, default=300_000, help='events per thread per round')
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--dir', default=None, help='where the .etl files go (default: a temporary directory)')
    args = ap.parse_args()
    workdir = args.dir or tempfile.mkdtemp(prefix='bench_session.')
    print(f'Python {sys.version.split()[0]}, {args.events} events per thread, {args.rounds} rounds, files in {workdir}')

    provider = tld.Provider(b'Bench.Session.Py')
    print('\nwriting reset + add_int32 + add_str8 + write (events/s, median of rounds):')
    for threads in (1, 4):
        idle = statistics.median(write_rate(provider, threads, args.events) for _ in range(args.rounds))
        rates, lost = [], 0
        for r in range(args.rounds):
            path = os.path.join(workdir, f'write-{threads}t-{r}.etl')
            with tld.Session(path, ['Bench.Session.Py:5']) as session:
                rates.append(write_rate(provider, threads, args.events))
            lost += session.stop().events_lost
        print(f'  {threads} thread(s): {statistics.median(rates) / 1e6:.2f} M/s into a session, '
              f'{idle / 1e6:.2f} M/s with nobody listening, {lost} lost')

    big = os.path.join(workdir, 'write-4t-0.etl')
    print(f'\ndecoding with _tld.decode_etl (MB/s, median of rounds):')
    files = [('session file', big)]
    if os.path.exists(AMSI):
        amsi_big = os.path.join(workdir, 'amsi-repeated.etl')
        repeated_amsi(amsi_big, 200)
        files.append(('AMSITrace.etl x200', amsi_big))
    else:
        print(f'  (AMSITrace.etl not found at {AMSI}; skipped)')
    for label, path in files:
        for fmt in ('json', 'text'):
            results = [decode_rate(path, fmt) for _ in range(args.rounds)]
            mbs = statistics.median(r[0] for r in results)
            print(f'  {label} ({os.path.getsize(path) / 1e6:.1f} MB, {results[0][1]} events), {fmt}: {mbs:.0f} MB/s')
    if args.dir is None:
        for name in os.listdir(workdir):
            os.unlink(os.path.join(workdir, name))
        os.rmdir(workdir)


if __name__ == '__main__':
    main()
