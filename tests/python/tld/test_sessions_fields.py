"""Round trip of every field type: EventBuilder -> Provider.write -> Session
-> real .etl file -> EtlFile (our decoder), with exact decoded values.

What this file is for (issue 3, tests): every one of the 62 ``add_*``
methods (``_seq`` variants included), structs (nested too), the out-types the
decoder interprets, field and event tags, the documented value mapping of
``tl_decoder.h`` (integers as numbers, hex types as "0x..." strings, bool32 as
true/false, GUID strings, binary as hex, FILETIME/SYSTEMTIME as ISO strings,
SIDs as S-1-..., floats with "nan"/"inf"/"-inf" strings, U+FFFD for invalid
text, "#2" suffixes for repeated names), plus the event header as a user sees
it: descriptor fields, activity ids, pid/tid, provider name/id and times.
"""

import json
import math
import os
import struct
import threading
import time
import uuid

import pytest

import traceloggingdynamic as tld
from traceloggingdynamic import EventBuilder, OutType, Provider

from etl_helpers import (assert_event_shape, iso_to_filetime, now_filetime, read_etl)

PROV_NAME = 'TldTests.Sessions.Fields'
G1 = uuid.UUID('01234567-89ab-cdef-0123-456789abcdef')
G2 = uuid.UUID('ffeeddcc-bbaa-9988-7766-554433221100')
G_LE = bytes(range(16))

SID_LOCAL_SYSTEM = bytes.fromhex('01 01 000000000005 12000000')
SID_ADMINS = bytes.fromhex('01 02 000000000005 20000000 20020000')
SID_DOMAIN_USER = bytes.fromhex('01 05 000000000005 15000000') + struct.pack('<4I', 3623811015, 3361044348,
                                                                            30300820, 1013)
SID_NULL = bytes.fromhex('01 01 000000000000 00000000')
SID_EVERYONE = bytes.fromhex('01 01 000000000001 00000000')

SYSTEMTIME_LEAP = struct.pack('<8H', 2024, 2, 4, 29, 23, 59, 58, 999)
SYSTEMTIME_EPOCH = struct.pack('<8H', 1601, 1, 1, 1, 0, 0, 0, 0)

IPV6_BYTES = bytes.fromhex('20010db8000000000000000000000001')


class F32:
    """Expected float32 value: the decoded number must round to the same float32."""

    def __init__(self, v):
        self.v = v

    def __repr__(self):
        return f'F32({self.v!r})'


def same(decoded, expected):
    if isinstance(expected, F32):
        if isinstance(expected.v, str):
            return decoded == expected.v
        return (isinstance(decoded, (int, float)) and not isinstance(decoded, bool)
                and struct.pack('<f', decoded) == struct.pack('<f', expected.v))
    if isinstance(expected, float) and not math.isnan(expected):
        return (isinstance(decoded, (int, float)) and not isinstance(decoded, bool)
                and float(decoded) == expected)
    if isinstance(expected, list):
        return (isinstance(decoded, list) and len(decoded) == len(expected)
                and all(same(d, e) for d, e in zip(decoded, expected)))
    if isinstance(expected, dict):
        return (isinstance(decoded, dict) and list(decoded) == list(expected)
                and all(same(decoded[k], expected[k]) for k in expected))
    if isinstance(expected, bool) or isinstance(decoded, bool):
        return type(decoded) is type(expected) and decoded == expected
    if isinstance(expected, int):
        return type(decoded) is int and decoded == expected
    return type(decoded) is type(expected) and decoded == expected


