"""Error-behaviour tests: one test per row of the spec's §5.7 error table, the
§6.1 Provider constructor errors, the §4 id-function argument errors, and the
deliberate deviations D4 (exception classes) and D5 (failed reset is clean).

What this file is for: each test triggers one error condition and asserts the
exception type AND the state left behind — whether the builder entered the
error state (``check_state()`` raises ``ValueError``) and which metadata and
data remain (``_get_meta_data()``).
"""

import struct
import uuid

import pytest

import traceloggingdynamic as tld
from traceloggingdynamic import EventBuilder, Provider


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace('|', ' '))


def in_error_state(eb) -> bool:
    try:
        eb.check_state()
    except ValueError:
        return True
    return False


def md(eb):
    return eb._get_meta_data()


def with_size(body: bytes) -> bytes:
    return struct.pack('<H', len(body) + 2) + body


BASE_META = with_size(h('00 45 00 | 70 00 07'))   # reset(b'E') + add_int32(b'p', ...)
BASE_DATA = h('2a 00 00 00')


def prepared():
    """A valid builder with one int32 field 'p' = 42."""
    eb = EventBuilder()
    eb.reset(b'E')
    eb.add_int32(b'p', 42)
    assert md(eb) == (BASE_META, BASE_DATA)
    return eb


def meta_plus(record_hex: str) -> bytes:
    return with_size(h('00 45 00 | 70 00 07') + h(record_hex))


def assert_usable(eb):
    """After an error: reset + add works and gives exact bytes."""
    eb.reset(b'R')
    eb.add_int32(b'v', 7)
    assert md(eb) == (h('08 00 00 52 00 76 00 07'), h('07 00 00 00'))
    assert not in_error_state(eb)


def fill_slots(eb, n):
    for _ in range(n):
        eb.add_int8(b'', 0)


# ---------------------------------------------------------------------------
# reset rows

@pytest.mark.parametrize('tag', [-1, 0x10000000, 2**64, -0x0FE00000, 0x1FE00000])
def test_reset_invalid_event_tag(tag):
    eb = prepared()
    desc = bytes(eb._get_event_desc())
    with pytest.raises(ValueError):
        eb.reset(b'New', tag=tag)
    assert not in_error_state(eb)                   # not state-setting
    assert md(eb) == (BASE_META, BASE_DATA)         # unchanged
    assert bytes(eb._get_event_desc()) == desc
    assert eb.name_utf8 == b'E'
    eb.add_int8(b'q', 1)                            # still valid
    assert md(eb)[1] == BASE_DATA + h('01')


def test_reset_invalid_event_tag_on_fresh_builder_stays_in_error_state():
    eb = EventBuilder()
    with pytest.raises(ValueError):
        eb.reset(b'New', tag=-1)
    assert in_error_state(eb)
    assert eb.name_utf8 == b''


def test_reset_tag_checked_before_name():
    eb = prepared()
    with pytest.raises(ValueError):
        eb.reset(b'a\0b', tag=-1)
    with pytest.raises(ValueError):
        eb.reset('str name', tag=2**28)


def test_reset_nul_in_name():
    eb = prepared()
    desc = bytes(eb._get_event_desc())
    with pytest.raises(AssertionError):
        eb.reset(b'a\0b', level=1, keyword=2)
    assert not in_error_state(eb)
    assert md(eb) == (BASE_META, BASE_DATA)
    assert bytes(eb._get_event_desc()) == desc
    assert eb.name_utf8 == b'E'


def test_reset_str_name_type_error():
    eb = prepared()
    with pytest.raises(TypeError):
        eb.reset('E')
    assert not in_error_state(eb)
    assert md(eb) == (BASE_META, BASE_DATA)


