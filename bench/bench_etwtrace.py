"""etwtrace overhead, side by side in one run.

Workloads:
  call-heavy  recursive fib(N): almost nothing but Python calls
  loop-heavy  one function running a tight arithmetic loop: few calls

Variants, measured in this process in interleaved rounds (medians):
  none                no tracing
  forward-only        a PEP 523 hook that only forwards to the default
                      evaluator (_etwtrace._forward_only_hook): the floor
                      any eval hook pays
  stack               etwtrace.StackSamplingTracer (thunk per function)
  instrumented>file   etwtrace.InstrumentedTracer with a live .etl session
  python-only>file    the same without builtins (--no-builtins: a
                      frame-evaluation hook instead of the profile function)
  instrumented        the same with nobody listening
  cProfile            cProfile.Profile enabled

On CPython 3.12+ also, in subprocesses of this interpreter running the same
workload (each with its own subprocess baseline): CPython's `-X perf`
(trampolines + perf map) and, on 3.13+, `-X perf_jit` (jitdump), and our
stack mode in the same kind of subprocess.

Prints ratios; no thresholds (the goals are in issue 4: stack <= 1.10x
forward-only on call-heavy, <= 1.03x none on loop-heavy, instrumented>file
< cProfile).

Usage: python bench/bench_etwtrace.py [--rounds N] [--fib N] [--loop N] [--quick]
"""

import argparse
import cProfile
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

import etwtrace
from etwtrace import _etwtrace
import traceloggingdynamic as tld

PROVIDER = '99a10640-320d-4b37-9e26-c311d86da7ab:5'

WORKLOADS_SRC = textwrap.dedent('''
    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)

    def loop(n):
        s = 0
        for i in range(n):
            s += i * i ^ (i >> 3)
        return s
''')
_ns = {}
exec(compile(WORKLOADS_SRC, os.path.join(os.path.dirname(os.path.abspath(__file__)), '_bench_workloads.py'),
             'exec'), _ns)
fib, loop = _ns['fib'], _ns['loop']


class Variant:
    def __init__(self, name, start, stop):
        self.name, self.start, self.stop = name, start, stop


def _variants(tmpdir):
    state = {}

    def forward_on():
        _etwtrace._forward_only_hook(True)

    def forward_off():
        _etwtrace._forward_only_hook(False)

    def stack_on():
        state['t'] = etwtrace.StackSamplingTracer()
        state['t'].enable()

    def tracer_off():
        state.pop('t').disable()

    def instr_on():
        state['t'] = etwtrace.InstrumentedTracer()
        state['t'].enable()

    def instr_file_on():
        path = os.path.join(tmpdir, 'instrumented.etl')
        state['s'] = tld.Session(path, [PROVIDER])  # default buffers, as --capture uses
        state['s'].start()
        instr_on()

    def python_only_file_on():
        _etwtrace.set_instrumented_builtins(False)
        instr_file_on()

    def python_only_file_off():
        instr_file_off()
        state['events'].pop()   # the events count printed is instrumented>file's
        _etwtrace.set_instrumented_builtins(True)

    def instr_file_off():
        tracer_off()
        stats = state.pop('s').stop()
        state.setdefault('events', []).append(stats.events_written)
        os.unlink(os.path.join(tmpdir, 'instrumented.etl'))

    def cprofile_on():
        state['p'] = cProfile.Profile()
        state['p'].enable()

    def cprofile_off():
        state.pop('p').disable()

    nothing = (lambda: None)
    return [
        Variant('none', nothing, nothing),
        Variant('forward-only', forward_on, forward_off),
        Variant('stack', stack_on, tracer_off),
        Variant('instrumented>file', instr_file_on, instr_file_off),
        Variant('python-only>file', python_only_file_on, python_only_file_off),
        Variant('instrumented', instr_on, tracer_off),
        Variant('cProfile', cprofile_on, cprofile_off),
    ], state


def measure(fn, arg, variant):
    variant.start()
    try:
        t0 = time.perf_counter()
        fn(arg)
        return time.perf_counter() - t0
    finally:
        variant.stop()