# (case id, method, value, kwargs, expected decoded value of field 'v')
SIMPLE_CASES = [
    # signed / unsigned integers at their extremes
    ('int8_min', 'add_int8', -128, {}, -128),
    ('int8_max', 'add_int8', 127, {}, 127),
    ('int8_seq', 'add_int8_seq', [-128, -1, 0, 127], {}, [-128, -1, 0, 127]),
    ('uint8_max', 'add_uint8', 255, {}, 255),
    ('uint8_seq', 'add_uint8_seq', [0, 1, 254, 255], {}, [0, 1, 254, 255]),
    ('int16_min', 'add_int16', -32768, {}, -32768),
    ('int16_seq', 'add_int16_seq', [32767, -1, -32768], {}, [32767, -1, -32768]),
    ('uint16_max', 'add_uint16', 65535, {}, 65535),
    ('uint16_seq', 'add_uint16_seq', [0, 65535], {}, [0, 65535]),
    ('int32_min', 'add_int32', -2**31, {}, -2**31),
    ('int32_seq', 'add_int32_seq', [2**31 - 1, -2**31, 0], {}, [2**31 - 1, -2**31, 0]),
    ('uint32_max', 'add_uint32', 2**32 - 1, {}, 2**32 - 1),
    ('uint32_seq', 'add_uint32_seq', [2**32 - 1, 0, 7], {}, [2**32 - 1, 0, 7]),
    ('int64_min', 'add_int64', -2**63, {}, -2**63),
    ('int64_max', 'add_int64', 2**63 - 1, {}, 2**63 - 1),
    ('int64_seq', 'add_int64_seq', [-2**63, 2**63 - 1, -1], {}, [-2**63, 2**63 - 1, -1]),
    ('uint64_max', 'add_uint64', 2**64 - 1, {}, 2**64 - 1),
    ('uint64_big', 'add_uint64', 2**53 + 1, {}, 2**53 + 1),
    ('uint64_seq', 'add_uint64_seq', [0, 2**64 - 1, 2**63], {}, [0, 2**64 - 1, 2**63]),
    ('intptr_min', 'add_intptr', -2**63, {}, -2**63),
    ('intptr_seq', 'add_intptr_seq', [-1, 2**63 - 1], {}, [-1, 2**63 - 1]),
    ('uintptr_max', 'add_uintptr', 2**64 - 1, {}, 2**64 - 1),
    ('uintptr_seq', 'add_uintptr_seq', [0, 2**64 - 1], {}, [0, 2**64 - 1]),
    # hex integers: "0x..." strings, lowercase, no padding
    ('hexint32', 'add_hexint32', 0xDEADBEEF, {}, '0xdeadbeef'),
    ('hexint32_zero', 'add_hexint32', 0, {}, '0x0'),
    ('hexint32_seq', 'add_hexint32_seq', [1, 0xFFFFFFFF], {}, ['0x1', '0xffffffff']),
    ('hexint64', 'add_hexint64', 2**64 - 1, {}, '0xffffffffffffffff'),
    ('hexint64_seq', 'add_hexint64_seq', [0x10, 2**63], {}, ['0x10', '0x8000000000000000']),
    ('hexintptr', 'add_hexintptr', 0x7FFF12345678, {}, '0x7fff12345678'),
    ('hexintptr_seq', 'add_hexintptr_seq', [0, 2**64 - 1], {}, ['0x0', '0xffffffffffffffff']),
    # floats: numbers; NaN and infinities as the documented strings
    ('float32_half', 'add_float32', 1.5, {}, F32(1.5)),
    ('float32_tenth', 'add_float32', 0.1, {}, F32(0.1)),
    ('float32_max', 'add_float32', -3.4028234663852886e38, {}, F32(-3.4028234663852886e38)),
    ('float32_denormal', 'add_float32', 1e-45, {}, F32(1e-45)),
    ('float32_inf', 'add_float32', math.inf, {}, 'inf'),
    ('float32_ninf', 'add_float32', -math.inf, {}, '-inf'),
    ('float32_nan', 'add_float32', math.nan, {}, 'nan'),
    ('float32_seq', 'add_float32_seq', [0.25, math.nan, -math.inf, 16777217.0], {},
     [F32(0.25), 'nan', '-inf', F32(16777216.0)]),
    ('float64_tenth', 'add_float64', 0.1, {}, 0.1),
    ('float64_max', 'add_float64', 1.7976931348623157e308, {}, 1.7976931348623157e308),
    ('float64_denormal', 'add_float64', 5e-324, {}, 5e-324),
    ('float64_third', 'add_float64', -1 / 3, {}, -1 / 3),
    ('float64_inf', 'add_float64', math.inf, {}, 'inf'),
    ('float64_nan', 'add_float64', math.nan, {}, 'nan'),
    ('float64_seq', 'add_float64_seq', [2.5, -math.inf, math.nan, 1e-300], {}, [2.5, '-inf', 'nan', 1e-300]),
    # bool32: true/false (any nonzero is true)
    ('bool32_true', 'add_bool32', 1, {}, True),
    ('bool32_false', 'add_bool32', 0, {}, False),
    ('bool32_five', 'add_bool32', 5, {}, True),
    ('bool32_seq', 'add_bool32_seq', [1, 0, -1, 2], {}, [True, False, True, True]),
    # NUL-terminated strings
    ('zstr16', 'add_zstr16', 'h\u00e9llo w\u00f6rld \U0001F600 \u4e2d\u6587', {},
     'h\u00e9llo w\u00f6rld \U0001F600 \u4e2d\u6587'),
    ('zstr16_empty', 'add_zstr16', '', {}, ''),
    ('zstr16_nul', 'add_zstr16', 'ab\0cd', {}, 'ab'),
    ('zstr16_seq', 'add_zstr16_seq', ['a', '', '\U0001F600\U00010348'], {}, ['a', '', '\U0001F600\U00010348']),
    ('zstr16_bytes', 'add_zstr16_bytes_utf16le', 'x\U0001F600'.encode('utf-16-le'), {}, 'x\U0001F600'),
    ('zstr16_bytes_seq', 'add_zstr16_bytes_utf16le_seq', ['\u00ff'.encode('utf-16-le'), b''], {}, ['\u00ff', '']),
    ('zstr8', 'add_zstr8', 'na\u00efve \U0001F600', {}, 'na\u00efve \U0001F600'),
    ('zstr8_seq', 'add_zstr8_seq', ['\u20ac', '', 'z'], {}, ['\u20ac', '', 'z']),
    # 8-bit text without out-type UTF8/XML/JSON is Windows-1252
    ('zstr8_bytes_cp1252', 'add_zstr8_bytes', b'caf\xe9 \x80\x9f', {}, 'caf\u00e9 \u20ac\u0178'),
    ('zstr8_bytes_seq', 'add_zstr8_bytes_seq', [b'a\xe9', b''], {}, ['a\u00e9', '']),
    ('zstr8_bytes_utf8', 'add_zstr8_bytes', b'\xe2\x82\xac', {'out_type': OutType.UTF8}, '\u20ac'),
    ('zstr8_bytes_xml', 'add_zstr8_bytes', '<a>\u00e9</a>'.encode(), {'out_type': OutType.XML}, '<a>\u00e9</a>'),
    # counted strings (embedded NULs kept)
    ('str16', 'add_str16', 'a\0b\U0001F600', {}, 'a\0b\U0001F600'),
    ('str16_empty', 'add_str16', '', {}, ''),
    ('str16_seq', 'add_str16_seq', ['x', '', '\u00ff\U0001F600'], {}, ['x', '', '\u00ff\U0001F600']),
    ('str16_seq_empty', 'add_str16_seq', [], {}, []),
    ('str16_bytes', 'add_str16_bytes_utf16le', '\u4e2d\0'.encode('utf-16-le'), {}, '\u4e2d\0'),
    ('str16_bytes_lone_surrogate', 'add_str16_bytes_utf16le', b'A\x00\x00\xd8B\x00', {}, 'A\ufffdB'),
    ('str16_bytes_seq', 'add_str16_bytes_utf16le_seq', [b'h\x00i\x00', b''], {}, ['hi', '']),
    ('str8', 'add_str8', 'Gr\u00fc\u00dfe \U0001F600\0!', {}, 'Gr\u00fc\u00dfe \U0001F600\0!'),
    ('str8_empty', 'add_str8', '', {}, ''),
    ('str8_controls', 'add_str8', 'a\nb\tc\x01\x1f\x7f"\\/\u2028', {}, 'a\nb\tc\x01\x1f\x7f"\\/\u2028'),
    ('str16_controls', 'add_str16', '\r\n\x00\x08\x0c', {}, '\r\n\x00\x08\x0c'),
    ('str8_seq', 'add_str8_seq', ['\u00e9', '', 'abc'], {}, ['\u00e9', '', 'abc']),
    ('str8_bytes_cp1252', 'add_str8_bytes', b'\xe9t\xe9', {}, '\u00e9t\u00e9'),
    ('str8_bytes_utf8', 'add_str8_bytes', b'\xc3\xa9', {'out_type': OutType.UTF8}, '\u00e9'),
    ('str8_bytes_bad_utf8', 'add_str8_bytes', b'a\xffb', {'out_type': OutType.UTF8}, 'a\ufffdb'),
    ('str8_bytes_json', 'add_str8_bytes', '{"k":"\u00e9"}'.encode(), {'out_type': OutType.JSON}, '{"k":"\u00e9"}'),
    ('str8_bytes_seq', 'add_str8_bytes_seq', [b'\x80', b'ok'], {}, ['\u20ac', 'ok']),
    # binary: lowercase hex strings
    ('binary', 'add_binary_bytes', b'\x00\x01\xfe\xff', {}, '0001feff'),
    ('binary_empty', 'add_binary_bytes', b'', {}, ''),
    ('cbinary', 'add_cbinary_bytes', b'\xde\xad\xbe\xef', {}, 'deadbeef'),
    ('cbinary_seq', 'add_cbinary_bytes_seq', [b'', b'\x01', b'\xab\xcd'], {}, ['', '01', 'abcd']),
    ('cbinary_ipv6', 'add_cbinary_bytes', IPV6_BYTES, {'out_type': OutType.IPV6}, '2001:db8:0:0:0:0:0:1'),
    # GUIDs
    ('guid', 'add_guid', G1, {}, str(G1)),
    ('guid_seq', 'add_guid_seq', [G1, G2], {}, [str(G1), str(G2)]),
    ('guid_seq_empty', 'add_guid_seq', [], {}, []),
    ('guid_bytes_le', 'add_guid_bytes_le', G_LE, {}, str(uuid.UUID(bytes_le=G_LE))),
    ('guid_bytes_le_seq', 'add_guid_bytes_le_seq', [G1.bytes_le, G_LE], {}, [str(G1), str(uuid.UUID(bytes_le=G_LE))]),
    # FILETIME -> ISO 8601 with 100 ns digits
    ('filetime', 'add_filetime_int64', 132261427840951621, {}, '2020-02-14T08:33:04.0951621Z'),
    ('filetime_zero', 'add_filetime_int64', 0, {}, '1601-01-01T00:00:00.0000000Z'),
    ('filetime_seq', 'add_filetime_int64_seq', [133500000000000000, 1], {},
     ['2024-01-17T21:20:00.0000000Z', '1601-01-01T00:00:00.0000001Z']),
    ('filetime_hex', 'add_filetime_int64', 0x1D5E590C3CBC636, {'out_type': OutType.HEX}, '0x1d5e590c3cbc636'),
    # SYSTEMTIME -> ISO 8601 with milliseconds
    ('systemtime', 'add_systemtime_bytes', SYSTEMTIME_LEAP, {}, '2024-02-29T23:59:58.999Z'),
    ('systemtime_seq', 'add_systemtime_bytes_seq', [SYSTEMTIME_EPOCH, SYSTEMTIME_LEAP], {},
     ['1601-01-01T00:00:00.000Z', '2024-02-29T23:59:58.999Z']),
    # SIDs
    ('sid_system', 'add_sid_bytes', SID_LOCAL_SYSTEM, {}, 'S-1-5-18'),
    ('sid_admins', 'add_sid_bytes', SID_ADMINS, {}, 'S-1-5-32-544'),
    ('sid_domain_user', 'add_sid_bytes', SID_DOMAIN_USER, {}, 'S-1-5-21-3623811015-3361044348-30300820-1013'),
    ('sid_seq', 'add_sid_bytes_seq', [SID_NULL, SID_EVERYONE, SID_LOCAL_SYSTEM], {},
     ['S-1-0-0', 'S-1-1-0', 'S-1-5-18']),
    # out-types the decoder interprets
    ('out_hex_int32', 'add_int32', -1, {'out_type': OutType.HEX}, '0xffffffff'),
    ('out_hex_int8', 'add_int8', -1, {'out_type': OutType.HEX}, '0xff'),
    ('out_hex_uint64', 'add_uint64', 0xABCDEF0123, {'out_type': OutType.HEX}, '0xabcdef0123'),
    ('out_hex_uint16_seq', 'add_uint16_seq', [1, 0xFFFF], {'out_type': OutType.HEX}, ['0x1', '0xffff']),
    ('out_hresult', 'add_int32', -2147467259, {'out_type': OutType.HRESULT}, '0x80004005'),
    ('out_ntstatus', 'add_uint32', 0xC0000005, {'out_type': OutType.NTSTATUS}, '0xc0000005'),
    ('out_code_pointer', 'add_uint64', 0x7F0012345678, {'out_type': OutType.CODE_POINTER}, '0x7f0012345678'),
    ('out_boolean_uint8', 'add_uint8', 1, {'out_type': OutType.BOOLEAN}, True),
    ('out_boolean_uint8_false', 'add_uint8', 0, {'out_type': OutType.BOOLEAN}, False),
    ('out_boolean_int32', 'add_int32', 7, {'out_type': OutType.BOOLEAN}, True),
    ('out_string_uint8', 'add_uint8', 0x41, {'out_type': OutType.STRING}, 'A'),
    ('out_string_uint8_seq', 'add_uint8_seq', [0x48, 0x69, 0xE9], {'out_type': OutType.STRING}, 'Hi\u00e9'),
    ('out_string_uint16', 'add_uint16', 0x20AC, {'out_type': OutType.STRING}, '\u20ac'),
    ('out_string_uint16_seq', 'add_uint16_seq', [0x48, 0xE9, 0x4E2D], {'out_type': OutType.STRING}, 'H\u00e9\u4e2d'),
    ('out_ipv4', 'add_uint32', struct.unpack('<I', bytes([192, 168, 1, 20]))[0], {'out_type': OutType.IPV4},
     '192.168.1.20'),
    ('out_port', 'add_uint16', struct.unpack('<H', struct.pack('>H', 8080))[0], {'out_type': OutType.PORT}, 8080),
    ('out_pid', 'add_uint32', 4321, {'out_type': OutType.PID}, 4321),
    ('out_signed_ignored', 'add_int16', -5, {'out_type': OutType.SIGNED}, -5),
    # field tags do not change values
    ('tag_int32', 'add_int32', -7, {'tag': 0x0FFFFFFF}, -7),
    ('tag_hex_seq', 'add_uint32_seq', [1, 2], {'out_type': OutType.HEX, 'tag': 0x1234}, ['0x1', '0x2']),
    ('tag_str8', 'add_str8', '\u00e9', {'tag': 5}, '\u00e9'),
    ('tag_guid', 'add_guid', G2, {'tag': 0x0ABCDEF}, str(G2)),
    # empty arrays of every element size
    ('empty_int8_seq', 'add_int8_seq', [], {}, []),
    ('empty_uint64_seq', 'add_uint64_seq', [], {}, []),
    ('empty_float64_seq', 'add_float64_seq', [], {}, []),
    ('empty_bool32_seq', 'add_bool32_seq', [], {}, []),
    ('empty_sid_seq', 'add_sid_bytes_seq', [], {}, []),
    ('empty_systemtime_seq', 'add_systemtime_bytes_seq', [], {}, []),
    ('empty_cbinary_seq', 'add_cbinary_bytes_seq', [], {}, []),
    ('empty_zstr8_seq', 'add_zstr8_seq', [], {}, []),
]


