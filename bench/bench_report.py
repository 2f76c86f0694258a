"""Throughput and memory of `python -m etwtrace report` on a large
instrumented trace, side by side with `python -m traceloggingdynamic decode
--summary` of the same file, plus the profile model alone (no file).

    python bench/bench_report.py [--size-mb 3072] [--keep] [--trace FILE]

Makes (or reuses, from bench/.cache/) an instrumented trace of about
--size-mb MB by tracing a recursive program with `--instrumented
--capture`, then runs, each in a fresh process, timed with its peak RSS:

  report top          the full user path: read + aggregate + write `top`
  report collapsed    the same, another writer
  decode --summary    the decoder's pass over the same file
  file / model        bench_report_c (built optimised in build/bench): the same
                      file read into memory, then walked and aggregated, timed
                      apart; and --model N synthetic entries/exits with no file:
                      the aggregation's own events/s

Prints events/s and peak RSS of each and their ratios. The trace is deleted
afterwards unless --keep (or it was given with --trace). Needs
`make install`.
Run it on a quiet machine; numbers from a shared one are noisy.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / 'bench' / '.cache'
MAX_MB = 8192           # refuse to write more than this without --trace

PROGRAM = '''
import sys
def leaf(x):
    return x + 1
def rec(n):
    if n:
        return rec(n - 1) + leaf(n)
    return 0
def outer(rounds):
    total = 0
    for i in range(rounds):
        total += rec(i % 40)
    return total
outer(int(sys.argv[1]))
'''


def make_trace(path, size_mb, events):
    """Traces PROGRAM with enough rounds for about size_mb MB, calls written
    as `events` (compact batches or one push-pop event each)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    script = path.parent / 'bench_report_program.py'
    script.write_text(PROGRAM)
    probe_rounds = 20000
    probe = path.with_suffix('.probe.etl')
    subprocess.run([sys.executable, '-m', 'etwtrace', '--instrumented', f'--events={events}', '--no-perf',
                    '--capture', str(probe), '--', str(script), str(probe_rounds)], check=True,
                   stderr=subprocess.DEVNULL)
    per_round = probe.stat().st_size / probe_rounds
    probe.unlink()
    rounds = max(1000, int(size_mb * 1024 * 1024 / per_round))
    print(f'writing {path} (~{size_mb} MB, {rounds} rounds)...', flush=True)
    t = time.monotonic()
    subprocess.run([sys.executable, '-m', 'etwtrace', '--instrumented', f'--events={events}', '--no-perf',
                    '--capture', str(path), '--', str(script), str(rounds)], check=True, stderr=subprocess.DEVNULL)
    print(f'  {path.stat().st_size / 1e6:.0f} MB in {time.monotonic() - t:.1f} s', flush=True)


def run_measured(cmd):
    """Runs cmd in a child; returns (seconds, peak RSS MB, stdout)."""
    t = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - t
    if status != 0:
        raise SystemExit(f'{" ".join(cmd)} failed:\n{err.decode(errors="replace")}')
    return elapsed, usage.ru_maxrss / 1024, out.decode(errors='replace')


def build_model_bench():
    """build/bench/bench_report_c, built optimised (the developer build is -O0)."""
    tools = Path(sys.executable).parent         # meson and ninja of the venv
    env = dict(os.environ, PATH=f'{tools}{os.pathsep}{os.environ.get("PATH", "")}')
    build = REPO / 'build' / 'bench'
    if not (build / 'build.ninja').exists():
        subprocess.run([str(tools / 'meson'), 'setup', str(build), '-Dbuildtype=release'], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL, env=env)
    subprocess.run([str(tools / 'meson'), 'compile', '-C', str(build), 'bench_report_c'], check=True,
                   stdout=subprocess.DEVNULL, env=env)
    return build / 'bench_report_c'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--size-mb', type=int, default=3072)
    ap.add_argument('--events', choices=('compact', 'push-pop'), default='push-pop',
                    help='how the trace records calls (push-pop: ~176 bytes per call and return, the large files '
                         'this measures; compact: a few bytes)')
    ap.add_argument('--trace', help='use this trace instead of making one (never deleted)')
    ap.add_argument('--keep', action='store_true', help='keep the trace in bench/.cache for the next run')
    ap.add_argument('--model-events', type=int, default=50_000_000)
    args = ap.parse_args()
    if args.trace:
        trace = Path(args.trace)
    else:
        if args.size_mb > MAX_MB:
            raise SystemExit(f'--size-mb is capped at {MAX_MB}')
        free_mb = shutil.disk_usage(REPO).free / 2**20
        if free_mb < 2 * args.size_mb:
            raise SystemExit(f'not enough free disk for a {args.size_mb} MB trace ({free_mb:.0f} MB free)')
        trace = CACHE / f'instrumented-{args.size_mb}mb.etl'
        if not trace.exists():
            make_trace(trace, args.size_mb, args.events)
        else:
            print(f'reusing {trace}')
    try:
        size = trace.stat().st_size
        py = sys.executable
        rows = []
        # The event count, from the report's own summary.
        t, rss, out = run_measured([py, '-m', 'etwtrace', 'report', str(trace), '--limit', '5'])
        events = int(out.split(' events')[0].rsplit(' ', 1)[-1])
        rows.append(('report (top)', t, rss))
        t, rss, _ = run_measured([py, '-m', 'etwtrace', 'report', str(trace), '--format', 'collapsed'])
        rows.append(('report (collapsed)', t, rss))
        t, rss, _ = run_measured([py, '-m', 'traceloggingdynamic', 'decode', str(trace), '--summary'])
        rows.append(('decode --summary', t, rss))
        print(f'\ntrace: {trace} ({size / 1e9:.2f} GB, {events:,} events)')
        print(f'{"":22} {"seconds":>9} {"M events/s":>11} {"MB/s":>8} {"peak RSS MB":>12}')
        for name, t, rss in rows:
            print(f'{name:22} {t:9.2f} {events / t / 1e6:11.2f} {size / t / 1e6:8.0f} {rss:12.0f}')
        base = rows[-1][1]
        print(f'report (top) takes {rows[0][1] / base:.2f}x the time of decode --summary, with '
              f'{rows[0][2] / rows[-1][2]:.2f}x its peak RSS')
        model = build_model_bench()
        _, rss, out = run_measured([str(model), '--model', str(args.model_events), str(trace)])
        print(out.strip())
        print('\n(bench_report_c reads the file into memory on purpose, to time the walk apart from the '
              'reading; `report` and `decode` stream it.)')
    finally:
        if not args.trace and not args.keep and trace.exists():
            trace.unlink()
            (trace.parent / 'bench_report_program.py').unlink(missing_ok=True)


if __name__ == '__main__':
    main()
