"""How ``python -m etwtrace --capture FILE -- program`` records (everywhere
but Windows with WPR, which ``__main__`` drives itself).

Routes:

- stack mode (default): an in-process ``.etl`` session for the program's run
  and the built-in sampler (``Sampler``): ``PythonSample`` events with the
  Python stack of every thread, CPU time (``--sample=cpu``, default) or wall
  time (``--sample=wall``), ``--rate HZ`` a second. No eval hook and no
  thunks, unless ``--thunks`` asks for them (native stacks attached to
  ``PythonStackSample`` marks name Python functions only through thunks).
  Where the built-in sampler cannot run (not Linux), the thunks as before.
- stack mode with ``--perf`` (Linux): the same in a child process that
  ``perf record`` samples, with thunks and a jitdump file so perf unwinds
  through Python frames; ``perf inject --jit`` then makes
  ``FILE.perf/perf.data``. Everything perf needs later (the jitdump file,
  the jitted ``.so`` files, its log) is in the folder ``FILE.perf``, nothing
  in ``/tmp``. A perf that cannot run says so in one line and the built-in
  samples are captured without it.
- instrumented mode: the session and ``InstrumentedTracer``.

Ctrl-C: the program gets KeyboardInterrupt, and the capture is still
finished in order (sampler, tracer, session; then perf and perf inject),
however many times Ctrl-C is pressed meanwhile.
"""

import os
import runpy
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import List, NamedTuple, Optional

STACK_KEYWORD = 0x0200          # PythonStackSample: the session attaches native stacks
EXIT_OK, EXIT_ERROR = 0, 2
PERF_FREQUENCY = 999            # perf's samples/s
DEFAULT_PERF_STACK_SIZE = 32768  # bytes of stack perf copies per DWARF sample (perf's own default: 8192)
MAX_PERF_STACK_SIZE = 65528     # perf's limit
PERF_FOLDER_VAR = 'ETWTRACE_PERF_FOLDER'   # set for the program half of a --perf capture
PERF_STDERR_VAR = 'ETWTRACE_PERF_STDERR'


class CaptureOptions(NamedTuple):
    mode: str = 'stack'             # 'stack' or 'instrumented'
    sample: str = 'cpu'             # the built-in sampler's clock: 'cpu' or 'wall'
    rate: int = 1000                # its samples/s
    perf: bool = False              # --perf
    perf_stack_size: int = DEFAULT_PERF_STACK_SIZE
    perf_args: List[str] = []       # extra `perf record` arguments
    thunks: bool = False            # --thunks: the eval hook and thunks as well
    perf_child: Optional[int] = None  # the program half of --perf: where to report its pid


def parse_perf_args(text):
    """--perf-args "..." as perf record arguments (shell quoting)."""
    return shlex.split(text)


def make_tracer(mode):
    """The tracer of `mode`; the CLI's own files are ignored (never traced,
    and left out at the root of samples)."""
    import etwtrace
    tracer = etwtrace.InstrumentedTracer() if mode == 'instrumented' else etwtrace.StackSamplingTracer()
    ignore_cli_files()
    return tracer


def ignore_cli_files():
    """The frames that run the program, not the program's own: runpy's, the
    runner's, threading's (etwtrace's own files are always ignored)."""
    import etwtrace
    from traceloggingdynamic import __main__ as runner
    etwtrace.get_ignored_files().update({runpy.__file__, '<frozen runpy>', runner.__file__, threading.__file__,
                                         __file__})


def sampler_available():
    return sys.platform.startswith('linux')


def capture(path, target, opts):
    """Records while the target runs. Returns its exit status."""
    if opts.perf_child is not None:
        return _program_under_perf(path, target, opts)
    if opts.mode == 'stack' and opts.perf:
        why = perf_unusable()
        if why is None:
            return _PerfCapture(path, target, opts).run()
        print(f'etwtrace: --perf: {why}; capturing with the built-in sampler only', file=sys.stderr)
    return in_process(path, target, opts)


# ---- in-process capture ----

