"""How ``python -m etwtrace --capture FILE -- program`` records the program
(``__main__`` parses the command line, drives WPR on Windows and owns the
session; this module decides what runs beside the program):

- stack mode (default): the built-in sampler (``Sampler``): ``PythonSample``
  events with the Python stack of every thread, CPU time (``--sample=cpu``,
  default) or wall time (``--sample=wall``), ``--rate HZ`` a second. No eval
  hook and no thunks, unless ``--thunks`` asks for them (native stacks
  attached to ``PythonStackSample`` marks name Python functions only
  through thunks). Where the built-in sampler cannot run (not Linux), the
  thunks as before (``Recording``).
- stack mode with ``--perf`` (Linux): the same in a child process that
  ``perf record`` samples, with thunks and a jitdump file so perf unwinds
  through Python frames; ``perf inject --jit`` then makes
  ``FILE.perf/perf.data``. Everything perf needs later (the jitdump file,
  the jitted ``.so`` files, its log) is in the folder ``FILE.perf``, except
  where perf unwinds only with libdw: that unwinder places jitted code right
  only under ``/tmp/jitted-*``, so the jitdump and jitted files go to a
  private ``/tmp/jitted-etwtrace-*`` folder, named at the end
  (``PerfCapture``, ``start_perf_child``). A perf that cannot run says so in
  one line and the built-in samples are captured without it.
- instrumented mode: ``InstrumentedTracer``.

Ctrl-C: the program gets KeyboardInterrupt, and the capture is still
finished in order (sampler, tracer, session; then perf and perf inject),
however many times Ctrl-C is pressed meanwhile.
"""

import os
import runpy
import shutil
import signal
import sys
import threading
from pathlib import Path
from typing import List, NamedTuple, Optional

CLOCKS = ('cpu', 'wall')
MAX_RATE = 100000
PERF_FREQUENCY = 999            # perf's samples/s
DEFAULT_PERF_STACK_SIZE = 32768  # bytes of stack perf copies per DWARF sample (perf's own default: 8192)
MAX_PERF_STACK_SIZE = 65528     # perf's limit
PERF_FOLDER_VAR = 'ETWTRACE_PERF_FOLDER'   # set for the program half of a --perf capture
PERF_STDERR_VAR = 'ETWTRACE_PERF_STDERR'


class CaptureOptions(NamedTuple):
    mode: str = 'stack'             # 'stack' or 'instrumented'
    sample: str = 'cpu'             # the built-in sampler's clock: 'cpu' or 'wall'
    rate: int = 1000                # its samples/s
    thunks: bool = False            # --thunks: the eval hook and thunks as well
    perf: bool = False              # --perf
    perf_stack_size: int = DEFAULT_PERF_STACK_SIZE
    perf_args: List[str] = []       # extra `perf record` arguments
    max_size: Optional[int] = None  # --max-size: bytes at which the .etl stops growing


def parse_perf_args(text):
    """--perf-args "..." as perf record arguments (shell quoting)."""
    import shlex
    return shlex.split(text)


def cli_files():
    """The files whose frames run the program but are not the program's:
    runpy's and the runner's (etwtrace's own files and threading's are
    always left out)."""
    from traceloggingdynamic import _runner as runner
    return {runpy.__file__, '<frozen runpy>', runner.__file__, threading.__file__}


def make_tracer(mode):
    """The tracer of `mode`, ignoring the CLI's own files."""
    import etwtrace
    tracer = etwtrace.InstrumentedTracer() if mode == 'instrumented' else etwtrace.StackSamplingTracer()
    tracer.ignore(*cli_files())
    return tracer


def sampler_available():
    return sys.platform.startswith('linux')


# ---- in-process recording ----

