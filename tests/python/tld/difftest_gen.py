"""Seeded random call sequences on ``EventBuilder`` for the differential tests.

``SequenceGenerator(reference_module).generate(seed)`` returns a ``Sequence``:
a constructor call followed by calls of ``reset``, every ``add_*`` method,
``check_state`` and ``str``. The same seed always gives the same sequence, so
a failure report names a seed and ``python tests/python/tld/difftest_gen.py SEED``
prints it as a runnable program annotated with the oracle's outcomes.

The ``add_*`` methods are discovered from the reference class by
introspection (there must be exactly 62); what values to generate for each is
decided from its name (``add_<type>[_seq]``), and an unknown method name is an
error, so a method can never be left out silently.

Sequences mix valid and invalid arguments (ranges, types, encodings, lengths,
positional and keyword styles) and a few scenarios that drive a builder to its
limits: the 128 field slots, exactly 32768 bytes of metadata and exactly
65536 bytes of data (one byte below, at and above each limit), and sequence
counts around 65535. Large values are built from a few runs of repeated
items so that reports can show them as short expressions.
"""

from __future__ import annotations

import array
import ctypes
import dataclasses
import decimal
import fractions
import inspect
import math
import random
import struct
import sys
import uuid

ADD_METHOD_COUNT = 62
META_LIMIT = 32768
DATA_LIMIT = 65536

_PTR64 = ctypes.sizeof(ctypes.c_void_p) == 8
_I8, _U8 = (-2**7, 2**7 - 1, 1), (0, 2**8 - 1, 1)
_I16, _U16 = (-2**15, 2**15 - 1, 2), (0, 2**16 - 1, 2)
_I32, _U32 = (-2**31, 2**31 - 1, 4), (0, 2**32 - 1, 4)
_I64, _U64 = (-2**63, 2**63 - 1, 8), (0, 2**64 - 1, 8)
_IPTR, _UPTR = (_I64, _U64) if _PTR64 else (_I32, _U32)

# Value kind of each add_* method, keyed by the name without 'add_' and '_seq'.
# Integer kinds carry (min, max, packed size); uint8 is 0..255 (D3).
INT_KINDS = {
    'int8': _I8, 'uint8': _U8, 'int16': _I16, 'uint16': _U16,
    'int32': _I32, 'uint32': _U32, 'int64': _I64, 'uint64': _U64,
    'intptr': _IPTR, 'uintptr': _UPTR, 'bool32': _I32, 'filetime_int64': _I64,
    'hexint32': _U32, 'hexint64': _U64, 'hexintptr': _UPTR,
}
FLOAT_KINDS = {'float32': 4, 'float64': 8}
OTHER_KINDS = {
    'zstr16': 'text', 'zstr8': 'text', 'str16': 'text', 'str8': 'text',
    'zstr16_bytes_utf16le': 'utf16', 'str16_bytes_utf16le': 'utf16',
    'zstr8_bytes': 'raw', 'str8_bytes': 'raw', 'cbinary_bytes': 'raw', 'binary_bytes': 'raw',
    'guid': 'uuid', 'guid_bytes_le': 'fixed16', 'systemtime_bytes': 'fixed16',
    'sid_bytes': 'sid', 'struct': 'struct',
}

RESET_U8 = ('level', 'opcode', 'version', 'channel')
RESET_U16 = ('id', 'task')


# ---------------------------------------------------------------------------
# Helper value types (also defined in rendered programs).

class Idx:
    """An integer-like object: struct accepts it through ``__index__``."""

    def __init__(self, value: int):
        self.value = value

    def __index__(self) -> int:
        return self.value

    def __repr__(self) -> str:
        return f'Idx({self.value!r})'


class FakeUUID:
    """Duck-typed UUID: the reference only reads ``.bytes_le``."""

    def __init__(self, bytes_le: bytes):
        self.bytes_le = bytes_le

    def __repr__(self) -> str:
        return f'FakeUUID({self.bytes_le!r})'


class Iter:
    """Iterable without ``len()``: the reference needs ``len`` (TypeError)."""

    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)

    def __repr__(self) -> str:
        return f'Iter({self.items!r})'


HELPER_SOURCE = '''\
import contextlib, struct
from array import array
from decimal import Decimal
from fractions import Fraction
from uuid import UUID

def _f64(hex_bits):  # a float from its IEEE bits (NaN payloads survive)
    return struct.unpack('<d', bytes.fromhex(hex_bits))[0]

class Idx:
    def __init__(self, value): self.value = value
    def __index__(self): return self.value

class FakeUUID:
    def __init__(self, bytes_le): self.bytes_le = bytes_le

class Iter:
    def __init__(self, items): self.items = items
    def __iter__(self): return iter(self.items)
'''


# ---------------------------------------------------------------------------
# Calls and sequences.