def in_process(rounds, fib_n, loop_n):
    results = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        variants, state = _variants(tmpdir)
        for wname, fn, arg in (('call-heavy', fib, fib_n), ('loop-heavy', loop, loop_n)):
            for v in variants:                      # warm up every path once
                measure(fn, max(arg // 20, 10) if fn is loop else max(arg - 6, 5), v)
            times = {v.name: [] for v in variants}
            for r in range(rounds):
                order = variants if r % 2 == 0 else variants[::-1]
                for v in order:
                    times[v.name].append(measure(fn, arg, v))
            results[wname] = {k: statistics.median(ts) for k, ts in times.items()}
            results[wname + ' events'] = state.pop('events', [])[-rounds:]
    return results


SUBPROCESS_SRC = WORKLOADS_SRC + textwrap.dedent('''
    import sys, time
    kind, which, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    fn = fib if which == 'call-heavy' else loop
    fn(max(n - 6, 5) if fn is fib else n // 20)
    tracer = None
    if kind == 'stack':
        import etwtrace
        tracer = etwtrace.StackSamplingTracer()
        tracer.enable()
    t0 = time.perf_counter()
    fn(n)
    dt = time.perf_counter() - t0
    if tracer is not None:
        tracer.disable()
    print(dt)
''')


def subprocess_variants():
    """(name, interpreter options) of the subprocess comparison, or [] before 3.12."""
    if sys.version_info < (3, 12):
        return []
    out = [('none', []), ('stack', []), ('-X perf', ['-X', 'perf'])]
    if sys.version_info >= (3, 13):
        out.append(('-X perf_jit', ['-X', 'perf_jit']))
    return out


def in_subprocesses(rounds, fib_n, loop_n):
    variants = subprocess_variants()
    if not variants:
        return None
    results = {}
    with tempfile.TemporaryDirectory() as tmpdir:
        script = os.path.join(tmpdir, 'workload.py')
        with open(script, 'w') as f:
            f.write(SUBPROCESS_SRC)
        env = dict(os.environ)
        for wname, n in (('call-heavy', fib_n), ('loop-heavy', loop_n)):
            times = {name: [] for name, _ in variants}
            for r in range(rounds):
                order = variants if r % 2 == 0 else variants[::-1]
                for name, opts in order:
                    kind = 'stack' if name == 'stack' else 'none'
                    proc = subprocess.Popen([sys.executable, *opts, script, kind, wname, str(n)], env=env,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmpdir)
                    stdout, stderr = proc.communicate()
                    _remove_perf_files(proc.pid)
                    if proc.returncode != 0:
                        raise SystemExit(f'{name} subprocess failed:\n{stderr}')
                    times[name].append(float(stdout.split()[-1]))
            results[wname] = {k: statistics.median(ts) for k, ts in times.items()}
    return results


def _remove_perf_files(pid):
    """-X perf and our stack mode write /tmp/perf-<pid>.map; nobody will
    read these."""
    try:
        os.unlink(f'/tmp/perf-{pid}.map')
    except OSError:
        pass


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rounds', type=int, default=11)
    ap.add_argument('--fib', type=int, default=25)
    ap.add_argument('--loop', type=int, default=3_000_000)
    ap.add_argument('--quick', action='store_true', help='3 rounds, fib(22), 1M loop iterations')
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.fib, args.loop = 3, 22, 1_000_000
    info = _etwtrace.info() if hasattr(_etwtrace, 'info') else {}
    print(f'CPython {sys.version.split()[0]} on {sys.platform}, {os.cpu_count()} CPUs; '
          f'{args.rounds} interleaved rounds, medians; fib({args.fib}), loop({args.loop:,})')
    if info:
        print('etwtrace:', ', '.join(f'{k}={v}' for k, v in info.items()))
    res = in_process(args.rounds, args.fib, args.loop)
    print()
    print(f'{"in this process":<20}{"call-heavy":>24}{"loop-heavy":>24}')
    for name in ('none', 'forward-only', 'stack', 'instrumented>file', 'python-only>file', 'instrumented',
                 'cProfile'):
        cells = []
        for w in ('call-heavy', 'loop-heavy'):
            t = res[w][name]
            cells.append(f'{t * 1e3:9.1f} ms {t / res[w]["none"]:6.2f}x')
        print(f'{name:<20}{cells[0]:>24}{cells[1]:>24}')
    print()
    for w in ('call-heavy', 'loop-heavy'):
        r = res[w]
        print(f'{w}: stack / forward-only = {r["stack"] / r["forward-only"]:.3f}x; '
              f'stack / none = {r["stack"] / r["none"]:.3f}x; '
              f'instrumented>file / cProfile = {r["instrumented>file"] / r["cProfile"]:.3f}x; '
              f'python-only>file / cProfile = {r["python-only>file"] / r["cProfile"]:.3f}x; '
              f'instrumented (nobody listening) / cProfile = {r["instrumented"] / r["cProfile"]:.3f}x')
    for w in ('call-heavy', 'loop-heavy'):
        if res[w + ' events']:
            print(f'instrumented>file wrote {statistics.median(res[w + " events"]):,.0f} events per {w} run')
    sub = in_subprocesses(max(3, args.rounds // 2 + 1), args.fib, args.loop)
    print()
    if sub is None:
        print('CPython -X perf / -X perf_jit: n/a (CPython 3.12+; this is '
              f'{sys.version_info.major}.{sys.version_info.minor})')
        return
    names = [n for n, _ in subprocess_variants()]
    print(f'{"subprocesses":<20}{"call-heavy":>24}{"loop-heavy":>24}')
    for name in names:
        cells = []
        for w in ('call-heavy', 'loop-heavy'):
            t = sub[w][name]
            cells.append(f'{t * 1e3:9.1f} ms {t / sub[w]["none"]:6.2f}x')
        print(f'{name:<20}{cells[0]:>24}{cells[1]:>24}')
    for w in ('call-heavy', 'loop-heavy'):
        r = sub[w]
        line = f'{w}: stack / -X perf = {r["stack"] / r["-X perf"]:.3f}x'
        if '-X perf_jit' in r:
            line += f'; stack / -X perf_jit = {r["stack"] / r["-X perf_jit"]:.3f}x'
        print(line)


if __name__ == '__main__':
    main()
