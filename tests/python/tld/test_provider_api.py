"""Provider API tests (spec §6, preface "What Provider does beyond the
reference", deviation D6) and the exact public signatures of every method.

What this file is for: it checks the user-visible behaviour of ``Provider`` on
a machine where nobody listens (Linux test hosts): attributes, open/close,
context-manager use, ``is_enabled`` argument handling, ``write`` return values
and errors, concurrent ``write`` from many threads (D6), and that
``inspect.signature`` of every public method and constructor has the spec's
parameter names, kinds and defaults (callers pass them by keyword).
"""

import inspect
import sys
import threading
import uuid

import pytest

import traceloggingdynamic as tld
from traceloggingdynamic import EventBuilder, Provider

pytestmark = pytest.mark.skipif(sys.platform == 'win32',
                                reason='assumes no ETW session listens (non-Windows host)')

GROUP = uuid.UUID('00112233-4455-6677-8899-aabbccddeeff')


def built_event(name=b'Ev'):
    eb = EventBuilder()
    eb.reset(name, level=4, keyword=0x21)
    eb.add_int32(b'n', 1)
    eb.add_str8(b's', 'hello')
    return eb


@pytest.fixture
def provider():
    p = Provider(b'TldTests.ProviderApi')
    yield p
    p.close()


# ---------------------------------------------------------------------------
# attributes

def test_attributes_default_id():
    name = b'MyProvider'
    p = Provider(name)
    try:
        assert p.name_utf8 is name
        assert isinstance(p.id, uuid.UUID)
        assert p.id == uuid.UUID('b3864c38-4273-58c5-545b-8b3608343471')
        assert p.id == tld.providerid_from_name('MyProvider')
        assert p.group_id is None
    finally:
        p.close()


def test_attributes_explicit_id_and_group():
    pid = uuid.UUID('12345678-1234-5678-1234-567812345678')
    p = Provider(b'Any.Name', id=pid, group_id=GROUP)
    try:
        assert p.id == pid
        assert p.group_id == GROUP
        assert str(p) == 'Provider "Any.Name" {12345678-1234-5678-1234-567812345678}'
    finally:
        p.close()


def test_attributes_bytearray_name_kept():
    name = bytearray(b'Byte.Array.Provider')
    p = Provider(name)
    try:
        assert p.name_utf8 is name
        assert p.id == tld.providerid_from_name('Byte.Array.Provider')
    finally:
        p.close()


def test_constructor_keywords():
    p = Provider(name_utf8=b'Kw.Provider', id=None, group_id=None, throw_on_error=True)
    try:
        assert p.is_open()
        assert p.id == tld.providerid_from_name('Kw.Provider')
    finally:
        p.close()


def test_instances_accept_arbitrary_attributes_like_reference():
    """The reference's classes are plain Python classes: user code can attach
    its own attributes to an EventBuilder or a Provider, and subclass them."""
    eb = EventBuilder()
    eb.my_tag = 'x'
    assert eb.my_tag == 'x'
    p = Provider(b'TldTests.Attrs')
    try:
        p.my_tag = 5
        assert p.my_tag == 5
    finally:
        p.close()

    class MyBuilder(EventBuilder):
        pass

    mb = MyBuilder(64, 64)
    mb.reset(b'E')
    mb.add_int8(b'a', 1)
    assert mb._get_meta_data() == (bytes.fromhex('08 00 00 45 00 61 00 03'), b'\x01')


# ---------------------------------------------------------------------------
# open / close

def test_is_open_and_close_idempotent():
    p = Provider(b'TldTests.Close')
    assert p.is_open() is True
    assert p.close() is None
    assert p.is_open() is False
    p.close()
    p.close()
    assert p.is_open() is False
    # attributes survive close
    assert p.name_utf8 == b'TldTests.Close'
    assert str(p) == 'Provider "TldTests.Close" {%s}' % tld.providerid_from_name('TldTests.Close')


