"""``python -m etwtrace``: run a program traced, capture a trace, or make
every interpreter start traced.

Forms (options are case-insensitive; ``/opt`` is accepted for ``--opt``):

``[--stack|--instrumented] [--capture FILE] -- script.py args``
``[--stack|--instrumented] [--capture FILE] -- -m module args``
    Runs the program in this process, as ``python script.py args`` would
    (``sys.argv``, ``sys.path[0]``, exit status), with tracing on: stack
    sampling (default) or instrumented. The CLI's own frames are not traced.
    With ``--capture FILE`` a trace is recorded while the program runs:

    - Windows with ``wpr.exe``: WPR with the bundled profile writes FILE.
    - elsewhere: an in-process ``.etl`` session writes FILE (provider
      "Python" at level 5, every keyword, native stacks on keyword 0x0200,
      i.e. on ``PythonStackSample``); in stack mode the built-in sampler
      writes the Python stacks of every thread into it (``--sample``,
      ``--rate``), without thunks unless ``--thunks``.
    - ``--perf`` (Linux, stack mode): also ``perf record`` with thunks and a
      jitdump file, its files in FILE.perf/.

    What runs the program recorded is in ``_capture.py``; each route says on
    stderr what it wrote.

``--enable [VAR [TYPEVAR]]`` (or ``--enable --variable VAR``)
    Writes ``etwtrace.pth`` into this interpreter's site-packages so that
    each interpreter start calls ``etwtrace.enable_if(VAR, TYPEVAR)``:
    tracing when VAR is set (not "0"/"no"/"false"), instrumented when
    TYPEVAR is "instrumented". Without VAR every start is traced.
``--disable``
    Removes every ``etwtrace.pth`` from site-packages and ``sys.path``.
``--info``, ``--profile``, ``--stacktags``, ``-h``
    Technical information, the bundled WPR profile, the bundled WPA stack
    tags, help.

Every argument is checked before anything runs or is written: a mistake
(an unknown option, two modes, --capture without a program, an output
path that cannot be created, ...) is one line on stderr and exit status 2.
A program ended by Ctrl-C shows its own traceback, as under plain
``python``, and the CLI then ends by SIGINT too (a shell sees 130).
"""

import os
import re
import shutil
import sys
import sysconfig
from pathlib import Path

STACK_KEYWORD = 0x0200          # PythonStackSample: the session attaches native stacks
PTH_NAME = 'etwtrace.pth'
DEFAULT_TYPE_VAR = 'ETWTRACE_TYPE'
PROFILE_DIR = Path(__file__).resolve().parent / 'profile'

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 2, 2