@pytest.mark.parametrize('kwargs,kind', [
    (dict(id=65536), OverflowError), (dict(id=-1), OverflowError),
    (dict(version=256), OverflowError), (dict(channel=256), OverflowError),
    (dict(level=256), OverflowError), (dict(level=-1), OverflowError),
    (dict(opcode=256), OverflowError), (dict(task=65536), OverflowError),
    (dict(keyword=2**64), OverflowError), (dict(keyword=-1), OverflowError),
    (dict(level=1.5), TypeError), (dict(keyword='1'), TypeError), (dict(task=None), TypeError),
    (dict(id=3, version=2, channel=11, level=4, opcode=300), OverflowError),
])
def test_reset_descriptor_field_error_D4_D5(kwargs, kind):
    eb = prepared()
    with pytest.raises(struct.error) as ei:
        eb.reset(b'New', **kwargs)
    assert isinstance(ei.value, kind)                       # D4
    # D5: the builder is in the error state until the next good reset
    assert in_error_state(eb)
    with pytest.raises(ValueError):
        eb.check_state()
    with pytest.raises(ValueError):
        eb._get_event_desc()
    with pytest.raises(ValueError):
        eb.add_int8(b'x', 1)
    eb.reset(b'Ok', level=2)
    assert not in_error_state(eb)
    assert bytes(eb._get_event_desc()) == h('00 00 00 0b 02 00 00 00 01 00 00 00 00 00 00 00')
    assert md(eb) == (with_size(h('00 4f 6b 00')), b'')
    assert eb.name_utf8 == b'Ok'


def test_reset_descriptor_error_write_raises_D5():
    eb = prepared()
    with pytest.raises(struct.error):
        eb.reset(b'New', level=999)
    p = Provider(b'ErrTable.Provider')
    try:
        with pytest.raises(ValueError):
            p.write(eb)
    finally:
        p.close()


@pytest.mark.parametrize('initial', [64, 100, 128])
def test_reset_metadata_too_long(initial):
    eb = EventBuilder(initial)
    eb.reset(b'E')
    eb.add_int32(b'p', 42)
    with pytest.raises(ValueError):
        eb.reset(b'n' * 32765, level=1)          # needs 32769 bytes
    assert in_error_state(eb)                    # state-setting
    with pytest.raises(ValueError):
        eb._get_event_desc()
    with pytest.raises(ValueError):
        eb.add_int8(b'x', 1)
    assert eb.name_utf8 == b'E'
    assert_usable(eb)


# ---------------------------------------------------------------------------
# add rows

def test_add_nul_in_field_name_scalar():
    eb = prepared()
    with pytest.raises(AssertionError):
        eb.add_int8(b'a\0', 1)
    assert not in_error_state(eb)
    assert md(eb) == (BASE_META, BASE_DATA)
    # no slot consumed: 127 more plain fields fit (1 + 127 == 128)
    fill_slots(eb, 127)
    assert not in_error_state(eb)
    with pytest.raises(ValueError):
        eb.add_int8(b'', 0)


@pytest.mark.parametrize('call', [
    lambda eb: eb.add_int8_seq(b'a\0', [1]),
    lambda eb: eb.add_binary_bytes(b'\0', b'x'),
    lambda eb: eb.add_str8_seq(b'x\0y', ['x']),
])
def test_add_nul_in_field_name_seq_uses_a_slot(call):
    eb = prepared()
    with pytest.raises(AssertionError):
        call(eb)
    assert not in_error_state(eb)
    assert md(eb) == (BASE_META, BASE_DATA)
    # one slot consumed: F == 2, so only 126 more plain fields fit
    fill_slots(eb, 126)
    assert not in_error_state(eb)
    with pytest.raises(ValueError):
        eb.add_int8(b'', 0)
    assert in_error_state(eb)


def test_add_nul_name_checked_before_error_state():
    eb = EventBuilder()   # in error state
    with pytest.raises(AssertionError):
        eb.add_int8(b'\0', 1)
    with pytest.raises(AssertionError):
        eb.add_int8_seq(b'\0', [1])
    assert in_error_state(eb)


