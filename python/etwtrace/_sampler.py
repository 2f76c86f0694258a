"""The built-in sampler: Python stacks sampled in-process, without perf.

Every thread of the interpreter gets a timer; each expiry interrupts that
thread, whose signal handler copies its own Python frames (code object and
instruction) into a ring; a drain thread turns the rings into
``PythonSample`` events of the provider "Python" (FunctionIDs and line
numbers, innermost first), with ``PythonFunction`` naming each function once
per run. Record them with a session (``traceloggingdynamic.Session``) or
``python -m etwtrace --capture``. See docs/sampler.md.

    with etwtrace.Sampler(rate=1000, clock='cpu') as sampler:
        work()
    print(sampler.stats)

No eval hook and no thunks are installed: the program runs as it would
untraced but for the signals.
"""

import atexit
import os
from typing import Iterable, NamedTuple, Optional

from . import _etwtrace

__all__ = ('Sampler', 'SamplerStats')

CLOCKS = ('cpu', 'wall')
DEFAULT_RATE = 1000


class SamplerStats(NamedTuple):
    """What a sampler run did (``Sampler.stop()``)."""

    samples: int
    """Samples taken (signals that found room in their thread's ring)."""
    weight: int
    """Timer periods they stand for (each sample weighs 1 + the timer's overruns)."""
    written: int
    """``PythonSample`` events a session received."""
    unheard: int
    """Samples drained while no session listened to keyword 0x4000."""
    hidden: int
    """Samples left out because every frame was the CLI's or a thread bootstrap's own."""
    drained: int
    """Samples taken out of the rings: written + unheard + hidden + write_failed."""
    write_failed: int
    """Samples the provider refused to write."""
    dropped: int
    """Signals that found their thread's ring full (not written, not in ``samples``)."""
    unreadable: int
    """Samples whose frames could not be read (written without frames)."""
    threads: int
    """Threads sampled."""
    clock: str
    rate: int


class Sampler:
    """The built-in sampler (Linux). One runs at a time per process.

    ``rate``: samples per second of each thread's ``clock``: ``'cpu'`` (its
    CPU time: an idle thread is not sampled) or ``'wall'`` (elapsed time:
    threads that sleep or wait are sampled too, and their blocking calls are
    interrupted and resumed, as with any signal). CPU-time timers fire at
    most once per kernel tick (``CONFIG_HZ``, often 250): above that rate
    each sample weighs the periods it stands for instead.
    ``max_depth``: frames kept per sample (the innermost ones).
    ``root_files``: source files whose frames are left out where they form
    the root of a stack (what ran the program, not the program), besides
    etwtrace's own files and threading's (a thread's bootstrap).
    """

    def __init__(self, rate: int = DEFAULT_RATE, clock: str = 'cpu', max_depth: int = 2048,
                 root_files: Iterable[str] = ()):
        if clock not in CLOCKS:
            raise ValueError(f"clock must be 'cpu' or 'wall', not {clock!r}")
        self.rate, self.clock, self.max_depth = int(rate), clock, int(max_depth)
        self.root_files = set(root_files)
        self.stats: Optional[SamplerStats] = None
        self._running = False

    def __repr__(self):
        state = 'running' if self._running else 'stopped'
        return f'<Sampler {self.clock} {self.rate} Hz {state}>'

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc_info):
        self.stop()

    @property
    def running(self) -> bool:
        return self._running and _etwtrace.sampler_active()

    def start(self):
        """Starts sampling every thread of the interpreter (threads started
        later are picked up within a drain period, 20 ms).

        RuntimeError when a sampler already runs or this Python's frames
        cannot be read; ValueError for settings out of range; OSError when
        the system refuses timers or signals.
        """
        from . import _OWN_FILES
        _etwtrace.sampler_start(rate=self.rate, clock=self.clock, max_depth=self.max_depth,
                                root_files=frozenset(self.root_files | _OWN_FILES))
        self._running = True
        _track(self)

    def stop(self) -> SamplerStats:
        """Stops sampling, writes the last samples and returns the counts
        (also kept in ``stats``). A no-op when not running (or in a forked
        child: the run belongs to the parent)."""
        if not self._running:
            return self.stats
        self._running = False
        _untrack(self)
        if not _etwtrace.sampler_active():
            return self.stats
        d = _etwtrace.sampler_stop()
        self.stats = SamplerStats(**{k: d[k] for k in SamplerStats._fields})
        return self.stats


# ---- what stops a running sampler besides stop(): interpreter exit, exec ----

_current: Optional[Sampler] = None
_real_execv = os.execv
_real_execve = os.execve


def _track(sampler):
    global _current
    _current = sampler
    atexit.register(_stop_current)
    # A signal of ours still pending when exec() replaces the program would
    # kill the new one (realtime signals terminate by default): stop first.
    # os.exec*() all end in these two.
    os.execv, os.execve = _execv, _execve


def _untrack(sampler):
    global _current
    if _current is sampler:
        _current = None
        atexit.unregister(_stop_current)
        os.execv, os.execve = _real_execv, _real_execve


def _stop_current():
    if _current is not None:
        _current.stop()


def _execv(path, args):
    _stop_current()
    return _real_execv(path, args)


def _execve(path, args, env):
    _stop_current()
    return _real_execve(path, args, env)
