"""etwtrace: make Python functions visible to native profilers.

Stack-sampling mode (the default) runs every Python function through its
own small native thunk, so native stack samplers (ETW, perf, gdb, the
stacks our in-process sessions attach to events) see one distinct return
address per Python function; a ``PythonFunction`` event (and on Linux a
perf map entry) maps each thunk back to the function. Instrumented mode
writes ``PythonFunctionPush``/``PythonFunctionPop`` for every call instead.
All events come from the provider "Python"
(99a10640-320d-4b37-9e26-c311d86da7ab); record them with
``traceloggingdynamic.Session`` or ``python -m etwtrace --capture``.

Both API generations work::

    with etwtrace.tracing(with_threads=False):     # seed generation
        etwtrace.custom_mark("text")
    token = etwtrace.enable(); etwtrace.disable(token)
    etwtrace.enable_if("USE_TRACING", with_threads=True)

    with etwtrace.StackSamplingTracer():           # later generation
        etwtrace.mark("marker event")
        with etwtrace.mark_range("start/stop span"):
            ...
    etwtrace.enable_if("ENABLE_VAR", "TYPE_VAR")   # TYPE_VAR: stack | instrumented
"""

import os as _os
import sys as _sys
import threading as _threading

from . import _etwtrace
from ._sampler import Sampler, SamplerStats

__all__ = (
    'tracing', 'enable', 'disable', 'enable_if', 'custom_mark', 'StackSamplingTracer', 'InstrumentedTracer',
    'mark', 'mark_range', 'is_active', 'get_ignored_files', 'get_include_prefixes', 'Sampler', 'SamplerStats',
)
__version__ = _etwtrace.__version__

_tracer = None  # the active tracer, if any (one per process)

# The package's own files and threading never get thunks or events (and
# the built-in sampler leaves them out at the root of its stacks).
_OWN_FILES = frozenset(f for f in (__file__, _etwtrace.__file__, _threading.__file__,
                                   *(_os.path.join(_os.path.dirname(__file__), name)
                                     for name in ('__main__.py', '_sampler.py', '_capture.py'))) if f)

if hasattr(_os, 'register_at_fork'):
    _os.register_at_fork(after_in_child=_etwtrace._after_fork_child)


def get_ignored_files():
    """The active tracer's live set of source file names whose functions are
    never traced (a throwaway empty set when no tracer is active: filters
    belong to a tracer, see ``_Tracer.ignore``)."""
    return _etwtrace.get_ignored_files()


def get_include_prefixes():
    """The active tracer's live list of path prefixes; when not empty, only
    files under them are traced (a throwaway empty list when no tracer is
    active)."""
    return _etwtrace.get_include_prefixes()


class _RangeMark:
    """Context manager writing a PythonMark start (opcode 1) and stop (opcode 2)."""

    __slots__ = ('mark',)

    def __init__(self, mark):
        self.mark = mark

    def __enter__(self):
        _etwtrace.write_mark(self.mark, 1)
        return self

    def __exit__(self, *exc_info):
        _etwtrace.write_mark(self.mark, 2)


class _NullRange:
    """What mark_range() returns when no tracer is active."""

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        pass


class _Tracer:
    """Common part of StackSamplingTracer and InstrumentedTracer."""

    _mode = None

    def __init__(self, with_threads=True):
        self._with_threads = bool(with_threads)
        self._token = None
        # This tracer's filters: in force while it is enabled, and only then.
        self._ignored_files = set()
        self._include_prefixes = []

    def __enter__(self):
        self.enable()
        return self

    def __exit__(self, *exc_info):
        self.disable()

    def __repr__(self):
        state = 'enabled' if self._token is not None else 'disabled'
        return f'<{type(self).__name__} {state}>'

    def enable(self):
        """Starts tracing the calling thread and threads started from now on.

        RuntimeError when a trace is already active, or (stack sampling) when
        another frame-evaluation hook such as CPython's ``-X perf`` is.
        """
        global _tracer
        self.ignore(*_OWN_FILES)
        self._token = _etwtrace.enable(self._mode, self._with_threads, self._ignored_files, self._include_prefixes)
        _tracer = self

    def disable(self):
        """Stops tracing (Pops are written for frames still running)."""
        global _tracer
        if self._token is None:
            return
        token, self._token = self._token, None
        if _tracer is self:
            _tracer = None
        _etwtrace.disable(token)

    def ignore(self, *files):
        """Never trace functions whose source file is one of `files`, while
        this tracer is enabled (other tracers have their own filters; a
        function already seen keeps its decision until the next enable)."""
        self._ignored_files.update(files)

    def include(self, *prefixes):
        """While this tracer is enabled, trace only files under these
        prefixes (all files while the list is empty)."""
        self._include_prefixes.extend(prefixes)

    def _active(self):
        """True when this tracer is the enabled one; else warns as the
        module-level marks do, and marks write nothing."""
        if self._token is not None and _tracer is self:
            return True
        _warn_inactive(stacklevel=4)
        return False

    def mark(self, mark):
        """Writes a PythonMark event with this text (a RuntimeWarning and
        nothing written when this tracer is not enabled)."""
        _check_text(mark)
        if self._active():
            _etwtrace.write_mark(mark, 0)

    def mark_range(self, mark):
        """Context manager: PythonMark start on entry, stop on exit."""
        _check_text(mark)
        return _RangeMark(mark) if self._active() else _NullRange()

    def _mark_stack(self, mark):
        """Writes a PythonStackSample event (sessions attach the native stack)."""
        _check_text(mark)
        if self._active():
            _etwtrace.write_mark(mark, 3)

    def _get_technical_info(self):
        return _etwtrace.info()


