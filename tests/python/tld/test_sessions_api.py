"""The ``traceloggingdynamic.Session`` object and the file it writes.

What this file is for (issue 3): the session's Python surface (constructor
arguments, properties, start/stop/flush/stats, context manager, errors), the
logfile header a user sees through ``EtlFile.header`` (buffer size and
count, lost events, start/end times, pointer size, logger name), buffer 0
rewritten on every flush so a running session's file is readable, oversized
events counted as lost, and the file's size = BuffersWritten x BufferSize.
"""

import gc
import os
import stat
import struct
import time
import uuid
import warnings

import pytest

import traceloggingdynamic as tld
from traceloggingdynamic import EventBuilder, Provider

from etl_helpers import (buffer_size_of, buffers_written_of, iso_to_filetime, now_filetime, read_etl)

NAME = 'TldTests.Api'


@pytest.fixture
def prov():
    p = Provider(NAME.encode())
    yield p
    p.close()


def write_n(prov, n, name=b'E', size=0):
    eb = EventBuilder()
    for i in range(n):
        eb.reset(name)
        eb.add_uint32(b'i', i)
        if size:
            eb.add_binary_bytes(b'blob', bytes(size))
        prov.write(eb)


def test_properties_and_lifecycle(tmp_path, prov):
    path = tmp_path / 'p.etl'
    s = tld.Session(path, [NAME, tld.ProviderSpec(name='Other', level=2)], stacks=0x30, buffer_size=8192,
                    flush_interval=0.25, logger_name='MyLogger')
    assert s.path == str(path)
    assert not s.running
    assert s.stacks == 0x30
    assert s.buffer_size == 8192
    assert s.flush_interval == 0.25
    assert s.logger_name == 'MyLogger'
    assert len(s.providers) == 2
    assert not path.exists()               # nothing happens before start()
    s.start()
    assert s.running and path.exists()
    with pytest.raises(RuntimeError):
        s.start()
    write_n(prov, 3)
    with pytest.warns(RuntimeWarning, match="no provider named 'Other' was seen"):
        st = s.stop()
    assert not s.running
    assert type(st).__name__ == 'SessionStats'
    assert (st.events_written, st.events_lost) == (3, 0)
    assert st.buffers_written == 2
    assert s.stop() == st                 # idempotent
    assert s.stats() == st
    with pytest.raises(RuntimeError):
        s.flush()
    _, errors, header = read_etl(path)
    assert errors == []
    assert header['logger_name'] == 'MyLogger'
    assert header['buffer_size'] == 8192
    assert header['buffers_written'] == 2
    assert path.stat().st_size == 2 * 8192


def test_context_manager_stops_on_exception(tmp_path, prov):
    path = tmp_path / 'cm.etl'
    with pytest.raises(KeyError):
        with tld.Session(str(path), [NAME]) as s:
            assert s.running and prov.is_enabled()
            write_n(prov, 2)
            raise KeyError('x')
    assert not s.running and not prov.is_enabled()
    evs, errors, _ = read_etl(path)
    assert errors == [] and len(evs) == 2


def test_restart_same_object_truncates(tmp_path, prov):
    path = tmp_path / 'again.etl'
    s = tld.Session(str(path), [NAME])
    with s:
        write_n(prov, 5, b'First')
    with s:
        write_n(prov, 2, b'Second')
    evs, errors, _ = read_etl(path)
    assert errors == [] and [e['event'] for e in evs] == ['Second', 'Second']


def test_header_fields(tmp_path, prov):
    path = tmp_path / 'hdr.etl'
    before = now_filetime()
    with tld.Session(str(path), [NAME]) as s:
        write_n(prov, 10)
        time.sleep(0.05)
    after = now_filetime()
    evs, errors, h = read_etl(path)
    assert errors == []
    assert h['present'] is True
    assert h['buffer_size'] == 65536
    assert h['buffers_written'] == 2 == s.stats().buffers_written
    assert h['events_lost'] == 0
    assert h['pointer_size'] == struct.calcsize('P')
    assert h['logger_name'] == 'tld-session'
    assert h['perf_freq'] > 0
    assert h['number_of_processors'] >= 1
    start, end = iso_to_filetime(h['start_time']), iso_to_filetime(h['end_time'])
    slack = 20_000
    assert before - slack <= start <= end <= after + slack
    assert end - start >= 400_000            # the 50 ms sleep
    for e in evs:
        assert start <= iso_to_filetime(e['time']) <= end
    data = path.read_bytes()
    assert buffer_size_of(data) == 65536 and buffers_written_of(data) == 2
    assert len(data) == 2 * 65536