def _struct_simple(eb):
    eb.add_struct(b'v', 2)
    eb.add_int32(b'x', 1)
    eb.add_int32(b'y', -2)
    eb.add_str8(b'after', 'top-level')


def _struct_nested(eb):
    eb.add_struct(b'v', 3, tag=0x77)
    eb.add_str8(b'name', 'n')
    eb.add_struct(b'inner', 2)
    eb.add_guid(b'g', G1)
    eb.add_uint16_seq(b'arr', [1, 2, 3])
    eb.add_bool32(b'ok', 1)
    eb.add_int8(b'after', -1)


def _struct_deep(eb):
    eb.add_struct(b'v', 1)
    eb.add_struct(b'a', 1)
    eb.add_struct(b'b', 2)
    eb.add_sid_bytes(b'sid', SID_LOCAL_SYSTEM)
    eb.add_struct(b'c', 1)
    eb.add_filetime_int64(b'ft', 0)


def _duplicates(eb):
    eb.add_int32(b'dup', 1)
    eb.add_str8(b'dup', 'two')
    eb.add_struct(b'dup', 2)
    eb.add_int32(b'dup', 10)
    eb.add_int32(b'dup', 20)
    eb.add_bool32(b'other', 0)


def _names(eb):
    eb.add_int32('na\u00efve \U0001F600'.encode(), 1)
    eb.add_int32(b'', 2)
    eb.add_int32(b'with space', 3)
    eb.add_int32(b'quote"back\\slash', 4)