class Recording:
    """What runs beside the program during an in-process capture: the
    built-in sampler in stack mode (and the thunks when asked, for perf, or
    when the sampler cannot run), a tracer in instrumented mode. A context
    manager around the program's run; stopping is not interrupted by
    Ctrl-C."""

    def __init__(self, opts, jitdump=False):
        from etwtrace import Sampler
        self.opts, self.jitdump = opts, jitdump
        stack = opts.mode == 'stack'
        self.sampler = (Sampler(opts.rate, opts.sample, root_files=cli_files())
                        if stack and sampler_available() else None)
        self.tracer = None
        if not stack or opts.thunks or jitdump or self.sampler is None:
            self.tracer = make_tracer(opts.mode)
        self.stats = None

    def __enter__(self):
        if self.jitdump:
            _start_jitdump()
        if self.tracer is not None:
            self.tracer.enable()
        if self.sampler is not None:
            try:
                self.sampler.start()
            except (OSError, RuntimeError) as e:
                print(f'etwtrace: the built-in sampler cannot run here ({e}); capturing without it',
                      file=sys.stderr)
                self.sampler = None
                if self.tracer is None:
                    self.tracer = make_tracer(self.opts.mode)
                    self.tracer.enable()
        return self

    def __exit__(self, *exc_info):
        with _finishing():
            if self.sampler is not None:
                self.stats = self.sampler.stop()
            if self.tracer is not None:
                self.tracer.disable()

    def sampled(self):
        """What the sampler wrote, for the capture's line on stderr ('' when
        it did not run)."""
        s = self.stats
        if s is None:
            return ''
        dropped = f', {s.dropped} dropped (ring full)' if s.dropped else ''
        unreadable = f', {s.unreadable} unreadable' if s.unreadable else ''
        threads = 'thread' if s.threads == 1 else 'threads'
        return (f'; {s.written} samples of {s.threads} {threads}, {s.clock} time at {s.rate} Hz'
                f'{dropped}{unreadable}')


class _finishing:
    """While the capture is being finished: Ctrl-C says it is, instead of
    interrupting the stop of the sampler or the tracer."""

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


def start_perf_child(report_fd):
    """In the program's process under perf (`--_perf-child=FD`): the
    program's stderr is the terminal's again (perf's goes to its log), and
    the CLI outside perf learns this process's pid (its status follows at
    the end)."""
    err = os.environ.pop(PERF_STDERR_VAR, None)
    if err is not None:
        try:
            os.dup2(int(err), 2)
            os.close(int(err))
        except (OSError, ValueError):
            pass
    _report(report_fd, f'pid {os.getpid()}\n')


def _start_jitdump():
    """Thunks described to perf through <folder>/jit-<pid>.dump, no perf map
    in /tmp (perf inject's jitted objects carry the names)."""
    from etwtrace import _etwtrace
    folder = os.environ.pop(PERF_FOLDER_VAR, None)
    _etwtrace.set_perf_map(False)
    try:
        _etwtrace.set_jitdump(True, folder)
    except (OSError, RuntimeError) as e:
        print(f'etwtrace: no jitdump file, perf will not unwind through Python frames: {e}', file=sys.stderr)


def _report(fd, text):
    try:
        os.write(fd, text.encode())
    except OSError:
        pass


def perf_unwinds_jitted_code_anywhere():
    """Whether perf unwinds through `perf inject --jit`'s objects wherever
    they lie. perf's libdw unwinder (its only one when built without
    libunwind, as Debian's perf 7 is) maps a jitted object at its mapping's
    start only when the object's path begins with /tmp/jitted-; elsewhere it
    shifts it by the object's 128-byte header, and stacks stop at the first
    thunk. libunwind, which perf prefers when it has it, has no such rule."""
    import re
    import subprocess
    try:
        out = subprocess.run(['perf', 'version', '--build-options'], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=30).stdout.decode(errors='replace')
    except (OSError, subprocess.SubprocessError):
        return True     # perf will not run either; that is said elsewhere
    m = re.search(r'^\s*libunwind:\s*\[\s*(\w+)', out, re.MULTILINE)
    return m is None or m.group(1).lower() == 'on'