HELP = """\
Usage: python -m etwtrace [--stack | --instrumented] [--capture FILE [options]] -- script.py [args ...]
       python -m etwtrace [--stack | --instrumented] [--capture FILE [options]] -- -m module [args ...]

  Runs a Python program with tracing enabled: every Python function gets a
  native thunk that native profilers see (--stack, the default), or entry and
  exit events (--instrumented, also --instrument).
  --capture FILE   record a trace while the program runs. Windows: WPR with the
                   bundled profile. Elsewhere: an .etl file written in-process
                   (provider "Python", level 5, all keywords, stacks on
                   PythonStackSample); in stack mode the built-in sampler adds
                   the Python stack of every thread (PythonSample events), and
                   no thunks are installed.
  Capture options of stack mode:
  --sample=cpu     sample each thread's CPU time (default)
  --sample=wall    sample elapsed time: threads that sleep or wait too
  --rate HZ        samples per second of that clock (default 1000)
  --thunks         also install the thunks (native stacks of PythonStackSample
                   marks then name Python functions)
  --perf           also record with Linux perf (thunks, perf record --call-graph
                   dwarf, perf inject --jit): FILE.perf/perf.data, and what
                   perf reads with it, in the folder FILE.perf
  --perf-stack-size BYTES   stack bytes perf copies per sample (default 32768,
                   at most 65528)
  --perf-args "ARGS"        more arguments for perf record
  --no-perf        accepted, does nothing: perf runs only with --perf
  --events KIND    how --instrumented records calls and returns: compact
                   (PythonCallBatch events, packed per thread; the default
                   for in-process traces) or push-pop (one PythonFunctionPush
                   and PythonFunctionPop event each, as ETW consumers expect;
                   the default on Windows).
  --no-builtins    --instrumented reports Python functions only, through a
                   frame-evaluation hook that costs a fraction of the profile
                   function's (CPython 3.11, 3.13, 3.14).
  --max-size SIZE  stop recording when the .etl file reaches SIZE (bytes, or
                   500M, 2G: powers of 1024); the program goes on, the file
                   keeps what came before, and the end says what was lost.

Usage: python -m etwtrace --enable [ENABLE_VAR [TYPE_VAR]]
       python -m etwtrace --enable --variable ENABLE_VAR [TYPE_VAR]

  Writes etwtrace.pth into site-packages so that every start of this Python
  calls etwtrace.enable_if(ENABLE_VAR, TYPE_VAR): tracing is on when
  ENABLE_VAR is set (and not 0/no/false); TYPE_VAR=instrumented selects
  instrumented mode (default TYPE_VAR: ENABLE_VAR_TYPE, or ETWTRACE_TYPE).
  Without ENABLE_VAR every start is traced. Variable names are letters,
  digits and _. With TRACELOGGING_SESSION_FILE set, the environment's trace
  session (traceloggingdynamic) starts before tracing does.

Usage: python -m etwtrace report TRACE [--format top|tree|collapsed|speedscope|chrome|html] [-o OUT]

  Reports from a trace (.etl, or the FILE.perf.data that --capture writes):
  top functions, call tree, folded stacks, speedscope or Chrome/Perfetto JSON,
  or an interactive HTML flame graph. `python -m etwtrace report -h` for more.

Usage: python -m etwtrace --disable

  Removes etwtrace.pth (every copy on sys.path and in site-packages).

Options are case-insensitive and may be spelled /option (also /capture:FILE,
--capture=FILE). Every mistake is found before anything runs: one line on
stderr, exit status 2. After Ctrl-C the program's traceback is shown as
plain python shows it, and the exit status is Python's (130 in a shell).

Other options:
  -h, -?, --help   this help
  --info           technical information for bug reports
  --profile        path of the bundled WPR profile (python.wprp)
  --stacktags      path of the bundled WPA stack tags (python.stacktags)
"""


# ---- the command line -------------------------------------------------------

class UsageError(Exception):
    """A mistake in the arguments: one line on stderr, exit status 2, and
    nothing run or written."""


class Option:
    """One option of the legacy (upstream) command line.

    `kind` says what it does: 'mode' sets the trace mode to `value`; 'flag'
    sets settings[dest] to True; 'value' takes a value (``--opt V``,
    ``--opt=V``, ``--opt:V``) into settings[dest]; 'action' asks for one of
    the exclusive actions (run, enable, disable) or a report (info, profile,
    stacktags, help). Options are matched case-insensitively and may be
    spelled ``--name`` or ``/name`` (upstream's Windows spelling); help also
    ``-h`` and ``-?``. A new option is one entry in OPTIONS (and a field of
    Settings); a new subcommand one entry in SUBCOMMANDS.
    """

    __slots__ = ('kind', 'dest', 'value')

    def __init__(self, kind, dest, value=None):
        self.kind, self.dest, self.value = kind, dest, value


