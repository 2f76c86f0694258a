"""The built-in sampler: overhead and truth, side by side with py-spy.

The sampler alone. Each workload in one process, the sampler started and
stopped around it or not, alternating: CPU time and elapsed time, on/off.

Overhead. Each workload runs as a program in its own interpreter, in
interleaved rounds (one run of every variant per round, medians over the
rounds), and reports its own elapsed time (perf_counter around its work)
and the process's end to end:
  none            python workload.py
  etwtrace        python -m etwtrace --capture FILE -- workload.py
                  (built-in sampler, CPU time, 1000 Hz: the defaults)
  etwtrace-wall   the same with --sample=wall
  py-spy          py-spy record -f raw -- python workload.py (100 Hz, its default)
  py-spy-1000     the same at -r 1000
Workloads: call-heavy (recursive fib), loop-heavy (one tight loop), deep
(work at recursion depth 400), threads (4 threads of fib).

Truth. scripts/sampler_truth.py (tests/python/etwtrace/scripts): functions
burning 50/30/20 % of the CPU in random bursts at depth 1 and 500, in 1
and 4 threads, each burst measuring its own CPU time. Reported shares of
the three together (by sample weight, innermost function) against the
true ones, for the built-in sampler (CPU time) and for py-spy (its samples
of running threads).

Prints ratios and percentage points; no thresholds. The machine's load
matters: run it when nothing else runs, and say when it did not.

Usage: python bench/bench_sampler.py [--rounds N] [--scale X] [--truth-seconds S]
                                     [--no-overhead] [--no-truth] [--no-pyspy]
"""

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRUTH_SCRIPT = HERE.parent / 'tests' / 'python' / 'etwtrace' / 'scripts' / 'sampler_truth.py'

WORKLOADS = {
    'call-heavy': '''
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        def work():
            for _ in range(ROUNDS):
                fib(24)
    ''',
    'loop-heavy': '''
        def loop(n):
            s = 0
            for i in range(n):
                s += i * i ^ (i >> 3)
            return s
        def work():
            for _ in range(ROUNDS):
                loop(1_000_000)
    ''',
    'deep': '''
        import sys
        sys.setrecursionlimit(2000)
        def leaf():
            s = 0
            for i in range(2000):
                s += i
            return s
        def down(n):
            return leaf() if n == 0 else down(n - 1)
        def work():
            for _ in range(ROUNDS * 60):
                down(400)
    ''',
    'threads': '''
        import threading
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        def part():
            for _ in range(ROUNDS):
                fib(22)
        def work():
            ts = [threading.Thread(target=part) for _ in range(4)]
            for t in ts: t.start()
            for t in ts: t.join()
    ''',
}
ROUNDS_PER_SCALE = {'call-heavy': 100, 'loop-heavy': 12, 'deep': 150, 'threads': 100}

PROGRAM = '''
import time
{body}
t0 = time.perf_counter()
work()
print('ELAPSED', time.perf_counter() - t0)
'''


def write_workloads(folder, scale):
    paths = {}
    for name, body in WORKLOADS.items():
        rounds = max(1, int(ROUNDS_PER_SCALE[name] * scale))
        src = PROGRAM.format(body=textwrap.dedent(body).replace('ROUNDS', str(rounds)))
        path = folder / f'{name.replace("-", "_")}.py'
        path.write_text(src)
        paths[name] = path
    return paths


def variants(folder, pyspy):
    out = {
        'none': lambda w: [sys.executable, str(w)],
        'etwtrace': lambda w: [sys.executable, '-m', 'etwtrace', '--capture', str(folder / 'b.etl'), '--', str(w)],
        'etwtrace-wall': lambda w: [sys.executable, '-m', 'etwtrace', '--capture', str(folder / 'b.etl'),
                                    '--sample=wall', '--', str(w)],
    }
    if pyspy:
        out['py-spy'] = lambda w: [pyspy, 'record', '-o', str(folder / 'p.txt'), '-f', 'raw', '--',
                                   sys.executable, str(w)]
        out['py-spy-1000'] = lambda w: [pyspy, 'record', '-r', '1000', '-o', str(folder / 'p.txt'), '-f', 'raw',
                                        '--', sys.executable, str(w)]
    return out


def _children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_once(cmd):
    """(work seconds inside the program, the process's elapsed seconds, CPU
    seconds of the process and its children: the profiler's own included)."""
    cpu0, t0 = _children_cpu(), time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - cpu0
    if p.returncode != 0:
        raise SystemExit(f'{cmd} failed ({p.returncode}):\n{p.stderr}')
    m = re.search(r'ELAPSED (\S+)', p.stdout)
    return float(m.group(1)), wall, cpu