def test_context_manager_closes():
    with Provider(b'TldTests.With') as p:
        assert isinstance(p, Provider)
        assert p.is_open()
        assert p.write(built_event()) == 0
    assert not p.is_open()


def test_context_manager_closes_on_exception():
    with pytest.raises(KeyError):
        with Provider(b'TldTests.WithExc') as p:
            raise KeyError('boom')
    assert not p.is_open()


def test_del_without_close():
    p = Provider(b'TldTests.Del')
    del p   # __del__ closes; must not raise or crash


def test_many_providers_same_name():
    ps = [Provider(b'TldTests.Same') for _ in range(20)]
    try:
        assert all(p.is_open() for p in ps)
        assert len({p.id for p in ps}) == 1
    finally:
        for p in ps:
            p.close()


# ---------------------------------------------------------------------------
# is_enabled

@pytest.mark.parametrize('args,kwargs', [
    ((), {}), ((5,), {}), ((5, 1), {}), ((0, 0), {}), ((255, 2**64 - 1), {}),
    ((300, 2**64 + 1), {}), ((-1, -1), {}), ((), dict(level=4, keyword=0x21)),
    ((), dict(keyword=1)), ((1000000,), dict(keyword=-2**63)), ((True, False), {}),
])
def test_is_enabled_false_nobody_listens(provider, args, kwargs):
    assert provider.is_enabled(*args, **kwargs) is False


def test_is_enabled_after_close_false(provider):
    provider.close()
    assert provider.is_enabled() is False
    assert provider.is_enabled(5, 1) is False


# ---------------------------------------------------------------------------
# write

def test_write_returns_zero(provider):
    eb = built_event()
    status = provider.write(eb)
    assert type(status) is int and status == 0
    assert provider.write(event=eb) == 0


def test_write_empty_event(provider):
    eb = EventBuilder()
    eb.reset(b'Empty')
    assert provider.write(eb) == 0


def test_write_fills_size_slot_and_keeps_event(provider):
    eb = built_event()
    before = eb._get_meta_data()
    assert provider.write(eb) == 0
    assert eb._get_meta_data() == before
    assert provider.write(eb) == 0    # the same builder can be written again


def test_write_with_activity_ids(provider):
    eb = built_event()
    a = uuid.UUID('00112233-4455-6677-8899-aabbccddeeff')
    r = uuid.UUID('ffeeddcc-bbaa-9988-7766-554433221100')
    assert provider.write(eb, a) == 0
    assert provider.write(eb, a, r) == 0
    assert provider.write(eb, activity_id=a, related_activity_id=r) == 0
    assert provider.write(eb, None, r) == 0
    assert provider.write(eb, related_activity_id=None) == 0


def test_write_never_reset_raises(provider):
    eb = EventBuilder()
    with pytest.raises(ValueError):
        provider.write(eb)


def test_write_error_state_raises(provider):
    eb = built_event()
    for _ in range(126):
        eb.add_int8(b'', 1)
    with pytest.raises(ValueError):
        eb.add_int8(b'', 1)
    with pytest.raises(ValueError):
        provider.write(eb)
    eb.reset(b'Again')
    assert provider.write(eb) == 0


def test_write_on_closed_provider_returns_nonzero_int():
    p = Provider(b'TldTests.Closed')
    p.close()
    status = p.write(built_event())
    assert type(status) is int
    assert status != 0


def test_write_wrong_event_type(provider):
    with pytest.raises(Exception):
        provider.write(None)
    with pytest.raises(Exception):
        provider.write(b'not an event')


def test_write_bad_activity_id(provider):
    eb = built_event()
    with pytest.raises(AttributeError):
        provider.write(eb, 'not-a-uuid')
    with pytest.raises(AttributeError):
        provider.write(eb, None, 12)


# ---------------------------------------------------------------------------
# D6: thread safety