def test_default_level_is_5(tmp_path, prov):
    path = tmp_path / 'lvl.etl'
    eb = EventBuilder()
    with tld.Session(str(path), [NAME]):
        for lv in (4, 5, 6):
            eb.reset(b'L%d' % lv, level=lv)
            prov.write(eb)
    evs, _, _ = read_etl(path)
    assert [e['event'] for e in evs] == ['L4', 'L5']


def test_flush_makes_events_readable_while_running(tmp_path, prov):
    path = tmp_path / 'flush.etl'
    with tld.Session(str(path), [NAME], flush_interval=3600, buffer_size=4096) as s:
        write_n(prov, 50, b'Early')
        s.flush()
        evs, errors, h = read_etl(path)           # the live file
        assert errors == [] and len(evs) == 50
        assert h['buffers_written'] == buffers_written_of(path.read_bytes())
        assert path.stat().st_size == h['buffers_written'] * 4096
        write_n(prov, 50, b'Late')
        s.flush()
        evs, errors, _ = read_etl(path)
        assert errors == [] and [e['event'] for e in evs] == ['Early'] * 50 + ['Late'] * 50
    assert len(read_etl(path)[0]) == 100


def test_periodic_flush_without_calls(tmp_path, prov):
    path = tmp_path / 'periodic.etl'
    with tld.Session(str(path), [NAME], flush_interval=0.05):
        write_n(prov, 7)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            evs, errors, _ = read_etl(path)
            if len(evs) == 7:
                break
            time.sleep(0.02)
        assert errors == [] and len(evs) == 7


def test_oversized_event_is_counted_lost(tmp_path, prov):
    path = tmp_path / 'big.etl'
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        with tld.Session(str(path), [NAME], buffer_size=4096) as s:
            write_n(prov, 1, b'Small')
            write_n(prov, 1, b'TooBig', size=6000)
            write_n(prov, 1, b'SmallAgain')
            live = s.stats()
            assert live.events_lost == 1
        st = s.stats()
    assert (st.events_written, st.events_lost) == (2, 1)
    assert any('lost' in str(w.message) for w in caught), [str(w.message) for w in caught]
    evs, errors, h = read_etl(path)
    assert errors == []
    assert [e['event'] for e in evs] == ['Small', 'SmallAgain']
    assert h['events_lost'] == 1


def test_largest_event_fits_default_buffer(tmp_path, prov):
    path = tmp_path / 'large.etl'
    eb = EventBuilder()
    eb.reset(b'Large')
    eb.add_cbinary_bytes(b'blob', bytes(range(256)) * 250)   # 64000 bytes
    with tld.Session(str(path), [NAME]) as s:
        prov.write(eb)
    assert s.stats().events_lost == 0
    evs, errors, _ = read_etl(path)
    assert errors == [] and evs[0]['fields']['blob'] == (bytes(range(256)) * 250).hex()


def test_many_buffers_file_size(tmp_path, prov):
    path = tmp_path / 'multi.etl'
    with tld.Session(str(path), [NAME], buffer_size=4096) as s:
        write_n(prov, 2000, size=20)
    st = s.stats()
    data = path.read_bytes()
    assert st.buffers_written > 20
    assert len(data) == st.buffers_written * 4096
    evs, errors, h = read_etl(path)
    assert errors == [] and [e['fields']['i'] for e in evs] == list(range(2000))
    assert h['buffers_written'] == st.buffers_written


def test_empty_session(tmp_path):
    path = tmp_path / 'empty.etl'
    with tld.Session(str(path), []) as s:
        pass
    assert s.stats().events_written == 0
    evs, errors, h = read_etl(path)
    assert evs == [] and errors == [] and h['buffers_written'] >= 1


