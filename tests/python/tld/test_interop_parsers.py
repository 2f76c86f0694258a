"""Interop: .etl files from our sessions read by third-party parsers.

What this file is for (issue 3, "`.etl` files from our sessions parse with
both third-party parsers"): ``etl-parser`` and ``dissect.etl`` (PyPI; test
dependencies: skipped when missing, a failure when ``CI`` is set) read a
multi-buffer file written by our sessions, and what they see matches what our
decoder shows: event and provider names, pids/tids, timestamps, descriptors,
activity ids, stacks and, for the in-types each supports, the field values.

Known limits of the parsers (spec/etl-file.md), avoided on purpose:
etl-parser does not decode COUNTEDSTRING/COUNTEDANSISTRING/structs/HEXINT64/
FILETIME/SID, reads 8-bit strings as ASCII, mishandles field tags, skips
events in buffer 0 (we never put events there) and misreads some header
fields; dissect.etl returns EVENT_SCHEMA_TL raw (so we compare the bytes with
the builder's metadata) and shows header GUIDs byte-swapped (UUID(bytes=)
instead of UUID(bytes_le=)).
"""

import io
import math
import os
import struct
import threading
import uuid

import pytest

import traceloggingdynamic as tld
from traceloggingdynamic import EventBuilder, Provider

from etl_helpers import iso_to_filetime, read_etl, require

PROV_A = 'TldTests.Interop.Alpha'
PROV_B = 'TldTests.Interop.Beta'
PROV_B_ID = uuid.UUID('6f1d3b2a-0c4e-4f57-9a8b-7c6d5e4f3a2b')
ACT = uuid.UUID('11112222-3333-4444-5555-666677778888')
REL = uuid.UUID('99990000-aaaa-bbbb-cccc-ddddeeeeffff')
SYSTEMTIME = struct.pack('<8H', 2023, 7, 1, 15, 8, 30, 45, 250)


def build_typed(eb, i):
    """An event with the in-types etl-parser supports (no tags, ASCII 8-bit strings)."""
    eb.reset(b'Typed', level=4, keyword=0x10, opcode=1, id=9, version=2, task=3)
    eb.add_int8(b'i8', -5)
    eb.add_uint8(b'u8', 200)
    eb.add_int16(b'i16', -30000)
    eb.add_uint16(b'u16', 60000)
    eb.add_int32(b'i32', -2_000_000_000 + i)
    eb.add_uint32(b'u32', 4_000_000_000)
    eb.add_int64(b'i64', -2**62 - i)
    eb.add_uint64(b'u64', 2**64 - 1 - i)
    eb.add_float32(b'f32', 1.25)
    eb.add_float64(b'f64', math.pi * i)
    eb.add_bool32(b'b32', i % 2)
    eb.add_hexint32(b'h32', 0xCAFEBABE)
    eb.add_zstr16(b'ws', 'wide \u00e9\U0001F600 %d' % i)
    eb.add_zstr8(b'as', 'ascii text %d' % i)
    eb.add_binary_bytes(b'bin', bytes([i % 256, 0, 255, 16]))
    eb.add_guid(b'guid', uuid.UUID(int=(i + 1) * 0x0123456789ABCDEF0123456789ABCDEF % 2**128))
    eb.add_systemtime_bytes(b'st', SYSTEMTIME)
    eb.add_int32_seq(b'i32s', [i, -i, 7])
    eb.add_uint16_seq(b'u16s', [1, 2, 65535])
    eb.add_float64_seq(b'f64s', [0.5, -2.0])
    eb.add_zstr16_seq(b'wss', ['x', '', 'y\u00ff'])