# Every option, by every name it has.
OPTIONS = {
    'stack': Option('mode', 'mode', 'stack'),
    'instrument': Option('mode', 'mode', 'instrumented'),
    'instrumented': Option('mode', 'mode', 'instrumented'),
    'capture': Option('value', 'capture'),
    'no-perf': Option('flag', 'no_perf'),
    'perf': Option('flag', 'perf'),
    'thunks': Option('flag', 'thunks'),
    'sample': Option('value', 'sample'),
    'rate': Option('value', 'rate'),
    'perf-stack-size': Option('value', 'perf_stack_size'),
    'perf-args': Option('value', 'perf_args'),
    'events': Option('value', 'events'),
    'max-size': Option('value', 'max_size'),
    'no-builtins': Option('flag', 'no_builtins'),
    'enable': Option('action', 'enable'),
    'disable': Option('action', 'disable'),
    'variable': Option('flag', 'variable'),
    'info': Option('action', 'info'),
    'profile': Option('action', 'profile'),
    'stacktags': Option('action', 'stacktags'),
    'help': Option('action', 'help'),
    'h': Option('action', 'help'),
    '?': Option('action', 'help'),
    '_perf-child': Option('value', 'perf_child'),   # internal: the program's process under perf
}

# Actions that exclude each other; the reports (info, profile, stacktags)
# may be combined with each other but not with these.
EXCLUSIVE_ACTIONS = ('run', 'enable', 'disable')
REPORT_ACTIONS = ('info', 'profile', 'stacktags')

# Subcommands, dispatched before the legacy options: name -> (module, function).
SUBCOMMANDS = {'report': ('etwtrace.report', 'main')}

# A valid environment variable name for --enable (POSIX's portable set).
_VARIABLE_NAME = re.compile(r'[A-Za-z_][A-Za-z0-9_]*\Z')


class Settings:
    """What the command line asked for, fully checked before anything runs."""

    def __init__(self):
        self.mode = None            # 'stack' | 'instrumented' | None (stack)
        self.mode_option = None     # the option that set the mode, for messages
        self.capture = None
        self.no_perf = False
        self.perf = False           # --perf: also record with Linux perf
        self.thunks = False         # --thunks: the eval hook and thunks beside the sampler
        self.sample = None          # the built-in sampler's clock: 'cpu' | 'wall'
        self.rate = None            # its samples per second
        self.perf_stack_size = None
        self.perf_args = None
        self.events = None          # instrumented mode's call events: 'compact' | 'push-pop'
        self.no_builtins = False    # instrumented mode: Python functions only (frame-evaluation hook)
        self.max_size = None        # --max-size: bytes at which the in-process .etl stops growing
        self.perf_child = None
        self.actions = []           # in command-line order
        self.variables = []         # --enable's VAR [TYPEVAR]
        self.target = None          # the program after --


def _option_of(arg):
    """(Option, name, inline value) for an argument spelled as an option,
    else None. Inline values follow '=' or ':'."""
    if arg.startswith('--'):
        body = arg[2:]
    elif arg.startswith('/') and len(arg) > 1:
        body = arg[1:]
    elif arg.lower() in ('-h', '-?'):
        body = arg[1:]
    else:
        return None
    name, sep, value = body, '', None
    for i, ch in enumerate(body):
        if ch in '=:':
            name, sep, value = body[:i], ch, body[i + 1:]
            break
    option = OPTIONS.get(name.lower())
    if option is None:
        return None
    return option, name.lower(), value if sep else None