def test_threads_write_concurrently():
    p = Provider(b'TldTests.Threads')
    errors = []
    statuses = []
    barrier = threading.Barrier(8)

    def worker(k):
        try:
            eb = EventBuilder()
            barrier.wait()
            local = set()
            for i in range(2000):
                eb.reset(b'T%d' % k, level=5, keyword=1 << k)
                eb.add_int32(b'i', i)
                eb.add_str8(b's', 'thread %d' % k)
                eb.add_uint8_seq(b'b', [k, i & 0xFF])
                local.add(p.write(eb, uuid.UUID(int=i + 1)))
                p.is_enabled(5, 1 << k)
                assert eb._get_meta_data()[1][:4] == i.to_bytes(4, 'little')
            statuses.append(local)
        except BaseException as exc:   # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    p.close()
    assert errors == []
    assert statuses == [{0}] * 8


def test_threads_close_while_writing():
    """Closing a provider while other threads write must not crash."""
    p = Provider(b'TldTests.CloseRace')
    errors = []

    def worker():
        try:
            eb = EventBuilder()
            eb.reset(b'E')
            eb.add_int32(b'x', 1)
            for _ in range(2000):
                s = p.write(eb)
                assert type(s) is int
        except BaseException as exc:   # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    p.close()
    for t in threads:
        t.join()
    assert errors == []


# ---------------------------------------------------------------------------
# signatures

P = inspect.Parameter
EMPTY = P.empty

VALUE_PARAM = {
    'add_zstr16': 'val_str', 'add_zstr16_bytes_utf16le': 'val_bytes_utf16le',
    'add_zstr8': 'val_str', 'add_zstr8_bytes': 'val_bytes',
    'add_int8': 'val_int', 'add_uint8': 'val_int', 'add_int16': 'val_int',
    'add_uint16': 'val_int', 'add_int32': 'val_int', 'add_uint32': 'val_int',
    'add_int64': 'val_int', 'add_uint64': 'val_int', 'add_intptr': 'val_int',
    'add_uintptr': 'val_int', 'add_float32': 'val_float', 'add_float64': 'val_float',
    'add_bool32': 'val_int', 'add_guid': 'val_uuid', 'add_guid_bytes_le': 'val_bytes_le',
    'add_filetime_int64': 'val_int', 'add_systemtime_bytes': 'val_bytes',
    'add_sid_bytes': 'val_bytes', 'add_hexint32': 'val_int', 'add_hexint64': 'val_int',
    'add_hexintptr': 'val_int', 'add_str16': 'val_str',
    'add_str16_bytes_utf16le': 'val_bytes_utf16le', 'add_str8': 'val_str',
    'add_str8_bytes': 'val_bytes', 'add_cbinary_bytes': 'val_bytes',
}
UTF8_DEFAULT = {'add_str8', 'add_str8_seq', 'add_zstr8', 'add_zstr8_seq'}


def expected_add_signatures():
    out = {}
    for m, v in VALUE_PARAM.items():
        out[m] = [('name_utf8', EMPTY), (v, EMPTY), ('out_type', 35 if m in UTF8_DEFAULT else 0), ('tag', 0)]
        s = m + '_seq'
        out[s] = [('name_utf8', EMPTY), ('vals_' + v[len('val_'):], EMPTY), ('out_type', 35 if s in UTF8_DEFAULT else 0), ('tag', 0)]
    out['add_binary_bytes'] = [('name_utf8', EMPTY), ('val_bytes', EMPTY), ('out_type', 0), ('tag', 0)]
    out['add_struct'] = [('name_utf8', EMPTY), ('field_count', EMPTY), ('tag', 0)]
    return out


ADD_SIGS = expected_add_signatures()

OTHER_SIGS = {
    ('EventBuilder', 'reset'): [('name_utf8', EMPTY), ('level', 5), ('keyword', 1), ('opcode', 0),
                                ('id', 0), ('version', 0), ('tag', 0), ('task', 0), ('channel', 11)],
    ('EventBuilder', 'check_state'): [],
    ('Provider', 'close'): [],
    ('Provider', 'is_open'): [],
    ('Provider', 'is_enabled'): [('level', 0), ('keyword', 0)],
    ('Provider', 'write'): [('event', EMPTY), ('activity_id', None), ('related_activity_id', None)],
}