@dataclasses.dataclass
class Call:
    """One operation on a builder: ``__init__``, ``__str__``, or a method."""
    op: str
    args: tuple = ()
    kwargs: dict = dataclasses.field(default_factory=dict)

    def invoke(self, module, eb):
        """Run the call; ``__init__`` returns the new builder."""
        if self.op == '__init__':
            return module.EventBuilder(*self.args, **self.kwargs)
        if self.op == '__str__':
            return str(eb)
        return getattr(eb, self.op)(*self.args, **self.kwargs)

    def source(self, compact: bool = True) -> str:
        parts = [render(a, compact) for a in self.args]
        parts += [f'{k}={render(v, compact)}' for k, v in self.kwargs.items()]
        arglist = ', '.join(parts)
        if self.op == '__init__':
            return f'eb = tld.EventBuilder({arglist})'
        if self.op == '__str__':
            return 'str(eb)'
        return f'eb.{self.op}({arglist})'


@dataclasses.dataclass
class Sequence:
    seed: int
    scenario: str
    calls: list


def render_program(calls, outcomes=None, module_import='import traceloggingdynamic as tld',
                   compact=True, trailer=True) -> str:
    """A runnable program for ``calls``. ``outcomes`` (one string per call, or
    None) are written as comments; calls whose outcome starts with 'raises'
    are wrapped so that the program keeps going."""
    lines = [HELPER_SOURCE, module_import, '']
    for i, call in enumerate(calls):
        outcome = outcomes[i] if outcomes and i < len(outcomes) else None
        text = call.source(compact)
        comment = f'  # [{i}] {outcome}' if outcome else f'  # [{i}]'
        if outcome and outcome.startswith('raises') and call.op != '__init__':
            text = f'with contextlib.suppress(Exception): {text}'
        lines.append(text + comment)
    if trailer:
        lines += ['', 'print(eb._get_meta_data())',
                  'print(bytes(eb._get_event_desc()))  # raises ValueError in the error state']
    return '\n'.join(lines)


# ---------------------------------------------------------------------------
# Rendering values as Python expressions.

_RUN_THRESHOLD = 24
_MAX_RUNS = 12


def _runs(seq):
    runs = []
    for item in seq:
        if runs and runs[-1][0] == item and type(runs[-1][0]) is type(item):
            runs[-1][1] += 1
        else:
            runs.append([item, 1])
    return runs


def _render_runs(value, compact):
    """``b'x' * 40 + b'y'`` style for long values made of few runs."""
    if isinstance(value, (bytes, bytearray)):
        runs = _runs(value)
        if len(runs) <= _MAX_RUNS:
            body = ' + '.join(repr(bytes([b])) + (f' * {n}' if n > 1 else '') for b, n in runs)
            return body if isinstance(value, bytes) else f'bytearray({body})'
    elif isinstance(value, str):
        runs = _runs(value)
        if len(runs) <= _MAX_RUNS:
            return ' + '.join(repr(c) + (f' * {n}' if n > 1 else '') for c, n in runs)
    else:  # list or tuple
        runs = _runs(value)
        if len(runs) <= _MAX_RUNS:
            if isinstance(value, list):
                return ' + '.join(f'[{render(x, compact)}]' + (f' * {n}' if n > 1 else '') for x, n in runs)
            return ' + '.join(f'({render(x, compact)},)' + (f' * {n}' if n > 1 else '') for x, n in runs)
    if compact:
        text = repr(value)
        return f'<{type(value).__name__} of length {len(value)}: {text[:60]}...>'
    return None