def parse_args(argv):
    """Settings from the command line; UsageError says what is wrong."""
    settings = Settings()
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == '--':
            settings.target = args[i:]
            if not settings.target:
                raise UsageError('give the program to run after --: `-- script.py args` or `-- -m module args`')
            settings.actions.append('run')
            break
        found = _option_of(arg)
        if found is None:
            if arg.startswith('-') and arg != '-':
                raise UsageError(f'unknown option {arg!r} (python -m etwtrace -h lists them)')
            if settings.actions and settings.actions[-1] == 'enable':
                if len(settings.variables) < 2:
                    settings.variables.append(arg)
                    continue
                raise UsageError(f'--enable takes at most two names, ENABLE_VAR and TYPE_VAR; {arg!r} is a third')
            raise UsageError(f'unexpected argument {arg!r}; to run a program put it after --: '
                             f'python -m etwtrace [options] -- {arg} [args ...]')
        option, name, value = found
        if option.kind == 'value':
            if value is None:
                if i >= len(args) or not args[i] or args[i] == '--' or _option_of(args[i]) is not None:
                    raise UsageError(f'--{name} needs a FILE argument' if name == 'capture'
                                     else f'--{name} needs a value')
                value = args[i]
                i += 1
            if not value:
                raise UsageError(f'--{name} needs a FILE argument' if name == 'capture' else f'--{name} needs a value')
            if getattr(settings, option.dest) is not None:
                raise UsageError(f'--{name} is given twice')
            setattr(settings, option.dest, value)
            continue
        if value is not None:
            raise UsageError(f'--{name} takes no value (got {arg!r})')
        if option.kind == 'mode':
            if settings.mode is not None and settings.mode != option.value:
                raise UsageError(f'--{settings.mode_option} and --{name} exclude each other; give one mode')
            settings.mode, settings.mode_option = option.value, name
        elif option.kind == 'flag':
            if option.dest == 'variable':
                if not settings.actions or settings.actions[-1] != 'enable' or settings.variables:
                    raise UsageError('--variable belongs right after --enable: --enable --variable VAR [TYPEVAR]')
                continue
            setattr(settings, option.dest, True)
        else:
            settings.actions.append(option.dest)
    _check(settings)
    return settings


def _check(settings):
    """The combinations the parser alone cannot see."""
    actions = settings.actions
    if 'help' in actions:
        return
    exclusive = [a for a in actions if a in EXCLUSIVE_ACTIONS]
    if len(exclusive) > 1 or (exclusive and any(a in REPORT_ACTIONS for a in actions)):
        shown = ['-- PROGRAM' if a == 'run' else f'--{a}' for a in actions]
        raise UsageError(f'{" and ".join(dict.fromkeys(shown))} exclude each other; give one of them')
    running = 'run' in actions
    if settings.capture is not None and not running:
        raise UsageError('--capture records a program: put it after --, e.g. '
                         f'python -m etwtrace --capture {settings.capture} -- script.py')
    if settings.mode is not None and not running and 'info' not in actions:
        raise UsageError(f'--{settings.mode_option} selects how a program runs: put the program after --')
    if settings.events is not None:
        if settings.events not in ('compact', 'push-pop'):
            raise UsageError(f"--events takes 'compact' or 'push-pop', not {settings.events!r}")
        if settings.mode != 'instrumented':
            raise UsageError('--events chooses how instrumented mode records calls: add --instrumented')
    if settings.no_builtins and settings.mode != 'instrumented':
        raise UsageError('--no-builtins applies to instrumented mode: add --instrumented')
    if settings.max_size is not None:
        if settings.capture is None:
            raise UsageError('--max-size is an option of --capture: add --capture FILE')
        from traceloggingdynamic.sessions import parse_size
        try:
            settings.max_size = parse_size(settings.max_size, '--max-size')
        except ValueError as e:
            raise UsageError(str(e)) from None
    _check_capture_options(settings)
    if settings.perf_child is not None:
        try:
            settings.perf_child = int(settings.perf_child)
        except ValueError:
            raise UsageError('--_perf-child needs a file descriptor number') from None
    for name in settings.variables:
        if not _VARIABLE_NAME.match(name):
            raise UsageError(f'{name!r} is not an environment variable name: use letters, digits and _, '
                             'not starting with a digit')
    if 'enable' in actions and settings.variables[:1] == [''] and len(settings.variables) > 1:
        raise UsageError('--enable: give ENABLE_VAR before TYPE_VAR')
    if running:
        target = settings.target
        if target[0] == '-m' and len(target) < 2:
            raise UsageError('-m needs a module name')
        if target[0] != '-m' and not os.path.isfile(target[0]):
            raise UsageError(f"can't open file {target[0]!r}: no such file")
        if target[0] != '-m' and target[0].startswith('-'):
            raise UsageError(f'{target[0]!r} is not a script; run a module with -- -m module')
    if settings.capture is not None:
        _check_output_path(settings.capture, _capture_writes_perf(settings))


