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
      i.e. on ``PythonStackSample``).
    - Linux, stack sampling, ``perf`` on PATH (unless ``--no-perf``): the
      program runs under ``perf record -k 1 --call-graph dwarf`` with a
      jitdump file, then ``perf inject --jit`` makes FILE.perf.data, in
      which Python functions appear in the sampled native call chains
      (``perf report -i FILE.perf.data``).

    It says on stderr every file it wrote (see ``_PerfCapture``).

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
import runpy
import shutil
import subprocess
import sys
import sysconfig
import threading
from pathlib import Path

STACK_KEYWORD = 0x0200          # PythonStackSample: the session attaches native stacks
PTH_NAME = 'etwtrace.pth'
DEFAULT_TYPE_VAR = 'ETWTRACE_TYPE'
PROFILE_DIR = Path(__file__).resolve().parent / 'profile'
PERF_FREQUENCY = '999'          # samples/s; DWARF samples are 8 KiB each

EXIT_OK, EXIT_UNUSED, EXIT_ERROR = 0, 1, 2

HELP = """\
Usage: python -m etwtrace [--stack | --instrumented] [--capture FILE] [--no-perf] -- script.py [args ...]
       python -m etwtrace [--stack | --instrumented] [--capture FILE] [--no-perf] -- -m module [args ...]

  Runs a Python program with tracing enabled: every Python function gets a
  native thunk that native profilers see (--stack, the default), or entry and
  exit events (--instrumented, also --instrument).
  --capture FILE   record a trace while the program runs. Windows: WPR with the
                   bundled profile. Elsewhere: an .etl file written in-process
                   (provider "Python", level 5, all keywords, stacks on
                   PythonStackSample). On Linux in stack mode with `perf`
                   installed, also FILE.perf.data: perf samples with Python
                   frames (perf record -k 1 --call-graph dwarf + perf inject --jit).
  --no-perf        do not run perf for --capture.

Usage: python -m etwtrace --enable [ENABLE_VAR [TYPE_VAR]]
       python -m etwtrace --enable --variable ENABLE_VAR [TYPE_VAR]

  Writes etwtrace.pth into site-packages so that every start of this Python
  calls etwtrace.enable_if(ENABLE_VAR, TYPE_VAR): tracing is on when
  ENABLE_VAR is set (and not 0/no/false); TYPE_VAR=instrumented selects
  instrumented mode (default TYPE_VAR: ENABLE_VAR_TYPE, or ETWTRACE_TYPE).
  Without ENABLE_VAR every start is traced.

Usage: python -m etwtrace report TRACE [--format top|tree|collapsed|speedscope|chrome|html] [-o OUT]

  Reports from a trace (.etl, or the FILE.perf.data that --capture writes):
  top functions, call tree, folded stacks, speedscope or Chrome/Perfetto JSON,
  or an interactive HTML flame graph. `python -m etwtrace report -h` for more.

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
    if args[0] == 'report':     # its own parser: etwtrace/report.py
        from etwtrace.report import main as report_main
        return report_main(args[1:])
    unused = []
    mode = None
    capture = None
    use_perf = True
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
            status = _run(args, mode or 'stack', capture, use_perf, perf_child)
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
            use_perf = False
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
                  'enable', 'disable', 'variable', 'help', 'no-perf'}


# ---- running a program traced ----

def _run(target, mode, capture, use_perf, perf_child):
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
    if (perf_child is None and use_perf and mode == 'stack' and sys.platform.startswith('linux')
            and shutil.which('perf')):
        return _PerfCapture(capture, mode, target).run()
    return _capture_in_process(capture, target, mode, perf_child)


def _make_tracer(mode):
    import etwtrace
    tracer = etwtrace.InstrumentedTracer() if mode == 'instrumented' else etwtrace.StackSamplingTracer()
    # The CLI's own frames are not the program's: the package's files are
    # ignored by etwtrace itself; runpy's and the runner's are ignored here.
    from traceloggingdynamic import __main__ as runner
    ignore = getattr(tracer, 'ignore', None)
    if ignore is not None:
        ignore(*{runpy.__file__, '<frozen runpy>', runner.__file__, threading.__file__})
    return tracer


def _run_traced(target, mode):
    """Runs the target with tracing on; returns its exit status."""
    from traceloggingdynamic.__main__ import _run_target
    tracer = _make_tracer(mode)
    tracer.enable()
    try:
        return _run_target(target)  # joins the program's threads before returning
    finally:
        tracer.disable()


def _capture_in_process(path, target, mode, perf_child):
    """--capture without WPR (and the program half of a perf capture): an
    in-process .etl session for the program's run."""
    from traceloggingdynamic import Session
    from etwtrace._etwtrace import PROVIDER_ID
    if perf_child is not None:
        _start_jitdump(perf_child)
    try:
        session = Session(path, [f'{PROVIDER_ID}:5'], stacks=STACK_KEYWORD)
        session.start()
    except OSError as e:
        print(f'etwtrace: cannot create {path}: {e.strerror or e}', file=sys.stderr)
        return EXIT_ERROR
    try:
        status = _run_traced(target, mode)
    finally:
        stats = session.stop()
        lost = f', {stats.events_lost} lost' if stats.events_lost else ''
        print(f'etwtrace: trace written to {os.path.abspath(path)}: {stats.events_written} events{lost} '
              f'(python -m traceloggingdynamic decode {path} --summary)', file=sys.stderr)
    if perf_child is None:      # under perf the parent summarises, once perf's data is ready
        _print_capture_summary(path)
    return status


