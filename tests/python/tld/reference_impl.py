"""Load Microsoft's reference ``traceloggingdynamic`` 1.0.1 on any OS, and an
oracle that models our deliberate deviations (D1, D2, D3, D5) on top of it.

The reference is pure Python but Windows-only: the body of its ``Provider``
class calls ``ctypes.WinDLL`` while the module is imported. We load it with a
stand-in for ``ctypes.WinDLL`` installed only for the duration of the import.
The stand-in's functions are dummies (they return 0 and do nothing); none of
the reference's encoding code is modified.

The reference is installed under the same import name as our module, so it is
kept out of the import path (``pip install --no-deps --target .cache/reference
traceloggingdynamic==1.0.1``, done by the Makefile) and loaded from its file
under the module name ``tld_reference``. ``TLD_REFERENCE_PATH`` overrides the
location of its ``__init__.py``. The file is verified by SHA-256 so that a
different version (or our own module) can never silently serve as reference.

The oracle (``oracle_module``) is the reference with small, documented
overrides for the deviations in spec/traceloggingdynamic.md:

* D1 — data growth copies the old data, not the metadata.
* D2 — metadata errors exactly when more than 32768 bytes are needed, data
  exactly when more than 65536 bytes are needed, whatever the initial sizes.
* D3 — ``add_uint8``/``add_uint8_seq`` pack unsigned 0..255.
* D5 — a ``reset`` that raises ``struct.error`` leaves the error state.

D4 (our exception classes subclass both ``struct.error`` and
``OverflowError``/``TypeError``) needs no override: tests compare exceptions
with ``isinstance(ours, type(reference))``. D6 (thread safety) is not
observable in single-threaded differential tests.

Every oracle builder records which deviations actually changed its behaviour
compared with the unpatched reference in ``deviations`` (a list of tags), so
harness self-tests can compare oracle and reference where none applied.
"""

from __future__ import annotations

import ctypes
import hashlib
import importlib.util
import os
import pathlib
import struct
import sys
import types

REFERENCE_VERSION = '1.0.1'
# SHA-256 of traceloggingdynamic/__init__.py in the 1.0.1 wheel on PyPI.
REFERENCE_SHA256 = '5319c688ead7bca15e2757bdf3efd24600b5c7058f5009130e45c85329511e3d'
REFERENCE_MODULE_NAME = 'tld_reference'

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]
DEFAULT_REFERENCE_PATH = REPO_ROOT / '.cache' / 'reference' / 'traceloggingdynamic' / '__init__.py'

INSTALL_HINT = (f'pip install --no-deps --target {REPO_ROOT / ".cache" / "reference"} '
                f'traceloggingdynamic=={REFERENCE_VERSION}')

# The limits our implementation enforces exactly (D2).
META_LIMIT = 32768
DATA_LIMIT = 65536
FIELD_COUNT_ERR = 129  # the reference's error-state value of its field counter


class ReferenceUnavailable(RuntimeError):
    """The reference implementation file is missing or is not version 1.0.1."""


def reference_path() -> pathlib.Path:
    """Where the reference's ``__init__.py`` is expected."""
    override = os.environ.get('TLD_REFERENCE_PATH')
    return pathlib.Path(override) if override else DEFAULT_REFERENCE_PATH


def running_in_ci() -> bool:
    """True when ``CI`` is set, unless it is explicitly falsy ('', 0, false, no)."""
    value = os.environ.get('CI')
    return value is not None and value.strip().lower() not in ('', '0', 'false', 'no')


class _DummyWinFunction:
    """Stands in for a ctypes function of the ETW DLL: accepts ``restype``,
    ``argtypes`` and calls, returns 0 (ERROR_SUCCESS) and records the call."""

    def __init__(self, name: str, calls: list):
        self.__name__ = name
        self._calls = calls
        self.restype = None
        self.argtypes = None

    def __call__(self, *args):
        self._calls.append((self.__name__, args))
        return 0


class _DummyWinDLL:
    """Stands in for ``ctypes.WinDLL(name, mode=...)``: every exported function
    is a ``_DummyWinFunction``. Calls are recorded in ``DUMMY_DLL_CALLS``."""

    def __init__(self, name, mode=0, *args, **kwargs):
        self._name = name

    def __getattr__(self, name):
        if name.startswith('_'):
            raise AttributeError(name)
        function = _DummyWinFunction(name, DUMMY_DLL_CALLS)
        setattr(self, name, function)
        return function