class StackSamplingTracer(_Tracer):
    """Python functions appear in native stacks through per-function thunks."""

    _mode = 'stack'


class InstrumentedTracer(_Tracer):
    """PythonFunctionPush/Pop events on every Python and builtin call."""

    _mode = 'instrumented'


# ---- seed generation ---------------------------------------------------------

def enable(with_threads=False):
    """Starts stack-sampling tracing of the calling thread (and of threads
    started later when `with_threads`). Returns a token for disable()."""
    tracer = StackSamplingTracer(with_threads=with_threads)
    tracer.enable()
    return tracer


def disable(token=None):
    """Stops the trace started by enable() (`token` is what it returned)."""
    if isinstance(token, _Tracer):
        if token._token is None:
            raise RuntimeError('this trace is not enabled')
        token.disable()
    elif token is None and _tracer is not None:
        _tracer.disable()
    else:
        raise RuntimeError('etwtrace is not enabled' if _tracer is None else f'{token!r} is not a trace token')


class tracing:
    """Context manager: ``with etwtrace.tracing(with_threads=False): ...``
    traces the block in stack-sampling mode."""

    def __init__(self, with_threads=False):
        self._with_threads = with_threads
        self._token = None

    def __enter__(self):
        self._token = enable(self._with_threads)
        return self._token

    def __exit__(self, *exc_info):
        token, self._token = self._token, None
        if token is not None:
            disable(token)


def custom_mark(text):
    """Writes a PythonMark event with this text through the active tracer
    (or while the built-in sampler runs); without either, a RuntimeWarning
    and nothing is written (as mark())."""
    _check_text(text)
    if _tracer is not None or _etwtrace.sampler_active():
        _etwtrace.write_mark(text, 0)
    else:
        _warn_inactive()


# PythonStackSample from C directly: no frame of ours between the caller and
# the event (instrumented mode reports it as the builtin "_stack_mark"). With
# no trace active it warns and writes nothing, as mark() does.
_stack_mark = _etwtrace._stack_mark


_TRACE_TYPES = {'stack': StackSamplingTracer, '': StackSamplingTracer,
                'instrumented': InstrumentedTracer, 'instrument': InstrumentedTracer}


def _running_etwtrace_cli():
    """True when this interpreter runs `python -m etwtrace` (never traced)."""
    argv = list(getattr(_sys, 'orig_argv', None) or [])
    for i, arg in enumerate(argv[1:], 1):
        if arg == '-m':
            return i + 1 < len(argv) and argv[i + 1].split('.')[0] == 'etwtrace'
        if arg.startswith('-m'):
            return arg[2:].split('.')[0] == 'etwtrace'
        if not arg.startswith('-') or arg == '-':
            return False
    main = _sys.modules.get('__main__')
    spec = getattr(main, '__spec__', None)
    return bool(spec and (spec.name or '').split('.')[0] == 'etwtrace')


def _env_on(var):
    value = _os.environ.get(var)
    return value is not None and value.strip().lower() not in ('0', 'no', 'false')


def enable_if(enable_var, type_var=None, *, with_threads=None):
    """Enables tracing only when the environment variable `enable_var` is set
    to something other than "0", "no" or "false" (any case); returns the
    token (the tracer), or None when tracing stays off.

    Two call forms: ``enable_if("VAR", with_threads=True)`` (stack sampling)
    and ``enable_if(ENABLE_VAR, TYPE_VAR)``, where the environment variable
    TYPE_VAR selects "stack" (default) or "instrumented". An empty
    `enable_var` means always. `python -m etwtrace` itself is never traced.
    """
    if isinstance(type_var, bool):  # enable_if("VAR", True): the seed form, positionally
        with_threads, type_var = type_var, None
    if enable_var and not _env_on(enable_var):
        return None
    if _running_etwtrace_cli():
        return None
    if _tracer is not None:
        return None
    trace_type = (_os.environ.get(type_var, '') if type_var else '').strip().lower()
    cls = _TRACE_TYPES.get(trace_type)
    if cls is None:
        raise ValueError(f"'{trace_type}' (from {type_var}) is not a supported trace type. "
                         "Use 'stack' or 'instrumented'.")
    tracer = cls(with_threads=True if with_threads is None else with_threads)
    tracer.enable()
    return tracer


# ---- later generation: module-level marks ------------------------------------

def is_active():
    """True while a tracer is enabled or the built-in sampler runs."""
    return _tracer is not None or _etwtrace.sampler_active()


def _warn_inactive(stacklevel=3):
    import warnings
    warnings.warn('Unable to mark when global tracer is not enabled', RuntimeWarning, stacklevel=stacklevel)


def _check_text(text):
    if not isinstance(text, str):
        raise TypeError(f'mark text must be a str, not {type(text).__name__}')


def mark(name):
    """Writes a PythonMark event with this text (while a tracer is enabled or
    the built-in sampler runs)."""
    _check_text(name)
    if _tracer is not None:
        _tracer.mark(name)
    elif _etwtrace.sampler_active():
        _etwtrace.write_mark(name, 0)
    else:
        _warn_inactive()


def mark_range(name):
    """Context manager writing PythonMark start/stop events around a block."""
    _check_text(name)
    if _tracer is not None:
        return _tracer.mark_range(name)
    if _etwtrace.sampler_active():
        return _RangeMark(name)
    _warn_inactive()
    return _NullRange()


def _mark_stack(name):
    """Writes a PythonStackSample event through the active tracer."""
    _check_text(name)
    if _tracer is not None:
        _tracer._mark_stack(name)
    elif _etwtrace.sampler_active():
        _etwtrace.write_mark(name, 3)
    else:
        _warn_inactive()