@pytest.mark.parametrize('call', [
    lambda eb: eb.add_int8(b'x', 1),
    lambda eb: eb.add_int8_seq(b'x', [1]),
    lambda eb: eb.add_binary_bytes(b'x', b'1'),
    lambda eb: eb.add_str8(b'x', 'a'),
    lambda eb: eb.add_guid(b'x', uuid.UUID(int=1)),
    lambda eb: eb.add_struct(b'x', 1),
])
def test_add_already_in_error_state(call):
    eb = EventBuilder()
    with pytest.raises(ValueError):
        call(eb)
    assert in_error_state(eb)
    assert md(eb) == (b'', b'')
    # also after a state-setting error on a used builder
    eb = prepared()
    fill_slots(eb, 127)
    with pytest.raises(ValueError):
        eb.add_int8(b'', 0)
    before = md(eb)
    with pytest.raises(ValueError):
        call(eb)
    assert md(eb) == before
    assert_usable(eb)


def test_add_129th_slot():
    eb = prepared()
    fill_slots(eb, 127)
    before = md(eb)
    assert not in_error_state(eb)
    with pytest.raises(ValueError):
        eb.add_int8(b'z', 1)
    assert in_error_state(eb)
    assert md(eb) == before
    with pytest.raises(ValueError):
        eb._get_event_desc()
    assert_usable(eb)


def test_add_metadata_too_long():
    eb = prepared()          # meta 8 bytes
    eb.add_int8(b'x' * (32768 - 8 - 2 - 3), 1)   # 32765 bytes: fits
    assert len(md(eb)[0]) == 32765
    before = md(eb)
    with pytest.raises(ValueError):
        eb.add_int8(b'xy', 1)                     # needs 32769
    assert in_error_state(eb)
    assert md(eb) == before
    assert_usable(eb)


def test_add_data_too_long_metadata_appended():
    eb = prepared()
    with pytest.raises(ValueError):
        eb.add_cbinary_bytes(b'b', bytes(65536 - 4 - 2 + 1))
    assert in_error_state(eb)
    assert md(eb) == (meta_plus('62 00 19'), BASE_DATA)
    assert_usable(eb)


def test_add_data_too_long_numeric_scalar():
    eb = EventBuilder()
    eb.reset(b'E')
    eb.add_cbinary_bytes(b'b', bytes(65536 - 2 - 3))
    eb.add_int16(b'i', 1)          # 65535 bytes used
    with pytest.raises(ValueError):
        eb.add_int16(b'j', 1)
    assert in_error_state(eb)
    assert md(eb)[0].endswith(h('6a 00 05'))
    assert len(md(eb)[1]) == 65535


@pytest.mark.parametrize('count', [0, 128, -5])
def test_add_struct_count_out_of_range(count):
    eb = prepared()
    with pytest.raises(AssertionError):
        eb.add_struct(b's', count)
    assert not in_error_state(eb)
    assert md(eb) == (BASE_META, BASE_DATA)
    # checked before the name check and the error-state check
    with pytest.raises(AssertionError):
        eb.add_struct(b'a\0', count)
    fresh = EventBuilder()
    with pytest.raises(AssertionError):
        fresh.add_struct(b's', count)
    assert in_error_state(fresh)
    # no slot consumed
    fill_slots(eb, 127)
    assert not in_error_state(eb)


@pytest.mark.parametrize('method,value,kind,record', [
    ('add_int8', 128, OverflowError, '61 00 03'),
    ('add_uint8', -1, OverflowError, '61 00 04'),
    ('add_uint16', 65536, OverflowError, '61 00 06'),
    ('add_int32', 2**31, OverflowError, '61 00 07'),
    ('add_uint64', -1, OverflowError, '61 00 0a'),
    ('add_hexint32', 2**32, OverflowError, '61 00 14'),
    ('add_int32', 'x', TypeError, '61 00 07'),
    ('add_int64', 1.0, TypeError, '61 00 09'),
    ('add_bool32', None, TypeError, '61 00 0d'),
    ('add_filetime_int64', b'\x00', TypeError, '61 00 11'),
    ('add_int8_seq', [1, 128], OverflowError, '61 00 43'),
    ('add_uint32_seq', [1, 'x'], TypeError, '61 00 48'),
])
def test_integer_out_of_range_or_not_int(method, value, kind, record):
    eb = prepared()
    with pytest.raises(struct.error) as ei:
        getattr(eb, method)(b'a', value)
    assert isinstance(ei.value, kind)    # D4
    assert not in_error_state(eb)
    assert md(eb) == (meta_plus(record), BASE_DATA)   # metadata appended, data missing
    eb.add_int8(b'q', 1)
    assert md(eb)[1] == BASE_DATA + h('01')


