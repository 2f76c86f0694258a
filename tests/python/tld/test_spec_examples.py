"""Spec conformance tests for ``traceloggingdynamic`` (spec/traceloggingdynamic.md).

What this file is for: it pins the user-visible behaviour written down in the
specification with hard-coded expected values, independently of the reference
implementation (the differential tests in test_differential.py compare against
the reference; these do not need it):

* every worked hex example of §8 (8.5 with the D1 fix: data stays intact),
* the provider-id table of §4 (both id functions),
* ``OutType`` (§2) and ``__all__`` (§1),
* the default out types of add_str8/add_zstr8 (and their _seq forms),
* ``EventBuilder`` construction (argument conversion with ``int()``),
  ``str()`` and ``name_utf8``,
* every data-encoding rule of §5.5,
* the limits of §5.4/§5.6 with the exact bounds of deviation D2.
"""

import math
import struct
import sys
import uuid

import pytest

import traceloggingdynamic as tld
from traceloggingdynamic import EventBuilder, OutType, Provider


def h(text: str) -> bytes:
    """Hex text (spaces and '|' separators allowed) to bytes."""
    return bytes.fromhex(text.replace('|', ' '))


def meta_data(eb):
    meta, data = eb._get_meta_data()
    assert isinstance(meta, bytes) and isinstance(data, bytes)
    return meta, data


def in_error_state(eb) -> bool:
    try:
        eb.check_state()
    except ValueError:
        return True
    return False


def fresh(name=b'E', **kw) -> EventBuilder:
    eb = EventBuilder()
    eb.reset(name, **kw)
    return eb


def meta_of(name=b'E'):
    """Metadata prefix after reset(name) with tag 0 (without size slot)."""
    return b'\x00' + name + b'\x00'


def with_size(body: bytes) -> bytes:
    """Metadata blob with the u16 size slot prepended (size includes itself)."""
    return struct.pack('<H', len(body) + 2) + body


# ---------------------------------------------------------------------------
# §8 worked examples

def test_8_1_minimal_event():
    eb = EventBuilder()
    eb.reset(b'MyEvent')
    eb.add_int32(b'count', 5)
    meta, data = meta_data(eb)
    assert meta == h('12 00 | 00 | 4d 79 45 76 65 6e 74 00 | 63 6f 75 6e 74 00 07')
    assert data == h('05 00 00 00')
    assert bytes(eb._get_event_desc()) == h('00 00 00 0b 05 00 00 00 01 00 00 00 00 00 00 00')
    assert str(eb) == 'EventBuilder "MyEvent"'
    eb.check_state()  # valid: returns None
    assert eb.check_state() is None


def test_8_2_descriptor_fields_1_byte_tag_strings():
    eb = EventBuilder()
    eb.reset(b'Ev2', 4, 0x21, opcode=1, id=7, version=2, tag=0x0FE00000, task=3)
    eb.add_str8(b'msg', 'h\u00e9')
    eb.add_zstr16(b'w', 'A\U0001F600')
    eb.add_zstr8_bytes(b'z', b'ab\0cd')
    meta, data = meta_data(eb)
    assert meta == h('13 00 | 7f | 45 76 32 00 | 6d 73 67 00 97 23 | 77 00 01 | 7a 00 02')
    assert data == h('03 00 68 c3 a9 | 41 00 3d d8 00 de 00 00 | 61 62 00')
    assert bytes(eb._get_event_desc()) == h('07 00 02 0b 04 01 03 00 21 00 00 00 00 00 00 00')


def test_8_3_two_byte_tag_seq_struct_guid_binary():
    eb = EventBuilder()
    eb.reset(b'Seq', tag=0x1234000)
    eb.add_uint16_seq(b'v', [1, 2, 0xFFFF], out_type=OutType.HEX, tag=0x0ABCDEF)
    eb.add_struct(b'pt', 2)
    eb.add_float64(b'x', 1.5)
    eb.add_guid(b'g', uuid.UUID('01234567-89ab-cdef-0123-456789abcdef'))
    eb.add_binary_bytes(b'bin', b'\xAA\xBB')
    meta, data = meta_data(eb)
    assert meta == h('20 00 | 89 0d | 53 65 71 00 | 76 00 c6 84 85 af 9b 6f | 70 74 00 98 02 '
                     '| 78 00 0c | 67 00 0f | 62 69 6e 00 0e')
    assert data == h('03 00 01 00 02 00 ff ff | 00 00 00 00 00 00 f8 3f '
                     '| 67 45 23 01 ab 89 ef cd 01 23 45 67 89 ab cd ef | 02 00 aa bb')


def test_8_4_four_byte_tag_and_masking_edges():
    eb = EventBuilder()
    eb.reset(b'T4', tag=0x0123457)
    eb.add_int8(b'a', -1, tag=0x10000000)
    eb.add_uint8(b'b', 127, out_type=128)
    eb.add_zstr8(b'c', 'x')
    meta, data = meta_data(eb)
    assert meta == h('19 00 | 80 c8 e8 57 | 54 34 00 | 61 00 83 80 80 80 80 00 | 62 00 84 00 | 63 00 82 23')
    assert data == h('ff | 7f | 78 00')


def test_8_5_data_growth_keeps_values_D1():
    eb = EventBuilder(64, 64)
    eb.reset(b'E')
    eb.add_cbinary_bytes(b'a', b'\x11' * 40)
    eb.add_cbinary_bytes(b'b', b'\x22' * 40)
    meta, data = meta_data(eb)
    assert meta == h('0b 00 00 45 00 61 00 19 62 00 19')
    # D1: unlike the reference, the first field's value is intact.
    assert data == h('28 00') + b'\x11' * 40 + h('28 00') + b'\x22' * 40
    assert len(data) == 84