def _many_fields(eb):
    for i in range(126):
        eb.add_uint8(b'f%d' % i, i)


def _big_binary(eb):
    eb.add_binary_bytes(b'v', bytes(range(256)) * 234)


COMPOSITE_CASES = [
    ('struct_simple', _struct_simple, {'v': {'x': 1, 'y': -2}, 'after': 'top-level'}),
    ('struct_nested', _struct_nested,
     {'v': {'name': 'n', 'inner': {'g': str(G1), 'arr': [1, 2, 3]}, 'ok': True}, 'after': -1}),
    ('struct_deep', _struct_deep,
     {'v': {'a': {'b': {'sid': 'S-1-5-18', 'c': {'ft': '1601-01-01T00:00:00.0000000Z'}}}}}),
    ('duplicate_names', _duplicates,
     {'dup': 1, 'dup#2': 'two', 'dup#3': {'dup': 10, 'dup#2': 20}, 'other': False}),
    ('field_names', _names, {'na\u00efve \U0001F600': 1, '': 2, 'with space': 3, 'quote"back\\slash': 4}),
    ('many_fields', _many_fields, {f'f{i}': i for i in range(126)}),
    ('big_binary', _big_binary, {'v': (bytes(range(256)) * 234).hex()}),
]


@pytest.fixture(scope='module')
def roundtrip(tmp_path_factory):
    """Writes one event per case into one session; returns (events by name, errors, window)."""
    path = tmp_path_factory.mktemp('fields') / 'fields.etl'
    prov = Provider(PROV_NAME.encode())
    eb = EventBuilder()
    before = now_filetime()
    with tld.Session(str(path), [PROV_NAME + ':0']) as s:
        assert prov.is_enabled()
        for cid, method, value, kwargs, _ in SIMPLE_CASES:
            eb.reset(cid.encode())
            getattr(eb, method)(b'v', value, **kwargs)
            assert prov.write(eb) == 0, cid
        for cid, build, _ in COMPOSITE_CASES:
            eb.reset(cid.encode())
            build(eb)
            assert prov.write(eb) == 0, cid
        stats = s.stats()
    after = now_filetime()
    prov.close()
    events, errors, header = read_etl(path)
    by_name = {}
    for ev in events:
        assert ev['event'] not in by_name, f'event {ev["event"]} recorded twice'
        by_name[ev['event']] = ev
    return by_name, errors, (before, after), stats, events