def render(value, compact: bool = True) -> str:
    """A Python expression for ``value`` (an abbreviation only when ``compact``
    and the value is long and irregular)."""
    if isinstance(value, float):
        if math.isnan(value):
            return f"_f64('{struct.pack('<d', value).hex()}')"
        if math.isinf(value):
            return "float('inf')" if value > 0 else "-float('inf')"
        return repr(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**40:
        # 2**64 - 1 reads better than 18446744073709551615.
        magnitude = abs(value)
        for exponent in (magnitude.bit_length() - 1, magnitude.bit_length()):
            rest = magnitude - 2**exponent
            if abs(rest) <= 8:
                text = f'2**{exponent}' + (f' + {rest}' if rest > 0 else f' - {-rest}' if rest < 0 else '')
                return text if value > 0 else f'-({text})'
        return repr(value)
    if isinstance(value, (bytes, bytearray, str, list, tuple)) and len(value) > _RUN_THRESHOLD:
        text = _render_runs(value, compact)
        if text is not None:
            return text
    if isinstance(value, list):
        return '[' + ', '.join(render(x, compact) for x in value) + ']'
    if isinstance(value, tuple):
        inner = ', '.join(render(x, compact) for x in value)
        return f'({inner},)' if len(value) == 1 else f'({inner})'
    if isinstance(value, uuid.UUID):
        return f"UUID('{value}')"
    if isinstance(value, memoryview):
        return f'memoryview({render(value.tobytes(), compact)})'
    return repr(value)


# ---------------------------------------------------------------------------
# Method discovery.

@dataclasses.dataclass
class MethodSpec:
    name: str
    params: list          # [(name, default or inspect.Parameter.empty)], without self
    base: str             # the name without 'add_' and '_seq'
    is_seq: bool
    kind: object          # 'text', 'raw', ..., ('int', lo, hi, size) or ('float', size)

    @property
    def value_param(self) -> str:
        return self.params[1][0]

    @property
    def slots(self) -> int:
        """Field slots a successful call uses (§5.4)."""
        return 2 if self.is_seq or self.base == 'binary_bytes' else 1


def discover_add_methods(eventbuilder_class) -> list:
    """The public ``add_*`` methods of ``eventbuilder_class`` as MethodSpecs."""
    specs = []
    for name, function in sorted(vars(eventbuilder_class).items()):
        if not name.startswith('add_') or not callable(function):
            continue
        params = [(p.name, p.default) for p in inspect.signature(function).parameters.values()][1:]
        is_seq = name.endswith('_seq')
        base = name[len('add_'):-len('_seq')] if is_seq else name[len('add_'):]
        if base in INT_KINDS:
            kind = ('int',) + INT_KINDS[base]
        elif base in FLOAT_KINDS:
            kind = ('float', FLOAT_KINDS[base])
        elif base in OTHER_KINDS:
            kind = OTHER_KINDS[base]
        else:
            raise KeyError(f'difftest_gen does not know how to generate values for {name}')
        specs.append(MethodSpec(name, params, base, is_seq, kind))
    if len(specs) != ADD_METHOD_COUNT:
        raise AssertionError(f'expected {ADD_METHOD_COUNT} add_* methods, found {len(specs)}')
    return specs


# ---------------------------------------------------------------------------
# The generator.

_TEXT_ATOMS = ['a', 'hello', 'Z', ' ', '0', 'é', 'ß', 'ﬁ', '中文', 'Ω', '\u00ff', '\uffff', '\U0001F600',
               '\U0010FFFF', '\0', 'x\0y', '\t\n']
_LONE_SURROGATES = ['\ud800', '\udbff', '\udc00', '\udfff']
_BYTE_ALPHABET = [0, 0, 0, 1, 0x41, 0x61, 0x7F, 0x80, 0xC3, 0xA9, 0xFF]
_SPECIAL_FLOATS = [
    0.0, -0.0, 1.5, -2.25, 1e-45, 1e-46, 5e-324, 1.401298464324817e-45,
    3.4028234663852886e38,                        # FLT_MAX
    float.fromhex('0x1.fffffefffffffp+127'),      # just below the float32 rounding edge
    float.fromhex('0x1.ffffffp+127'),             # rounds to infinity as float32
    -float.fromhex('0x1.ffffffp+127'), 1e39, 1e300, -1e300, 1.7976931348623157e308,
    math.nan, -math.nan, struct.unpack('<d', bytes.fromhex('010000000000f87f'))[0],
    struct.unpack('<d', bytes.fromhex('0100000000fff07f'))[0],   # signalling-NaN bits
    math.inf, -math.inf, 16777217.0,
]


class SequenceGenerator:
    """Generates ``Sequence`` objects from seeds (see module docstring)."""

    SCENARIOS = (('plain', 0.70), ('fill_slots', 0.07), ('data_limit', 0.08), ('meta_limit', 0.05),
                 ('count_limit', 0.02), ('reset_heavy', 0.08))

    def __init__(self, reference_module):
        self.methods = discover_add_methods(reference_module.EventBuilder)
        self.by_name = {m.name: m for m in self.methods}
        reset_params = inspect.signature(reference_module.EventBuilder.reset).parameters
        self.reset_params = [(p.name, p.default) for p in reset_params.values()][1:]
        self.out_types = [v for k, v in vars(reference_module.OutType).items() if not k.startswith('__')]
        self.rng = random.Random(0)

    # -- sequences ---------------------------------------------------------

    def generate(self, seed: int) -> Sequence:
        self.rng = random.Random(seed)
        r = self.rng.random()
        for scenario, weight in self.SCENARIOS:
            if r < weight:
                break
            r -= weight
        calls = getattr(self, '_scenario_' + scenario)()
        return Sequence(seed, scenario, calls)

    def _scenario_plain(self):
        rng = self.rng
        calls = [self.constructor()]
        if rng.random() < 0.9:
            calls.append(self.reset_call(valid=rng.random() < 0.85))
        count = min(1 + int(rng.expovariate(1 / 10)), 60)
        for _ in range(count):
            calls.append(self.random_op())
        return calls

    def _scenario_reset_heavy(self):
        rng = self.rng
        calls = [self.constructor()]
        for _ in range(rng.randint(3, 25)):
            r = rng.random()
            if r < 0.45:
                calls.append(self.reset_call(valid=rng.random() < 0.4))
            elif r < 0.6:
                calls.append(Call('check_state'))
            elif r < 0.7:
                calls.append(Call('__str__'))
            else:
                calls.append(self.add_call())
        return calls

    def _scenario_fill_slots(self):
        """Fill the 128 field slots (sometimes exactly, sometimes one over)."""
        rng = self.rng
        calls = [self.constructor(valid=True), self.reset_call(valid=True)]
        target = rng.choice([126, 127, 128, 128, 129, 130])
        slots = 0
        while slots < target:
            spec = rng.choice(self.methods)
            if spec.slots > target - slots and rng.random() < 0.5:
                continue
            calls.append(self.valid_add_call(spec))
            slots += spec.slots
        for _ in range(rng.randint(1, 4)):
            calls.append(rng.choice([Call('check_state'), self.add_call(),
                                     self.valid_add_call(rng.choice(self.methods))]))
        if rng.random() < 0.7:
            calls.append(self.reset_call(valid=True))
            calls.append(self.valid_add_call(rng.choice(self.methods)))
        return calls

    def _scenario_meta_limit(self):
        """Metadata of exactly 32767, 32768 or 32769 bytes (event name + field names)."""
        rng = self.rng
        calls = [self.constructor(valid=True, meta_hint=True)]
        target = rng.choice([META_LIMIT - 1, META_LIMIT, META_LIMIT + 1])
        tag, tag_len = rng.choice([(0, 1), (0x0FE00000, 1), (0x1234000, 2), (0x0123457, 4)])
        if rng.random() < 0.25:
            # The event name alone reaches the target: 2 + tag + name + NUL.
            name = b'E' * (target - 3 - tag_len)
            calls.append(Call('reset', (name,), {'tag': tag} if tag else {}))
        else:
            records = []
            budget = target - 3 - tag_len - rng.randint(1, 3000)   # leave room for the event name
            while budget > 0 and len(records) < 5:
                spec = rng.choice(self.methods)
                name_len = min(budget - 2, rng.randint(1, 12000))
                if name_len < 0:
                    break
                records.append((spec, name_len))
                budget -= name_len + self._meta_record_extra(spec)
            used = sum(n + self._meta_record_extra(s) for s, n in records)
            event_name_len = target - 3 - tag_len - used
            if event_name_len < 0:
                records.pop()
                used = sum(n + self._meta_record_extra(s) for s, n in records)
                event_name_len = target - 3 - tag_len - used
            calls.append(Call('reset', (b'N' * event_name_len,), {'tag': tag} if tag else {}))
            for spec, name_len in records:
                calls.append(self.valid_add_call(spec, name=bytes([rng.choice(b'fgh')]) * name_len,
                                                 plain_meta=True))
        calls.append(self.valid_add_call(rng.choice(self.methods)))
        calls.append(Call('check_state'))
        if rng.random() < 0.6:
            calls.append(self.reset_call(valid=True))
            calls.append(self.valid_add_call(rng.choice(self.methods)))
        return calls

    def _meta_record_extra(self, spec):
        """Metadata bytes of a field beyond its name when added with
        ``plain_meta=True`` (NUL + type, + out type for the UTF8 defaults)."""
        return 3 if spec.base in ('str8', 'zstr8') or spec.base == 'struct' else 2

    def _scenario_data_limit(self):
        """Data of exactly 65535, 65536 or 65537 bytes, built from large fields."""
        rng = self.rng
        calls = [self.constructor(valid=True, data_hint=True), self.reset_call(valid=True)]
        final_is_seq = rng.random() < 0.3
        if final_is_seq:
            total = DATA_LIMIT + rng.choice([-1, 0, 1, rng.randint(2, 300)])
            final = self._non_numeric_seq_call(rng.randint(20, 400))
        else:
            total = DATA_LIMIT + rng.choice([-1, 0, 1])
            final = self._exact_data_call(rng.choice([1, 2, 4, 8, 16, 2, 3, rng.randint(2, 40)]))
        prefix = total - final[1]
        pieces = rng.choice([1, 1, 2, 3])
        sizes = []
        for _ in range(pieces - 1):
            size = rng.randint(2, max(2, prefix // pieces))
            sizes.append(size)
            prefix -= size
        sizes.append(prefix)
        for size in sizes:
            if size >= 2:
                calls.append(self._exact_data_call(size)[0])
        calls.append(final[0])
        for _ in range(rng.randint(0, 3)):
            calls.append(rng.choice([Call('check_state'), self.add_call(), Call('__str__')]))
        if rng.random() < 0.5:
            calls.append(self.reset_call(valid=True))
            calls.append(self.valid_add_call(rng.choice(self.methods)))
        return calls

    def _scenario_count_limit(self):
        """Non-numeric sequences with about 65535 elements, numeric ones with
        too many; the count is written (or rejected) before any element."""
        rng = self.rng
        calls = [self.constructor(valid=True), self.reset_call(valid=True)]
        name = rng.choice(['add_zstr8_bytes_seq', 'add_cbinary_bytes_seq', 'add_str8_bytes_seq',
                           'add_guid_seq', 'add_zstr8_seq', 'add_str16_seq', 'add_int8_seq', 'add_uint16_seq'])
        spec = self.by_name[name]
        count = rng.choice([65534, 65535, 65536, 65537, 70000])
        element = {'text': '', 'raw': b'', 'uuid': rng.choice([uuid.UUID(int=5), None])}.get(spec.kind, 1)
        if isinstance(spec.kind, tuple):
            element = rng.choice([1, 1, 1.5])
        values = [element] * count if rng.random() < 0.7 else (element,) * count
        calls.append(Call(name, (self.field_name(valid=True), values)))
        calls.append(Call('check_state'))
        calls.append(self.valid_add_call(rng.choice(self.methods)))
        return calls

    # -- exact data sizes --------------------------------------------------

    def _exact_data_call(self, size):
        """A valid add call whose data is exactly ``size`` bytes, as (call, size)."""
        rng = self.rng
        name = self.field_name(valid=True)
        fill = bytes([rng.choice([0x11, 0x22, 0xAB, 0x7F, 0x80])])
        options = []
        if size >= 2:
            options += [('add_cbinary_bytes', fill * (size - 2)), ('add_str8_bytes', fill * (size - 2)),
                        ('add_binary_bytes', fill * (size - 2)), ('add_int8_seq', [-1] * (size - 2)),
                        ('add_str8', 'x' * (size - 2))]
            if size >= 4:
                options.append(('add_zstr8', 'é' * ((size - 1) // 2) + 'y' * ((size - 1) % 2)))
                options.append(('add_cbinary_bytes_seq', self._counted_elements(size, fill)))
            if size % 2 == 0:
                options += [('add_str16', 'q' * ((size - 2) // 2)), ('add_zstr16', 'r' * ((size - 2) // 2)),
                            ('add_uint16_seq', [0xBEEF] * ((size - 2) // 2)),
                            ('add_zstr16_bytes_utf16le', b'a\0' * ((size - 2) // 2))]
            if (size - 2) % 8 == 0:
                options += [('add_uint64_seq', [2**64 - 1] * ((size - 2) // 8)),
                            ('add_float64_seq', [0.5] * ((size - 2) // 8))]
            if (size - 2) % 16 == 0:
                options.append(('add_guid_seq', [uuid.UUID(int=0x0123456789)] * ((size - 2) // 16)))
        if size >= 1:
            options += [('add_zstr8_bytes', fill.replace(b'\0', b'z') * (size - 1)),
                        ('add_zstr8_bytes', b'z' * (size - 1) + b'\0' + fill * 3)]
        fixed = {1: ['add_int8', 'add_uint8'], 2: ['add_int16', 'add_uint16'],
                 4: ['add_int32', 'add_float32', 'add_bool32', 'add_hexint32'],
                 8: ['add_int64', 'add_uint64', 'add_float64', 'add_filetime_int64', 'add_hexintptr'],
                 16: ['add_guid', 'add_systemtime_bytes', 'add_guid_bytes_le', 'add_sid_bytes']}
        if size in fixed:
            method = rng.choice(fixed[size])
            return self.valid_add_call(self.by_name[method], name=name), size
        method, value = rng.choice(options)
        return Call(method, (name, value)), size

    def _counted_elements(self, size, fill):
        """Elements of a counted-bytes sequence totalling ``size`` data bytes."""
        rng = self.rng
        remaining = size - 2
        elements = []
        while remaining >= 2:
            n = min(remaining - 2, rng.randint(0, max(0, remaining // 3)))
            if len(elements) >= 10:
                n = remaining - 2
            elements.append(fill * n)
            remaining -= n + 2
        if remaining:  # one byte left over: extend the last element
            elements[-1] += fill
        return elements

    def _non_numeric_seq_call(self, count):
        """A sequence of equal counted elements, as (call, data size)."""
        rng = self.rng
        element_len = rng.randint(0, 40)
        method = rng.choice(['add_cbinary_bytes_seq', 'add_str8_bytes_seq', 'add_zstr8_bytes_seq'])
        element = b'e' * element_len
        size = 2 + count * (element_len + (1 if method == 'add_zstr8_bytes_seq' else 2))
        return Call(method, (self.field_name(valid=True), [element] * count)), size

    # -- single operations -------------------------------------------------

    def random_op(self):
        r = self.rng.random()
        if r < 0.80:
            return self.add_call()
        if r < 0.88:
            return self.reset_call(valid=self.rng.random() < 0.7)
        if r < 0.94:
            return Call('check_state')
        return Call('__str__')

    def constructor(self, valid=False, meta_hint=False, data_hint=False):
        rng = self.rng
        sizes = [64, 100, 128, 512, 1000, 32768, 65536]
        odd = [63, 0, -5, 1, 40000, 70000, 10**30, 100.7, '100', ' 200 ', b'100', True, 64.0, Idx(100)]
        bad = [None, '1e3', math.nan, math.inf, 'x', [64]]

        def pick(default):
            r = rng.random()
            if meta_hint or data_hint:
                return rng.choice([default, 64, 100, 32768, 65536, 1000])
            if r < 0.6:
                return rng.choice(sizes)
            if r < 0.9 or valid:
                return rng.choice(odd)
            return rng.choice(bad)

        r = rng.random()
        if r < 0.3 and not (meta_hint or data_hint):
            return Call('__init__')
        meta, data = pick(128), pick(512)
        if r < 0.5:
            return Call('__init__', (meta,))
        if r < 0.8:
            return Call('__init__', (meta, data))
        return Call('__init__', (), self._maybe_subset({'initial_meta_len': meta, 'initial_data_len': data}))

    def _maybe_subset(self, kwargs):
        keys = [k for k in kwargs if self.rng.random() < 0.8] or list(kwargs)[:1]
        return {k: kwargs[k] for k in keys}

    def reset_call(self, valid=True):
        rng = self.rng
        values = {'name_utf8': self.event_name(valid)}
        for pname, _default in self.reset_params[1:]:
            if rng.random() < 0.3 or (not valid and rng.random() < 0.3):
                values[pname] = self.reset_value(pname, valid)
        return self._styled_call('reset', self.reset_params, values)

    def reset_value(self, pname, valid):
        rng = self.rng
        if pname == 'tag':
            pool_valid = [0, 0x200000, 0x0FE00000, 0x4000, 0x0FFFC000, 0x1234000, 0x1FC000, 1, 0x7F,
                          0x0FFFFFFF, 0x0123457, rng.randrange(2**28), True, False]
            pool_bad = [2**28, 0x10000000, -1, -2**40, 2**64, None, 0.0, 1.5, '0', Idx(0)]
            return rng.choice(pool_bad if not valid and rng.random() < 0.6 else pool_valid)
        lo, hi = (0, 255) if pname in RESET_U8 else (0, 65535) if pname in RESET_U16 else (0, 2**64 - 1)
        if valid or rng.random() < 0.4:
            return rng.choice([lo, hi, rng.randint(lo, hi), rng.randint(lo, min(hi, 20)), True])
        return rng.choice([hi + 1, -1, lo - 2**70, 2**100, None, 1.0, '1', Idx(hi), Idx(hi + 1), b'\x01'])

    def add_call(self):
        """A random add_* call with random (often invalid) arguments."""
        rng = self.rng
        spec = rng.choice(self.methods)
        values = {'name_utf8': self.field_name()}
        values[spec.value_param] = self.value_for(spec)
        for pname, _default in spec.params[2:]:
            if rng.random() < 0.4:
                values[pname] = self.tag_value() if pname == 'tag' else self.out_type_value()
        return self._styled_call(spec.name, spec.params, values, allow_malformed=True)

    def valid_add_call(self, spec, name=None, plain_meta=False):
        """An add call that succeeds on a valid builder with room to spare.
        With ``plain_meta`` the metadata record is just name, NUL, type (and
        the default out type of str8/zstr8, or the struct count)."""
        rng = self.rng
        values = {'name_utf8': name if name is not None else self.field_name(valid=True),
                  spec.value_param: self.valid_value(spec)}
        if not plain_meta:
            for pname, _default in spec.params[2:]:
                if rng.random() < 0.3:
                    values[pname] = rng.randrange(2**28) if pname == 'tag' else rng.choice(self.out_types)
        return self._styled_call(spec.name, spec.params, values)

    def _styled_call(self, op, params, values, allow_malformed=False):
        """Pass ``values`` positionally, by keyword, or mixed. A positional
        call must fill every parameter before the last one it passes."""
        rng = self.rng
        names = [p for p, _ in params]
        defaults = dict(params)
        style = rng.random()
        if style < 0.45:
            last = max(names.index(k) for k in values)
            args = tuple(values[n] if n in values else defaults[n] for n in names[:last + 1])
            call = Call(op, args)
        elif style < 0.75:
            keys = list(values)
            rng.shuffle(keys)
            call = Call(op, (), {k: values[k] for k in keys})
        else:
            split = rng.randint(1, len(values))
            positional = names[:split]
            args = tuple(values[n] if n in values else defaults[n] for n in positional)
            call = Call(op, args, {k: v for k, v in values.items() if k not in positional})
        if allow_malformed and rng.random() < 0.01:
            kind = rng.randrange(4)
            if kind == 0:
                call = Call(op, call.args + tuple([0] * (len(names) - len(call.args) + 1)), call.kwargs)
            elif kind == 1:
                call = Call(op, call.args, {**call.kwargs, 'value': 1})
            elif kind == 2:
                call = Call(op, call.args[:1], {})
            elif call.args:
                call = Call(op, call.args, {**call.kwargs, names[0]: call.args[0]})
        return call

    # -- values --------------------------------------------------------------

    def field_name(self, valid=False):
        rng = self.rng
        r = rng.random()
        if valid or r < 0.80:
            return rng.choice([b'f', b'x', b'count', b'Field_1', b'caf\xc3\xa9', b'\xe4\xb8\xad',
                               bytes(rng.choice(b'abcxyz_') for _ in range(rng.randint(1, 12)))])
        return rng.choice([b'', b'', b'a\0b', b'\0', bytearray(b'ba'), bytearray(b''), 'str_name',
                           b'\xff\xfe', b'caf\xe9', memoryview(b'mv'), None, b'n' * rng.randint(100, 3000),
                           bytearray(b'z' * rng.randint(50, 500))])

    def event_name(self, valid=True):
        rng = self.rng
        if valid or rng.random() < 0.5:
            return rng.choice([b'E', b'MyEvent', b'', b'Ev\xc3\xa9', bytearray(b'BA'),
                               bytes(rng.choice(b'ABCdef') for _ in range(rng.randint(1, 20))),
                               b'\xff', b'L' * rng.randint(100, 1000)])
        return rng.choice([b'a\0', b'\0', 'StrName', None, memoryview(b'mv'), 5, b'L' * rng.randint(30000, 33000)])

    def out_type_value(self):
        rng = self.rng
        if rng.random() < 0.6:
            return rng.choice(self.out_types)
        return rng.choice([0, 127, 128, 129, 255, 256, -1, -128, 2**64, 2**100, None, 0.0, 1.5, True, False,
                           '1', Idx(4)])

    def tag_value(self):
        rng = self.rng
        if rng.random() < 0.5:
            return rng.choice([0, rng.randrange(1, 2**28), 0x0FFFFFFF, 1])
        return rng.choice([0x7F, 0x80, 0x3FFF, 0x4000, 0x1FFFFF, 0x200000, 0xFE00000, 2**28, 0x10000000,
                           2**28 + 5, -1, -2**40, 2**100, None, 0.0, 0.5, True, False, Idx(3)])

    def value_for(self, spec):
        """A random value for ``spec`` (valid most of the time)."""
        rng = self.rng
        if spec.kind == 'struct':
            return rng.choice([1, 2, 127, rng.randint(1, 127), 0, 128, -1, 2**70, None, 1.5, True, Idx(2)])
        if not spec.is_seq:
            return self.scalar(spec.kind, bad_rate=0.25)
        r = rng.random()
        if r < 0.08:
            # No len(): TypeError in the reference, even for iterables.
            return rng.choice([None, 5, 1.5, Iter([self.scalar(spec.kind, 0.0)])])
        if r < 0.14:
            # Other containers with len() and iteration are accepted.
            element = self.scalar(spec.kind, 0.0)
            if isinstance(spec.kind, tuple):
                return rng.choice([range(rng.randint(0, 5)), b'\x01\x02\x03', bytearray(b'\x05'), {3, 1, 2},
                                   memoryview(b'\x07\x08'), array.array('h', [1, -2]), {element: None}])
            return rng.choice(['abc', b'ab', (), [], {element: None} if isinstance(element, (str, bytes)) else ()])
        r2 = rng.random()
        n = 0 if r2 < 0.1 else rng.randint(1, 8) if r2 < 0.9 else rng.randint(9, 300)
        bad_rate = rng.choice([0.0, 0.0, 0.02, 0.1])
        if n > 8 and rng.random() < 0.8:
            # Long sequences of a few runs keep reports short.
            value = self.scalar(spec.kind, bad_rate=bad_rate)
            items = [value] * n
            if rng.random() < 0.3:
                items[rng.randrange(n)] = self.scalar(spec.kind, bad_rate=0.3)
        else:
            items = [self.scalar(spec.kind, bad_rate=bad_rate) for _ in range(n)]
        return items if rng.random() < 0.7 else tuple(items)

    def scalar(self, kind, bad_rate):
        rng = self.rng
        bad = rng.random() < bad_rate
        if isinstance(kind, tuple) and kind[0] == 'int':
            _, lo, hi, _size = kind
            if bad:
                return rng.choice([lo - 1, hi + 1, 2**64, -2**63 - 1, 2**100, -2**100, 1.0, 0.5, math.nan,
                                   math.inf, None, '1', b'1', Idx(hi + 1), 2**63, -1 if lo == 0 else 2**32,
                                   decimal.Decimal(1), fractions.Fraction(2, 1)])
            r = rng.random()
            if r < 0.6:
                return rng.randint(lo, hi)
            if r < 0.9:
                extra = [127, 128, 255, -128, -1] if lo == 0 and hi == 255 else []
                return rng.choice([lo, hi, lo + 1, hi - 1, 0, 1] + extra + ([-1] if lo < 0 else []))
            return rng.choice([True, False, Idx(rng.randint(lo, hi)), Idx(hi)])
        if isinstance(kind, tuple) and kind[0] == 'float':
            if bad:
                return rng.choice([None, '1.5', b'x', 2**1024, complex(1, 2), -2**1030])
            r = rng.random()
            if r < 0.35:
                return rng.choice(_SPECIAL_FLOATS)
            if r < 0.55:
                return struct.unpack('<d', rng.randbytes(8))[0]
            if r < 0.7:
                return struct.unpack('<f', rng.randbytes(4))[0]
            if r < 0.8:
                # ints and other objects struct converts through __float__/__index__
                return rng.choice([0, 1, -7, 2**24 + 1, 2**53 + 1, 2**200, True, Idx(3),
                                   decimal.Decimal('1.1'), fractions.Fraction(1, 3)])
            return rng.uniform(-1e6, 1e6)
        if kind == 'text':
            if bad:
                return rng.choice([b'bytes', None, 5, bytearray(b'ba'), ['a']])
            return self.text(lone_surrogate_rate=0.08)
        if kind == 'raw':
            return self.raw_bytes(bad)
        if kind == 'utf16':
            return self.utf16_bytes(bad)
        if kind == 'uuid':
            if bad:
                return rng.choice([uuid.UUID(int=1).bytes_le, None, str(uuid.UUID(int=7)), 5,
                                   FakeUUID(bytes(range(16)))])
            return uuid.UUID(int=rng.getrandbits(128))
        if kind == 'fixed16':
            length = rng.choice([15, 17, 0, 32, 1]) if bad else 16
            return self._container(bytes(rng.choice(_BYTE_ALPHABET) for _ in range(length)))
        if kind == 'sid':
            return self.sid(bad)
        raise AssertionError(f'unknown kind {kind!r}')

    def valid_value(self, spec):
        rng = self.rng
        kind = spec.kind
        if kind == 'struct':
            return rng.randint(1, 127)
        if isinstance(kind, tuple) and kind[0] == 'int':
            single = lambda: rng.randint(kind[1], kind[2])  # noqa: E731
        elif isinstance(kind, tuple):
            single = lambda: rng.uniform(-1e6, 1e6)  # noqa: E731
        elif kind == 'text':
            single = lambda: self.text(lone_surrogate_rate=0.0)  # noqa: E731
        elif kind == 'raw':
            single = lambda: bytes(rng.choice(_BYTE_ALPHABET) for _ in range(rng.randint(0, 12)))  # noqa: E731
        elif kind == 'utf16':
            single = lambda: 'ab\0c'.encode('utf-16-le')[:rng.choice([0, 2, 4, 8])]  # noqa: E731
        elif kind == 'uuid':
            single = lambda: uuid.UUID(int=rng.getrandbits(128))  # noqa: E731
        elif kind == 'fixed16':
            single = lambda: bytes(rng.randrange(256) for _ in range(16))  # noqa: E731
        else:
            single = lambda: self.sid(False, plain=True)  # noqa: E731
        if spec.is_seq:
            return [single() for _ in range(rng.randint(0, 4))]
        return single()

    def text(self, lone_surrogate_rate):
        rng = self.rng
        r = rng.random()
        if r < 0.03:
            return rng.choice(['x', 'é', '\U0001F600', 'ab\0']) * rng.randint(100, 3000)
        atoms = []
        for _ in range(rng.choice([0, 1, 1, 2, 3, 5, 8])):
            if rng.random() < lone_surrogate_rate:
                atoms.append(rng.choice(_LONE_SURROGATES))
            else:
                atoms.append(rng.choice(_TEXT_ATOMS))
        return ''.join(atoms)

    def _container(self, data: bytes):
        """bytes, or the same content as bytearray / list / memoryview / array."""
        r = self.rng.random()
        if r < 0.75:
            return data
        if r < 0.9:
            return bytearray(data)
        if r < 0.96:
            return list(data)
        if r < 0.98:
            return memoryview(data)
        return array.array('B', data)

    def raw_bytes(self, bad):
        rng = self.rng
        if bad:
            # Items are reduced to 8 bits by the reference: array('h') items
            # are ints (not its buffer's bytes); str items and no len() fail.
            # A mapping has a len() but is no sequence: ctypes reports that as
            # "Can only assign sequence of same size" (ValueError), and so do we.
            return rng.choice(['text', None, 5, [256, 1000, -1, 0], [1, 2.5], (300, -300), [b'a'],
                               memoryview(b'm\0v'), range(3), array.array('h', [1, 300, -2]), Iter([1, 2]),
                               'x' * 16, {1: 'a'}, {}])
        r = rng.random()
        if r < 0.03:
            n = rng.randint(200, 5000)
            return bytes([rng.choice(_BYTE_ALPHABET)]) * n + bytes([rng.choice(_BYTE_ALPHABET)]) * rng.randint(0, 9)
        data = bytes(rng.choice(_BYTE_ALPHABET) for _ in range(rng.randint(0, 24)))
        if rng.random() < 0.05:
            return [b if rng.random() < 0.7 else rng.choice([256, 511, 1000, -1, -129, 2**40]) for b in data]
        return self._container(data)

    def utf16_bytes(self, bad):
        """UTF-16LE-ish bytes with 00 00 pairs at even and odd offsets."""
        rng = self.rng
        if bad:
            return rng.choice(['text', None, b'abc', b'\0', bytearray(b'a\0\0'), [0, 0]])
        units = [rng.choice([b'a\0', b'\0\0', b'\0a', b'a\0\0a', b'\xe9\0', b'=\xd8\0\xde', b'\0\0\0\0', b'zz'])
                 for _ in range(rng.randint(0, 6))]
        data = b''.join(units)
        if len(data) % 2:
            data = data + b'\0' if rng.random() < 0.8 else data
        return self._container(data) if rng.random() < 0.9 else data

    def sid(self, bad, plain=False):
        rng = self.rng
        count = rng.choice([0, 1, 2, 5, 15]) if rng.random() < 0.95 else 255
        data = bytes([1, count]) + bytes([0, 0, 0, 0, 0, 5]) + bytes(rng.randrange(256) for _ in range(4 * count))
        if plain:
            return data
        if bad:
            return rng.choice([data[:-1], data + b'\0', b'', b'\x01', bytearray(b'\x01'), b'\x01\x01' + b'\0' * 6,
                               [1, 300, 0, 0], None, 'sid'])
        return self._container(data)


def main(argv):
    """``python difftest_gen.py SEED [--full]``: print the sequence of SEED as a
    program, annotated with the oracle's outcome of each call."""
    import reference_impl
    if len(argv) < 2:
        print(main.__doc__)
        return 2
    seed = int(argv[1])
    oracle = reference_impl.oracle_module()
    sequence = SequenceGenerator(reference_impl.load_reference()).generate(seed)
    outcomes, eb = [], None
    for call in sequence.calls:
        try:
            result = call.invoke(oracle, eb)
            if call.op == '__init__':
                eb, result = result, None
            outcomes.append('ok' if result is None else f'returns {result!r}')
        except Exception as exc:  # the outcome is what we print
            outcomes.append(f'raises {type(exc).__name__}: {exc}')
            if call.op == '__init__':
                eb = oracle.EventBuilder()
                outcomes[-1] += ' (the test then uses EventBuilder())'
    print(f'# seed {seed}, scenario {sequence.scenario}; comments give the oracle outcome')
    print(render_program(sequence.calls, outcomes, compact='--full' not in argv))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