def test_8_5_growth_intact_for_every_step_kind():
    """D1 for the other write-step kinds: numeric, numeric seq, zstr, non-numeric seq."""
    eb = EventBuilder(64, 64)
    eb.reset(b'E')
    eb.add_int32(b'a', 0x01020304)
    eb.add_zstr8_bytes(b'b', b'\x41' * 70)             # grows
    eb.add_int16_seq(b'c', list(range(100)))           # grows
    eb.add_str8_bytes_seq(b'd', [b'\x42' * 200] * 3)   # grows partway
    meta, data = meta_data(eb)
    expected = (h('04 03 02 01') + b'\x41' * 70 + b'\x00'
                + struct.pack('<H', 100) + struct.pack('<100h', *range(100))
                + struct.pack('<H', 3) + (struct.pack('<H', 200) + b'\x42' * 200) * 3)
    assert data == expected


def test_8_6_provider_traits_and_str():
    p = Provider(b'MyProvider', group_id=uuid.UUID('00112233-4455-6677-8899-aabbccddeeff'))
    try:
        assert str(p) == 'Provider "MyProvider" {b3864c38-4273-58c5-545b-8b3608343471}'
        assert bytes(p._get_traits()) == h(
            '20 00 4d 79 50 72 6f 76 69 64 65 72 00 | 13 00 01 33 22 11 00 55 44 77 66 88 99 aa bb cc dd ee ff')
    finally:
        p.close()


def test_8_6_provider_traits_without_group():
    p = Provider(b'MyCompany.MyComponent')
    try:
        assert bytes(p._get_traits()) == h(
            '18 00 4d 79 43 6f 6d 70 61 6e 79 2e 4d 79 43 6f 6d 70 6f 6e 65 6e 74 00')
        assert str(p) == 'Provider "MyCompany.MyComponent" {ce5fa4ea-ab00-5402-8b76-9f76ac858fb5}'
    finally:
        p.close()


def test_8_6_write():
    p = Provider(b'MyCompany.MyComponent')
    try:
        eb = EventBuilder()
        eb.reset(b'Start', level=4, keyword=0x8000000000000001, opcode=1)
        eb.add_bool32(b'ok', True)
        status = p.write(eb, uuid.UUID('00112233-4455-6677-8899-aabbccddeeff'),
                         uuid.UUID('ffeeddcc-bbaa-9988-7766-554433221100'))
        assert status == 0  # nobody listens on this machine
        assert type(status) is int
        assert bytes(eb._get_event_desc()) == h('00 00 00 0b 04 01 00 00 01 00 00 00 00 00 00 80')
        meta, data = meta_data(eb)
        assert meta == h('0d 00 00 53 74 61 72 74 00 6f 6b 00 0d')  # descriptor 1
        assert data == h('01 00 00 00')                               # descriptor 2
        assert bytes(p._get_traits()) == h(                           # descriptor 0
            '18 00 4d 79 43 6f 6d 70 61 6e 79 2e 4d 79 43 6f 6d 70 6f 6e 65 6e 74 00')
    finally:
        p.close()


# ---------------------------------------------------------------------------
# §4 provider ids

PROVIDER_IDS = [
    ('MyProvider', 'b3864c38-4273-58c5-545b-8b3608343471'),
    ('MYPROVIDER', 'b3864c38-4273-58c5-545b-8b3608343471'),
    ('TestProvider', '97c801ee-c28b-5bb6-2ae4-11e18fe6137a'),
    ('MyCompany.MyComponent', 'ce5fa4ea-ab00-5402-8b76-9f76ac858fb5'),
    ('', '4445ee6c-fd5a-5b15-047a-5866ffa76aa6'),
    ('Straße', 'eb1afb46-d4b9-5cd4-2177-a8fec8316c67'),
    ('P', '3857f44b-d9e4-5b43-5bd0-84ae013c326b'),
]


@pytest.mark.parametrize('name,expected', PROVIDER_IDS)
def test_providerid_from_name(name, expected):
    got = tld.providerid_from_name(name)
    assert isinstance(got, uuid.UUID)
    assert got == uuid.UUID(expected)
    assert str(got) == expected


@pytest.mark.parametrize('name,expected', PROVIDER_IDS)
def test_providerid_from_name_bytes_utf8(name, expected):
    got = tld.providerid_from_name_bytes_utf8(name.encode('utf-8'))
    assert isinstance(got, uuid.UUID)
    assert got == uuid.UUID(expected)
    # any buffer-like object works
    assert tld.providerid_from_name_bytes_utf8(bytearray(name.encode('utf-8'))) == uuid.UUID(expected)


def test_providerid_uses_full_unicode_upper():
    # 'ß'.upper() == 'SS' and 'ﬁ'.upper() == 'FI': the length changes.
    assert tld.providerid_from_name('Straße') == tld.providerid_from_name('STRASSE')
    assert tld.providerid_from_name('ﬁle') == tld.providerid_from_name('FILE')


def test_provider_default_id_is_hash_of_name():
    p = Provider(b'TestProvider')
    try:
        assert p.id == uuid.UUID('97c801ee-c28b-5bb6-2ae4-11e18fe6137a')
    finally:
        p.close()


# ---------------------------------------------------------------------------
# §1 / §2 module surface

def test_all_exact_order():
    assert tuple(tld.__all__) == ('providerid_from_name', 'providerid_from_name_bytes_utf8',
                                  'OutType', 'EventBuilder', 'Provider')
    for name in tld.__all__:
        assert hasattr(tld, name)


OUTTYPE_VALUES = {
    'NULL': 0, 'NOPRINT': 1, 'STRING': 2, 'BOOLEAN': 3, 'HEX': 4, 'PID': 5, 'TID': 6,
    'PORT': 7, 'IPV4': 8, 'IPV6': 9, 'SOCKETADDRESS': 10, 'XML': 11, 'JSON': 12,
    'WIN32ERROR': 13, 'NTSTATUS': 14, 'HRESULT': 15, 'FILETIME': 16, 'SIGNED': 17,
    'UNSIGNED': 18, 'CULTURE_INSENSITIVE_DATETIME': 33, 'UTF8': 35,
    'PKCS7_WITH_TYPE_INFO': 36, 'CODE_POINTER': 37, 'DATETIME_UTC': 38,
    '_CHAIN': 128, '_TYPE_MASK': 127,
}


@pytest.mark.parametrize('name,value', sorted(OUTTYPE_VALUES.items()))
def test_outtype_values(name, value):
    got = getattr(OutType, name)
    assert type(got) is int
    assert got == value