DUMMY_DLL_CALLS: list = []

_reference_cache: types.ModuleType | None = None


def load_reference(windll_stand_in: type | None = None, module_name: str = REFERENCE_MODULE_NAME) -> types.ModuleType:
    """Import the reference module and return it (cached for the default
    stand-in; the benchmark passes its own stand-in and module name).

    Raises ``ReferenceUnavailable`` when the file is missing or has the wrong
    content; callers decide between skip and failure (see ``require_reference``).
    """
    global _reference_cache
    if windll_stand_in is None and _reference_cache is not None:
        return _reference_cache
    if sys.flags.optimize:
        # The reference signals several errors with `assert`; under -O it
        # behaves differently from the specification we test against.
        raise ReferenceUnavailable('the reference needs assertions: do not run these tests with python -O')
    path = reference_path()
    if not path.is_file():
        raise ReferenceUnavailable(
            f'reference traceloggingdynamic {REFERENCE_VERSION} not found at {path} '
            f'(set TLD_REFERENCE_PATH, or install it with: {INSTALL_HINT})')
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != REFERENCE_SHA256:
        raise ReferenceUnavailable(
            f'{path} is not traceloggingdynamic {REFERENCE_VERSION} '
            f'(sha256 {digest}, expected {REFERENCE_SHA256})')

    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    had_windll = hasattr(ctypes, 'WinDLL')
    saved_windll = getattr(ctypes, 'WinDLL', None)
    # The stand-in is needed only while the Provider class body runs; even on
    # Windows we use it so that loading the reference never registers with ETW.
    ctypes.WinDLL = windll_stand_in or _DummyWinDLL
    try:
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    finally:
        if had_windll:
            ctypes.WinDLL = saved_windll
        else:
            del ctypes.WinDLL
    if windll_stand_in is None:
        _reference_cache = module
    return module


def require_reference() -> types.ModuleType:
    """``load_reference()`` for pytest: a missing reference skips loudly on a
    developer machine and fails in CI (``CI`` set) so it can never go unnoticed."""
    import pytest
    try:
        return load_reference()
    except ReferenceUnavailable as exc:
        if running_in_ci() or reference_path().is_file():
            # In CI a missing reference is an error; a wrong file is always one.
            pytest.fail(f'REFERENCE IMPLEMENTATION UNAVAILABLE: {exc}', pytrace=False)
        pytest.skip(f'!!! DIFFERENTIAL TESTS NOT RUN: {exc} !!!')


# ---------------------------------------------------------------------------
# Reading the reference's hidden state in the shape of our inspection hooks.

def reference_meta_data(eb) -> tuple[bytes, bytes]:
    """``(meta, data)`` of a reference builder as our ``_get_meta_data()``
    returns them: the used bytes, with the u16 size slot set to the metadata
    length (``Provider.write`` would write it there)."""
    meta_pos = eb._meta_pos
    meta = ctypes.string_at(ctypes.addressof(eb._meta), meta_pos)
    if meta_pos >= 2:
        meta = struct.pack('<H', meta_pos) + meta[2:]
    data = ctypes.string_at(ctypes.addressof(eb._data), eb._data_pos)
    return meta, data


def reference_event_desc(eb) -> bytes:
    """The 16-byte descriptor (raises ``ValueError`` in the error state)."""
    return bytes(eb._get_event_desc())


def reference_traits(provider) -> bytes:
    """The reference provider's traits blob (name-mangled private field)."""
    return bytes(provider._Provider__traits)


# ---------------------------------------------------------------------------
# The oracle: the reference plus our deviations.

class _Uint8Packer:
    """Replaces the reference's signed-byte packer during ``add_uint8*`` (D3).

    The reference packs uint8 with ``struct.Struct('=b')``; we pack with '=B'.
    Only ``size`` and ``pack_into`` are used by the reference. The first value
    whose outcome differs between the two formats is recorded as 'D3'.
    """

    size = 1
    _unsigned = struct.Struct('=B')
    _signed = struct.Struct('=b')

    def __init__(self, deviations: list):
        self._deviations = deviations

    @staticmethod
    def _outcome(packer, value):
        try:
            return packer.pack(value)
        except Exception as exc:  # only the outcome's kind matters here
            return type(exc)

    def pack_into(self, buffer, offset, value):
        if self._outcome(self._unsigned, value) != self._outcome(self._signed, value):
            self._deviations.append('D3')
        return self._unsigned.pack_into(buffer, offset, value)