def test_every_add_method_is_covered():
    methods = sorted(n for n in dir(EventBuilder) if n.startswith('add_'))
    assert len(methods) == 62
    used = {m for _, m, _, _, _ in SIMPLE_CASES} | {'add_struct', 'add_binary_bytes'}
    assert sorted(used) == methods, sorted(set(methods) - used)


def test_file_holds_exactly_the_cases(roundtrip):
    by_name, errors, _, stats, events = roundtrip
    assert errors == []
    expected = [c[0] for c in SIMPLE_CASES] + [c[0] for c in COMPOSITE_CASES]
    assert [e['event'] for e in events] == expected
    assert stats.events_written + stats.events_pending == len(expected)   # taken while running
    assert stats.events_lost == 0
    for ev in events:
        assert_event_shape(ev)
        assert ev['provider'] == PROV_NAME
        assert ev['provider_id'] == str(tld.providerid_from_name(PROV_NAME))
        assert 'error' not in ev and 'unparsed' not in ev and 'stack' not in ev and 'payload' not in ev


@pytest.mark.parametrize('case', SIMPLE_CASES, ids=[c[0] for c in SIMPLE_CASES])
def test_field_value(roundtrip, case):
    cid, method, value, kwargs, expected = case
    ev = roundtrip[0][cid]
    assert list(ev['fields']) == ['v'], ev['fields']
    got = ev['fields']['v']
    assert same(got, expected), f'{method}({value!r}, {kwargs}) decoded as {got!r}, expected {expected!r}'