def test_outtype_is_plain_class_not_enum():
    import enum
    assert isinstance(OutType, type)
    assert not issubclass(OutType, enum.Enum)
    assert type(OutType) is type
    assert OutType.__mro__ == (OutType, object)


def test_outtype_values_are_not_validated():
    eb = fresh()
    eb.add_int8(b'a', 1, out_type=1000)        # 1000 & 0x7F == 0x68
    eb.add_int8(b'b', 1, out_type=-1)          # -1 & 0x7F == 0x7F
    eb.add_int8(b'c', 1, out_type=2**70 + 5)   # arbitrary-precision AND
    meta, _ = meta_data(eb)
    assert meta == with_size(meta_of() + h('61 00 83 68 | 62 00 83 7f | 63 00 83 05'))


# ---------------------------------------------------------------------------
# Default out types (§5.5)

def test_default_out_type_str8_zstr8():
    eb = fresh()
    eb.add_str8(b'a', 'x')
    eb.add_str8_seq(b'b', ['x'])
    eb.add_zstr8(b'c', 'x')
    eb.add_zstr8_seq(b'd', ['x'])
    meta, data = meta_data(eb)
    assert meta == with_size(meta_of() + h('61 00 97 23 | 62 00 d7 23 | 63 00 82 23 | 64 00 c2 23'))
    assert data == h('01 00 78 | 01 00 01 00 78 | 78 00 | 01 00 78 00')


def test_default_out_type_others_zero():
    eb = fresh()
    eb.add_str8_bytes(b'a', b'x')
    eb.add_zstr8_bytes(b'b', b'x')
    eb.add_str16(b'c', 'x')
    eb.add_zstr16(b'd', 'x')
    meta, _ = meta_data(eb)
    assert meta == with_size(meta_of() + h('61 00 17 | 62 00 02 | 63 00 16 | 64 00 01'))


def test_explicit_out_type_zero_on_str8_drops_out_byte():
    eb = fresh()
    eb.add_str8(b'a', 'x', out_type=0)
    eb.add_zstr8(b'b', 'x', 0)
    meta, _ = meta_data(eb)
    assert meta == with_size(meta_of() + h('61 00 17 | 62 00 02'))


# ---------------------------------------------------------------------------
# §5.1 construction, str(), name_utf8

class IntOnly:
    def __init__(self, v):
        self.v = v

    def __int__(self):
        return self.v


@pytest.mark.parametrize('args', [
    (), (128, 512), (100.9, 70.2), ('128', '512'), ('100', 64), (IntOnly(200), IntOnly(100)),
    (-5, -5), (0, 0), (10**30, 10**30), (True, False), (64.99999, '65536'),
])
def test_eventbuilder_size_args_accepted(args):
    eb = EventBuilder(*args)
    assert str(eb) == 'EventBuilder ""'
    # capacity hints only: an event works normally
    eb.reset(b'E')
    eb.add_int32(b'v', 7)
    assert meta_data(eb) == (with_size(meta_of() + h('76 00 07')), h('07 00 00 00'))


def test_eventbuilder_size_args_by_keyword():
    eb = EventBuilder(initial_meta_len=64, initial_data_len='64')
    eb.reset(b'E')
    assert meta_data(eb) == (with_size(meta_of()), b'')


@pytest.mark.parametrize('args,exc', [
    ((None,), TypeError), ((128, None), TypeError), (('abc',), ValueError), ((128, '1.5'), ValueError),
    ((float('nan'),), ValueError), ((float('inf'),), OverflowError), (([],), TypeError),
])
def test_eventbuilder_size_args_rejected(args, exc):
    with pytest.raises(exc):
        EventBuilder(*args)


def test_float_size_is_truncated_not_rounded():
    # int(64.9) == 64 — both succeed; and a float that int() cannot handle fails.
    EventBuilder(64.9, 64.9)
    with pytest.raises(OverflowError):
        EventBuilder(128, float('-inf'))


def test_fresh_builder_str_and_state():
    eb = EventBuilder()
    assert str(eb) == 'EventBuilder ""'
    assert eb.name_utf8 == b''
    assert in_error_state(eb)
    with pytest.raises(ValueError):
        eb._get_event_desc()


def test_str_after_reset_and_utf8():
    eb = fresh('Ünï'.encode('utf-8'))
    assert str(eb) == 'EventBuilder "Ünï"'


def test_str_invalid_utf8_raises():
    eb = fresh(b'\xff\xfe')
    with pytest.raises(UnicodeDecodeError):
        str(eb)


def test_name_utf8_keeps_bytearray_object():
    name = bytearray(b'Ev')
    eb = EventBuilder()
    eb.reset(name)
    assert eb.name_utf8 is name
    assert type(eb.name_utf8) is bytearray
    assert str(eb) == 'EventBuilder "Ev"'


def test_name_utf8_keeps_bytes_object_and_empty_name_allowed():
    name = b'Some.Event'
    eb = fresh(name)
    assert eb.name_utf8 is name
    eb.reset(b'')
    assert eb.name_utf8 == b''
    assert meta_data(eb) == (h('04 00 00 00'), b'')


def test_name_utf8_not_checked_for_utf8():
    eb = fresh(b'\xff')
    assert meta_data(eb)[0] == h('05 00 00 ff 00')


# ---------------------------------------------------------------------------
# §5.2 reset: event tags and descriptor

@pytest.mark.parametrize('tag,enc', [
    (0, '00'), (0x0FE00000, '7f'), (0x00200000, '01'), (0x1234000, '89 0d'),
    (0x0FFFC000, 'ff 7f'), (0x4000, '80 01'), (0x0123457, '80 c8 e8 57'), (1, '80 80 80 01'),
    (0x0FFFFFFF, 'ff ff ff 7f'),
])
def test_event_tag_encoding(tag, enc):
    eb = fresh(b'E', tag=tag)
    assert meta_data(eb)[0] == with_size(h(enc) + b'E\x00')


