"""Decoding a multi-GB trace: events per second and peak RSS of
``python -m traceloggingdynamic decode --summary`` (and of the JSON walk on
a part of it), side by side with ``cat FILE > /dev/null`` reading the same
file, in one run.

The trace is written by our own sessions (4 threads, small TraceLogging
events, 64 KiB buffers) until it reaches --size MiB (default 2048: capped),
measured, and deleted (unless --keep). Variants:

    --compressed   also measure the same trace relogged compressed
                   (LogFileMode 0x04000000; the test-only LZ77 compressor
                   of tests/python/etl_windows_fixtures.py, slow to write)

No thresholds: it prints numbers. Usage:

    python bench/bench_decode.py [--size MiB] [--json-size MiB] [--dir DIR] [--keep] [--compressed]

Peak RSS is the decoding process's VmHWM (Linux). The machine may be
shared: compare the ratios printed in one run, not numbers across runs.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time

import traceloggingdynamic as tld

HERE = os.path.dirname(os.path.abspath(__file__))
PROVIDER = 'Bench.Decode'


def write_trace(path, size_mib, threads=4):
    """Writes events from `threads` threads until the file reaches size_mib."""
    target = size_mib * 1024 * 1024
    p = tld.Provider(PROVIDER.encode())
    stop = threading.Event()
    counts = [0] * threads

    def work(k):
        eb = tld.EventBuilder()
        reset, add_i, add_s, write = eb.reset, eb.add_int32, eb.add_str8, p.write
        n = 0
        while not stop.is_set():
            for _ in range(1000):
                reset(b'Tick', 4, 1)
                add_i(b'i', n)
                add_s(b's', 'hello world')
                write(eb)
                n += 1
        counts[k] = n

    with tld.Session(str(path), [PROVIDER], buffer_size=65536) as session:
        workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
        for w in workers:
            w.start()
        while os.path.getsize(path) < target:
            time.sleep(0.05)
        stop.set()
        for w in workers:
            w.join()
    p.close()
    return sum(counts)


# Runs the CLI and prints its peak RSS (VmHWM: ru_maxrss would carry this
# process's own peak into a child started by vfork + exec).
CLI_WITH_RSS = r'''
import sys
from traceloggingdynamic.__main__ import main
try:
    rc = main(sys.argv[1:])
finally:
    with open('/proc/self/status') as f:
        hwm = next(int(line.split()[1]) for line in f if line.startswith('VmHWM:'))
    print('PEAK_RSS_KB', hwm, file=sys.stderr)
sys.exit(rc)
'''


def run_child(args, discard=False):
    """Runs a command; returns (seconds, peak RSS KiB or None, stdout)."""
    t0 = time.perf_counter()
    r = subprocess.run(args, stdout=subprocess.DEVNULL if discard else subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True)
    dt = time.perf_counter() - t0
    if r.returncode not in (0, 1):
        sys.exit(f'{args}: exit {r.returncode}: {r.stderr}')
    rss = [int(line.split()[1]) for line in r.stderr.splitlines() if line.startswith('PEAK_RSS_KB')]
    return dt, rss[-1] if rss else None, r.stdout


def events_in(summary_out):
    for line in summary_out.splitlines():
        if line.startswith('events: '):
            return int(line.split()[1])
    return 0


def measure(path, json_mib):
    size = os.path.getsize(path)
    cat_s, _, _ = run_child(['cat', str(path)], discard=True)
    cat_s, _, _ = run_child(['cat', str(path)], discard=True)   # warm: what the decoder sees
    dt, rss, out = run_child([sys.executable, '-c', CLI_WITH_RSS, 'decode', str(path), '--summary'])
    n = events_in(out)
    print(f'  file: {size / 2**20:.0f} MiB, {n} events')
    print(f'  cat > /dev/null:   {cat_s:7.2f} s  {size / 2**20 / cat_s:8.0f} MiB/s')
    print(f'  decode --summary:  {dt:7.2f} s  {size / 2**20 / dt:8.0f} MiB/s  {n / dt / 1e6:6.2f} M events/s  '
          f'peak RSS {rss / 1024 if rss else float("nan"):.0f} MiB   ({dt / cat_s:.1f}x cat)')
    # JSON lines for a part of the file (a copy of its first json_mib MiB).
    if json_mib:
        part = str(path) + '.part'
        with open(path, 'rb') as src, open(part, 'wb') as dst:
            left = json_mib * 2**20
            while left > 0:
                chunk = src.read(min(left, 1 << 24))
                if not chunk:
                    break
                dst.write(chunk)
                left -= len(chunk)
        try:
            _, _, pout = run_child([sys.executable, '-m', 'traceloggingdynamic', 'decode', part, '--summary'])
            pn = events_in(pout)
            jt, jrss, _ = run_child([sys.executable, '-c', CLI_WITH_RSS, 'decode', part], discard=True)
            print(f'  decode (JSON), first {json_mib} MiB: {jt:7.2f} s  {pn / jt / 1e6:6.2f} M events/s  '
                  f'peak RSS {jrss / 1024 if jrss else float("nan"):.0f} MiB  ({dt / n * pn / jt:.2f}x the summary rate)')
        finally:
            os.unlink(part)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--size', type=int, default=2048, help='trace size in MiB (capped at 8192)')
    ap.add_argument('--json-size', type=int, default=256, help='MiB decoded as JSON lines (0: skip)')
    ap.add_argument('--dir', default=None, help='where to write the trace (default: a temporary directory)')
    ap.add_argument('--keep', action='store_true', help='keep the trace')
    ap.add_argument('--compressed', action='store_true', help='also measure it relogged compressed')
    args = ap.parse_args()
    size = min(args.size, 8192)
    d = args.dir or tempfile.mkdtemp(prefix='bench_decode.')
    path = os.path.join(d, 'bench.etl')
    try:
        t0 = time.perf_counter()
        written = write_trace(path, size)
        print(f'wrote {written} events, {os.path.getsize(path) / 2**20:.0f} MiB in {time.perf_counter() - t0:.1f} s')
        print('uncompressed (our sessions, 4 writer threads):')
        measure(path, args.json_size)
        if args.compressed:
            sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'python'))
            import etl_windows_fixtures as wf
            zpath = path + '.z'
            with open(path, 'rb') as f:
                data = f.read()
            with open(zpath, 'wb') as f:
                f.write(wf.relog(data, compress=True))
            del data
            print('relogged, compressed:')
            try:
                measure(zpath, 0)
            finally:
                if not args.keep:
                    os.unlink(zpath)
    finally:
        if not args.keep:
            if os.path.exists(path):
                os.unlink(path)
            if not args.dir:
                os.rmdir(d)


if __name__ == '__main__':
    main()