def in_process(path, target, opts, jitdump_folder=None):
    """An .etl session for the program's run, with the built-in sampler in
    stack mode (and thunks when asked, or when it cannot run)."""
    from traceloggingdynamic import Session
    from traceloggingdynamic.__main__ import _run_target
    from etwtrace import Sampler, _etwtrace
    sampler = Sampler(opts.rate, opts.sample) if opts.mode == 'stack' and sampler_available() else None
    want_thunks = opts.mode == 'stack' and (opts.thunks or sampler is None or jitdump_folder is not None)
    tracer = make_tracer(opts.mode) if opts.mode == 'instrumented' or want_thunks else None
    ignore_cli_files()
    try:
        session = Session(path, [f'{_etwtrace.PROVIDER_ID}:5'], stacks=STACK_KEYWORD)
        session.start()
    except OSError as e:
        print(f'etwtrace: cannot create {path}: {e.strerror or e}', file=sys.stderr)
        return EXIT_ERROR
    sampler_stats = None
    try:
        if jitdump_folder is not None:
            _start_jitdump(jitdump_folder)
        if tracer is not None:
            tracer.enable()
        if sampler is not None:
            try:
                sampler.start()
            except (OSError, RuntimeError) as e:
                print(f'etwtrace: the built-in sampler cannot run here ({e}); capturing without it', file=sys.stderr)
                sampler = None
                if tracer is None:
                    tracer = make_tracer(opts.mode)
                    tracer.enable()
        status = _run_target(target)
    finally:
        with _finishing():
            if sampler is not None:
                sampler_stats = sampler.stop()
            if tracer is not None:
                tracer.disable()
            stats = session.stop()
            print(f'etwtrace: trace written to {os.path.abspath(path)}: {stats.events_written} events'
                  f'{_lost(stats.events_lost)}{_sampled(sampler_stats)} '
                  f'(python -m traceloggingdynamic decode {path} --summary)', file=sys.stderr)
    return status


def _lost(n):
    return f', {n} lost' if n else ''


def _sampled(s):
    if s is None:
        return ''
    dropped = f', {s.dropped} dropped (ring full)' if s.dropped else ''
    unreadable = f', {s.unreadable} unreadable' if s.unreadable else ''
    threads = 'thread' if s.threads == 1 else 'threads'
    return (f'; {s.written} samples of {s.threads} {threads}, {s.clock} time at {s.rate} Hz'
            f'{dropped}{unreadable}')


class _finishing:
    """While the capture is being finished: Ctrl-C says it is, instead of
    interrupting the stop of the sampler or the session."""

    def __enter__(self):
        self.previous = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._pressed)
        return self

    def __exit__(self, *exc_info):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)

    @staticmethod
    def _pressed(signum, frame):
        print('etwtrace: finishing the capture, one moment', file=sys.stderr)


def _start_jitdump(folder):
    """Thunks described to perf through <folder>/jit-<pid>.dump, no perf map
    in /tmp (perf inject's jitted objects carry the names)."""
    from etwtrace import _etwtrace
    _etwtrace.set_perf_map(False)
    try:
        _etwtrace.set_jitdump(True, str(folder))
    except (OSError, RuntimeError) as e:
        print(f'etwtrace: no jitdump file, perf will not unwind through Python frames: {e}', file=sys.stderr)


# ---- --perf ----