@pytest.fixture(scope='module')
def trace(tmp_path_factory):
    """A multi-buffer file from two providers and two threads, plus what was written."""
    path = tmp_path_factory.mktemp('interop') / 'interop.etl'
    pa = Provider(PROV_A.encode())
    pb = Provider(PROV_B.encode(), id=PROV_B_ID)
    written = {}   # (tid, i) -> (meta, data)
    lock = threading.Lock()

    def work(k):
        eb = EventBuilder()
        tid = threading.get_native_id()
        for i in range(300):
            if i % 3 == 0:
                build_typed(eb, i)
                pa.write(eb, activity_id=ACT if i % 2 else None, related_activity_id=REL if i % 4 == 0 else None)
            else:
                eb.reset(b'Simple%d' % k, level=5, keyword=0x4)
                eb.add_uint32(b'seq', i)
                eb.add_zstr8(b'who', 'thread %d' % k)
                pb.write(eb)
            with lock:
                written[tid, i] = eb._get_meta_data()

    with tld.Session(str(path), [PROV_A + ':5:0x10', str(PROV_B_ID)], stacks=0x4, buffer_size=16384,
                     logger_name='InteropLogger'):
        threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    pa.close()
    pb.close()
    events, errors, header = read_etl(path)
    assert errors == []
    assert len(events) == 600
    assert header['buffers_written'] >= 5, header   # several event buffers
    return path, events, header, written


def key_of(ev):
    """(tid, i) of one of our decoded events."""
    f = ev['fields']
    return ev['tid'], (f['i32'] + 2_000_000_000 if ev['event'] == 'Typed' else f['seq'])


# ---------------------------------------------------------------------------
# etl-parser

class _Collect:
    def __init__(self):
        self.events = []

    def on_event_record(self, event):
        self.events.append(event)

    def on_trace_record(self, event):
        pass

    def on_perfinfo_trace(self, obj):
        pass

    def on_system_trace(self, obj):
        pass

    def on_win_trace(self, obj):
        pass


def etl_parser_events(path):
    etl_etl = require('etl.etl')
    with open(path, 'rb') as f:
        parsed = etl_etl.build_from_stream(f.read())
    obs = _Collect()
    parsed.parse(obs)
    # etl-parser walks buffers in file order; our reader merges them by
    # timestamp (each thread writes a buffer of its own), ties in file
    # order: a stable sort by timestamp gives the same order.
    return sorted(obs.events, key=lambda ev: ev.get_timestamp())


def guid_from_etl_parser(g):
    inner = g.inner
    d4 = bytes(inner.data4)
    return uuid.UUID(fields=(inner.data1, inner.data2, inner.data3, d4[0], d4[1], int.from_bytes(d4[2:], 'big')))


@pytest.fixture(scope='module')
def etl_parser_view(trace):
    return etl_parser_events(trace[0])


def test_etl_parser_sees_every_event_with_names_pids_and_times(trace, etl_parser_view):
    path, ours, header, _ = trace
    theirs = etl_parser_view
    assert len(theirs) == len(ours)
    ts0_theirs = theirs[0].get_timestamp()
    ft0_ours = iso_to_filetime(ours[0]['time'])
    for mine, ev in zip(ours, theirs):
        tl = ev.parse_tracelogging()
        assert tl.get_name() == mine['event']
        traits = next(x.data_item for x in ev.source.extended_data if x.ext_type == 12)
        assert traits[2:].split(b'\0')[0].decode() == mine['provider']
        assert ev.get_process_id() == mine['pid'] == os.getpid()
        assert ev.get_thread_id() == mine['tid']
        # same clock: tick deltas agree with our decoded FILETIMEs
        delta = (ev.get_timestamp() - ts0_theirs) * 10_000_000 // header['perf_freq']
        assert abs(delta - (iso_to_filetime(mine['time']) - ft0_ours)) <= 1
        d = ev.source.event_header.event_descriptor
        assert (d.Id, d.Version, d.Channel, d.Level, d.Opcode, d.Task, d.Keyword) == \
            (mine['id'], mine['version'], mine['channel'], mine['level'], mine['opcode'], mine['task'],
             int(mine['keyword'], 16))