def test_descriptor_all_fields():
    eb = EventBuilder()
    eb.reset(b'E', 0xFF, 0xFFFFFFFFFFFFFFFF, 0xFE, 0xFFFF, 0xFD, 0, 0xFFFE, 0xFC)
    assert bytes(eb._get_event_desc()) == h('ff ff fd fc ff fe fe ff ff ff ff ff ff ff ff ff')
    eb.reset(name_utf8=b'E', level=0, keyword=0, opcode=0, id=0, version=0, tag=0, task=0, channel=0)
    assert bytes(eb._get_event_desc()) == bytes(16)


def test_reset_clears_fields():
    eb = fresh()
    eb.add_int32(b'a', 1)
    eb.reset(b'F')
    assert meta_data(eb) == (with_size(meta_of(b'F')), b'')


# ---------------------------------------------------------------------------
# §5.3 field metadata records

@pytest.mark.parametrize('out_type,tag,rec', [
    (0, 0, '61 00 07'),
    (4, 0, '61 00 87 04'),
    (128, 0, '61 00 87 00'),
    (0, 1, '61 00 87 80 80 80 80 01'),
    (4, 0x0ABCDEF, '61 00 87 84 85 af 9b 6f'),
    (0, 0x10000000, '61 00 87 80 80 80 80 00'),
    (0, 0x1FFFFFFF, '61 00 87 80 ff ff ff 7f'),
    (0, -1, '61 00 87 80 ff ff ff 7f'),
])
def test_field_record(out_type, tag, rec):
    eb = fresh()
    eb.add_int32(b'a', 0, out_type=out_type, tag=tag)
    assert meta_data(eb)[0] == with_size(meta_of() + h(rec))


def test_field_name_empty_and_bytearray():
    eb = fresh()
    eb.add_int8(b'', 1)
    eb.add_int8(bytearray(b'n'), 2)
    assert meta_data(eb) == (with_size(meta_of() + h('00 03 | 6e 00 03')), h('01 02'))


TYPE_CODES = {
    'add_zstr16': (1, 'x'), 'add_zstr16_bytes_utf16le': (1, b'x\x00'),
    'add_zstr8': (2, 'x'), 'add_zstr8_bytes': (2, b'x'),
    'add_int8': (3, 1), 'add_uint8': (4, 1), 'add_int16': (5, 1), 'add_uint16': (6, 1),
    'add_int32': (7, 1), 'add_uint32': (8, 1), 'add_int64': (9, 1), 'add_uint64': (10, 1),
    'add_intptr': (9 if sys.maxsize > 2**32 else 7, 1),
    'add_uintptr': (10 if sys.maxsize > 2**32 else 8, 1),
    'add_float32': (11, 1.0), 'add_float64': (12, 1.0), 'add_bool32': (13, 1),
    'add_guid': (15, uuid.UUID(int=1)), 'add_guid_bytes_le': (15, bytes(16)),
    'add_filetime_int64': (17, 1), 'add_systemtime_bytes': (18, bytes(16)),
    'add_sid_bytes': (19, bytes(8)), 'add_hexint32': (20, 1), 'add_hexint64': (21, 1),
    'add_hexintptr': (21 if sys.maxsize > 2**32 else 20, 1),
    'add_str16': (22, 'x'), 'add_str16_bytes_utf16le': (22, b'x\x00'),
    'add_str8': (23, 'x'), 'add_str8_bytes': (23, b'x'), 'add_cbinary_bytes': (25, b'x'),
}


@pytest.mark.parametrize('method', sorted(TYPE_CODES))
def test_type_codes_scalar_and_seq(method):
    code, value = TYPE_CODES[method]
    eb = fresh()
    getattr(eb, method)(b'a', value, out_type=0)
    getattr(eb, method + '_seq')(b'b', [value], out_type=0)
    assert meta_data(eb)[0] == with_size(meta_of() + bytes([0x61, 0, code, 0x62, 0, code | 0x40]))


def test_binary_and_struct_type_codes():
    eb = fresh()
    eb.add_binary_bytes(b'a', b'')
    eb.add_struct(b's', 1)
    eb.add_struct(b't', 127, tag=5)
    assert meta_data(eb) == (with_size(meta_of() + h('61 00 0e | 73 00 98 01 | 74 00 98 ff 80 80 80 05')),
                             h('00 00'))


def test_no_binary_seq_no_struct_seq():
    assert not hasattr(EventBuilder, 'add_binary_bytes_seq')
    assert not hasattr(EventBuilder, 'add_struct_seq')
    assert len([n for n in dir(EventBuilder) if n.startswith('add_')]) == 62


# ---------------------------------------------------------------------------
# §5.5 integers at min and max

INT_RANGES = [
    # method, format, min, max
    ('add_int8', '<b', -128, 127),
    ('add_uint8', '<B', 0, 255),          # D3
    ('add_int16', '<h', -32768, 32767),
    ('add_uint16', '<H', 0, 65535),
    ('add_int32', '<i', -2**31, 2**31 - 1),
    ('add_bool32', '<i', -2**31, 2**31 - 1),
    ('add_uint32', '<I', 0, 2**32 - 1),
    ('add_hexint32', '<I', 0, 2**32 - 1),
    ('add_int64', '<q', -2**63, 2**63 - 1),
    ('add_intptr', '<q', -2**63, 2**63 - 1),
    ('add_filetime_int64', '<q', -2**63, 2**63 - 1),
    ('add_uint64', '<Q', 0, 2**64 - 1),
    ('add_uintptr', '<Q', 0, 2**64 - 1),
    ('add_hexint64', '<Q', 0, 2**64 - 1),
    ('add_hexintptr', '<Q', 0, 2**64 - 1),
]

if sys.maxsize <= 2**32:  # pointer-sized variants on 32-bit Python
    INT_RANGES = [r for r in INT_RANGES if 'ptr' not in r[0]] + [
        ('add_intptr', '<i', -2**31, 2**31 - 1),
        ('add_uintptr', '<I', 0, 2**32 - 1),
        ('add_hexintptr', '<I', 0, 2**32 - 1),
    ]


@pytest.mark.parametrize('method,fmt,lo,hi', INT_RANGES)
def test_int_min_max(method, fmt, lo, hi):
    eb = fresh()
    getattr(eb, method)(b'a', lo)
    getattr(eb, method)(b'b', hi)
    getattr(eb, method + '_seq')(b'c', [lo, hi, 0])
    _, data = meta_data(eb)
    assert data == (struct.pack(fmt, lo) + struct.pack(fmt, hi)
                    + struct.pack('<H', 3) + struct.pack('<3' + fmt[1], lo, hi, 0))