def overhead(args, pyspy):
    with tempfile.TemporaryDirectory(prefix='bench-sampler-') as tmp:
        folder = Path(tmp)
        paths = write_workloads(folder, args.scale)
        vs = variants(folder, pyspy)
        print(f'overhead: {args.rounds} interleaved rounds, medians; ratio = variant / none '
              f'(work: elapsed inside the program; total: the process end to end; cpu: CPU time of the '
              f'process and its children, the profiler\'s own included)')
        print(f'{"workload":12} {"variant":14} {"work s":>8} {"ratio":>7} {"total s":>8} {"ratio":>7} '
              f'{"cpu s":>8} {"ratio":>7}')
        for name, path in paths.items():
            times = {v: [] for v in vs}
            for _ in range(args.rounds):
                for v, cmd in vs.items():
                    times[v].append(run_once(cmd(path)))
            base = [statistics.median(t[i] for t in times['none']) for i in range(3)]
            for v in vs:
                m = [statistics.median(t[i] for t in times[v]) for i in range(3)]
                print(f'{name:12} {v:14} ' + ' '.join(f'{m[i]:8.3f} {m[i] / base[i]:7.3f}' for i in range(3)))
            sys.stdout.flush()


# ---- the sampler alone, in one process ----

IN_PROCESS = '''
import json, statistics, sys, time
import etwtrace
from traceloggingdynamic import Session
{body}
session = Session(sys.argv[1], [etwtrace._etwtrace.PROVIDER_ID + ':5'])
session.start()
rounds, clock, rate = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
out = {{'off': [], 'on': []}}
for _ in range(rounds):
    for mode in ('off', 'on'):
        sampler = etwtrace.Sampler(rate=rate, clock=clock) if mode == 'on' else None
        c0, w0 = time.process_time(), time.perf_counter()
        if sampler: sampler.start()
        work()
        if sampler: sampler.stop()
        out[mode].append((time.process_time() - c0, time.perf_counter() - w0))
session.stop()
print(json.dumps(out))
'''