def test_etl_parser_field_values_match(trace, etl_parser_view):
    path, ours, _, _ = trace
    theirs = etl_parser_view
    typed = 0
    for mine, ev in zip(ours, theirs):
        f = dict(ev.parse_tracelogging())
        m = mine['fields']
        if mine['event'] != 'Typed':
            assert f == m
            continue
        typed += 1
        assert list(f) == list(m)
        for k in ('i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64', 'ws', 'as', 'i32s', 'u16s', 'f64s', 'wss'):
            assert f[k] == m[k], k
        assert f['f32'] == m['f32'] == 1.25
        assert f['f64'] == m['f64']
        assert f['b32'] is m['b32']
        assert '0x%x' % f['h32'] == m['h32']
        assert bytes(f['bin']).hex() == m['bin']
        assert str(guid_from_etl_parser(f['guid'])) == m['guid']
        st = f['st']
        assert '%04d-%02d-%02dT%02d:%02d:%02d.%03dZ' % (st.year, st.month, st.day, st.hour, st.minute, st.second,
                                                         st.milliseconds) == m['st']
    assert typed == 200


# ---------------------------------------------------------------------------
# dissect.etl

def dissect_records(path):
    ETL = require('dissect.etl.etl').ETL
    with open(path, 'rb') as f:
        etl = ETL(io.BytesIO(f.read()))
    recs = []
    for buf in etl.buffers():
        for rec in buf:
            if type(rec.header).__name__ == 'EventHeader':
                recs.append(rec.header)
    # file order, as dissect walks it; ours is time order (see etl_parser_events)
    return etl, sorted(recs, key=lambda h: h.time_delta)


def test_dissect_header(trace):
    path, _, header, _ = trace
    etl, _ = dissect_records(path)
    lh = etl.logfile_header
    assert lh.buffers_written == header['buffers_written']
    assert lh.pointer_size == header['pointer_size'] == 8
    assert etl.buffer_size == header['buffer_size'] == 16384
    assert lh.perf_freq == header['perf_freq']
    assert lh.logger_name == 'InteropLogger' == header['logger_name']
    assert lh.log_filename == str(path) == header['logfile_name']
    assert lh.start_time == iso_to_filetime(header['start_time'])
    assert lh.end_time == iso_to_filetime(header['end_time'])
    assert lh.header.EventsLost == header['events_lost'] == 0


def test_dissect_events_match(trace):
    path, ours, _, written = trace
    etl, recs = dissect_records(path)
    assert len(recs) == len(ours)
    for h, mine in zip(recs, ours):
        assert h.process_id == mine['pid'] and h.thread_id == mine['tid']
        # dissect shows the header's provider GUID byte-swapped
        assert str(uuid.UUID(bytes_le=h.provider_id.bytes)) == mine['provider_id']
        assert abs(etl.get_filetime_for_event(h.time_delta) - iso_to_filetime(mine['time'])) <= 2
        d = h.descriptor
        assert (d.id, d.version, d.channel, d.level, d.opcode, d.task, d.keywords) == \
            (mine['id'], mine['version'], mine['channel'], mine['level'], mine['opcode'], mine['task'],
             int(mine['keyword'], 16))
        act = h.activity_id
        assert (None if act.int == 0 else str(act)) == mine['activity_id']
        exts = {x.ext_type.name: x for x in h.header_extensions}
        assert exts['PROV_TRAITS'].ProviderName.decode() == mine['provider']
        rel = exts.get('RELATED_ACTIVITY_ID')
        assert (rel.Guid if rel else None) == mine['related_activity_id']
        stk = exts.get('STACK_TRACE64')
        if 'stack' in mine:
            assert stk is not None and list(stk.Address) == mine['stack']
        else:
            assert stk is None
        # the metadata blob and the user data are the builder's bytes, exactly
        meta, data = written[key_of(mine)]
        assert bytes(exts['EVENT_SCHEMA_TL'].EventSchema) == meta
        user = bytes(h.payload)[sum(x.size for x in h.header_extensions):]
        assert user == data
    assert sum('stack' in e for e in ours) == 400        # the keyword-0x4 events
    assert sum(e['related_activity_id'] is not None for e in ours) == 50
