"""Reports from traces: ``python -m etwtrace report TRACE [--format F] [-o OUT]``.

From Python::

    from etwtrace import report
    profile = report.load('t.etl')            # or 't.etl.perf/perf.data'
    print(profile.text('top', limit=20))
    profile.write('html', 'profile.html')
    for row in profile.functions(): ...       # name, file, line, self, total, calls

A :class:`Profile` is built once (in C, streaming: memory grows with the
number of distinct call stacks, not of events) and every format is written
from it:

``top``        functions by self (or total) time, with call counts
``tree``       the call tree, small branches folded
``collapsed``  folded stacks (``a;b;c 123``) for flamegraph.pl, inferno, speedscope
``speedscope`` speedscope's JSON file format
``chrome``     Trace Event Format JSON for Perfetto UI and chrome://tracing
``html``       one self-contained page: flame graph and function table

Inputs: ``.etl`` files (ours or Windows'; instrumented Push/Pop events, and
any events with native stacks, mapped to Python functions through the
PythonFunction thunk ranges) and ``perf.data`` files (read with
``perf script``; ``--capture --perf`` writes ``FILE.perf/perf.data`` next
to the .etl).
See docs/reports.md.
"""

import os
import sys

from . import _report

FORMATS = ('top', 'tree', 'collapsed', 'speedscope', 'chrome', 'html')
SORTS = ('self', 'total', 'calls', 'name')
# Formats that need the timeline (calls and samples in time order).
TIME_ORDERED = ('speedscope', 'chrome')
# File names suggested for each format's output.
SUFFIXES = {'collapsed': '.collapsed.txt', 'speedscope': '.speedscope.json', 'chrome': '.chrome.json',
            'html': '.html', 'tree': '.tree.txt', 'top': '.top.txt'}
PERF_MAGIC = b'PERFILE2'


class ReportError(Exception):
    """A trace that cannot be reported (unreadable, not a trace, perf missing)."""


class Profile:
    """A finished profile. Every format is written from it."""

    def __init__(self, core, source=None):
        self._core = core
        self.source = source

    def write(self, format, path=None, *, limit=0, sort='self', per_thread=False, min_percent=0.5, title=None,
              all_frames=False, colour=False):
        """Writes `format` to `path`, or returns it as bytes when path is None.
        `all_frames`: the tree also shows the import machinery's frames;
        `colour`: the tree is coloured by share of the total (ANSI)."""
        if format not in FORMATS:
            raise ValueError(f"unknown format {format!r}: choose one of {', '.join(FORMATS)}")
        if title is None and self.source:
            title = os.path.basename(self.source)
        return self._core.write(format, None if path is None else os.fspath(path), limit=limit, sort=sort,
                                per_thread=per_thread, min_percent=min_percent, title=title, all_frames=all_frames,
                                colour=colour)

    def text(self, format='top', **options):
        """The report as a str."""
        return self.write(format, **options).decode('utf-8', errors='replace')

    def summary(self, title=None):
        """One paragraph: duration, threads, calls or samples, notes and damage."""
        if title is None and self.source:
            title = os.path.basename(self.source)
        return self._core.write('summary', title=title).decode('utf-8', errors='replace')

    def info(self):
        """Counts: duration_ns, events, calls, samples, marks, threads, damage, ..."""
        return self._core.info()

    def functions(self, thread=None):
        """Per-function totals (name, file, line, self, total, calls): times in
        ns when the profile has calls, else sample weights. `thread`: an
        index into info()['threads'], or None for all threads merged."""
        return self._core.functions(-1 if thread is None else thread)

    @property
    def has_calls(self):
        return self.info()['has_calls']


def is_perf_data(path):
    try:
        with open(path, 'rb') as f:
            return f.read(8) == PERF_MAGIC
    except OSError:
        return False


def load(path, *, timeline=True, native=False, lines=False):
    """Loads a trace: an .etl file or a perf.data file. `timeline` keeps
    calls and samples in time order (in a temporary file), which the
    speedscope (evented) and chrome formats need. Samples keep only their
    Python frames unless `native` is set (then native frames are named by
    symbol from perf, by hex address from .etl stacks). `lines` makes each
    frame of the built-in sampler's samples its function at the line it was
    running ("f (file.py:12)"), as py-spy shows them; other inputs carry no
    such lines and are loaded as without it."""
    path = os.fspath(path)
    python_only = not native
    if not os.path.exists(path):
        raise ReportError(f'{path}: no such file')
    if is_perf_data(path):
        from ._perf_script import load_perf
        core = load_perf(path, timeline=timeline, python_only=python_only, error=ReportError)
        return Profile(core, path)
    try:
        core = _report.load_etl(path, timeline=timeline, python_only=python_only, lines=lines)
    except ValueError as e:
        raise ReportError(f'{e}; give an .etl file or a perf.data file') from None
    except OSError as e:
        raise ReportError(str(e)) from None
    return Profile(core, path)


# ---- the command line ----