def _doubled(capacity: int, needed: int) -> int:
    """The reference's growth arithmetic: double until ``needed`` fits."""
    while capacity < needed:
        capacity *= 2
    return capacity


def _make_oracle_class(ref: types.ModuleType) -> type:
    base = ref.EventBuilder

    class OracleEventBuilder(base):
        """Reference EventBuilder with deviations D1, D2, D3 and D5 applied."""

        def __init__(self, *args, **kwargs):
            self.deviations = []
            super().__init__(*args, **kwargs)

        # D5: a reset rejected while packing the descriptor (struct.error)
        # leaves the error state instead of a half-rewritten descriptor.
        def reset(self, *args, **kwargs):
            try:
                return super().reset(*args, **kwargs)
            except struct.error:
                if self._EventBuilder__field_count <= 128:
                    self.deviations.append('D5')
                self._EventBuilder__field_count = FIELD_COUNT_ERR
                raise

        # D3: uint8 is unsigned. The reference's code runs unchanged; only the
        # class-level packer it reads (EventBuilder.__struct_i8) is swapped for
        # the duration of the call. Tests are single-threaded.
        def add_uint8(self, *args, **kwargs):
            return self._with_uint8_packer(super().add_uint8, args, kwargs)

        def add_uint8_seq(self, *args, **kwargs):
            return self._with_uint8_packer(super().add_uint8_seq, args, kwargs)

        def _with_uint8_packer(self, method, args, kwargs):
            saved = base._EventBuilder__struct_i8
            base._EventBuilder__struct_i8 = _Uint8Packer(self.deviations)
            try:
                return method(*args, **kwargs)
            finally:
                base._EventBuilder__struct_i8 = saved

        # D2: metadata fails exactly when more than 32768 bytes are needed.
        # The capacity follows the reference's doubling when that stays within
        # the limit (capacity is invisible, but matching it keeps the oracle
        # step-for-step identical to the reference where no deviation applies).
        def _EventBuilder__grow_meta(self, needed_len):
            old = self._meta
            reference_len = _doubled(len(old), needed_len)
            if needed_len > META_LIMIT:
                self._EventBuilder__raise_ValueError('Metadata too long')
            if reference_len > META_LIMIT:
                self.deviations.append('D2')  # the reference would have raised
            new = (ctypes.c_byte * min(reference_len, META_LIMIT))()
            ctypes.memmove(new, old, len(old))
            self._meta = new

        # D1 + D2: data grows from the data buffer (the reference copies the
        # metadata buffer here) and fails exactly above 65536 bytes.
        def _EventBuilder__grow_data(self, needed_len):
            old = self._data
            # The reference starts doubling from the *metadata* capacity.
            reference_len = _doubled(len(self._meta), needed_len)
            if needed_len > DATA_LIMIT:
                if reference_len <= DATA_LIMIT:
                    self.deviations.append('D2')
                self._EventBuilder__raise_ValueError('Data too long')
            if reference_len > DATA_LIMIT:
                self.deviations.append('D2')  # the reference would have raised
            if self._data_pos > 0:
                self.deviations.append('D1')  # the reference loses these bytes
            new_len = max(min(reference_len, DATA_LIMIT), needed_len)
            new = (ctypes.c_byte * new_len)()
            ctypes.memmove(new, old, len(old))
            self._data = new
            return True

    OracleEventBuilder.__qualname__ = OracleEventBuilder.__name__ = 'EventBuilder'
    return OracleEventBuilder


_oracle_cache: types.SimpleNamespace | None = None


def oracle_module() -> types.SimpleNamespace:
    """The reference module's public surface with the oracle EventBuilder."""
    global _oracle_cache
    if _oracle_cache is None:
        ref = load_reference()
        _oracle_cache = types.SimpleNamespace(
            EventBuilder=_make_oracle_class(ref),
            Provider=ref.Provider,
            OutType=ref.OutType,
            providerid_from_name=ref.providerid_from_name,
            providerid_from_name_bytes_utf8=ref.providerid_from_name_bytes_utf8,
            __all__=ref.__all__,
        )
    return _oracle_cache
