"""Differential tests: our C ``traceloggingdynamic`` against the reference.

The reference is Microsoft's pure-Python ``traceloggingdynamic`` 1.0.1, loaded
by ``reference_impl`` (see there for where it must be installed). Our module
is compared with the *oracle*: the reference with our deliberate deviations
D1, D2, D3 and D5 modelled on top (spec/traceloggingdynamic.md).

* ``test_ours_matches_oracle``: thousands of seeded call sequences from
  ``difftest_gen``. After every call both sides must agree on the exception
  (both or neither; ours an instance of the reference's type, which allows
  D4's subclasses), the return value, ``_get_meta_data()``,
  ``_get_event_desc()``, ``name_utf8`` and ``check_state()``. A failure names
  the seed and prints the calls so far as a program.
* The public surface (names, signatures, defaults, OutType values), provider
  ids and ``Provider`` construction are compared directly.
* Harness self-tests check the generator's coverage, that the oracle equals
  the unpatched reference wherever no deviation applies, and that the runner
  does detect differences. They need only the reference.

Environment: ``TLD_DIFF_SEEDS`` (default 10000) and ``TLD_DIFF_SEED_BASE``
(default 0) choose the seeds; ``TLD_DIFF_VERBOSE=1`` (with ``pytest -s``)
prints every call before running it, to locate crashes.
"""

from __future__ import annotations

import array
import dataclasses
import inspect
import math
import os
import random
import struct
import sys
import uuid
from collections import Counter

import pytest

import difftest_gen
import reference_impl
from difftest_gen import Call, SequenceGenerator

SEED_COUNT = int(os.environ.get('TLD_DIFF_SEEDS', '10000'))
SEED_BASE = int(os.environ.get('TLD_DIFF_SEED_BASE', '0'))
CHUNK_SIZE = 250
CHUNK_COUNT = max(1, math.ceil(SEED_COUNT / CHUNK_SIZE))
VERBOSE = os.environ.get('TLD_DIFF_VERBOSE') == '1'
# Seeds used by the harness self-tests (reference only).
HARNESS_SEEDS = range(2500)


# ---------------------------------------------------------------------------
# Fixtures.

@pytest.fixture(scope='session')
def ref():
    return reference_impl.require_reference()


@pytest.fixture(scope='session')
def oracle(ref):
    return reference_impl.oracle_module()


@pytest.fixture(scope='session')
def ours():
    try:
        import traceloggingdynamic as module
    except ImportError as exc:
        pytest.fail(f'cannot import our traceloggingdynamic: {exc!r}', pytrace=False)
    if not hasattr(module.EventBuilder, '_get_meta_data'):
        pytest.fail(f'{getattr(module, "__file__", module)} is not our implementation (no '
                    'EventBuilder._get_meta_data): was the reference installed into this environment?',
                    pytrace=False)
    return module


@pytest.fixture(scope='session')
def generator(ref):
    return SequenceGenerator(ref)


# ---------------------------------------------------------------------------
# Sides: how to observe a builder of each implementation.

@dataclasses.dataclass
class Side:
    label: str
    module: object
    meta_data: object   # eb -> (meta, data)
    event_desc: object  # eb -> 16 bytes


def reference_side(label, module):
    return Side(label, module, reference_impl.reference_meta_data, reference_impl.reference_event_desc)


def our_side(module):
    return Side('ours', module, lambda eb: eb._get_meta_data(), lambda eb: bytes(eb._get_event_desc()))


@pytest.fixture(scope='session')
def oracle_side(oracle):
    return reference_side('oracle', oracle)


@pytest.fixture(scope='session')
def ours_side(ours):
    return our_side(ours)


# ---------------------------------------------------------------------------
# Outcomes and their comparison.

@dataclasses.dataclass
class Outcome:
    value: object = None
    exc: BaseException | None = None

    def describe(self, limit=400) -> str:
        if self.exc is not None:
            return f'raises {type(self.exc).__module__}.{type(self.exc).__qualname__}: {self.exc}'[:limit]
        text = 'returns ' + repr(self.value)
        return text if len(text) <= limit else text[:limit] + f'... ({len(text)} chars)'