def _print_capture_summary(path, perf_path=None):
    """The end of --capture: a short summary and the `report` commands."""
    from etwtrace.report import capture_summary
    print(capture_summary(path, perf_path), file=sys.stderr)


def _start_jitdump(report_fd):
    """In the program's process under perf: turn on the jitdump file the core
    writes (/tmp/jit-<pid>.dump) and tell the CLI outside our pid."""
    from etwtrace import _etwtrace
    try:
        _etwtrace.set_jitdump(True)
    except (OSError, RuntimeError, AttributeError) as e:
        print(f'etwtrace: no jitdump file, perf will not unwind through Python frames: {e}', file=sys.stderr)
    try:
        os.write(report_fd, f'{os.getpid()}\n'.encode())
        os.close(report_fd)
    except OSError:
        pass


class _PerfCapture:
    """--capture FILE on Linux with perf: the program runs in a child
    (`python -m etwtrace --capture FILE ... -- target`, which writes FILE as
    usual and a jitdump file) under `perf record -k 1 --call-graph dwarf`,
    then `perf inject --jit` resolves the thunks. Files written:

    - FILE: the .etl trace (by the child);
    - FILE.perf.data: the injected perf samples, for `perf report -i`;
    - FILE.perf.data.raw: perf's own recording, removed once injected;
    - /tmp/perf-<pid>.map and /tmp/jit-<pid>.dump (by etwtrace in the child)
      and /tmp/jitted-<pid>-<n>.so (by perf inject, next to the jitdump
      file): perf report reads the .so files, so they stay.

    perf record runs with --no-buildid-cache and perf inject with a
    temporary --buildid-dir (removed afterwards), so ~/.debug is left alone.
    """

    def __init__(self, path, mode, target):
        self.path, self.mode, self.target = path, mode, target
        self.data = path + '.perf.data'
        self.raw = self.data + '.raw'

    def run(self):
        read_fd, write_fd = os.pipe()
        child = [sys.executable, '-m', 'etwtrace', f'--_perf-child={write_fd}', f'--{self.mode}',
                 '--capture', self.path, '--', *self.target]
        perf = ['perf', 'record', '-q', '-k', '1', '--call-graph', 'dwarf', '-F', PERF_FREQUENCY,
                '--no-buildid-cache', '-o', self.raw, '--', *child]
        try:
            proc = subprocess.Popen(perf, pass_fds=(write_fd,))
        except OSError as e:
            os.close(read_fd)
            os.close(write_fd)
            print(f'etwtrace: cannot run perf ({e}); capturing without it', file=sys.stderr)
            return _capture_in_process(self.path, self.target, self.mode, None)
        os.close(write_fd)
        with os.fdopen(read_fd, 'rb') as r:
            reported = r.read().decode().strip()
        status = _wait(proc)
        if not reported:   # perf never started the program (e.g. perf_event_paranoid)
            print(f'etwtrace: perf record failed (exit status {status}); capturing without perf',
                  file=sys.stderr)
            _remove(self.raw)
            return _capture_in_process(self.path, self.target, self.mode, None)
        pid = int(reported)
        self._inject(pid)
        _print_capture_summary(self.path, self.data)
        return status

    def _inject(self, pid):
        # perf inject copies every jitted .so into the build-id cache (~/.debug)
        # unless told to use another one: a temporary directory, removed after.
        import tempfile
        cache = tempfile.mkdtemp(prefix='etwtrace-perf-buildid-')
        try:
            inject = subprocess.run(['perf', '--buildid-dir', cache, 'inject', '--jit', '-i', self.raw,
                                     '-o', self.data], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        finally:
            shutil.rmtree(cache, ignore_errors=True)
        if inject.returncode != 0:
            print(f'etwtrace: perf inject --jit failed; the raw samples are in {self.raw}:\n'
                  + inject.stdout.decode(errors='replace').rstrip(), file=sys.stderr)
            return
        _remove(self.raw)
        jitted = sorted(Path('/tmp').glob(f'jitted-{pid}-*.so'))
        print(f'etwtrace: perf samples written to {os.path.abspath(self.data)} '
              f'(perf report -i {self.data}); also written for it: /tmp/perf-{pid}.map, '
              f'/tmp/jit-{pid}.dump and {len(jitted)} /tmp/jitted-{pid}-*.so files', file=sys.stderr)


def _wait(proc):
    while True:
        try:
            code = proc.wait()
            break
        except KeyboardInterrupt:   # the program gets it too; let it finish
            continue
    return code if code >= 0 else 128 - code


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