class PerfCapture:
    """--capture FILE --perf: the program runs in a child (`python -m
    etwtrace --_perf-child=FD ... --capture FILE -- target`, which writes
    FILE as usual, with thunks and a jitdump file) under `perf record -k 1
    --call-graph dwarf,SIZE`, in a session of its own so that Ctrl-C reaches
    it only through us, in order: the program first (SIGINT), then, once it
    has finished its capture and exited, perf, which stops by itself. Then
    `perf inject --jit` resolves the thunks. In FILE.perf/:

    - perf.data: the injected samples (`perf report -i FILE.perf/perf.data`);
    - jit-<pid>.dump and jitted-<pid>-<n>.so: the thunks, read by perf report
      (in /tmp/jitted-etwtrace-XXXXXX/ instead when perf unwinds with libdw:
      perf_unwinds_jitted_code_anywhere);
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
        self.jit_folder = self.folder   # where the jitdump and jitted objects go
        self.reports = {}
        self.recorded = False   # perf ran the program

    def run(self, without_perf):
        """The program's exit status. `without_perf()` captures in-process
        instead (with one line saying why) when perf cannot start it."""
        try:
            self.folder.mkdir(mode=0o700, exist_ok=True)
        except OSError as e:
            print(f'etwtrace: --perf: cannot create {self.folder} ({e.strerror or e}); capturing with the '
                  f'built-in sampler only', file=sys.stderr)
            return without_perf()
        _remove(self.raw)
        if not perf_unwinds_jitted_code_anywhere():
            import tempfile
            try:
                self.jit_folder = Path(tempfile.mkdtemp(prefix='jitted-etwtrace-', dir='/tmp'))
            except OSError as e:
                print(f'etwtrace: --perf: cannot create a folder in /tmp for the jitted code ({e.strerror or e}); '
                      f'perf will not unwind through Python frames', file=sys.stderr)
        read_fd, write_fd = os.pipe()
        err_fd = os.dup(2)
        o = self.opts
        child = [sys.executable, '-m', 'etwtrace', f'--_perf-child={write_fd}', f'--{o.mode}',
                 f'--sample={o.sample}', f'--rate={o.rate}', *(['--thunks'] if o.thunks else []),
                 *([f'--max-size={o.max_size}'] if o.max_size is not None else []),
                 '--capture', self.path, '--', *self.target]
        perf = ['perf', 'record', '-q', '-k', '1', '--call-graph', f'dwarf,{o.perf_stack_size}', '-F',
                str(PERF_FREQUENCY), '--no-buildid-cache', '-o', str(self.raw), *o.perf_args, '--', *child]
        env = dict(os.environ, **{PERF_FOLDER_VAR: str(self.jit_folder.resolve()), PERF_STDERR_VAR: str(err_fd)})
        try:
            with open(self.log, 'wb') as log:
                proc = _popen(perf, pass_fds=(write_fd, err_fd), env=env, stderr=log)
        except OSError as e:
            os.close(read_fd)
            os.close(write_fd)
            os.close(err_fd)
            print(f'etwtrace: --perf: cannot run perf ({e}); capturing with the built-in sampler only',
                  file=sys.stderr)
            self._drop_jit_folder()
            return without_perf()
        os.close(write_fd)
        os.close(err_fd)
        reader = threading.Thread(target=self._read_reports, args=(read_fd,), daemon=True)
        reader.start()
        perf_status = self._wait(proc)
        reader.join()
        if 'pid' not in self.reports:   # perf never started the program
            print(f'etwtrace: --perf: perf record failed ({self._last_log_line() or f"exit status {perf_status}"}; '
                  f'see {self.log}); capturing with the built-in sampler only', file=sys.stderr)
            _remove(self.raw)
            self._drop_jit_folder()
            return without_perf()
        self.recorded = True
        self._inject()
        # The program's status as its process reported it (-2 after Ctrl-C);
        # perf's own when the program did not get that far.
        try:
            return int(self.reports.get('status', perf_status))
        except ValueError:
            return perf_status

    def _drop_jit_folder(self):
        """Removes the /tmp folder made for jitted code nobody recorded."""
        if self.jit_folder != self.folder:
            shutil.rmtree(self.jit_folder, ignore_errors=True)
            self.jit_folder = self.folder

    def _read_reports(self, fd):
        with os.fdopen(fd, 'rb') as r:
            for line in r:
                key, _, value = line.decode(errors='replace').strip().partition(' ')
                if key:
                    self.reports[key] = value

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
                pid = self.reports.get('pid')
                if pid is not None and presses <= 2:
                    self._signal(int(pid), signal.SIGINT if presses == 1 else signal.SIGTERM)
                else:
                    self._signal(proc.pid, signal.SIGINT)

    @staticmethod
    def _signal(pid, sig):
        try:
            os.kill(pid, sig)
        except (OSError, ValueError):
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
        import subprocess
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
        where = self.folder if self.jit_folder == self.folder else f'{self.folder} and {self.jit_folder}'
        print(f'etwtrace: perf samples written to {self.data.resolve()} (perf report -i {self.data}); '
              f'what perf reads with them is in {where}', file=sys.stderr)


def _popen(cmd, **kwargs):
    import subprocess
    return subprocess.Popen(cmd, start_new_session=True, **kwargs)


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