def in_process(args):
    """The sampler's own cost, without the CLI around it: the same work in
    one process with the sampler on and off, alternating; CPU time of the
    process (the handler and the drain thread included) and elapsed."""
    print(f'\nthe sampler alone: {args.rounds * 2} alternating rounds in one process, medians, ratio on/off '
          f'(start and stop included)')
    print(f'{"workload":12} {"clock":6} {"rate":>5} {"cpu ratio":>10} {"elapsed ratio":>14}')
    with tempfile.TemporaryDirectory(prefix='bench-sampler-inproc-') as tmp:
        folder = Path(tmp)
        for name, body in WORKLOADS.items():
            rounds = max(1, int(ROUNDS_PER_SCALE[name] * args.scale))
            script = folder / 'inproc.py'
            script.write_text(IN_PROCESS.format(body=textwrap.dedent(body).replace('ROUNDS', str(rounds))))
            for clock, rate in (('cpu', 1000), ('wall', 1000)):
                p = subprocess.run([sys.executable, str(script), str(folder / 'i.etl'), str(args.rounds * 2), clock,
                                    str(rate)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                if p.returncode != 0:
                    raise SystemExit(p.stderr)
                out = json.loads(p.stdout.strip().splitlines()[-1])
                ratio = [statistics.median(x[i] for x in out['on']) / statistics.median(x[i] for x in out['off'])
                         for i in range(2)]
                print(f'{name:12} {clock:6} {rate:5} {ratio[0]:10.3f} {ratio[1]:14.3f}')
                sys.stdout.flush()


# ---- truth ----

NAMES = ('burn_a', 'burn_b', 'burn_c')


def true_shares(result, clock='cpu'):
    """Each burning function's share of the three together."""
    tot = {k: sum(v[clock][k] for v in result['threads'].values()) for k in NAMES}
    return {k: tot[k] / sum(tot.values()) for k in NAMES}


def split(weights):
    total = sum(weights.values())
    return {k: weights[k] / max(1, total) for k in NAMES}


def ours(folder, depth, threads, seconds):
    sys.path[:0] = [str(HERE.parent / 'tests' / 'python' / 'etwtrace'), str(HERE.parent / 'tests' / 'python')]
    from etwtrace_helpers import python_events, samples_of, source_lines
    etl = folder / 'truth.etl'
    p = subprocess.run([sys.executable, str(TRUTH_SCRIPT), str(etl), 'cpu', '1000', str(depth), str(threads),
                        str(seconds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, check=True)
    result = json.loads(p.stdout.strip().splitlines()[-1])
    tids = {int(t) for t in result['threads']}
    samples = [s for s in samples_of(python_events(etl)) if s.tid in tids]
    got = split({k: sum(s.weight for s in samples if s.names and s.names[0] == k) for k in NAMES})
    lines = {k: source_lines(TRUTH_SCRIPT, f'# BURN_{k[-1].upper()}') for k in NAMES}
    burning = [s for s in samples if s.names and s.names[0] in NAMES]
    right_lines = sum(1 for s in burning if s.frames[0][2] in lines[s.names[0]]) / max(1, len(burning))
    whole = sum(1 for s in burning if s.names[1:] == ['at_depth'] * depth + ['worker']) / max(1, len(burning))
    return got, true_shares(result), len(samples), right_lines, whole, result['stats']


def pyspy_truth(folder, pyspy, depth, threads, seconds):
    raw = folder / 'pyspy.txt'
    p = subprocess.run([pyspy, 'record', '-o', str(raw), '-f', 'raw', '--', sys.executable, str(TRUTH_SCRIPT), '-',
                        'cpu', '1000', str(depth), str(threads), str(seconds)], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, check=True)
    result = json.loads(next(ln for ln in p.stdout.splitlines() if ln.startswith('{')))
    counts = {k: 0 for k in NAMES}
    total = 0
    whole = burning = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(' ')
        frames = stack.split(';')
        names = [f.split(' (')[0] for f in frames]
        if 'worker' not in names:
            continue   # the main thread waiting in join
        n = int(n)
        total += n
        if names[-1] in counts:
            counts[names[-1]] += n
            burning += n
            if names[names.index('worker') + 1:] == ['at_depth'] * depth + [names[-1]]:
                whole += n
    return split(counts), true_shares(result), total, whole / max(1, burning)


def truth(args, pyspy):
    print(f'\ntruth: {args.truth_seconds} s of CPU per thread, 50/30/20 split; shares by innermost function '
          f'(ours: CPU-time samples at 1000 Hz, weighted; py-spy: its default 100 Hz)')
    print(f'{"depth":>5} {"threads":>7} {"who":8} {"samples":>8} {"max error":>10} {"lines":>7} {"whole stacks":>13}')
    with tempfile.TemporaryDirectory(prefix='bench-sampler-truth-') as tmp:
        folder = Path(tmp)
        for depth in (1, 500):
            for threads in (1, 4):
                seconds = args.truth_seconds / threads
                got, true, n, lines, whole, stats = ours(folder, depth, threads, seconds)
                err = max(abs(got[k] - true[k]) for k in NAMES) * 100
                print(f'{depth:5} {threads:7} {"etwtrace":8} {n:8} {err:8.2f}pp {lines:7.1%} {whole:13.1%}'
                      f'   ({", ".join(f"{k[-1]} {got[k]:.1%}/{true[k]:.1%}" for k in NAMES)}; '
                      f'dropped {stats["dropped"]})')
                if pyspy:
                    got, true, n, whole = pyspy_truth(folder, pyspy, depth, threads, seconds)
                    err = max(abs(got[k] - true[k]) for k in NAMES) * 100
                    print(f'{depth:5} {threads:7} {"py-spy":8} {n:8} {err:8.2f}pp {"":>7} {whole:13.1%}'
                          f'   ({", ".join(f"{k[-1]} {got[k]:.1%}/{true[k]:.1%}" for k in NAMES)})')
                sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--rounds', type=int, default=7)
    ap.add_argument('--scale', type=float, default=1.0, help='work per run (1.0: about 1-2 s untraced)')
    ap.add_argument('--truth-seconds', type=float, default=8.0, help='CPU seconds per truth configuration')
    ap.add_argument('--no-overhead', action='store_true')
    ap.add_argument('--no-truth', action='store_true')
    ap.add_argument('--no-pyspy', action='store_true')
    args = ap.parse_args()
    pyspy = None if args.no_pyspy else (shutil.which('py-spy') or
                                        str(Path(sys.executable).parent / 'py-spy')
                                        if (Path(sys.executable).parent / 'py-spy').exists() else None)
    if pyspy is None and not args.no_pyspy:
        print('py-spy not found (pip install py-spy): measured without it')
    print(f'python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start')
    if not args.no_overhead:
        in_process(args)
        overhead(args, pyspy)
    if not args.no_truth:
        truth(args, pyspy)
    print(f'load average {os.getloadavg()[0]:.1f} at the end')


if __name__ == '__main__':
    main()