def capture(function) -> Outcome:
    try:
        return Outcome(value=function())
    except Exception as exc:  # the exception is the outcome under comparison
        return Outcome(exc=exc)


def same_value(a, b) -> bool:
    """Equal and of the same type, recursively for tuples (bytes != bytearray)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    return a == b


def same_outcome(expected: Outcome, actual: Outcome) -> bool:
    """Both raise (ours an instance of the reference's exception type, D4) or
    both return the same value."""
    if expected.exc is not None or actual.exc is not None:
        return (expected.exc is not None and actual.exc is not None
                and isinstance(actual.exc, type(expected.exc)))
    return same_value(expected.value, actual.value)


def first_difference(a: bytes, b: bytes) -> str:
    n = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
    lo = max(0, n - 8)
    return (f'first difference at offset {n} (lengths {len(a)} vs {len(b)}):\n'
            f'    expected [{lo}:] {a[lo:n + 24].hex(" ")}\n'
            f'    ours     [{lo}:] {b[lo:n + 24].hex(" ")}')


OBSERVATIONS = ('_get_meta_data()', '_get_event_desc()', 'name_utf8', 'check_state()')


def observe(side: Side, eb) -> dict:
    return {
        '_get_meta_data()': capture(lambda: side.meta_data(eb)),
        '_get_event_desc()': capture(lambda: side.event_desc(eb)),
        'name_utf8': capture(lambda: eb.name_utf8),
        'check_state()': capture(eb.check_state),
    }


# ---------------------------------------------------------------------------
# Running one sequence on two sides.

@dataclasses.dataclass
class Mismatch:
    seed: int
    scenario: str
    step: int
    aspect: str
    calls: list
    outcomes: list        # expected side's outcome of each call, as text
    expected: Outcome
    actual: Outcome
    expected_label: str
    actual_label: str
    expected_builder: object

    def report(self) -> str:
        call = self.calls[self.step]
        lines = [f'seed {self.seed} (scenario {self.scenario}): after call [{self.step}] '
                 f'{call.source()[:300]}',
                 f'  {self.aspect} differs',
                 f'  {self.expected_label}: {self.expected.describe()}',
                 f'  {self.actual_label}: {self.actual.describe()}']
        if self.expected.exc is None and self.actual.exc is None:
            exp, act = self.expected.value, self.actual.value
            if isinstance(exp, tuple) and isinstance(act, tuple) and len(exp) == len(act) == 2:
                for part, x, y in zip(('meta', 'data'), exp, act):
                    if isinstance(x, bytes) and isinstance(y, (bytes, bytearray)) and x != y:
                        lines.append(f'  {part}: {first_difference(x, bytes(y))}')
            elif isinstance(exp, bytes) and isinstance(act, (bytes, bytearray)):
                lines.append('  ' + first_difference(exp, bytes(act)))
        lines.append(f'program so far ({self.expected_label} outcomes in comments; the whole sequence: '
                     f'python tests/python/tld/difftest_gen.py {self.seed}):')
        outcomes = list(self.outcomes)
        outcomes[self.step] = (f'{self.expected_label}: {self.expected.describe(200)} / '
                               f'{self.actual_label}: {self.actual.describe(200)}'
                               if self.aspect == 'the call' else
                               f'{outcomes[self.step]}; then {self.aspect} differs')
        program = difftest_gen.render_program(self.calls[:self.step + 1], outcomes)
        lines += ['    ' + line for line in program.splitlines()]
        return '\n'.join(lines)


def run_sequence(sequence, expected: Side, actual: Side, observer=None) -> Mismatch | None:
    """Run ``sequence`` on both sides, comparing after every call. Returns the
    first mismatch. ``observer(call, outcome, builder)`` sees the expected
    side's steps (for coverage statistics)."""
    calls, outcomes = [], []
    exp_eb = act_eb = None

    def mismatch(aspect, exp, act):
        return Mismatch(sequence.seed, sequence.scenario, len(calls) - 1, aspect, calls, outcomes,
                        exp, act, expected.label, actual.label, exp_eb)

    for call in sequence.calls:
        calls.append(call)
        if VERBOSE:
            print(f'seed {sequence.seed} [{len(calls) - 1}] {call.source()[:200]}', file=sys.stderr, flush=True)
        exp = capture(lambda: call.invoke(expected.module, exp_eb))
        act = capture(lambda: call.invoke(actual.module, act_eb))
        outcomes.append(exp.describe(160) if exp.exc is not None else
                        'ok' if exp.value is None or call.op == '__init__' else exp.describe(160))
        if call.op == '__init__':
            if exp.exc is None and act.exc is None:
                exp_eb, act_eb = exp.value, act.value
                outcomes[-1] = 'ok'
            elif not same_outcome(exp, act):
                return mismatch('the call', exp, act)
            else:
                # Both constructors rejected the arguments alike; continue
                # with default builders so the rest of the sequence still runs.
                outcomes[-1] = exp.describe(160)
                calls.append(Call('__init__'))
                outcomes.append('ok (the test continues with a default builder)')
                exp_eb, act_eb = expected.module.EventBuilder(), actual.module.EventBuilder()
        elif not same_outcome(exp, act):
            return mismatch('the call', exp, act)
        if observer is not None:
            observer(call, exp, exp_eb)
        exp_obs, act_obs = observe(expected, exp_eb), observe(actual, act_eb)
        for aspect in OBSERVATIONS:
            if not same_outcome(exp_obs[aspect], act_obs[aspect]):
                return mismatch(aspect, exp_obs[aspect], act_obs[aspect])
    return None


def seeds_of_chunk(chunk: int) -> range:
    start = SEED_BASE + chunk * CHUNK_SIZE
    return range(start, min(start + CHUNK_SIZE, SEED_BASE + SEED_COUNT))


# ---------------------------------------------------------------------------
# The differential test proper.

@pytest.mark.parametrize('chunk', range(CHUNK_COUNT),
                         ids=[f'seeds{seeds_of_chunk(c).start}-{seeds_of_chunk(c).stop - 1}'
                              for c in range(CHUNK_COUNT)])
def test_ours_matches_oracle(chunk, generator, oracle_side, ours_side):
    seeds = seeds_of_chunk(chunk)
    mismatches = []
    for seed in seeds:
        found = run_sequence(generator.generate(seed), oracle_side, ours_side)
        if found is not None:
            mismatches.append(found)
    if mismatches:
        others = ', '.join(str(m.seed) for m in mismatches[1:21])
        pytest.fail(f'{len(mismatches)} of {len(seeds)} sequences differ. First:\n{mismatches[0].report()}\n'
                    f'other mismatching seeds in this chunk: {others or "none"}', pytrace=False)


# ---------------------------------------------------------------------------
# Public surface.

def _comparable_parameters(callable_object):
    """[(name, kind, default)] without a leading ``self``."""
    params = list(inspect.signature(callable_object).parameters.values())
    if params and params[0].name == 'self':
        params = params[1:]
    return [(p.name, p.kind, p.default) for p in params]


def _signature_text(callable_object):
    """The signature without annotations, e.g. ``(self, name_utf8, tag=0)``."""
    signature = inspect.signature(callable_object)
    return str(signature.replace(
        parameters=[p.replace(annotation=inspect.Parameter.empty) for p in signature.parameters.values()],
        return_annotation=inspect.Signature.empty))


def _public_callables(ref):
    """(qualified name, reference object, path of attribute names) of every
    public function, class and method of the reference."""
    for name in ref.__all__:
        obj = getattr(ref, name)
        if callable(obj) and name != 'OutType':
            yield name, obj, (name,)
    for class_name in ('EventBuilder', 'Provider'):
        cls = getattr(ref, class_name)
        for name, member in sorted(vars(cls).items()):
            if not name.startswith('_') and callable(member):
                yield f'{class_name}.{name}', member, (class_name, name)


def test_public_names_and_signatures_match(ref, ours):
    assert list(ours.__all__) == list(ref.__all__)
    problems = []
    for qualname, ref_obj, path in _public_callables(ref):
        obj = ours
        for part in path:
            obj = getattr(obj, part, None)
        if obj is None:
            problems.append(f'{qualname}: missing')
            continue
        try:
            ours_params = _comparable_parameters(obj)
        except (ValueError, TypeError) as exc:
            problems.append(f'{qualname}: inspect.signature fails on ours ({exc}); add a __text_signature__')
            continue
        ref_params = _comparable_parameters(ref_obj)
        if [(n, k) for n, k, _ in ours_params] != [(n, k) for n, k, _ in ref_params] or not all(
                d1 is d2 or same_value(d1, d2) for (_, _, d1), (_, _, d2) in zip(ref_params, ours_params)):
            problems.append(f'{qualname}: signature {_signature_text(obj)} differs from the '
                            f'reference {_signature_text(ref_obj)}')
    assert not problems, 'public surface differs:\n' + '\n'.join(problems)


def test_outtype_values_match(ref, ours):
    expected = {k: v for k, v in vars(ref.OutType).items() if not k.startswith('__')}
    actual = {k: getattr(ours.OutType, k, None) for k in expected}
    assert actual == expected
    assert all(type(v) is int for v in actual.values()), 'OutType attributes must be plain ints'


def test_inspection_hooks_exist(ours):
    eb = ours.EventBuilder()
    assert eb.name_utf8 == b''
    assert callable(eb._get_meta_data) and callable(eb._get_event_desc)
    assert callable(getattr(ours.Provider, '_get_traits', None))


# ---------------------------------------------------------------------------
# Provider ids.

_UNICODE_POOL = ['a', 'Z', 'My', '.', 'ß', 'ﬁ', 'ﬀ', 'ŉ', 'ΐ', 'ı', 'i', 'İ', 'ǅ', 'σ', 'ς', 'é',
                 '\U00010428', '\U0001F600', '中', '\0', ' ', '\uffff']
_SURROGATES = ['\ud800', '\udbff', '\udc00']


def _random_names(count, seed):
    rng = random.Random(seed)
    names = ['MyProvider', 'MYPROVIDER', 'TestProvider', 'MyCompany.MyComponent', '', 'Straße', 'P']
    for _ in range(count):
        pool = _UNICODE_POOL + (_SURROGATES if rng.random() < 0.15 else [])
        names.append(''.join(rng.choice(pool) for _ in range(rng.randint(0, 10))))
    return names


def test_providerid_from_name_matches(ref, ours):
    arguments = _random_names(400, seed=1) + [b'bytes', None, 5, bytearray(b'x')]
    for argument in arguments:
        expected = capture(lambda: ref.providerid_from_name(argument))
        actual = capture(lambda: ours.providerid_from_name(argument))
        assert same_outcome(expected, actual), (
            f'providerid_from_name({argument!r}): reference {expected.describe()}, ours {actual.describe()}')


def test_providerid_from_name_bytes_utf8_matches(ref, ours):
    arguments = []
    for name in _random_names(400, seed=2):
        encoded = name.encode('utf-8', 'surrogatepass')
        arguments.append(encoded)
        if len(arguments) % 5 == 0:
            arguments.append(bytearray(encoded))
    arguments += [b'\xff', b'\xc3', b'\xc0\x80', b'\xed\xa0\x80', b'ok\xfe', b'\xf4\x90\x80\x80', b'\xe2\x82',
                  bytearray(b'\xff'), memoryview(b'My'), 'str', None, 5, b'']
    for argument in arguments:
        expected = capture(lambda: ref.providerid_from_name_bytes_utf8(argument))
        actual = capture(lambda: ours.providerid_from_name_bytes_utf8(argument))
        assert same_outcome(expected, actual), (
            f'providerid_from_name_bytes_utf8({argument!r}): reference {expected.describe()}, '
            f'ours {actual.describe()}')


# ---------------------------------------------------------------------------
# Provider construction.

def _provider_cases():
    group = uuid.UUID('00112233-4455-6677-8899-aabbccddeeff')
    explicit = uuid.UUID('b3864c38-4273-58c5-545b-8b3608343471')
    # The traits length is a u16: names of 65532 (65513 with a group id) bytes
    # fit, one byte more raises struct.error in the reference.
    names = [b'MyProvider', b'P', b'MyCompany.MyComponent', b'Stra\xc3\x9fe', bytearray(b'BA'), b'',
             b'a\0b', b'\0', b'\xff', b'\xed\xa0\x80', b'x' * 300, b'n' * 65513, b'n' * 65514,
             b'n' * 65532, b'n' * 65533, 'str', None]
    cases = []
    for name in names:
        for id_ in (None, explicit):
            for group_id in (None, group):
                cases.append(((name,), {'id': id_, 'group_id': group_id}))
    rng = random.Random(3)
    for _ in range(60):
        name = bytes(rng.choice(b'ab.\xc3\xa9\0') for _ in range(rng.randint(0, 8)))
        args = (name, rng.choice([None, explicit, uuid.UUID(int=rng.getrandbits(128))]),
                rng.choice([None, group]))
        if rng.random() < 0.5:
            cases.append((args, {}))
        else:
            cases.append(((name,), {'id': args[1], 'group_id': args[2]}))
    # Non-UUID ids and group ids are used as given until .bytes_le is needed.
    cases += [((b'Q',), {'group_id': 'not-a-uuid'}), ((b'Q', b'\0' * 16), {}), ((b'Q',), {'throw_on_error': False})]
    return cases


def test_provider_construction_matches(ref, ours):
    problems = []
    for args, kwargs in _provider_cases():
        label = f'Provider{_call_text(args, kwargs)}'
        expected = capture(lambda: ref.Provider(*args, **kwargs))
        actual = capture(lambda: ours.Provider(*args, **kwargs))
        try:
            if (expected.exc is None) != (actual.exc is None) or (
                    expected.exc is not None and not isinstance(actual.exc, type(expected.exc))):
                problems.append(f'{label}: reference {expected.describe()}, ours {actual.describe()}')
                continue
            if expected.exc is not None:
                if isinstance(expected.exc, (ValueError, UnicodeDecodeError)) and \
                        expected.exc.args != actual.exc.args:
                    problems.append(f'{label}: exception args {actual.exc.args!r:.200} '
                                    f'!= reference {expected.exc.args!r:.200}')
                continue
            p_ref, p_ours = expected.value, actual.value
            checks = {
                'traits': (capture(lambda: reference_impl.reference_traits(p_ref)),
                           capture(lambda: p_ours._get_traits())),
                'str': (capture(lambda: str(p_ref)), capture(lambda: str(p_ours))),
                'id': (capture(lambda: p_ref.id), capture(lambda: p_ours.id)),
                'group_id': (capture(lambda: p_ref.group_id), capture(lambda: p_ours.group_id)),
                'name_utf8': (capture(lambda: p_ref.name_utf8), capture(lambda: p_ours.name_utf8)),
            }
            for what, (exp, act) in checks.items():
                if not same_outcome(exp, act):
                    problems.append(f'{label}: {what}: reference {exp.describe(200)}, ours {act.describe(200)}')
        finally:
            if actual.exc is None:
                actual.value.close()
    assert not problems, f'{len(problems)} Provider differences:\n' + '\n'.join(problems[:30])


def _call_text(args, kwargs):
    parts = [difftest_gen.render(a) for a in args] + [f'{k}={difftest_gen.render(v)}' for k, v in kwargs.items()]
    return '(' + ', '.join(parts)[:200] + ')'


# ---------------------------------------------------------------------------
# Worked examples of the spec (§8), on the oracle and on ours.

_EXAMPLE_MY_EVENT = [Call('__init__'), Call('reset', (b'MyEvent',)), Call('add_int32', (b'count', 5))]
_EXAMPLES = {
    '8.1': (_EXAMPLE_MY_EVENT,
            '12 00 00 4d 79 45 76 65 6e 74 00 63 6f 75 6e 74 00 07', '05 00 00 00',
            '00 00 00 0b 05 00 00 00 01 00 00 00 00 00 00 00'),
    '8.2': ([Call('__init__'),
             Call('reset', (b'Ev2', 4, 0x21), {'opcode': 1, 'id': 7, 'version': 2, 'tag': 0x0FE00000, 'task': 3}),
             Call('add_str8', (b'msg', 'h\u00e9')), Call('add_zstr16', (b'w', 'A\U0001F600')),
             Call('add_zstr8_bytes', (b'z', b'ab\0cd'))],
            '13 00 7f 45 76 32 00 6d 73 67 00 97 23 77 00 01 7a 00 02',
            '03 00 68 c3 a9 41 00 3d d8 00 de 00 00 61 62 00',
            '07 00 02 0b 04 01 03 00 21 00 00 00 00 00 00 00'),
    '8.3': ([Call('__init__'), Call('reset', (b'Seq',), {'tag': 0x1234000}),
             Call('add_uint16_seq', (b'v', [1, 2, 0xFFFF]), {'out_type': 4, 'tag': 0x0ABCDEF}),
             Call('add_struct', (b'pt', 2)), Call('add_float64', (b'x', 1.5)),
             Call('add_guid', (b'g', uuid.UUID('01234567-89ab-cdef-0123-456789abcdef'))),
             Call('add_binary_bytes', (b'bin', b'\xAA\xBB'))],
            '20 00 89 0d 53 65 71 00 76 00 c6 84 85 af 9b 6f 70 74 00 98 02 78 00 0c 67 00 0f 62 69 6e 00 0e',
            '03 00 01 00 02 00 ff ff 00 00 00 00 00 00 f8 3f 67 45 23 01 ab 89 ef cd 01 23 45 67 89 ab cd ef '
            '02 00 aa bb', None),
    '8.4': ([Call('__init__'), Call('reset', (b'T4',), {'tag': 0x0123457}),
             Call('add_int8', (b'a', -1), {'tag': 0x10000000}), Call('add_uint8', (b'b', 127), {'out_type': 128}),
             Call('add_zstr8', (b'c', 'x'))],
            '19 00 80 c8 e8 57 54 34 00 61 00 83 80 80 80 80 00 62 00 84 00 63 00 82 23', 'ff 7f 78 00', None),
    # §8.5 with D1: the first field's value survives the data growth.
    '8.5-D1': ([Call('__init__', (64, 64)), Call('reset', (b'E',)),
                Call('add_cbinary_bytes', (b'a', b'\x11' * 40)), Call('add_cbinary_bytes', (b'b', b'\x22' * 40))],
               '0b 00 00 45 00 61 00 19 62 00 19', ('28 00 ' + '11 ' * 40 + '28 00 ' + '22 ' * 40).strip(), None),
}


@pytest.mark.parametrize('which', ['oracle', 'ours'])
@pytest.mark.parametrize('example', sorted(_EXAMPLES))
def test_spec_worked_example(example, which, request):
    side = request.getfixturevalue('oracle_side' if which == 'oracle' else 'ours_side')
    calls, meta_hex, data_hex, desc_hex = _EXAMPLES[example]
    eb = calls[0].invoke(side.module, None)
    for call in calls[1:]:
        call.invoke(side.module, eb)
    meta, data = side.meta_data(eb)
    assert meta.hex(' ') == meta_hex
    assert data.hex(' ') == data_hex
    if desc_hex is not None:
        assert side.event_desc(eb).hex(' ') == desc_hex


def test_spec_provider_ids(ref, ours):
    expected = {'MyProvider': 'b3864c38-4273-58c5-545b-8b3608343471',
                'TestProvider': '97c801ee-c28b-5bb6-2ae4-11e18fe6137a',
                'MyCompany.MyComponent': 'ce5fa4ea-ab00-5402-8b76-9f76ac858fb5',
                '': '4445ee6c-fd5a-5b15-047a-5866ffa76aa6',
                'Straße': 'eb1afb46-d4b9-5cd4-2177-a8fec8316c67', 'P': '3857f44b-d9e4-5b43-5bd0-84ae013c326b'}
    for module in (ref, ours):
        assert {name: str(module.providerid_from_name(name)) for name in expected} == expected


# ---------------------------------------------------------------------------
# Harness self-tests (reference only).

def test_generator_discovers_all_62_add_methods(ref, generator):
    discovered = [m.name for m in generator.methods]
    assert len(discovered) == 62
    assert discovered == sorted(n for n in vars(ref.EventBuilder) if n.startswith('add_'))
    for spec in generator.methods:
        if spec.base == 'struct':
            assert [p for p, _ in spec.params] == ['name_utf8', 'field_count', 'tag'], spec
        else:
            assert spec.value_param.startswith('vals_' if spec.is_seq else 'val_'), spec
            assert [p for p, _ in spec.params] == ['name_utf8', spec.value_param, 'out_type', 'tag'], spec


def test_generator_covers_methods_and_call_styles(generator):
    """Over the seeds of the differential run, every add_* method is called
    positionally and by keyword, and every scenario occurs."""
    styles, scenarios = Counter(), Counter()
    for seed in range(SEED_BASE, SEED_BASE + SEED_COUNT):
        sequence = generator.generate(seed)
        scenarios[sequence.scenario] += 1
        for call in sequence.calls:
            styles[call.op, 'positional' if call.args and not call.kwargs else
                   'keyword' if call.kwargs and not call.args else 'mixed' if call.args else 'none'] += 1
    missing = [(m.name, style) for m in generator.methods for style in ('positional', 'keyword', 'mixed')
               if styles[m.name, style] < 3]
    missing += [('reset', style) for style in ('positional', 'keyword', 'mixed') if styles['reset', style] < 3]
    assert not missing, f'never (or rarely) generated: {missing}'
    assert set(scenarios) == {name for name, _ in SequenceGenerator.SCENARIOS}, scenarios
    assert styles['check_state', 'none'] > 0 and styles['__str__', 'none'] > 0


@pytest.fixture(scope='session')
def oracle_self_run(generator, oracle_side):
    """Oracle against itself over HARNESS_SEEDS, with outcome statistics."""
    stats = {'ok': Counter(), 'raised': Counter(), 'exc_types': Counter(), 'messages': Counter(),
             'deviations': Counter(), 'max_meta': 0, 'max_data': 0}

    def observer(call, outcome, eb):
        if outcome.exc is None:
            stats['ok'][call.op] += 1
            stats['max_meta'] = max(stats['max_meta'], eb._meta_pos)
            stats['max_data'] = max(stats['max_data'], eb._data_pos)
        else:
            stats['raised'][call.op] += 1
            stats['exc_types'][type(outcome.exc).__name__] += 1
            stats['messages'][str(outcome.exc).split('.')[0]] += 1
        stats['deviations'].update(set(eb.deviations))

    mismatches = [m for m in (run_sequence(generator.generate(seed), oracle_side, oracle_side, observer)
                              for seed in HARNESS_SEEDS) if m is not None]
    return stats, mismatches


def test_oracle_against_itself_is_consistent(oracle_self_run):
    _, mismatches = oracle_self_run
    assert not mismatches, mismatches[0].report()


def test_generated_outcomes_cover_success_failure_and_limits(oracle_self_run, generator):
    stats, _ = oracle_self_run
    for spec in generator.methods:
        assert stats['ok'][spec.name] > 0, f'{spec.name} never succeeded'
        assert stats['raised'][spec.name] > 0, f'{spec.name} never failed'
    assert stats['ok']['reset'] > 0 and stats['raised']['reset'] > 0
    for exc_type in ('error', 'OverflowError', 'TypeError', 'ValueError', 'AssertionError', 'IndexError',
                     'AttributeError', 'UnicodeEncodeError', 'UnicodeDecodeError'):
        assert stats['exc_types'][exc_type] > 0, f'no call raised {exc_type}'
    for message in ('Too many fields (limit 128)', 'Metadata too long', 'Data too long',
                    'EventBuilder is in an error state', 'Invalid tag value'):
        assert stats['messages'][message] > 0, f'never hit: {message}'
    assert stats['max_meta'] == reference_impl.META_LIMIT, 'metadata never reached exactly 32768 bytes'
    assert stats['max_data'] == reference_impl.DATA_LIMIT, 'data never reached exactly 65536 bytes'
    for deviation in ('D1', 'D2', 'D3', 'D5'):
        assert stats['deviations'][deviation] > 0, f'deviation {deviation} never exercised'


def test_oracle_equals_reference_where_no_deviation_applies(generator, ref, oracle_side):
    """Each oracle patch must only change behaviour where its deviation
    applies: a difference from the unpatched reference is allowed only after
    the oracle recorded a deviation, and every deviation must show up."""
    reference = reference_side('reference', ref)
    clean = 0
    explained = Counter()
    for seed in HARNESS_SEEDS:
        found = run_sequence(generator.generate(seed), oracle_side, reference)
        if found is None:
            clean += 1
            continue
        deviations = set(found.expected_builder.deviations) if found.expected_builder is not None else set()
        assert deviations, 'oracle differs from the reference without a deviation:\n' + found.report()
        explained.update(deviations)
    assert clean >= len(HARNESS_SEEDS) // 2, f'only {clean} sequences free of deviations'
    assert set(explained) == {'D1', 'D2', 'D3', 'D5'}, explained


def test_runner_reports_differences(generator, ref, oracle_side):
    """The runner must catch a data difference (§8.5, D1) and an exception
    difference (D3), and its report must name the seed and the call."""
    reference = reference_side('reference', ref)
    growth = difftest_gen.Sequence(-1, 'handmade', _EXAMPLES['8.5-D1'][0])
    found = run_sequence(growth, oracle_side, reference)
    assert found is not None and found.step == 3 and found.aspect == '_get_meta_data()'
    report = found.report()
    assert 'seed -1' in report and "eb.add_cbinary_bytes(b'b', b'\"' * 40)" in report
    uint8 = difftest_gen.Sequence(-2, 'handmade', [Call('__init__'), Call('reset', (b'E',)),
                                                  Call('add_uint8', (b'u', 200))])
    found = run_sequence(uint8, oracle_side, reference)
    assert found is not None and found.step == 2 and found.aspect == 'the call'
    assert found.actual.exc is not None and found.expected.exc is None


def test_reference_loader_refuses_wrong_file(tmp_path, monkeypatch):
    wrong = tmp_path / '__init__.py'
    wrong.write_text('# not the reference\n')
    monkeypatch.setenv('TLD_REFERENCE_PATH', str(wrong))
    monkeypatch.setattr(reference_impl, '_reference_cache', None)
    with pytest.raises(reference_impl.ReferenceUnavailable, match='is not traceloggingdynamic 1.0.1'):
        reference_impl.load_reference()
    monkeypatch.setenv('TLD_REFERENCE_PATH', str(tmp_path / 'missing.py'))
    with pytest.raises(reference_impl.ReferenceUnavailable, match='not found'):
        reference_impl.load_reference()


def test_rendered_values_are_runnable_python():
    """Reports print calls as Python; those expressions must evaluate back."""
    namespace = {}
    exec(difftest_gen.HELPER_SOURCE, namespace)  # noqa: S102 - the helpers rendered programs start with
    values = [b'\x11' * 40 + b'\0', bytearray(b'ab' * 30), ['x'] * 30, (1,) * 25 + (2,), 2**64 - 1, -(2**63) - 1,
              2**100, math.inf, -math.inf, 'é' * 50, uuid.UUID(int=5), memoryview(b'm'), (7,), 1e300,
              array.array('h', [1, -2]), {1: None}, difftest_gen.Idx(3), difftest_gen.Iter([1, 2]),
              difftest_gen.FakeUUID(b'x' * 16)]
    for value in values:
        text = difftest_gen.render(value, compact=False)
        again = eval(text, namespace)  # noqa: S307 - our own rendering of test values
        if isinstance(value, memoryview):
            assert again.tobytes() == value.tobytes()
        elif isinstance(value, (difftest_gen.Idx, difftest_gen.Iter, difftest_gen.FakeUUID)):
            assert repr(again) == repr(value) or vars(again) == vars(value), text
        else:
            assert same_value(value, again), text
    nan = struct.unpack('<d', bytes.fromhex('0100000000fff07f'))[0]
    assert struct.pack('<d', eval(difftest_gen.render(nan), namespace)) == struct.pack('<d', nan)