def perf_unusable():
    """None when `perf record` may work here, else why not (a clause)."""
    if not sys.platform.startswith('linux'):
        return 'perf is Linux only'
    if shutil.which('perf') is None:
        return 'perf is not installed (Debian: apt install linux-perf)'
    try:
        paranoid = int(Path('/proc/sys/kernel/perf_event_paranoid').read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    if paranoid > 2 and os.geteuid() != 0:
        return (f'perf cannot record as an ordinary user here (kernel.perf_event_paranoid is {paranoid}; '
                f'`sudo sysctl kernel.perf_event_paranoid=2` allows profiling your own programs)')
    return None


def _program_under_perf(path, target, opts):
    """The program half of a --perf capture (run by perf record): the usual
    capture with thunks and a jitdump file in the capture's folder; tells
    the CLI outside perf its pid first, and its exit status last."""
    report = opts.perf_child
    folder = os.environ.pop(PERF_FOLDER_VAR, None)
    err = os.environ.pop(PERF_STDERR_VAR, None)
    if err is not None:
        try:   # the program's stderr is the terminal's, not perf's log
            os.dup2(int(err), 2)
            os.close(int(err))
        except (OSError, ValueError):
            pass
    _report(report, f'pid {os.getpid()}\n')
    status = EXIT_ERROR
    try:
        status = in_process(path, target, opts._replace(perf=False, perf_child=None),
                            jitdump_folder=folder or os.path.dirname(os.path.abspath(path)))
    finally:
        _report(report, f'exit {status}\n')
        try:
            os.close(report)
        except OSError:
            pass
    return status


def _report(fd, text):
    try:
        os.write(fd, text.encode())
    except OSError:
        pass


class _PerfCapture:
    """--capture FILE --perf: the program runs in a child (`python -m
    etwtrace --_perf-child=FD ... --capture FILE -- target`, which writes
    FILE as usual and a jitdump file) under `perf record -k 1 --call-graph
    dwarf,SIZE`, in a session of its own so that Ctrl-C reaches it only
    through us, in order: the program first (SIGINT), then, once it has
    finished its capture and exited, perf, which stops by itself. Then
    `perf inject --jit` resolves the thunks. In FILE.perf/:

    - perf.data: the injected samples (`perf report -i FILE.perf/perf.data`);
    - jit-<pid>.dump and jitted-<pid>-<n>.so: the thunks, read by perf report;
    - perf.log: what perf printed;
    - raw.data (perf's own recording) and buildid/ (perf inject's build-id
      cache, so ~/.debug is left alone) are removed once injected.
    """

    def __init__(self, path, target, opts):
        self.path, self.target, self.opts = path, target, opts
        self.folder = Path(path + '.perf')
        self.raw = self.folder / 'raw.data'
        self.data = self.folder / 'perf.data'
        self.log = self.folder / 'perf.log'
        self.program_pid = None
        self.program_status = None

    def run(self):
        try:
            self.folder.mkdir(mode=0o700, exist_ok=True)
        except OSError as e:
            print(f'etwtrace: --perf: cannot create {self.folder} ({e.strerror or e}); capturing with the '
                  f'built-in sampler only', file=sys.stderr)
            return in_process(self.path, self.target, self.opts)
        _remove(self.raw)
        read_fd, write_fd = os.pipe()
        err_fd = os.dup(2)
        o = self.opts
        child = [sys.executable, '-m', 'etwtrace', f'--_perf-child={write_fd}', f'--{o.mode}',
                 f'--sample={o.sample}', f'--rate={o.rate}', '--capture', self.path, '--', *self.target]
        perf = ['perf', 'record', '-q', '-k', '1', '--call-graph', f'dwarf,{o.perf_stack_size}', '-F',
                str(PERF_FREQUENCY), '--no-buildid-cache', '-o', str(self.raw), *o.perf_args, '--', *child]
        env = dict(os.environ, **{PERF_FOLDER_VAR: str(self.folder.resolve()), PERF_STDERR_VAR: str(err_fd)})
        try:
            with open(self.log, 'wb') as log:
                proc = subprocess.Popen(perf, pass_fds=(write_fd, err_fd), env=env, stdout=None, stderr=log,
                                        start_new_session=True)
        except OSError as e:
            os.close(read_fd)
            os.close(write_fd)
            os.close(err_fd)
            print(f'etwtrace: --perf: cannot run perf ({e}); capturing with the built-in sampler only',
                  file=sys.stderr)
            return in_process(self.path, self.target, self.opts)
        os.close(write_fd)
        os.close(err_fd)
        reader = threading.Thread(target=self._read_reports, args=(read_fd,), daemon=True)
        reader.start()
        perf_status = self._wait(proc)
        reader.join()
        if self.program_pid is None:   # perf never started the program
            print(f'etwtrace: --perf: perf record failed ({self._last_log_line() or f"exit status {perf_status}"}; '
                  f'see {self.log}); capturing with the built-in sampler only', file=sys.stderr)
            _remove(self.raw)
            return in_process(self.path, self.target, self.opts)
        self._inject()
        return self.program_status if self.program_status is not None else perf_status

    def _read_reports(self, fd):
        with os.fdopen(fd, 'rb') as r:
            for line in r:
                kind, _, value = line.decode(errors='replace').strip().partition(' ')
                try:
                    if kind == 'pid':
                        self.program_pid = int(value)
                    elif kind == 'exit':
                        self.program_status = int(value)
                except ValueError:
                    pass

    def _wait(self, proc):
        """perf's exit status. Ctrl-C: SIGINT to the program (perf stops when
        it has exited); pressed again: SIGTERM to it; again: SIGINT to perf."""
        presses = 0
        while True:
            try:
                code = proc.wait()
                return code if code >= 0 else 128 - code
            except KeyboardInterrupt:
                presses += 1
                pid = self.program_pid
                if pid is not None and presses <= 2:
                    self._signal(pid, signal.SIGINT if presses == 1 else signal.SIGTERM)
                else:
                    self._signal(proc.pid, signal.SIGINT)
                if presses == 1:
                    print('etwtrace: stopping the program; its capture and perf\'s are being finished',
                          file=sys.stderr)

    @staticmethod
    def _signal(pid, sig):
        try:
            os.kill(pid, sig)
        except OSError:
            pass

    def _last_log_line(self):
        try:
            lines = [ln.strip() for ln in self.log.read_text(errors='replace').splitlines() if ln.strip()]
        except OSError:
            return ''
        return lines[-1] if lines else ''

    def _inject(self):
        """perf inject --jit, its build-id cache kept inside the folder and
        removed after (so ~/.debug is left alone)."""
        cache = self.folder / 'buildid'
        with _finishing():
            try:
                inject = subprocess.run(['perf', '--buildid-dir', str(cache), 'inject', '--jit', '-i', str(self.raw),
                                         '-o', str(self.data)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            finally:
                shutil.rmtree(cache, ignore_errors=True)
        if inject.returncode != 0:
            print(f'etwtrace: perf inject --jit failed; the raw samples are in {self.raw}:\n'
                  + inject.stdout.decode(errors='replace').rstrip(), file=sys.stderr)
            return
        _remove(self.raw)
        print(f'etwtrace: perf samples written to {self.data.resolve()} (perf report -i {self.data}); '
              f'what perf reads with them is in {self.folder}', file=sys.stderr)


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
