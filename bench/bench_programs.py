"""Instrumented tracing on real programs, side by side with cProfile.

Programs (installed from PyPI into the bench environment, pinned in
bench/requirements-programs.txt):
  sympy        integrate / factor / series
  docutils     two reStructuredText documents, each to HTML 5 times
  pycodestyle  pycodestyle over sympy/core
  fib          fib(32): nothing but Python calls
  loop         one function in a tight loop: few calls

Variants, each a fresh process, run in interleaved rounds (medians of wall
seconds):
  plain          python PROGRAM
  compact        python -m etwtrace --instrumented --capture T.etl -- PROGRAM
  push-pop       the same with --events=push-pop (one event per call and return)
  cprofile       python -m cProfile -o T.prof PROGRAM

Prints seconds, ratios (to plain and to cProfile) and the trace's bytes per
call (file size / calls, a call being a call and its return). --busy runs
everything again with a process spinning on the other core.

Usage: python bench/bench_programs.py [--rounds N] [--only NAME ...] [--variants V ...] [--busy]
Traces are written under a temporary folder and deleted after each run.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

PROGRAMS = {
    'sympy': textwrap.dedent('''
        from sympy import symbols, integrate, sin, cos, exp, factor, series
        x = symbols('x')
        integrate(x**2 * exp(x) * cos(x), x)
        factor(x**30 - 1)
        series(sin(x) / x * exp(x), x, 0, 8)
    '''),
    'docutils': textwrap.dedent('''
        from docutils.core import publish_string
        def document(n):
            parts = [f"Document {n}\\n{'=' * 20}\\n"]
            for s in range(40):
                parts.append(f"Section {s}\\n{'-' * 16}\\n\\nSome *emphasis*, **strong** text, ``code`` and a "
                             f"link_.\\n\\n.. _link: https://example.org/{s}\\n\\n"
                             "- item one\\n- item two with a longer line of text\\n\\n"
                             "1. first\\n2. second\\n\\n"
                             "+------+------+\\n| a    | b    |\\n+======+======+\\n| 1    | 2    |\\n+------+------+\\n\\n"
                             "::\\n\\n    def f(x):\\n        return x\\n\\n")
            return "\\n".join(parts)
        for n in range(2):
            text = document(n)
            for _ in range(5):
                publish_string(text, writer_name='html5', settings_overrides={'report_level': 5})
    '''),
    'pycodestyle': textwrap.dedent('''
        import os, pycodestyle, sympy
        core = os.path.join(os.path.dirname(sympy.__file__), 'core')
        files = sorted(os.path.join(core, f) for f in os.listdir(core) if f.endswith('.py'))[:16]
        style = pycodestyle.StyleGuide(quiet=True)
        style.check_files(files)
    '''),
    'fib': textwrap.dedent('''
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        fib(32)
    '''),
    'loop': textwrap.dedent('''
        def loop(n):
            s = 0
            for i in range(n):
                s += i * i ^ (i >> 3)
            return s
        loop(6_000_000)
    '''),
}

VARIANTS = ('plain', 'compact', 'push-pop', 'cprofile')


def command(variant, script, out):
    py = sys.executable
    if variant == 'plain':
        return [py, script]
    if variant == 'cprofile':
        return [py, '-m', 'cProfile', '-o', out + '.prof', script]
    args = [py, '-m', 'etwtrace', '--instrumented', '--capture', out + '.etl']
    if variant == 'push-pop':
        args.append('--events=push-pop')
    return args + ['--', script]


def calls_in(path):
    """Calls recorded in a trace (its PythonFunctionPush count)."""
    proc = subprocess.run([sys.executable, '-m', 'traceloggingdynamic', 'decode', path, '--summary'],
                          capture_output=True, text=True, timeout=600)
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[-1] in ('PythonFunctionPush', 'Python/PythonFunctionPush'):
            return int(parts[0])
    return None


def run_once(variant, script, workdir):
    out = os.path.join(workdir, 'trace')
    started = time.perf_counter()
    proc = subprocess.run(command(variant, script, out), capture_output=True, text=True, timeout=1800,
                          cwd=workdir)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f'{variant} {script} failed:\n{proc.stderr[-2000:]}')
    size = None
    if os.path.exists(out + '.etl'):
        size = os.path.getsize(out + '.etl')
    return elapsed, size, out + '.etl'


def measure(names, variants, rounds, workdir):
    results = {}
    for name in names:
        script = os.path.join(workdir, f'workload_{name}.py')   # not named like the module it imports
        with open(script, 'w') as f:
            f.write(PROGRAMS[name])
        times = {v: [] for v in variants}
        sizes = {}
        calls = {}
        for r in range(rounds):
            for v in variants:
                elapsed, size, etl = run_once(v, script, workdir)
                times[v].append(elapsed)
                if size is not None:
                    sizes[v] = size
                    if r == 0:
                        calls[v] = calls_in(etl)
                for leftover in os.listdir(workdir):
                    if leftover.startswith('trace'):
                        os.remove(os.path.join(workdir, leftover))
        results[name] = {'median': {v: statistics.median(t) for v, t in times.items()},
                         'bytes': sizes, 'calls': calls}
    return results


def report(results, variants, title):
    print(f'\n{title}')
    head = f'{"program":12}' + ''.join(f'{v:>10}' for v in variants)
    head += ''.join(f'{v + "/plain":>16}' for v in variants if v != 'plain')
    head += ''.join(f'{v + "/cprof":>16}' for v in variants if v not in ('plain', 'cprofile'))
    head += ''.join(f'{"B/call " + v:>18}' for v in variants if v in ('compact', 'push-pop'))
    print(head)
    for name, r in results.items():
        m = r['median']
        line = f'{name:12}' + ''.join(f'{m[v]:10.2f}' for v in variants)
        line += ''.join(f'{m[v] / m["plain"]:16.2f}' for v in variants if v != 'plain' and 'plain' in m)
        line += ''.join(f'{m[v] / m["cprofile"]:16.2f}' for v in variants
                        if v not in ('plain', 'cprofile') and 'cprofile' in m)
        for v in variants:
            if v in ('compact', 'push-pop'):
                calls = r['calls'].get(v)
                size = r['bytes'].get(v)
                line += f'{size / calls:18.1f}' if calls and size else f'{"?":>18}'
        print(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rounds', type=int, default=3)
    ap.add_argument('--only', action='append', choices=list(PROGRAMS))
    ap.add_argument('--variants', nargs='+', choices=VARIANTS, default=list(VARIANTS))
    ap.add_argument('--busy', action='store_true', help='also measure with the other core busy')
    ap.add_argument('--json', help='write the results here too')
    args = ap.parse_args()
    names = args.only or list(PROGRAMS)
    workdir = tempfile.mkdtemp(prefix='bench-programs-')
    all_results = {}
    try:
        idle = measure(names, args.variants, args.rounds, workdir)
        report(idle, args.variants, f'second core idle ({args.rounds} rounds, medians, wall seconds)')
        all_results['idle'] = idle
        if args.busy:
            spinner = subprocess.Popen([sys.executable, '-c', 'while True: pass'])
            try:
                busy = measure(names, args.variants, args.rounds, workdir)
            finally:
                spinner.kill()
            report(busy, args.variants, f'second core busy ({args.rounds} rounds, medians, wall seconds)')
            all_results['busy'] = busy
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(all_results, f, indent=1)


if __name__ == '__main__':
    main()