def _parser():
    import argparse  # here, not at the top: every --capture's closing summary imports this module
    p = argparse.ArgumentParser(
        prog='python -m etwtrace report',
        description='Reports from a trace (.etl, or the perf.data that --capture --perf writes): top functions, '
                    'call tree, folded stacks, speedscope, Chrome/Perfetto timeline or an HTML flame graph.')
    p.add_argument('trace', metavar='TRACE', help='an .etl file or a perf.data file')
    p.add_argument('-f', '--format', choices=FORMATS, default='top',
                   help='top (default): functions by self time; tree: call tree; collapsed: folded stacks; '
                        'speedscope, chrome: JSON for those viewers; html: interactive flame graph')
    p.add_argument('-o', '--output', metavar='OUT',
                   help='write to OUT (default: the terminal for top, tree and collapsed; '
                        'TRACE plus a suffix such as .html for the others)')
    p.add_argument('-n', '--limit', type=int, default=30, metavar='N',
                   help='top: show N functions (0: all; default 30)')
    p.add_argument('--sort', choices=SORTS, default='self', help='top: order by self (default), total, calls, name')
    p.add_argument('--per-thread', action='store_true', help='top, tree, collapsed: each thread apart')
    p.add_argument('--min-percent', type=float, default=0.5, metavar='P',
                   help='tree: fold branches below P%% of the total (default 0.5)')
    p.add_argument('--all-frames', action='store_true',
                   help='tree: also show the frames of the import machinery (<frozen importlib._bootstrap*>)')
    p.add_argument('--native', action='store_true',
                   help='samples: keep native frames too (perf: by symbol; .etl stacks: by address)')
    p.add_argument('--lines', action='store_true',
                   help="samples of the built-in sampler: a frame is its function at the line it ran "
                        "('f (file.py:12)'), each line apart")
    p.add_argument('--title', help='title of the report (default: the trace file name)')
    return p


def main(argv=None):
    """`python -m etwtrace report ...`; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.limit < 0:
        print('etwtrace report: --limit must be 0 or more', file=sys.stderr)
        return 2
    if not 0 <= args.min_percent <= 100:
        print('etwtrace report: --min-percent must be between 0 and 100', file=sys.stderr)
        return 2
    try:
        profile = load(args.trace, timeline=args.format in TIME_ORDERED, native=args.native, lines=args.lines)
        info = profile.info()
        # Where --capture --perf writes its perf data (FILE.perf/perf.data;
        # FILE.perf.data from earlier versions).
        perf_data = next((p for p in (os.path.join(args.trace + '.perf', 'perf.data'), args.trace + '.perf.data')
                          if os.path.isfile(p)), '')
        if not info['calls'] and not info['samples'] and perf_data:
            # A stack-sampling capture: its samples are in the perf data beside it.
            print(f'etwtrace report: {args.trace} holds no calls or samples; reporting {perf_data}, '
                  'the perf samples recorded with it', file=sys.stderr)
            profile = load(perf_data, timeline=args.format in TIME_ORDERED, native=args.native, lines=args.lines)
            args.trace = perf_data
    except ReportError as e:
        print(f'etwtrace report: {e}', file=sys.stderr)
        return 2
    out = args.output
    if out is None and args.format not in ('top', 'tree', 'collapsed'):
        out = args.trace + SUFFIXES[args.format]
    options = dict(limit=args.limit, sort=args.sort, per_thread=args.per_thread, min_percent=args.min_percent,
                   title=args.title, all_frames=args.all_frames)
    try:
        if out is None or out == '-':
            # Colours only on a terminal that wants them (NO_COLOR, TERM=dumb).
            options['colour'] = (args.format == 'tree' and sys.stdout.isatty() and not os.environ.get('NO_COLOR')
                                 and os.environ.get('TERM') != 'dumb')
            data = profile.write(args.format, **options)
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            profile.write(args.format, out, **options)
    except BrokenPipeError:
        return 0
    except OSError as e:
        print(f'etwtrace report: cannot write {out}: {e.strerror or e}', file=sys.stderr)
        return 2
    if out not in (None, '-'):
        print(f'etwtrace report: {args.format} written to {out}', file=sys.stderr)
        info = profile.info()
        if info['damage_count'] and args.format != 'html':
            print(f"etwtrace report: warning: the trace is damaged: {info['damage']}", file=sys.stderr)
    return 0


def capture_summary(etl_path, perf_path=None, top=5):
    """What --capture prints at the end: a short summary of the trace (the
    perf samples when there are some, else the .etl), its hottest functions
    and the report commands that look further. Never raises."""
    source = perf_path if perf_path and os.path.exists(perf_path) else etl_path
    lines = []
    try:
        profile = load(source, timeline=False)
        lines.append(profile.summary().rstrip())
        info = profile.info()
        if info['calls'] or info['samples']:
            table = profile.text('top', limit=top).rstrip().split('\n')
            lines += [row for row in table[1:] if not row.startswith(('note:', 'warning:', '('))]
    except Exception as e:   # a summary must not turn a capture into a failure
        lines.append(f'(no summary: {e})')
    q = _quote(source)
    lines += ['Look further:',
              f'  python -m etwtrace report {q}                 # top functions (--limit, --sort, --per-thread)',
              f'  python -m etwtrace report {q} --format tree',
              f'  python -m etwtrace report {q} --format html   # interactive flame graph',
              f'  python -m etwtrace report {q} --format speedscope   # or chrome (Perfetto), collapsed']
    return '\n'.join(lines)


def _quote(path):
    import shlex
    return shlex.quote(str(path))