@pytest.mark.parametrize('method,fmt,lo,hi', INT_RANGES)
def test_int_out_of_range(method, fmt, lo, hi):
    eb = fresh()
    for bad in (lo - 1, hi + 1, 2**200, -2**200):
        with pytest.raises(struct.error) as ei:
            getattr(eb, method)(b'a', bad)
        assert isinstance(ei.value, OverflowError)  # D4
        with pytest.raises(struct.error) as ei:
            getattr(eb, method + '_seq')(b's', [0, bad])
        assert isinstance(ei.value, OverflowError)  # D4
    assert not in_error_state(eb)
    assert meta_data(eb)[1] == b''


def test_uint8_accepts_0_to_255_D3():
    eb = fresh()
    for v in (0, 1, 127, 128, 200, 255):
        eb.add_uint8(b'u', v)
    eb.add_uint8_seq(b's', [0, 128, 255])
    assert meta_data(eb)[1] == h('00 01 7f 80 c8 ff | 03 00 00 80 ff')
    with pytest.raises(struct.error):
        eb.add_uint8(b'u', -1)
    with pytest.raises(struct.error):
        eb.add_uint8_seq(b'u', [-1])


def test_int8_negative_stored_twos_complement():
    eb = fresh()
    eb.add_int8(b'a', -1)
    eb.add_int8(b'b', -128)
    assert meta_data(eb)[1] == h('ff 80')


def test_index_objects_and_bools_accepted():
    class Idx:
        def __index__(self):
            return 300

    eb = fresh()
    eb.add_int16(b'a', Idx())
    eb.add_int32(b'b', True)
    eb.add_uint8(b'c', False)
    eb.add_int16_seq(b'd', (Idx(), True))
    assert meta_data(eb)[1] == h('2c 01 | 01 00 00 00 | 00 | 02 00 2c 01 01 00')


def test_bool32_stores_integer_as_given():
    eb = fresh()
    eb.add_bool32(b'a', 5)
    eb.add_bool32(b'b', True)
    eb.add_bool32(b'c', -1)
    eb.add_bool32_seq(b'd', [5, False])
    assert meta_data(eb)[1] == h('05 00 00 00 | 01 00 00 00 | ff ff ff ff | 02 00 05 00 00 00 00 00 00 00')


def test_float_for_int_field_is_struct_error():
    eb = fresh()
    with pytest.raises(struct.error) as ei:
        eb.add_int32(b'a', 1.0)
    assert isinstance(ei.value, TypeError)  # D4


# ---------------------------------------------------------------------------
# §5.5 floats

def test_float32_rounding():
    eb = fresh()
    eb.add_float32(b'a', 1.1)
    eb.add_float32(b'b', 1)                 # ints are fine
    eb.add_float32(b'c', 3.4028235677973362e38)  # just below the halfway point: rounds to FLT_MAX
    eb.add_float32(b'd', 1e-50)             # underflow to 0 is fine
    eb.add_float32(b'e', 0.1)
    _, data = meta_data(eb)
    assert data == (struct.pack('<f', 1.1) + struct.pack('<f', 1.0) + h('ff ff 7f 7f')
                    + bytes(4) + h('cd cc cc 3d'))
    assert data[:4] == h('cd cc 8c 3f')


def test_float32_overflow_but_not_inf_nan():
    eb = fresh()
    with pytest.raises(OverflowError):
        eb.add_float32(b'a', 1e39)
    with pytest.raises(OverflowError):
        eb.add_float32(b'a', -1e39)
    with pytest.raises(OverflowError):
        eb.add_float32(b'a', 3.4028235677973366e38)  # exactly halfway: ties-to-even gives inf
    with pytest.raises(OverflowError):
        eb.add_float32_seq(b'a', [1.0, 1e39])
    assert not in_error_state(eb)
    assert meta_data(eb)[1] == b''
    eb.add_float32(b'i', float('inf'))
    eb.add_float32(b'j', float('-inf'))
    eb.add_float32(b'n', float('nan'))
    _, data = meta_data(eb)
    assert data[:8] == h('00 00 80 7f 00 00 80 ff')
    assert math.isnan(struct.unpack('<f', data[8:12])[0])


def test_float32_int_too_large_for_double():
    eb = fresh()
    with pytest.raises(struct.error):
        eb.add_float32(b'a', 10**400)
    with pytest.raises(struct.error):
        eb.add_float64(b'a', 10**400)


def test_float64_exact_and_nan_payload():
    nan_payload = struct.unpack('<d', h('01 00 00 00 00 00 f8 7f'))[0]
    neg_nan = struct.unpack('<d', h('ef be ad de 00 00 f8 ff'))[0]
    eb = fresh()
    eb.add_float64(b'a', nan_payload)
    eb.add_float64(b'b', -0.0)
    eb.add_float64(b'c', 5e-324)
    eb.add_float64(b'd', 2)
    eb.add_float64_seq(b'e', [neg_nan, 1.5])
    assert meta_data(eb)[1] == (h('01 00 00 00 00 00 f8 7f') + h('00 00 00 00 00 00 00 80')
                                + h('01 00 00 00 00 00 00 00') + h('00 00 00 00 00 00 00 40')
                                + h('02 00') + h('ef be ad de 00 00 f8 ff') + h('00 00 00 00 00 00 f8 3f'))


def test_float_wrong_type():
    eb = fresh()
    with pytest.raises(struct.error) as ei:
        eb.add_float64(b'a', 'x')
    assert isinstance(ei.value, TypeError)  # D4
    with pytest.raises(struct.error):
        eb.add_float32(b'a', None)


# ---------------------------------------------------------------------------
# §5.5 strings

def test_zstr16_embedded_nul_stored_up_to_and_including():
    eb = fresh()
    eb.add_zstr16(b'a', 'ab\0cd')
    eb.add_zstr16(b'b', 'a')
    eb.add_zstr16(b'c', '')
    eb.add_zstr16(b'd', '\0')
    eb.add_zstr16(b'e', 'x\0\ud800')  # lone surrogate after the NUL is never encoded
    assert meta_data(eb)[1] == h('61 00 62 00 00 00 | 61 00 00 00 | 00 00 | 00 00 | 78 00 00 00')