def _check_capture_options(settings):
    """--sample, --rate, --thunks and --perf*: values in range, with
    --capture, in stack mode."""
    from etwtrace import _capture
    given = [name for name, value in (('sample', settings.sample), ('rate', settings.rate),
                                      ('thunks', settings.thunks or None), ('perf', settings.perf or None),
                                      ('perf-stack-size', settings.perf_stack_size),
                                      ('perf-args', settings.perf_args)) if value is not None]
    if not given:
        return
    if settings.capture is None:
        raise UsageError(f'--{given[0]} is an option of --capture: add --capture FILE')
    if settings.mode == 'instrumented':
        raise UsageError(f'--{given[0]} is for stack mode: it does not go with --{settings.mode_option}')
    if settings.sample is not None:
        settings.sample = settings.sample.lower()
        if settings.sample not in _capture.CLOCKS:
            raise UsageError(f"--sample takes 'cpu' or 'wall', not {settings.sample!r}")
    if settings.rate is not None:
        if not settings.rate.isdigit() or not 1 <= int(settings.rate) <= _capture.MAX_RATE:
            raise UsageError(f'--rate takes samples per second from 1 to {_capture.MAX_RATE}, not {settings.rate!r}')
        settings.rate = int(settings.rate)
    if settings.perf_stack_size is not None:
        size = settings.perf_stack_size
        if not size.isdigit() or not 8 <= int(size) <= _capture.MAX_PERF_STACK_SIZE:
            raise UsageError(f'--perf-stack-size takes bytes from 8 to {_capture.MAX_PERF_STACK_SIZE}, not {size!r}')
        settings.perf_stack_size = int(size) & ~7
    if settings.perf_args is not None:
        try:
            settings.perf_args = _capture.parse_perf_args(settings.perf_args)
        except ValueError as e:
            raise UsageError(f'--perf-args: {e}') from None
    if (settings.perf_stack_size is not None or settings.perf_args is not None) and not settings.perf:
        raise UsageError('--perf-stack-size and --perf-args are options of --perf: add --perf')


def _error(message):
    print(f'etwtrace: {message}', file=sys.stderr)