def test_file_created_private_and_symlink_refused(tmp_path, prov):
    path = tmp_path / 'priv.etl'
    with tld.Session(str(path), [NAME]):
        pass
    assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0
    target = tmp_path / 'target.etl'
    target.write_bytes(b'keep me')
    link = tmp_path / 'link.etl'
    link.symlink_to(target)
    with pytest.raises(OSError):
        tld.Session(str(link), [NAME]).start()
    assert target.read_bytes() == b'keep me'


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError) as ei:
        tld.Session(str(tmp_path / 'no' / 'x.etl'), [NAME]).start()
    assert 'x.etl' in str(ei.value)
    with pytest.raises(OSError):
        tld.Session(str(tmp_path), [NAME]).start()
    with pytest.raises(TypeError):
        tld.Session(str(tmp_path / 'a.etl'), NAME)          # a str, not a list of specs
    with pytest.raises((TypeError, ValueError)):
        tld.Session(str(tmp_path / 'a.etl'), [42]).start()
    for bad in (1000, 4095, 3 * 1024 + 1, 32 * 1024 * 1024):
        with pytest.raises(ValueError):
            tld.Session(str(tmp_path / 'a.etl'), [NAME], buffer_size=bad).start()
    for bad in (0, -1, float('nan')):
        with pytest.raises(ValueError):
            tld.Session(str(tmp_path / 'a.etl'), [NAME], flush_interval=bad).start()
    with pytest.raises(ValueError):
        tld.Session('', [NAME])
    with pytest.raises((TypeError, ValueError)):
        tld.Session(str(tmp_path / 'a.etl'), [NAME], stacks=-1)
    with pytest.raises(TypeError):
        tld.Session(str(tmp_path / 'a.etl'), [NAME], 0)       # keyword-only options
    assert not (tmp_path / 'a.etl').exists()


def test_provider_spec_validation(tmp_path):
    out = str(tmp_path / 'unused.etl')
    for bad in (tld.ProviderSpec(name='A', id=uuid.uuid4()), tld.ProviderSpec(name='A', level=256),
                tld.ProviderSpec(), tld.ProviderSpec(name='A', match_any=2**64)):
        with pytest.raises(ValueError):
            tld.Session(out, [bad]).start()
    assert not os.path.exists(out)
    assert tld.ProviderSpec.parse('{0BADC0DE-0000-4000-8000-000000000001}:0:1:2') == \
        tld.ProviderSpec(None, uuid.UUID('0badc0de-0000-4000-8000-000000000001'), 0, 1, 2)


def test_dropped_session_object_stops(tmp_path):
    path = tmp_path / 'gc.etl'
    p = Provider(b'TldTests.Api.Gc')
    s = tld.Session(str(path), ['TldTests.Api.Gc'])
    s.start()
    write_n(p, 4)
    del s
    gc.collect()
    assert not p.is_enabled()
    p.close()
    evs, errors, _ = read_etl(path)
    assert errors == [] and len(evs) == 4


def test_bytes_and_pathlike_paths(tmp_path, prov):
    for path in (tmp_path / 'pl.etl', os.fsencode(tmp_path / 'b.etl')):
        with tld.Session(path, [NAME]):
            write_n(prov, 1)
        evs, errors, _ = read_etl(os.fsdecode(path))
        assert errors == [] and len(evs) == 1


def record_size(prov, eb):
    """Bytes of the EVENT_HEADER record our writer must store for this event
    (spec/etl-file.md: 0x50 header, PROV_TRAITS and EVENT_SCHEMA_TL items of
    8 + data bytes rounded up to 8, then the user data)."""
    meta, data = eb._get_meta_data()
    item = lambda n: (8 + n + 7) & ~7          # noqa: E731
    return 0x50 + item(len(prov._get_traits())) + item(len(meta)) + len(data)