@pytest.mark.parametrize('case', COMPOSITE_CASES, ids=[c[0] for c in COMPOSITE_CASES])
def test_composite_fields(roundtrip, case):
    cid, _, expected = case
    got = roundtrip[0][cid]['fields']
    assert same(got, expected), f'{cid}: decoded {got!r}, expected {expected!r}'


def test_times_in_session_window_and_nondecreasing(roundtrip):
    _, _, (before, after), _, events = roundtrip
    times = [iso_to_filetime(e['time']) for e in events]
    slack = 20_000  # 2 ms of clock granularity / realtime-vs-monotonic sampling
    assert before - slack <= times[0], (before, events[0]['time'])
    assert times[-1] <= after + slack, (after, events[-1]['time'])
    assert times == sorted(times)


def test_pid_tid_and_default_descriptor(roundtrip):
    for ev in roundtrip[4]:
        assert ev['pid'] == os.getpid()
        assert ev['tid'] == threading.get_native_id()
        assert (ev['level'], ev['keyword'], ev['opcode'], ev['id'], ev['version'], ev['task'], ev['channel']) == \
            (5, '0x1', 0, 0, 0, 0, 11)
        assert ev['activity_id'] is None and ev['related_activity_id'] is None


# ---------------------------------------------------------------------------
# descriptor, activity ids, threads, providers

