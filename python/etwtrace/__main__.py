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
      jitdump file, files in FILE.perf/.

    The routes are in ``_capture.py``; each says on stderr what it wrote.

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

Unknown arguments are listed as unused and the exit status is 1.
"""

import os
import pprint
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

PTH_NAME = 'etwtrace.pth'
DEFAULT_TYPE_VAR = 'ETWTRACE_TYPE'
PROFILE_DIR = Path(__file__).resolve().parent / 'profile'

EXIT_OK, EXIT_UNUSED, EXIT_ERROR = 0, 1, 2

HELP = """\
Usage: python -m etwtrace [--stack | --instrumented] [--capture FILE [capture options]] -- script.py [args ...]
       python -m etwtrace [--stack | --instrumented] [--capture FILE [capture options]] -- -m module [args ...]

  Runs a Python program with tracing enabled: every Python function gets a
  native thunk that native profilers see (--stack, the default), or entry and
  exit events (--instrumented, also --instrument).
  --capture FILE   record a trace while the program runs. Windows: WPR with the
                   bundled profile. Elsewhere: an .etl file written in-process
                   (provider "Python", level 5, all keywords, stacks on
                   PythonStackSample); in stack mode the built-in sampler adds
                   the Python stack of every thread (PythonSample events), and
                   no thunks are installed.
  Capture options (stack mode):
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
  (--no-perf is accepted and does nothing: perf runs only with --perf.)

Usage: python -m etwtrace --enable [ENABLE_VAR [TYPE_VAR]]
       python -m etwtrace --enable --variable ENABLE_VAR [TYPE_VAR]

  Writes etwtrace.pth into site-packages so that every start of this Python
  calls etwtrace.enable_if(ENABLE_VAR, TYPE_VAR): tracing is on when
  ENABLE_VAR is set (and not 0/no/false); TYPE_VAR=instrumented selects
  instrumented mode (default TYPE_VAR: ENABLE_VAR_TYPE, or ETWTRACE_TYPE).
  Without ENABLE_VAR every start is traced.

Usage: python -m etwtrace --disable

  Removes etwtrace.pth (every copy on sys.path and in site-packages).

Other options:
  -h, -?, --help   this help
  --info           technical information for bug reports
  --profile        path of the bundled WPR profile (python.wprp)
  --stacktags      path of the bundled WPA stack tags (python.stacktags)
"""


def main(argv=None):
    """The CLI. Returns the exit status (the traced program's own status when
    one ran)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(HELP)
        return EXIT_OK
    unused = []
    mode = None
    capture = None
    capture_opts = {}
    perf_child = None
    show_info = False
    status = EXIT_OK
    while args:
        orig = args.pop(0)
        arg = orig.lower()
        if arg.startswith('/') and (arg[1:] in _SLASH_OPTIONS or arg[1:].startswith(('capture:', 'capture='))):
            arg = '--' + arg[1:]
        if arg == '--':
            if not args:
                print('etwtrace: give the program to run after --: `-- script.py args` or `-- -m module args`',
                      file=sys.stderr)
                return EXIT_ERROR
            status = _run(args, mode or 'stack', capture, capture_opts, perf_child)
            args = []
            break
        if arg in ('-h', '-?', '--help', '--h', '--?'):
            print(HELP)
            unused.extend(args)
            break
        if arg == '--stack':
            mode = 'stack'
        elif arg in ('--instrument', '--instrumented'):
            mode = 'instrumented'
        elif arg == '--no-perf':
            pass   # perf is opt-in (--perf)
        elif arg in ('--perf', '--thunks'):
            capture_opts[arg[2:]] = True
        elif _option_name(arg) in _VALUE_OPTIONS:
            name = _option_name(arg)
            value = _option_value(orig, arg, args)
            problem = _check_capture_option(name, value, capture_opts)
            if problem:
                print(f'etwtrace: {problem}', file=sys.stderr)
                return EXIT_ERROR
        elif arg.startswith('--_perf-child='):
            perf_child = int(arg.partition('=')[2])
        elif arg == '--capture' or arg.startswith('--capture:') or arg.startswith('--capture='):
            capture = (orig[orig.lower().index('capture') + len('capture') + 1:] if len(arg) > len('--capture')
                       else args.pop(0) if args else '')
            if not capture or capture.startswith('-'):
                print('etwtrace: --capture needs a FILE argument', file=sys.stderr)
                return EXIT_ERROR
        elif arg == '--profile':
            status = max(status, _print_content('python.wprp', 'WPR profile'))
        elif arg == '--stacktags':
            status = max(status, _print_content('python.stacktags', 'WPA stack tags'))
        elif arg == '--info':
            show_info = True
        elif arg == '--enable':
            names = []
            while args and len(names) < 2:
                if args[0].lower() in ('--variable', '/variable') and len(args) > 1 and not names:
                    args.pop(0)
                elif args[0].startswith('-'):
                    break
                names.append(args.pop(0))
            status = max(status, _enable(*names))
            unused.extend(args)
            break
        elif arg == '--disable':
            status = max(status, _disable())
            unused.extend(args)
            break
        else:
            unused.append(orig)
    if show_info:
        _print_info(mode)
    if unused:
        print('etwtrace: WARNING: the following arguments were not used:',
              *(f'"{a}"' if ' ' in a else a for a in unused), file=sys.stderr)
        return max(status, EXIT_UNUSED) if status != EXIT_OK else EXIT_UNUSED
    return status