@pytest.mark.parametrize('buffer_size,sizes', [
    (4096, list(range(3850, 4060, 3))),
    (65536, [65000, 65300, 65350, 65380, 65400, 65450, 65530]),
])
def test_event_sizes_around_the_limits(tmp_path, prov, buffer_size, sizes):
    """An event is stored exactly when its record fits in a buffer (after the
    0x48-byte buffer header) and in 65535 bytes; otherwise it is counted lost."""
    path = tmp_path / 'sizes.etl'
    eb = EventBuilder()
    expect_kept, expect_lost = [], 0
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with tld.Session(str(path), [NAME], buffer_size=buffer_size) as s:
            for n in sizes:
                eb.reset(b'Sized')
                eb.add_uint32(b'n', n)
                eb.add_binary_bytes(b'blob', bytes([n % 251]) * n)
                size = record_size(prov, eb)
                fits = size <= 0xFFFF and size <= buffer_size - 0x48
                prov.write(eb)
                if fits:
                    expect_kept.append(n)
                else:
                    expect_lost += 1
    assert expect_kept and expect_lost, 'the sizes must straddle the limit'
    st = s.stats()
    assert (st.events_written, st.events_lost) == (len(expect_kept), expect_lost)
    evs, errors, h = read_etl(path)
    assert errors == []
    assert [e['fields']['n'] for e in evs] == expect_kept
    assert all(e['fields']['blob'] == (bytes([e['fields']['n'] % 251]) * e['fields']['n']).hex() for e in evs)
    assert h['events_lost'] == expect_lost


def test_unicode_path_and_logger_name(tmp_path, prov):
    path = tmp_path / 'tr\u00e2ce-\U0001F600.etl'
    with tld.Session(path, [NAME], logger_name='L\u00f6gger \U0001F600'):
        write_n(prov, 1)
    evs, errors, h = read_etl(path)
    assert errors == [] and len(evs) == 1
    assert h['logger_name'] == 'L\u00f6gger \U0001F600'
    assert h['logfile_name'] == str(path)


def test_session_not_stopped_is_finalized_at_exit(tmp_path):
    from etl_helpers import run_python
    out = tmp_path / 'atexit.etl'
    code = ('import traceloggingdynamic as tld\n'
            f's = tld.Session({str(out)!r}, ["TldTests.Api.AtExit"], flush_interval=3600)\n'
            's.start()\n'
            'p = tld.Provider(b"TldTests.Api.AtExit")\n'
            'eb = tld.EventBuilder()\n'
            'for i in range(1000):\n'
            '    eb.reset(b"E"); eb.add_uint32(b"i", i); p.write(eb)\n')
    r = run_python(code)
    assert r.returncode == 0, r.stderr
    evs, errors, h = read_etl(out)
    assert errors == []
    assert [e['fields']['i'] for e in evs] == list(range(1000))
    assert iso_to_filetime(h['end_time']) >= iso_to_filetime(evs[-1]['time'])


def test_fork_child_has_no_session(tmp_path):
    from etl_helpers import run_python
    out = tmp_path / 'fork.etl'
    code = ('import os, warnings\n'
            'warnings.simplefilter("ignore")\n'
            'import traceloggingdynamic as tld\n'
            'p = tld.Provider(b"TldTests.Api.Fork")\n'
            'eb = tld.EventBuilder()\n'
            f'with tld.Session({str(out)!r}, ["TldTests.Api.Fork"]):\n'
            '    eb.reset(b"BeforeFork"); p.write(eb)\n'
            '    pid = os.fork()\n'
            '    if pid == 0:\n'
            '        ok = not p.is_enabled()\n'
            '        eb.reset(b"InChild"); p.write(eb)\n'
            '        os._exit(0 if ok else 3)\n'
            '    _, status = os.waitpid(pid, 0)\n'
            '    eb.reset(b"AfterFork"); p.write(eb)\n'
            'raise SystemExit(os.waitstatus_to_exitcode(status))\n')
    r = run_python(code, timeout=60)
    assert r.returncode == 0, (r.returncode, r.stderr)
    evs, errors, _ = read_etl(out)
    assert errors == []
    assert [e['event'] for e in evs] == ['BeforeFork', 'AfterFork']