def test_zstr16_bytes_utf16le_nul_search_even_offsets_only():
    eb = fresh()
    eb.add_zstr16_bytes_utf16le(b'a', b'\x41\x00\x00\x42')          # 00 00 at odd offset 1
    eb.add_zstr16_bytes_utf16le(b'b', b'\x41\x00\x00\x00\x42\x00')  # 00 00 at even offset 2
    eb.add_zstr16_bytes_utf16le(b'c', b'\x41\x00\x00\x42\x00\x00\x00\x00')  # odd 1, even 4
    eb.add_zstr16_bytes_utf16le(b'd', b'')
    eb.add_zstr16_bytes_utf16le(b'e', bytearray(b'\x00\x00\x41\x00'))
    assert meta_data(eb)[1] == h('41 00 00 42 00 00 | 41 00 00 00 | 41 00 00 42 00 00 | 00 00 | 00 00')


def test_zstr8():
    eb = fresh()
    eb.add_zstr8(b'a', 'h\u00e9')
    eb.add_zstr8(b'b', 'ab\0\ud800')  # lone surrogate after NUL is fine
    eb.add_zstr8(b'c', '')
    assert meta_data(eb)[1] == h('68 c3 a9 00 | 61 62 00 | 00')
    with pytest.raises(UnicodeEncodeError):
        eb.add_zstr8(b'd', 'a\ud800\0')


def test_zstr8_bytes():
    eb = fresh()
    eb.add_zstr8_bytes(b'a', b'abc')
    eb.add_zstr8_bytes(b'b', b'\0abc')
    eb.add_zstr8_bytes(b'c', bytearray(b'x\0y'))
    eb.add_zstr8_bytes(b'd', b'')
    assert meta_data(eb)[1] == h('61 62 63 00 | 00 | 78 00 | 00')


def test_str16_astral_and_nul_kept():
    eb = fresh()
    eb.add_str16(b'a', '\U0001F600')
    eb.add_str16(b'b', 'a\0b')
    eb.add_str16(b'c', '')
    assert meta_data(eb)[1] == h('04 00 3d d8 00 de | 06 00 61 00 00 00 62 00 | 00 00')


def test_str16_bytes_and_str8():
    eb = fresh()
    eb.add_str16_bytes_utf16le(b'a', b'A\x00\x00\x00')
    eb.add_str8(b'b', 'a\0\u20ac')
    eb.add_str8_bytes(b'c', b'\xff\x00')
    eb.add_cbinary_bytes(b'd', bytearray(b'\x01\x02'))
    eb.add_binary_bytes(b'e', b'')
    assert meta_data(eb)[1] == h('04 00 41 00 00 00 | 05 00 61 00 e2 82 ac | 02 00 ff 00 | 02 00 01 02 | 00 00')


RAW_LIST = [1, 256 + 2, -1, 1000, 255, 0]
RAW_MASKED = bytes([1, 2, 0xFF, 0xE8, 0xFF, 0])


@pytest.mark.parametrize('method', ['add_str8_bytes', 'add_cbinary_bytes', 'add_binary_bytes',
                                    'add_str16_bytes_utf16le'])
def test_raw_bytes_list_of_ints_masked(method):
    eb = fresh()
    getattr(eb, method)(b'a', RAW_LIST)
    getattr(eb, method)(b'b', tuple(RAW_LIST))
    assert meta_data(eb)[1] == (h('06 00') + RAW_MASKED) * 2


@pytest.mark.parametrize('method', ['add_str8_bytes_seq', 'add_cbinary_bytes_seq',
                                    'add_str16_bytes_utf16le_seq'])
def test_raw_bytes_seq_list_of_ints_masked(method):
    eb = fresh()
    getattr(eb, method)(b'a', [RAW_LIST, b'\x07\x08'])
    assert meta_data(eb)[1] == h('02 00 | 06 00') + RAW_MASKED + h('02 00 07 08')


def test_raw_bytes_list_guid_systemtime_sid_masked():
    vals16 = [0x100 + i for i in range(15)] + [-1]
    exp16 = bytes(range(15)) + b'\xff'
    sid = [1, 1, 0, 0, 0, 0, 0, 0x105, 0x112, 0, 0, 0]
    eb = fresh()
    eb.add_guid_bytes_le(b'g', vals16)
    eb.add_systemtime_bytes(b't', vals16)
    eb.add_sid_bytes(b's', sid)
    eb.add_guid_bytes_le_seq(b'G', [vals16])
    assert meta_data(eb)[1] == (exp16 + exp16 + h('01 01 00 00 00 00 00 05 12 00 00 00')
                                + h('01 00') + exp16)


def test_sid_list_negative_subauthority_count():
    """§5.5: the required SID length is ``8 + 4 * b[1]`` computed on the value as
    given; with the list-of-ints leniency, b[1] == -1 requires 4 items (stored
    masked, like every raw-byte value)."""
    eb = fresh()
    eb.add_sid_bytes(b's', [1, -1, 0, 0])
    eb.add_sid_bytes_seq(b't', [[1, -1, 7, 0x107]])
    assert meta_data(eb)[1] == h('01 ff 00 00 | 01 00 01 ff 07 07')
    assert not in_error_state(eb)


def test_str_for_raw_bytes_is_type_error():
    eb = fresh()
    with pytest.raises(TypeError):
        eb.add_str8_bytes(b'a', 'abc')
    with pytest.raises(TypeError):
        eb.add_cbinary_bytes(b'a', 'abc')


# ---------------------------------------------------------------------------
# §5.5 GUIDs, SYSTEMTIME, SIDs

def test_guid_via_uuid():
    u1 = uuid.UUID('01234567-89ab-cdef-0123-456789abcdef')
    u2 = uuid.UUID(int=0)
    eb = fresh()
    eb.add_guid(b'a', u1)
    eb.add_guid_seq(b'b', [u1, u2])
    eb.add_guid_seq(b'c', (u2,))
    le = h('67 45 23 01 ab 89 ef cd 01 23 45 67 89 ab cd ef')
    assert meta_data(eb)[1] == le + h('02 00') + le + bytes(16) + h('01 00') + bytes(16)