def test_D4_exception_classes():
    assert issubclass(tld.FieldRangeError, struct.error)
    assert issubclass(tld.FieldRangeError, OverflowError)
    assert issubclass(tld.FieldTypeError, struct.error)
    assert issubclass(tld.FieldTypeError, TypeError)
    eb = prepared()
    with pytest.raises(tld.FieldRangeError):
        eb.add_uint16(b'a', 70000)
    with pytest.raises(tld.FieldTypeError):
        eb.add_uint16(b'a', '1')
    # and existing `except struct.error` code keeps working
    try:
        eb.add_int8(b'a', 1000)
    except struct.error:
        pass
    with pytest.raises(OverflowError):
        eb.reset(b'E', channel=1000)
    with pytest.raises(TypeError):
        eb.reset(b'E', channel='1000')


def test_float32_overflow():
    eb = prepared()
    with pytest.raises(OverflowError):
        eb.add_float32(b'a', 1e39)
    assert not in_error_state(eb)
    assert md(eb) == (meta_plus('61 00 0b'), BASE_DATA)
    with pytest.raises(OverflowError):
        eb.add_float32_seq(b'b', [1.0, -1e300])
    assert md(eb) == (meta_plus('61 00 0b 62 00 4b'), BASE_DATA)
    assert not in_error_state(eb)


@pytest.mark.parametrize('method,value,record,data', [
    ('add_str16_bytes_utf16le', b'abc', '61 00 16', ''),
    ('add_zstr16_bytes_utf16le', b'a', '61 00 01', ''),
    ('add_str16_bytes_utf16le_seq', [b'ab', b'abc'], '61 00 56', '02 00 02 00 61 62'),
    ('add_zstr16_bytes_utf16le_seq', [b'abc'], '61 00 41', '01 00'),
])
def test_odd_length_utf16_bytes(method, value, record, data):
    eb = prepared()
    with pytest.raises(AssertionError):
        getattr(eb, method)(b'a', value)
    assert not in_error_state(eb)
    assert md(eb) == (meta_plus(record), BASE_DATA + h(data))


@pytest.mark.parametrize('method,value,record,data', [
    ('add_str16', 'a\ud800', '61 00 16', ''),
    ('add_str8', '\udc00', '61 00 97 23', ''),
    ('add_zstr16', 'x\ud800y', '61 00 01', ''),
    ('add_zstr8', '\ud800', '61 00 82 23', ''),
    ('add_str16_seq', ['ok', '\ud800'], '61 00 56', '02 00 04 00 6f 00 6b 00'),
    ('add_str8_seq', ['ok', 'x', '\ud800', 'y'], '61 00 d7 23', '04 00 02 00 6f 6b 01 00 78'),
    ('add_zstr16_seq', ['ok', '\ud800'], '61 00 41', '02 00 6f 00 6b 00 00 00'),
    ('add_zstr8_seq', ['ok', '\ud800'], '61 00 c2 23', '02 00 6f 6b 00'),
])
def test_lone_surrogate(method, value, record, data):
    eb = prepared()
    with pytest.raises(UnicodeEncodeError) as ei:
        getattr(eb, method)(b'a', value)
    assert isinstance(ei.value, ValueError)
    assert not in_error_state(eb)
    assert md(eb) == (meta_plus(record), BASE_DATA + h(data))