_SLASH_OPTIONS = {'?', 'h', 'stack', 'instrument', 'instrumented', 'capture', 'profile', 'stacktags', 'info',
                  'enable', 'disable', 'variable', 'help', 'no-perf', 'perf', 'thunks'}

# Capture options with a value: --name VALUE or --name=VALUE.
_VALUE_OPTIONS = ('sample', 'rate', 'perf-stack-size', 'perf-args')


def _option_name(arg):
    return arg[2:].partition('=')[0] if arg.startswith('--') else None


def _option_value(orig, arg, args):
    if '=' in arg:
        return orig.partition('=')[2]
    # Only --perf-args takes a value that starts with '-' (never '--' alone).
    if not args or args[0] == '--' or (args[0].startswith('-') and _option_name(arg) != 'perf-args'):
        return None
    return args.pop(0)


def _check_capture_option(name, value, opts):
    """Stores a capture option's value in opts; returns what is wrong with it, or None."""
    from etwtrace import _capture
    if value is None:
        return f'--{name} needs a value'
    if name == 'sample':
        if value.lower() not in ('cpu', 'wall'):
            return f"--sample must be cpu or wall, not {value!r}"
        opts['sample'] = value.lower()
    elif name == 'rate':
        if not value.isdigit() or not 1 <= int(value) <= 100000:
            return f'--rate must be a number of samples per second from 1 to 100000, not {value!r}'
        opts['rate'] = int(value)
    elif name == 'perf-stack-size':
        if not value.isdigit() or not 8 <= int(value) <= _capture.MAX_PERF_STACK_SIZE:
            return (f'--perf-stack-size must be a number of bytes from 8 to {_capture.MAX_PERF_STACK_SIZE}, '
                    f'not {value!r}')
        opts['perf_stack_size'] = int(value) & ~7
    elif name == 'perf-args':
        try:
            opts['perf_args'] = _capture.parse_perf_args(value)
        except ValueError as e:
            return f'--perf-args: {e}'
    return None


# ---- running a program traced ----

def _run(target, mode, capture, capture_opts, perf_child):
    if target[0] == '-m' and len(target) < 2:
        print('etwtrace: -m needs a module name', file=sys.stderr)
        return EXIT_ERROR
    if target[0] != '-m' and not os.path.isfile(target[0]):
        print(f"etwtrace: can't open file {target[0]!r}: no such file", file=sys.stderr)
        return EXIT_ERROR
    if capture is None:
        return _run_traced(target, mode)
    if sys.platform == 'win32' and perf_child is None:
        wpr = _find_wpr()
        if wpr is not None:
            return _capture_with_wpr(wpr, capture, target, mode)
    from etwtrace import _capture
    return _capture.capture(capture, target, _capture.CaptureOptions(mode=mode, perf_child=perf_child,
                                                                     **capture_opts))


def _make_tracer(mode):
    from etwtrace import _capture
    return _capture.make_tracer(mode)


def _run_traced(target, mode):
    """Runs the target with tracing on; returns its exit status."""
    from traceloggingdynamic.__main__ import _run_target
    tracer = _make_tracer(mode)
    tracer.enable()
    try:
        return _run_target(target)  # joins the program's threads before returning
    finally:
        tracer.disable()


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


# ---- Windows: WPR (not exercised on Linux; kept apart on purpose) ----

def _find_wpr():
    wpr = os.environ.get('WPR_EXE') or os.path.join(os.environ.get('SystemRoot', r'C:\Windows'),
                                                    'System32', 'wpr.exe')
    return wpr if os.path.isfile(wpr) else shutil.which('wpr')


def _capture_with_wpr(wpr, path, target, mode):
    """--capture on Windows: WPR records with the bundled profile (ETW
    delivers the events and stacks), as upstream etwtrace does."""
    import platform
    import uuid
    profile = PROFILE_DIR / 'python.wprp'
    name = 'ARM64' if platform.machine().upper() == 'ARM64' else 'Default'
    instance = f'etwtrace-{uuid.uuid4().hex}'
    _remove(path)
    subprocess.check_call([wpr, '-start', f'{profile}!{name}', '-instancename', instance])
    try:
        status = _run_traced(target, mode)
    except BaseException:
        subprocess.call([wpr, '-cancel', '-instancename', instance])
        raise
    subprocess.check_call([wpr, '-stop', path, '-compress', '-instancename', instance])
    print(f'etwtrace: trace written to {os.path.abspath(path)}', file=sys.stderr)
    return status


# ---- --enable / --disable ----

def _pth_line(var, type_var):
    """The line of etwtrace.pth. site runs lines starting with `import`.
    etwtrace is imported only when VAR is set; `python -m etwtrace` itself is
    never traced; a second run of the line (venvs list site-packages twice,
    lib and lib64) does not enable twice."""
    cli = ("_a = getattr(sys, 'orig_argv', []); "
           "_cli = sys.argv[:1] == ['-m'] and any(x == '-metwtrace' or x == '-m' and y == 'etwtrace' "
           "for x, y in zip(_a, _a[1:] + ['']))")
    gate = f'{var!r} in os.environ and not _cli' if var else 'not _cli'
    code = (f"{cli}\\n"
            f"if {gate}:\\n"
            f" import etwtrace\\n"
            f" etwtrace.is_active() or etwtrace.enable_if({var!r}, {type_var!r})")
    return f'import os, sys; exec("{code}")'


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
    pprint.pprint(info, sort_dicts=False)


if __name__ == '__main__':
    sys.exit(main())