def test_guid_bytes_le_verbatim():
    b = bytes(range(16))
    eb = fresh()
    eb.add_guid_bytes_le(b'a', b)
    eb.add_guid_bytes_le_seq(b'b', [bytearray(b), b])
    assert meta_data(eb)[1] == b + h('02 00') + b + b


def test_systemtime_bytes_verbatim():
    st = struct.pack('<8H', 2024, 1, 1, 1, 12, 30, 45, 500)
    eb = fresh()
    eb.add_systemtime_bytes(b'a', st)
    eb.add_systemtime_bytes_seq(b'b', (st, st))
    assert meta_data(eb)[1] == st + h('02 00') + st + st


def test_sid_bytes():
    local_system = h('01 01 00 00 00 00 00 05 12 00 00 00')          # S-1-5-18
    admins = h('01 02 00 00 00 00 00 05 20 00 00 00 20 02 00 00')   # S-1-5-32-544
    null_sid0 = h('01 00 00 00 00 00 00 00')                         # 0 sub-authorities
    eb = fresh()
    eb.add_sid_bytes(b'a', local_system)
    eb.add_sid_bytes(b'b', bytearray(admins))
    eb.add_sid_bytes(b'c', null_sid0)
    eb.add_sid_bytes_seq(b'd', [admins, local_system])
    assert meta_data(eb)[1] == local_system + admins + null_sid0 + h('02 00') + admins + local_system


# ---------------------------------------------------------------------------
# §5.5 sequences

@pytest.mark.parametrize('make', [list, tuple])
def test_sequences_lists_and_tuples(make):
    eb = fresh()
    eb.add_int32_seq(b'a', make([1, -1]))
    eb.add_str8_seq(b'b', make(['x', 'yz']))
    eb.add_str16_seq(b'c', make(['x']))
    eb.add_zstr16_seq(b'd', make(['x', 'y\0z']))
    eb.add_zstr8_bytes_seq(b'e', make([b'ab', b'c\0d']))
    eb.add_zstr16_bytes_utf16le_seq(b'f', make([b'A\x00']))
    eb.add_float32_seq(b'g', make([]))
    assert meta_data(eb)[1] == h(
        '02 00 01 00 00 00 ff ff ff ff | 02 00 01 00 78 02 00 79 7a | 01 00 02 00 78 00 '
        '| 02 00 78 00 00 00 79 00 00 00 | 02 00 61 62 00 63 00 | 01 00 41 00 00 00 | 00 00')


def test_empty_sequences():
    eb = fresh()
    eb.add_int64_seq(b'a', [])
    eb.add_str8_seq(b'b', ())
    assert meta_data(eb)[1] == h('00 00 00 00')


@pytest.mark.parametrize('method,good,bad', [
    ('add_int8_seq', 1, 128), ('add_uint16_seq', 1, -1), ('add_int32_seq', 1, 'x'),
    ('add_uint64_seq', 1, 2**64), ('add_float32_seq', 1.0, 1e39), ('add_float64_seq', 1.0, 'x'),
    ('add_bool32_seq', 1, None), ('add_filetime_int64_seq', 1, 1.5), ('add_hexint32_seq', 1, 2**32),
])
def test_numeric_seq_bad_element_leaves_no_data(method, good, bad):
    eb = fresh()
    eb.add_int8(b'p', 9)
    with pytest.raises(Exception):
        getattr(eb, method)(b's', [good, good, bad, good])
    meta, data = meta_data(eb)
    assert data == h('09')
    # metadata for the failed field was appended; builder still valid
    assert meta[2:].startswith(meta_of() + h('70 00 03 73 00'))
    assert not in_error_state(eb)
    eb.add_int8(b'q', 10)
    assert meta_data(eb)[1] == h('09 0a')


def test_numeric_seq_bad_element_metadata_appended():
    eb = fresh()
    with pytest.raises(struct.error):
        eb.add_int8_seq(b's', [1, 2, 300])
    assert meta_data(eb) == (with_size(meta_of() + h('73 00 43')), b'')


@pytest.mark.parametrize('method,vals,expected_data', [
    ('add_str8_seq', ['a', '\ud800', 'b'], '03 00 01 00 61'),
    ('add_str16_seq', ['a', '\ud800'], '02 00 02 00 61 00'),
    ('add_zstr8_seq', ['a', '\udfff'], '02 00 61 00'),
    ('add_zstr16_seq', ['a', 'b', '\ud800'], '03 00 61 00 00 00 62 00 00 00'),
    ('add_guid_seq', [uuid.UUID(int=0), 'not-a-uuid'], '02 00' + ' 00' * 16),
    ('add_str16_bytes_utf16le_seq', [b'a\x00', b'odd'], '02 00 02 00 61 00'),
    ('add_zstr16_bytes_utf16le_seq', [b'a\x00', b'odd'], '02 00 61 00 00 00'),
    ('add_str8_bytes_seq', [b'ab', 5], '02 00 02 00 61 62'),
    ('add_cbinary_bytes_seq', [b'ab', None], '02 00 02 00 61 62'),
    ('add_sid_bytes_seq', [h('01 00 00 00 00 00 00 00'), b'\x01'], '02 00 01 00 00 00 00 00 00 00'),
])
def test_non_numeric_seq_keeps_earlier_elements(method, vals, expected_data):
    eb = fresh()
    with pytest.raises(Exception):
        getattr(eb, method)(b's', vals)
    assert meta_data(eb)[1] == h(expected_data)
    assert not in_error_state(eb)


def test_seq_requires_len_and_iter():
    eb = fresh()
    with pytest.raises(TypeError):
        eb.add_int32_seq(b'a', (i for i in range(3)))
    with pytest.raises(TypeError):
        eb.add_str8_seq(b'a', iter(['x']))
    with pytest.raises(TypeError):
        eb.add_int32_seq(b'a', 5)


# ---------------------------------------------------------------------------
# Limits (§5.4, §5.6 with D2)