@pytest.mark.parametrize('method,value,record,data', [
    ('add_guid_bytes_le', bytes(15), '61 00 0f', ''),
    ('add_guid_bytes_le', bytes(17), '61 00 0f', ''),
    ('add_systemtime_bytes', b'', '61 00 12', ''),
    ('add_systemtime_bytes', bytearray(20), '61 00 12', ''),
    ('add_guid_bytes_le_seq', [bytes(16), bytes(3)], '61 00 4f', '02 00' + ' 00' * 16),
    ('add_systemtime_bytes_seq', [bytes(1)], '61 00 52', '01 00'),
])
def test_guid_systemtime_wrong_length_state_setting(method, value, record, data):
    eb = prepared()
    with pytest.raises(ValueError):
        getattr(eb, method)(b'a', value)
    assert in_error_state(eb)
    assert md(eb) == (meta_plus(record), BASE_DATA + h(data))
    assert_usable(eb)


@pytest.mark.parametrize('method,value,data', [
    ('add_sid_bytes', h('01 01 00 00 00 00 00 05'), ''),                  # needs 12
    ('add_sid_bytes', h('01 00 00 00 00 00 00 00 00'), ''),               # needs 8
    ('add_sid_bytes_seq', [h('01 00 00 00 00 00 00 00'), h('01 02 00 00')], '02 00 01 00 00 00 00 00 00 00'),
])
def test_sid_length_mismatch_state_setting(method, value, data):
    eb = prepared()
    with pytest.raises(ValueError):
        getattr(eb, method)(b'a', value)
    assert in_error_state(eb)
    code = '13' if not method.endswith('_seq') else '53'
    assert md(eb) == (meta_plus('61 00 ' + code), BASE_DATA + h(data))
    assert_usable(eb)


@pytest.mark.parametrize('method,value,code,data', [
    ('add_sid_bytes', b'', '13', ''),
    ('add_sid_bytes', b'\x01', '13', ''),
    ('add_sid_bytes_seq', [b'\x01'], '53', '01 00'),
])
def test_sid_shorter_than_2_bytes_index_error(method, value, code, data):
    eb = prepared()
    with pytest.raises(IndexError):
        getattr(eb, method)(b'a', value)
    assert not in_error_state(eb)
    assert md(eb) == (meta_plus('61 00 ' + code), BASE_DATA + h(data))


@pytest.mark.parametrize('method,value,code,data', [
    ('add_guid', '01234567-89ab-cdef-0123-456789abcdef', '0f', ''),
    ('add_guid', bytes(16), '0f', ''),
    ('add_guid', None, '0f', ''),
    ('add_guid_seq', [uuid.UUID(int=1), 5], '4f', '02 00' + ' 00' * 15 + ' 01'),
])
def test_non_uuid_attribute_error(method, value, code, data):
    eb = prepared()
    with pytest.raises(AttributeError):
        getattr(eb, method)(b'a', value)
    assert not in_error_state(eb)
    assert md(eb) == (meta_plus('61 00 ' + code), BASE_DATA + h(data))


@pytest.mark.parametrize('method', ['add_str8_seq', 'add_zstr16_seq', 'add_cbinary_bytes_seq',
                                    'add_guid_seq', 'add_sid_bytes_seq', 'add_str8_bytes_seq'])
def test_sequence_count_over_65535(method):
    class Huge:
        def __len__(self):
            return 65536

        def __iter__(self):
            return iter(())

    eb = prepared()
    with pytest.raises(struct.error):
        getattr(eb, method)(b'a', Huge())
    assert not in_error_state(eb)
    meta, data = md(eb)
    assert meta[2:].startswith(BASE_META[2:] + h('61 00'))
    assert data == BASE_DATA


def test_sequence_count_over_65535_real_list():
    eb = prepared()
    with pytest.raises(struct.error):
        eb.add_str8_seq(b'a', [''] * 65536)
    assert not in_error_state(eb)
    assert md(eb) == (meta_plus('61 00 d7 23'), BASE_DATA)
    eb.add_str8_seq(b'b', [''] * 10)      # still usable
    assert md(eb)[1] == BASE_DATA + h('0a 00') + h('00 00') * 10