def main(argv=None):
    """The CLI. Returns the exit status: the traced program's own when one
    ran (-N when it was ended by signal N: see traceloggingdynamic's
    `exit_like`), 2 for usage errors."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(HELP)
        return EXIT_OK
    if args[0] in SUBCOMMANDS:
        import importlib
        module, function = SUBCOMMANDS[args[0]]
        return getattr(importlib.import_module(module), function)(args[1:])
    try:
        settings = parse_args(args)
    except UsageError as e:
        _error(str(e))
        return EXIT_USAGE
    return _dispatch(settings)


def _dispatch(settings):
    actions = settings.actions
    if 'help' in actions:
        print(HELP)
        return EXIT_OK
    if 'run' in actions:
        return _run(settings)
    if 'enable' in actions:
        return _enable(*settings.variables)
    if 'disable' in actions:
        return _disable()
    status = EXIT_OK
    for action in actions:
        if action == 'profile':
            status = max(status, _print_content('python.wprp', 'WPR profile'))
        elif action == 'stacktags':
            status = max(status, _print_content('python.stacktags', 'WPA stack tags'))
        elif action == 'info':
            _print_info(settings.mode)
    return status


# ---- running a program traced ----

def _capture_writes_perf(settings):
    """True when --capture asks for perf too (--perf, stack mode, not already
    the program's process under perf). Whether perf can run here is found
    when the capture starts (one line, then the built-in sampler alone)."""
    return settings.perf and settings.perf_child is None and (settings.mode or 'stack') == 'stack'


def _check_output_path(path, with_perf):
    """UsageError unless the trace file can be created (and with perf, the
    folder FILE.perf beside it: not a file): checked by creating the file if
    it does not exist yet and removing it again, so no program runs for a
    trace that cannot be written and nothing is left elsewhere."""
    if with_perf:
        folder = path + '.perf'
        if os.path.lexists(folder) and not os.path.isdir(folder):
            raise UsageError(f'cannot write perf\'s files to {folder}: it exists and is not a folder')
    for p in [path]:
        if os.path.isdir(p):
            raise UsageError(f'cannot write the trace to {p}: it is a directory')
        parent = os.path.dirname(os.path.abspath(p))
        if not os.path.isdir(parent):
            raise UsageError(f'cannot write the trace to {p}: the directory {parent} does not exist')
        existed = os.path.lexists(p)
        flags = os.O_WRONLY | os.O_CREAT | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0)
        try:
            fd = os.open(p, flags, 0o600)
        except OSError as e:
            raise UsageError(f'cannot write the trace to {p}: {e.strerror or e}') from None
        os.close(fd)
        if not existed:
            _remove(p)


def _run(settings):
    """Runs the program after --, traced, and with --capture recorded."""
    target, mode, capture = settings.target, settings.mode or 'stack', settings.capture
    if settings.events is not None or settings.no_builtins:
        from etwtrace import _etwtrace
        if settings.events is not None:
            _etwtrace.set_call_events(settings.events)
        if settings.no_builtins:
            _etwtrace.set_instrumented_builtins(False)
    if capture is None:
        return _run_traced(target, mode)
    if settings.perf_child is None:
        from etwtrace import _wpr
        if _wpr.APPLIES:  # Windows: WPR records, or says why not and we go on in-process
            if settings.max_size is not None:
                print('etwtrace: --max-size limits in-process traces only; WPR\'s file is not limited',
                      file=sys.stderr)
            status = _wpr.capture(capture, lambda: _run_traced(target, mode))
            if status is not None:
                return status
    from etwtrace import _capture
    options = _capture_options(settings)
    if _capture_writes_perf(settings):
        why = _capture.perf_unusable()
        if why is None:
            perf = _capture.PerfCapture(capture, target, options)
            status = perf.run(lambda: _capture_in_process(capture, target, mode, None, options))
            if perf.recorded:
                _print_capture_summary(capture, perf.data if perf.data.exists() else None)
            return status
        print(f'etwtrace: --perf: {why}; capturing with the built-in sampler only', file=sys.stderr)
    return _capture_in_process(capture, target, mode, settings.perf_child, options)


def _capture_options(settings):
    from etwtrace import _capture
    given = {'sample': settings.sample, 'rate': settings.rate, 'perf_stack_size': settings.perf_stack_size,
             'perf_args': settings.perf_args, 'max_size': settings.max_size}
    return _capture.CaptureOptions(mode=settings.mode or 'stack', thunks=settings.thunks, perf=settings.perf,
                                   **{k: v for k, v in given.items() if v is not None})


def _make_tracer(mode):
    from etwtrace import _capture
    return _capture.make_tracer(mode)


def _run_traced(target, mode):
    """Runs the target with tracing on; returns its exit status."""
    from traceloggingdynamic._runner import run_target
    tracer = _make_tracer(mode)
    tracer.enable()
    try:
        return run_target(target)  # joins the program's threads before returning
    finally:
        tracer.disable()


def _capture_in_process(path, target, mode, perf_child, options):
    """--capture without WPR (and the program half of a perf capture): an
    in-process .etl session for the program's run, recorded as
    _capture.Recording decides (the built-in sampler, thunks, a tracer)."""
    from traceloggingdynamic import Session
    from traceloggingdynamic._runner import run_target
    from etwtrace import _capture
    from etwtrace._etwtrace import PROVIDER_ID
    if perf_child is not None:
        _capture.start_perf_child(perf_child)
    try:
        session = Session(path, [f'{PROVIDER_ID}:5'], stacks=STACK_KEYWORD, max_size=options.max_size)
        session.start()
    except OSError as e:
        print(f'etwtrace: cannot create {path}: {e.strerror or e}', file=sys.stderr)
        return EXIT_ERROR
    status = 1
    recording = _capture.Recording(options, jitdump=perf_child is not None)
    cpu_before = _cpu_seconds()
    try:
        with recording:
            status = run_target(target)  # joins the program's threads before returning
    finally:
        from traceloggingdynamic.sessions import stop_for_cli
        stats, losses = stop_for_cli(session)
        lost = f', {stats.events_lost} LOST' if stats.events_lost else ''
        print(f'etwtrace: trace written to {os.path.abspath(path)}: {stats.events_written} events{lost}'
              f'{recording.sampled()} (python -m traceloggingdynamic decode {path} --summary)', file=sys.stderr)
        _say_unmatched(session)
        if perf_child is None:  # under perf the parent summarises, once perf's data is ready
            _print_capture_summary(path)
        _say_uncovered_children(cpu_before, _cpu_seconds())
        _say_losses(stats, losses)     # last: what is missing from the trace
        if perf_child is not None:   # the program's own status, for the CLI outside perf
            _report_to_parent(perf_child, f'status {status}\n')
            os.close(perf_child)
    return status


def _print_capture_summary(path, perf_path=None):
    """The end of --capture: a short summary and the `report` commands."""
    from etwtrace.report import capture_summary
    print(capture_summary(path, perf_path), file=sys.stderr)


def _cpu_seconds():
    """(this process, its finished child processes) CPU seconds so far, or
    None where the resource module does not exist (Windows)."""
    try:
        import resource
    except ImportError:
        return None
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _say_uncovered_children(before, after):
    """A trace holds this process only. When the program's child processes
    (multiprocessing workers, subprocesses) did a real share of the work,
    says so: otherwise the report looks complete and the time they took is
    silently missing (the parent shows up waiting, or not at all)."""
    if before is None or after is None:
        return
    own, children = after[0] - before[0], after[1] - before[1]
    if children >= 0.1 and children >= 0.1 * own:
        print(f'etwtrace: note: child processes used {children:.2f} s of CPU, this process {own:.2f} s; '
              f'the trace covers this process only (to see their work, run it in this process, e.g. with '
              f'one in-process worker, or capture the child program on its own)', file=sys.stderr)


def _say_losses(stats, losses):
    """The loss, last and loudly: how much of what the program wrote did
    not reach the file, and why."""
    if not stats.events_lost:
        return
    offered = stats.events_written + stats.events_lost
    share = 100.0 * stats.events_lost / offered
    print(f'etwtrace: WARNING: {stats.events_lost} of {offered} events ({share:.1f}%) were LOST; the trace '
          f'is incomplete', file=sys.stderr)
    for text in losses:
        print(f'etwtrace: WARNING: {text}', file=sys.stderr)


def _say_unmatched(session):
    """One line per provider the session asked for that never existed here."""
    for line in session.unmatched_providers():
        print(f'etwtrace: {line}', file=sys.stderr)


def _report_to_parent(fd, text):
    try:
        os.write(fd, text.encode())
    except OSError:
        pass


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as e:
        _error(f'cannot remove {path}: {e.strerror or e}')


# ---- --enable / --disable ----

def _pth_line(var, type_var):
    """The line of etwtrace.pth. site runs lines starting with `import`.

    etwtrace is imported only when VAR is set; `python -m etwtrace` itself is
    never traced; a second run of the line (venvs list site-packages twice,
    lib and lib64) does not enable twice. When TRACELOGGING_SESSION_FILE is
    set, the environment's session starts first (site reads .pth files in
    name order, and traceloggingdynamic-session.pth comes after this one), so
    it sees the trace from its first function. An error (an unknown trace
    type in TYPE_VAR) is one line on stderr, and the program runs untraced.
    The code is embedded as a Python literal (repr), so no name can break
    out of it; --enable also accepts only valid variable names."""
    gate = f'{var!r} in os.environ and not _cli' if var else 'not _cli'
    code = ("_a = getattr(sys, 'orig_argv', [])\n"
            "_cli = sys.argv[:1] == ['-m'] and any(x == '-metwtrace' or x == '-m' and y == 'etwtrace' "
            "for x, y in zip(_a, _a[1:] + ['']))\n"
            f"if {gate}:\n"
            " if os.environ.get('TRACELOGGING_SESSION_FILE'):\n"
            "  __import__('traceloggingdynamic._autostart')\n"
            " import etwtrace\n"
            " if not getattr(etwtrace, '_pth_done', False):\n"
            "  etwtrace._pth_done = True\n"
            "  try:\n"
            f"   etwtrace.is_active() or etwtrace.enable_if({var!r}, {type_var!r})\n"
            "  except Exception as _e:\n"
            "   sys.stderr.write('etwtrace: not tracing: ' + str(_e) + '\\n')\n")
    return f'import os, sys; exec({code!r})'


def _site_packages():
    return Path(sysconfig.get_paths()['purelib'])


def _enable(var=None, type_var=None):
    import etwtrace
    var = var or ''
    type_var = type_var or (f'{var}_TYPE' if var else DEFAULT_TYPE_VAR)
    pth = _site_packages() / PTH_NAME
    package_parent = Path(etwtrace.__file__).resolve().parent.parent
    try:
        pth.parent.mkdir(parents=True, exist_ok=True)
        with open(pth, 'w', encoding='utf-8') as f:
            f.write('# Written by `python -m etwtrace --enable`; remove with `python -m etwtrace --disable`.\n')
            f.write(f'{package_parent}\n')
            f.write(_pth_line(var, type_var) + '\n')
    except OSError as e:
        print(f'etwtrace: cannot write {pth}: {e.strerror or e}', file=sys.stderr)
        return EXIT_ERROR
    print('Created', pth)
    if var:
        print(f'Set {var}=1 to trace Python programs started by {sys.executable}')
    else:
        print(f'Every start of {sys.executable} is now traced')
    print(f"Set {type_var}=instrumented for instrumented events instead of stack sampling (default: stack)")
    return EXIT_OK


def _disable():
    dirs = [_site_packages(), Path(sysconfig.get_paths()['platlib'])]
    dirs += [Path(p) for p in sys.path if p]
    seen = set()
    for d in dirs:
        pth = (d / PTH_NAME)
        try:
            key = os.path.realpath(pth)
        except OSError:
            key = str(pth)
        if key in seen:
            continue
        seen.add(key)
        try:
            pth.unlink()
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as e:
            print(f'etwtrace: cannot remove {pth}: {e.strerror or e}', file=sys.stderr)
            return EXIT_ERROR
        print('Removed', pth)
    return EXIT_OK


# ---- information ----

def _print_content(name, what):
    path = PROFILE_DIR / name
    if not path.is_file():
        print(f'etwtrace: the {what} file is missing from this installation (looked for {path})',
              file=sys.stderr)
        return EXIT_ERROR
    print(path)
    return EXIT_OK


def _print_info(mode):
    import platform
    import etwtrace
    info = {
        'etwtrace': getattr(etwtrace, '__version__', None),
        'python': sys.version,
        'implementation': platform.python_implementation(),
        'executable': sys.executable,
        'platform': platform.platform(),
        'machine': platform.machine(),
        'mode': mode or 'stack',
        'perf': shutil.which('perf'),
        'profile': str(PROFILE_DIR / 'python.wprp'),
        'stacktags': str(PROFILE_DIR / 'python.stacktags'),
    }
    try:
        from etwtrace import _etwtrace
        info.update(_etwtrace.info())
    except Exception as e:   # still useful for a bug report
        info['error'] = f'{type(e).__name__}: {e}'
    import pprint  # only --info prints with it; it costs a capture 7 ms of imports
    pprint.pprint(info, sort_dicts=False)


if __name__ == '__main__':
    from traceloggingdynamic._runner import exit_like
    exit_like(main())