@pytest.mark.parametrize('initial_meta', [64, 100, 128, 1000, 32768])
def test_metadata_limit_exact_via_reset(initial_meta):
    eb = EventBuilder(initial_meta)
    name = b'n' * (32768 - 4)   # 2 size + 1 tag + name + 1 NUL == 32768
    eb.reset(name)
    meta, _ = meta_data(eb)
    assert len(meta) == 32768
    assert meta[:2] == b'\x00\x80'
    eb2 = EventBuilder(initial_meta)
    with pytest.raises(ValueError):
        eb2.reset(name + b'n')
    assert in_error_state(eb2)


@pytest.mark.parametrize('initial_meta', [64, 100, 128, 32768])
def test_metadata_limit_exact_via_fields(initial_meta):
    eb = EventBuilder(initial_meta)
    eb.reset(b'E')                    # 5 bytes
    eb.add_int8(b'x' * 32761, 1)      # + 32763 == 32768
    meta, data = meta_data(eb)
    assert len(meta) == 32768
    assert data == h('01')
    assert not in_error_state(eb)

    eb.reset(b'E')
    with pytest.raises(ValueError):
        eb.add_int8(b'x' * 32762, 1)  # 32769
    assert in_error_state(eb)
    with pytest.raises(ValueError):
        eb.add_int8(b'y', 1)
    eb.reset(b'E')
    eb.add_int8(b'y', 1)
    assert meta_data(eb) == (with_size(meta_of() + h('79 00 03')), h('01'))


def test_metadata_limit_with_tag_and_out_type():
    eb = EventBuilder(100)
    eb.reset(b'E')
    eb.add_int8(b'x' * (32763 - 7), 1, out_type=1, tag=1)   # L + 7 == 32763 (NUL, type, out, 4 tag)
    assert len(meta_data(eb)[0]) == 32768
    eb.reset(b'E')
    with pytest.raises(ValueError):
        eb.add_int8(b'x' * (32763 - 6), 1, out_type=1, tag=1)
    assert in_error_state(eb)


@pytest.mark.parametrize('sizes', [(), (64, 64), (100, 64), (100, 100), (32768, 65536), (64, 65536)])
def test_data_limit_exact(sizes):
    eb = EventBuilder(*sizes)
    eb.reset(b'E')
    eb.add_cbinary_bytes(b'b', b'\x5a' * 65534)   # 2 + 65534 == 65536
    meta, data = meta_data(eb)
    assert len(data) == 65536
    assert data == h('fe ff') + b'\x5a' * 65534
    assert not in_error_state(eb)

    eb.reset(b'E')
    with pytest.raises(ValueError):
        eb.add_cbinary_bytes(b'b', b'\x5a' * 65535)
    assert in_error_state(eb)


@pytest.mark.parametrize('sizes', [(), (100, 64)])
def test_data_limit_exact_many_steps(sizes):
    eb = EventBuilder(*sizes)
    eb.reset(b'E')
    # 127 fields: 126 x (2 + 514) + 1 x rest
    chunk = b'\x01' * 514
    for i in range(126):
        eb.add_str8_bytes(b'', chunk)
    used = 126 * 516
    rest = 65536 - used
    eb.add_zstr8_bytes(b'', b'\x02' * (rest - 1))   # len + 1 NUL
    _, data = meta_data(eb)
    assert len(data) == 65536
    assert data[-2:] == b'\x02\x00'
    with pytest.raises(ValueError):
        eb.add_int8(b'', 1)   # 128th slot fine, but data is full
    assert in_error_state(eb)


def test_data_limit_numeric_seq():
    eb = EventBuilder()
    eb.reset(b'E')
    eb.add_int8_seq(b's', [7] * 65534)
    assert len(meta_data(eb)[1]) == 65536
    eb.reset(b'E')
    with pytest.raises(ValueError):
        eb.add_int8_seq(b's', [7] * 65535)
    assert in_error_state(eb)


def test_128_slots_ok_129th_fails():
    eb = fresh()
    for i in range(128):
        eb.add_int8(b'', i & 0x7F)
    assert not in_error_state(eb)
    meta, data = meta_data(eb)
    assert len(data) == 128
    with pytest.raises(ValueError):
        eb.add_int8(b'', 1)
    assert in_error_state(eb)
    with pytest.raises(ValueError):
        eb.add_int8(b'', 1)
    eb.reset(b'E')
    eb.add_int8(b'', 1)
    assert not in_error_state(eb)


def test_64_seq_fields_fill_128_slots():
    eb = fresh()
    for i in range(64):
        eb.add_int8_seq(b'', [1])
    assert not in_error_state(eb)
    with pytest.raises(ValueError):
        eb.add_struct(b's', 1)
    assert in_error_state(eb)


@pytest.mark.parametrize('call', [
    lambda eb: eb.add_int8_seq(b's', [1]),
    lambda eb: eb.add_binary_bytes(b'b', b'x'),
    lambda eb: eb.add_str8_seq(b's', ['x']),
])
def test_seq_or_binary_at_127_fails_and_enters_error_state(call):
    eb = fresh()
    for _ in range(127):
        eb.add_int8(b'', 1)
    before = meta_data(eb)
    with pytest.raises(ValueError):
        call(eb)
    assert in_error_state(eb)
    assert meta_data(eb) == before


def test_seq_at_126_ok():
    eb = fresh()
    for _ in range(126):
        eb.add_int8(b'', 1)
    eb.add_binary_bytes(b'b', b'x')
    assert not in_error_state(eb)
    with pytest.raises(ValueError):
        eb.add_int8(b'', 1)


@pytest.mark.parametrize('count', [1, 2, 63, 64, 126, 127])
def test_struct_counts_valid(count):
    eb = fresh()
    eb.add_struct(b's', count)
    assert meta_data(eb)[0] == with_size(meta_of() + h('73 00 98') + bytes([count]))


@pytest.mark.parametrize('count', [0, -1, 128, 255, 2**64])
def test_struct_counts_invalid(count):
    eb = fresh()
    with pytest.raises(AssertionError):
        eb.add_struct(b's', count)
    assert meta_data(eb) == (with_size(meta_of()), b'')
    assert not in_error_state(eb)