def test_descriptor_fields(tmp_path):
    path = tmp_path / 'desc.etl'
    prov = Provider(b'TldTests.Sessions.Desc')
    eb = EventBuilder()
    with tld.Session(str(path), ['TldTests.Sessions.Desc:0']):
        eb.reset(b'D1', level=2, keyword=0x8000000000000021, opcode=7, id=300, version=4, tag=0x0ABCDEF,
                 task=999, channel=16)
        eb.add_int32(b'x', 1)
        prov.write(eb)
        eb.reset(b'D2', level=255, keyword=2**64 - 1, opcode=255, id=65535, version=255, task=65535, channel=0)
        prov.write(eb)
        eb.reset(b'D3', level=0, keyword=0, tag=0x0FE00000)
        prov.write(eb)
    prov.close()
    evs, errors, _ = read_etl(path)
    assert errors == []
    got = [(e['event'], e['level'], e['keyword'], e['opcode'], e['id'], e['version'], e['task'], e['channel'],
            e['fields']) for e in evs]
    assert got == [
        ('D1', 2, '0x8000000000000021', 7, 300, 4, 999, 16, {'x': 1}),
        ('D2', 255, '0xffffffffffffffff', 255, 65535, 255, 65535, 0, {}),
        ('D3', 0, '0x0', 0, 0, 0, 0, 11, {}),
    ]


def test_activity_ids(tmp_path):
    path = tmp_path / 'act.etl'
    prov = Provider(b'TldTests.Sessions.Activity')
    eb = EventBuilder()
    eb.reset(b'A')
    with tld.Session(str(path), ['TldTests.Sessions.Activity']):
        prov.write(eb)
        prov.write(eb, activity_id=G1)
        prov.write(eb, activity_id=G1, related_activity_id=G2)
        prov.write(eb, G2, G1)
        prov.write(eb, activity_id=uuid.UUID(int=0), related_activity_id=G2)
    prov.close()
    evs, errors, _ = read_etl(path)
    assert errors == []
    assert [(e['activity_id'], e['related_activity_id']) for e in evs] == [
        (None, None),
        (str(G1), None),
        (str(G1), str(G2)),
        (str(G2), str(G1)),
        (None, str(G2)),   # an all-zero activity id is shown as null
    ]