@pytest.mark.parametrize('kwargs', [
    dict(out_type=None), dict(out_type=1.0), dict(tag=None), dict(tag=1.5),
    dict(out_type='1'), dict(tag=1, out_type=None),
])
def test_out_type_or_tag_not_int(kwargs):
    eb = prepared()
    with pytest.raises(TypeError):
        eb.add_int8(b'a', 1, **kwargs)
    assert not in_error_state(eb)
    assert md(eb) == (BASE_META, BASE_DATA)    # partial metadata not committed
    # the slot was consumed: F == 2, so 126 more plain fields fit
    fill_slots(eb, 126)
    assert not in_error_state(eb)
    with pytest.raises(ValueError):
        eb.add_int8(b'', 0)


def test_out_type_not_int_seq_uses_two_slots():
    eb = prepared()
    with pytest.raises(TypeError):
        eb.add_int8_seq(b'a', [1], out_type=None)
    assert md(eb) == (BASE_META, BASE_DATA)
    fill_slots(eb, 125)   # F == 3 + 125 == 128
    with pytest.raises(ValueError):
        eb.add_int8(b'', 0)


# ---------------------------------------------------------------------------
# Field-name type errors (§5.3)

def test_field_name_types():
    eb = prepared()
    with pytest.raises(TypeError):
        eb.add_int8('name', 1)
    with pytest.raises(AttributeError):
        eb.add_int8(memoryview(b'name'), 1)
    assert md(eb) == (BASE_META, BASE_DATA)
    assert not in_error_state(eb)


# ---------------------------------------------------------------------------
# §6.1 Provider constructor errors, §4 id functions

def test_provider_empty_name():
    with pytest.raises(ValueError) as ei:
        Provider(b'')
    assert type(ei.value) is ValueError
    assert ei.value.args == ('Provider name must not be empty.', b'')


def test_provider_empty_name_bytearray_args_keep_object():
    name = bytearray()
    with pytest.raises(ValueError) as ei:
        Provider(name)
    assert ei.value.args[0] == 'Provider name must not be empty.'
    assert ei.value.args[1] is name


def test_provider_nul_name():
    with pytest.raises(ValueError) as ei:
        Provider(b'My\0Provider')
    assert type(ei.value) is ValueError
    assert ei.value.args == ('Field name must not contain 0x00 bytes.', b'My\0Provider')


def test_provider_nul_name_with_explicit_id():
    with pytest.raises(ValueError) as ei:
        Provider(b'\0', id=uuid.UUID(int=5))
    assert ei.value.args == ('Field name must not contain 0x00 bytes.', b'\0')


def test_provider_invalid_utf8_name():
    with pytest.raises(UnicodeDecodeError):
        Provider(b'\xff\xfe')
    with pytest.raises(UnicodeDecodeError):   # decoded before the NUL check
        Provider(b'\xff\0')


def test_provider_invalid_utf8_with_explicit_id_str_fails():
    p = Provider(b'\xffX', id=uuid.UUID(int=7))
    try:
        assert p.id == uuid.UUID(int=7)
        with pytest.raises(UnicodeDecodeError):
            str(p)
    finally:
        p.close()


def test_providerid_from_name_errors():
    with pytest.raises(AttributeError):
        tld.providerid_from_name(b'x')
    with pytest.raises(AttributeError):
        tld.providerid_from_name(None)
    with pytest.raises(UnicodeEncodeError):
        tld.providerid_from_name('a\ud800')


def test_providerid_from_name_bytes_utf8_errors():
    with pytest.raises(TypeError):
        tld.providerid_from_name_bytes_utf8('str')
    with pytest.raises(UnicodeDecodeError):
        tld.providerid_from_name_bytes_utf8(b'\xc3')
    with pytest.raises(UnicodeDecodeError):
        tld.providerid_from_name_bytes_utf8(b'\xed\xa0\x80')   # encoded surrogate