def params_of(fn):
    sig = inspect.signature(fn)
    for p in sig.parameters.values():
        assert p.kind == P.POSITIONAL_OR_KEYWORD, (fn, p)
    return [(p.name, p.default) for p in sig.parameters.values()]


def test_add_method_set_matches_spec():
    public = sorted(n for n in dir(EventBuilder) if n.startswith('add_'))
    assert public == sorted(ADD_SIGS)
    assert len(public) == 62


@pytest.mark.parametrize('method', sorted(ADD_SIGS))
def test_add_signature(method):
    eb = EventBuilder()
    assert params_of(getattr(eb, method)) == ADD_SIGS[method]


@pytest.mark.parametrize('cls,method', sorted(OTHER_SIGS))
def test_other_signature(cls, method):
    if cls == 'EventBuilder':
        obj = EventBuilder()
    else:
        obj = Provider(b'TldTests.Sig')
    try:
        assert params_of(getattr(obj, method)) == OTHER_SIGS[(cls, method)]
    finally:
        if cls == 'Provider':
            obj.close()


def test_constructor_signatures():
    assert params_of(EventBuilder) == [('initial_meta_len', 128), ('initial_data_len', 512)]
    assert params_of(Provider) == [('name_utf8', EMPTY), ('id', None), ('group_id', None),
                                   ('throw_on_error', False)]


def test_module_function_signatures():
    assert params_of(tld.providerid_from_name) == [('providername', EMPTY)]
    assert params_of(tld.providerid_from_name_bytes_utf8) == [('providername_utf8', EMPTY)]
    assert tld.providerid_from_name(providername='P') == uuid.UUID('3857f44b-d9e4-5b43-5bd0-84ae013c326b')
    assert (tld.providerid_from_name_bytes_utf8(providername_utf8=b'P')
            == uuid.UUID('3857f44b-d9e4-5b43-5bd0-84ae013c326b'))


@pytest.mark.parametrize('method', sorted(ADD_SIGS))
def test_add_methods_accept_all_keywords(method):
    """Every parameter can really be passed by keyword (not only declared)."""
    sample = {
        'val_str': 'x', 'val_bytes_utf16le': b'x\x00', 'val_bytes': bytes(8), 'val_int': 1,
        'val_float': 1.0, 'val_uuid': uuid.UUID(int=3), 'val_bytes_le': bytes(16),
        'field_count': 2,
    }
    names = [n for n, _ in ADD_SIGS[method]]
    value_name = names[1]
    base = 'val_' + value_name[len('vals_'):] if value_name.startswith('vals_') else value_name
    value = sample[base]
    if method.startswith('add_systemtime'):
        value = bytes(16)
    if value_name.startswith('vals_'):
        value = [value]
    kwargs = {'name_utf8': b'f', value_name: value, 'tag': 0}
    if 'out_type' in names:
        kwargs['out_type'] = 0
    eb = EventBuilder()
    eb.reset(b'E')
    getattr(eb, method)(**kwargs)
    meta, _ = eb._get_meta_data()
    assert meta[5:7] == b'f\x00'


def test_reset_and_write_by_keyword():
    eb = EventBuilder(initial_meta_len=64, initial_data_len=64)
    eb.reset(name_utf8=b'K', level=1, keyword=2, opcode=3, id=4, version=5, tag=0, task=6, channel=7)
    assert bytes(eb._get_event_desc()) == bytes.fromhex('04 00 05 07 01 03 06 00 02 00 00 00 00 00 00 00')
    with Provider(name_utf8=b'TldTests.Kw') as p:
        assert p.is_enabled(level=1, keyword=2) is False
        assert p.write(event=eb, activity_id=None, related_activity_id=None) == 0