def test_threads_pid_tid_and_per_thread_order(tmp_path):
    path = tmp_path / 'threads.etl'
    prov = Provider(b'TldTests.Sessions.Tids')
    tids = {}
    n = 200

    def work(k):
        tids[k] = threading.get_native_id()
        eb = EventBuilder()
        for i in range(n):
            eb.reset(b'T')
            eb.add_uint8(b'k', k)
            eb.add_uint32(b'i', i)
            prov.write(eb)

    with tld.Session(str(path), ['TldTests.Sessions.Tids']):
        threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    prov.close()
    evs, errors, _ = read_etl(path)
    assert errors == []
    assert len(evs) == 3 * n
    for k in range(3):
        mine = [e for e in evs if e['fields']['k'] == k]
        assert {e['tid'] for e in mine} == {tids[k]}
        assert {e['pid'] for e in mine} == {os.getpid()}
        assert [e['fields']['i'] for e in mine] == list(range(n))
        times = [iso_to_filetime(e['time']) for e in mine]
        assert times == sorted(times), f'thread {k}: times decrease'


def test_provider_name_id_and_group(tmp_path):
    path = tmp_path / 'prov.etl'
    explicit = uuid.UUID('5a5a5a5a-1234-5678-9abc-def012345678')
    group = uuid.UUID('00112233-4455-6677-8899-aabbccddeeff')
    p1 = Provider('TldTests.Pr\u00f6vider.\u00dcni'.encode())
    p2 = Provider(b'TldTests.Explicit', id=explicit, group_id=group)
    eb = EventBuilder()
    eb.reset(b'E')
    with tld.Session(str(path), ['TldTests.Pr\u00f6vider.\u00dcni', str(explicit)]):
        p1.write(eb)
        p2.write(eb)
    p1.close()
    p2.close()
    evs, errors, _ = read_etl(path)
    assert errors == []
    assert [(e['provider'], e['provider_id']) for e in evs] == [
        ('TldTests.Pr\u00f6vider.\u00dcni', str(tld.providerid_from_name('TldTests.Pr\u00f6vider.\u00dcni'))),
        ('TldTests.Explicit', str(explicit)),
    ]


def test_write_from_thread_after_sleep_keeps_time_order(tmp_path):
    """Two events a known interval apart: the decoded times differ by about that much."""
    path = tmp_path / 'gap.etl'
    prov = Provider(b'TldTests.Sessions.Gap')
    eb = EventBuilder()
    eb.reset(b'G')
    with tld.Session(str(path), ['TldTests.Sessions.Gap']):
        prov.write(eb)
        t0 = time.monotonic_ns()
        time.sleep(0.2)
        prov.write(eb)
        t1 = time.monotonic_ns()
    prov.close()
    evs, errors, _ = read_etl(path)
    assert errors == [] and len(evs) == 2
    gap = iso_to_filetime(evs[1]['time']) - iso_to_filetime(evs[0]['time'])
    assert 2_000_000 - 20_000 <= gap <= (t1 - t0) // 100 + 20_000, gap


def test_invalid_utf8_names_give_valid_json(tmp_path):
    """Provider, event and field names are bytes that need not be UTF-8; the
    decoder still emits valid JSON, with U+FFFD for the invalid bytes."""
    path = tmp_path / 'badnames.etl'
    prov = Provider(b'Bad\xffProvider', id=uuid.UUID('b0b0b0b0-0000-4000-8000-0000000000ff'))
    eb = EventBuilder()
    eb.reset(b'Ev\xc3')
    eb.add_int32(b'f\x80', 1)
    eb.add_int32(b'ok', 2)
    with tld.Session(str(path), [str(prov.id)]):
        prov.write(eb)
    prov.close()
    from traceloggingdynamic.etl import EtlFile
    f = EtlFile(str(path))
    lines = list(f.lines('json'))
    assert f.errors == [] and len(lines) == 1
    lines[0].encode('utf-8')                 # valid text
    ev = json.loads(lines[0])
    assert ev['provider'] == 'Bad\ufffdProvider'
    assert ev['event'] == 'Ev\ufffd'
    assert ev['fields'] == {'f\ufffd': 1, 'ok': 2}
    assert ev['provider_id'] == str(prov.id)
