"""Two builds of this project side by side: did a change make anything slower?

Give two Python interpreters, each from a virtual environment with one build
installed (e.g. the checkout before and after a change, each with
`make install`). Every workload runs in a fresh subprocess of one, then of
the other, alternating (A B A B ...), and is timed inside the subprocess
(CPU time of the workload alone, no start-up). Prints per workload the
median of each and the median of the pair-by-pair ratios B/A.

Workloads:
  tld-write         reset + 3 add_* + write into a live session, 1,000,000 events
  tld-disabled      the same with nobody listening
  instrumented      etwtrace.InstrumentedTracer with a live session, fib(25)
  stack             etwtrace.StackSamplingTracer, fib(27)

Usage: python bench/bench_builds.py --a OLD/.venv/bin/python --b NEW/.venv/bin/python [--rounds N]
"""

import argparse
import statistics
import subprocess
import sys
import textwrap

WORKLOAD = textwrap.dedent('''
    import os, sys, tempfile, time
    import traceloggingdynamic as tld
    which = sys.argv[1]
    d = tempfile.mkdtemp()
    path = os.path.join(d, 't.etl')

    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    def tld_events(n):
        p = tld.Provider(b'Bench.Builds')
        eb = tld.EventBuilder()
        for i in range(n):
            eb.reset(b'E', 5, 1)
            eb.add_int32(b'i', i)
            eb.add_str8(b's', 'abc')
            eb.add_float64(b'f', 1.5)
            p.write(eb)

    if which == 'tld-write':
        with tld.Session(path, ['Bench.Builds:5']):
            t = time.process_time(); tld_events(1_000_000); t = time.process_time() - t
    elif which == 'tld-disabled':
        t = time.process_time(); tld_events(1_000_000); t = time.process_time() - t
    elif which == 'instrumented':
        import etwtrace
        with tld.Session(path, ['99a10640-320d-4b37-9e26-c311d86da7ab:5']):
            with etwtrace.InstrumentedTracer():
                t = time.process_time(); fib(25); t = time.process_time() - t
    elif which == 'stack':
        import etwtrace
        with etwtrace.StackSamplingTracer():
            t = time.process_time(); fib(27); t = time.process_time() - t
    if os.path.exists(path):
        os.remove(path)
    os.rmdir(d)
    print(t)
''')

WORKLOADS = ('tld-write', 'tld-disabled', 'instrumented', 'stack')


def run(python, which):
    out = subprocess.run([python, '-c', WORKLOAD, which], capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        sys.exit(f'{python} {which} failed:\n{out.stderr}')
    return float(out.stdout.split()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--a', required=True, help='interpreter with the old build')
    ap.add_argument('--b', required=True, help='interpreter with the new build')
    ap.add_argument('--rounds', type=int, default=9)
    ap.add_argument('--only', choices=WORKLOADS, action='append')
    args = ap.parse_args()
    print(f'A = {args.a}\nB = {args.b}\n{args.rounds} rounds, A B alternating, CPU seconds of the workload')
    print(f'{"workload":14} {"A median":>10} {"B median":>10} {"B/A (median of pairs)":>24} {"min..max":>14}')
    for which in args.only or WORKLOADS:
        a, b, ratios = [], [], []
        for _ in range(args.rounds):
            ta, tb = run(args.a, which), run(args.b, which)
            a.append(ta)
            b.append(tb)
            ratios.append(tb / ta)
        print(f'{which:14} {statistics.median(a):10.4f} {statistics.median(b):10.4f} '
              f'{statistics.median(ratios):24.3f} {min(ratios):6.3f}..{max(ratios):.3f}')


if __name__ == '__main__':
    main()
