"""Damaged .etl files: truncated, corrupted, and left behind by a SIGKILL.

What this file is for (issue 3): "a truncated or corrupted file decodes up to
the damage and reports it, never crashes", and "a SIGKILL'd recorder leaves
a decodable file". A file is written by one thread with numbered events
(so file order = number order), then cut at several offsets (inside buffer
0, on buffer boundaries, inside a buffer header, mid-buffer, one byte short)
or damaged (seeded random byte flips; targeted damage to a record size, a
buffer header, event metadata and field data). The decoder must yield
exactly the events stored before the damage (counted by an independent walk
of the buffer layout), report the damage in ``EtlFile.errors`` and on the
CLI's stderr with exit status 1, and never crash or hang (the CLI and the
random-flip runs are subprocesses with a timeout).
"""

import json
import os
import random
import signal
import struct
import subprocess
import sys
import textwrap
import time

import pytest

import traceloggingdynamic as tld
from traceloggingdynamic import EventBuilder, Provider
from traceloggingdynamic.etl import EtlFile

from etl_helpers import (CLI_TIMEOUT, EVENT_KEYS, buffers_written_of, complete_event_count, json_lines,
                         read_etl, run_module, scaled, walk_records)

BS = 4096
NEVENTS = 600
PROV = 'TldTests.Damage'


@pytest.fixture(scope='module')
def clean(tmp_path_factory):
    """A clean file: NEVENTS events numbered 0.., ~100-200 bytes each, 4 KiB buffers."""
    path = tmp_path_factory.mktemp('damage') / 'clean.etl'
    prov = Provider(PROV.encode())
    eb = EventBuilder()
    with tld.Session(str(path), [PROV], buffer_size=BS):
        for i in range(NEVENTS):
            eb.reset(b'Numbered', level=4)
            eb.add_uint32(b'seq', i)
            eb.add_str8(b'text', 'abcdefghij' * (i % 9))
            if i == 300:
                eb.add_str8(b'marker', 'MARKERxyz')
                eb.add_int32(b'after_marker', 7)
            if i == 400:
                eb.add_int32(b'before_victim', 1)
                eb.add_int32(b'victim_field', 2)
                eb.add_int32(b'after_victim', 3)
            prov.write(eb)
    prov.close()
    data = path.read_bytes()
    events, errors, header = read_etl(path)
    assert errors == []
    assert [e['fields']['seq'] for e in events] == list(range(NEVENTS))
    assert len(data) == header['buffers_written'] * BS
    assert header['buffers_written'] > 12
    return path, data, events


def seqs(events):
    return [e['fields']['seq'] for e in events]


def write_variant(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return p


def cuts_for(data):
    n = len(data)
    return {
        'buffer0_end_minus_1': BS - 1,
        'buffer_boundary_1': BS,
        'inside_buffer1_header': BS + 0x30,
        'mid_buffer_2': 2 * BS + 700,
        'buffer_boundary_5': 5 * BS,
        'mid_buffer_5': 5 * BS + BS // 2,
        'mid_buffer_9_odd': 9 * BS + 1234,
        'eight_short': n - 8,
        'one_short': n - 1,
    }


@pytest.mark.parametrize('cut_name', ['buffer0_end_minus_1', 'buffer_boundary_1', 'inside_buffer1_header',
                                      'mid_buffer_2', 'buffer_boundary_5', 'mid_buffer_5', 'mid_buffer_9_odd',
                                      'eight_short', 'one_short'])
def test_truncated_file_decodes_up_to_the_cut(clean, tmp_path, cut_name):
    _, data, events = clean
    cut = cuts_for(data)[cut_name]
    expected = complete_event_count(data, cut, BS)
    path = write_variant(tmp_path, f'{cut_name}.etl', data[:cut])
    got, errors, header = read_etl(path)
    assert seqs(got) == list(range(expected)), f'cut at {cut}: expected events 0..{expected - 1}'
    assert got == events[:expected]
    assert errors, f'cut at {cut}: truncation not reported'
    assert any('cut short' in e or 'truncat' in e or 'ends' in e for e in errors), errors
    # the CLI: same events, damage on stderr, exit status 1
    r = run_module('decode', path)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert len(json_lines(r.stdout)) == expected
    assert r.stderr.strip() and 'Traceback' not in r.stderr
    assert str(path) in r.stderr or os.path.basename(path) in r.stderr


def test_mid_buffer_cut_keeps_records_before_the_cut(clean, tmp_path):
    """Records of a partly present buffer that end before the cut are decoded."""
    _, data, events = clean
    recs = [r for r in walk_records(data, BS) if r[0] == 4]
    assert len(recs) >= 4
    b, off, size, _ = recs[2]
    cut = off + size + 3              # just after the third record of buffer 4
    expected = complete_event_count(data, cut, BS)
    assert expected == sum(1 for r in walk_records(data, BS) if r[0] < 4) + 3
    got, errors, _ = read_etl(write_variant(tmp_path, 'partial.etl', data[:cut]))
    assert seqs(got) == list(range(expected))
    assert errors


def test_not_an_etl_file(tmp_path):
    from traceloggingdynamic.etl import EtlFile
    for name, content in [('empty.etl', b''), ('short.etl', b'\x00' * 0x20), ('text.etl', b'hello world\n' * 500),
                          ('zeros.etl', b'\x00' * 8192)]:
        p = write_variant(tmp_path, name, content)
        with pytest.raises(ValueError):
            EtlFile(str(p))
        r = run_module('decode', p)
        assert r.returncode == 2, (name, r.returncode, r.stderr)
        assert r.stdout == ''
        assert r.stderr.strip() and 'Traceback' not in r.stderr


def test_missing_file_and_directory(tmp_path):
    from traceloggingdynamic.etl import EtlFile
    with pytest.raises(OSError):
        EtlFile(str(tmp_path / 'nope.etl'))
    r = run_module('decode', tmp_path / 'nope.etl')
    assert r.returncode == 2 and 'nope.etl' in r.stderr and 'Traceback' not in r.stderr
    r = run_module('decode', tmp_path)
    assert r.returncode == 2 and 'Traceback' not in r.stderr


# ---------------------------------------------------------------------------
# targeted corruption

def test_record_size_beyond_buffer(clean, tmp_path):
    _, data, events = clean
    recs = [r for r in walk_records(data, BS) if r[0] == 3]
    b, off, size, _ = recs[1]
    bad = bytearray(data)
    struct.pack_into('<H', bad, off, 0xFFF0)
    got, errors, _ = read_etl(write_variant(tmp_path, 'recsize.etl', bytes(bad)))
    assert errors
    lost = {i for i, r in enumerate(walk_records(data, BS)) if r[0] == 3 and r[1] >= off}
    # everything outside the damaged tail of buffer 3 still decodes, in order
    assert seqs(got) == [i for i in range(NEVENTS) if i not in lost]
    r = run_module('decode', write_variant(tmp_path, 'recsize.etl', bytes(bad)))
    assert r.returncode == 1 and len(json_lines(r.stdout)) == len(got)


def test_damaged_buffer_header_skips_that_buffer_only(clean, tmp_path):
    _, data, events = clean
    bad = bytearray(data)
    struct.pack_into('<I', bad, 5 * BS, 12345)          # BufferSize of buffer 5
    got, errors, _ = read_etl(write_variant(tmp_path, 'bufhdr.etl', bytes(bad)))
    assert errors and any('buffer 5' in e for e in errors), errors
    in5 = {i for i, r in enumerate(walk_records(data, BS)) if r[0] == 5}
    assert in5
    assert seqs(got) == [i for i in range(NEVENTS) if i not in in5]


def test_saved_offset_garbage(clean, tmp_path):
    """Both ends-of-records fields of a buffer header are garbage: reported,
    and the records are still read, up to the buffer's filler."""
    _, data, _ = clean
    bad = bytearray(data)
    struct.pack_into('<I', bad, 6 * BS + 4, 0xFFFFFFFF)   # SavedOffset
    struct.pack_into('<I', bad, 6 * BS + 0x30, 0xFFFFFFFF)  # filled bytes
    got, errors, _ = read_etl(write_variant(tmp_path, 'saved.etl', bytes(bad)))
    assert len(errors) == 1 and 'buffer 6' in errors[0] and 'read up to the filler' in errors[0], errors
    assert seqs(got) == list(range(NEVENTS))


def test_saved_offset_zero_is_not_damage(clean, tmp_path):
    """Older loggers leave SavedOffset 0 (buffer 0 included): the filled
    offset at 0x30 says where the records end; nothing is reported."""
    _, data, events = clean
    bad = bytearray(data)
    for b in range(len(data) // BS):
        struct.pack_into('<I', bad, b * BS + 4, 0)
    got, errors, header = read_etl(write_variant(tmp_path, 'saved0.etl', bytes(bad)))
    assert errors == []
    assert header['present'] and got == events


def test_unknown_in_type_in_metadata(clean, tmp_path):
    _, data, events = clean
    pos = data.find(b'victim_field\x00')
    assert pos > 0 and data.find(b'victim_field\x00', pos + 1) < 0
    bad = bytearray(data)
    bad[pos + len(b'victim_field\x00')] = 0x1F          # in-type 31: unknown
    got, errors, _ = read_etl(write_variant(tmp_path, 'intype.etl', bytes(bad)))
    assert len(got) == NEVENTS
    damaged = [e for e in got if 'error' in e]
    assert len(damaged) == 1 and 'victim_field' in damaged[0]['error'], damaged
    assert damaged[0]['event'] == 'Numbered' and damaged[0]['provider'] == PROV
    others = [e for e in got if 'error' not in e]
    assert others == [e for e in events if e['fields']['seq'] != 400]
    r = run_module('decode', write_variant(tmp_path, 'intype.etl', bytes(bad)))
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert 'victim_field' in r.stderr


def test_counted_string_longer_than_data(clean, tmp_path):
    _, data, events = clean
    pos = data.find(b'\x09\x00MARKERxyz')
    assert pos > 0
    bad = bytearray(data)
    struct.pack_into('<H', bad, pos, 0x0FFF)              # claims 4095 bytes
    got, errors, _ = read_etl(write_variant(tmp_path, 'counted.etl', bytes(bad)))
    assert len(got) == NEVENTS
    ev = next(e for e in got if 'error' in e)
    assert 'marker' in ev['error']
    # the fields before the damage are there; the damaged one and later ones are not
    assert ev['fields'] == {'seq': 300, 'text': 'abcdefghij' * (300 % 9)}
    assert [e for e in got if e is not ev] == [e for e in events if e['fields']['seq'] != 300]
    r = run_module('decode', write_variant(tmp_path, 'counted.etl', bytes(bad)))
    assert r.returncode == 1


# ---------------------------------------------------------------------------
# random byte flips: never crash, never hang, always valid output

FLIP_CHECKER = textwrap.dedent('''
    import json, random, sys
    from traceloggingdynamic.etl import EtlFile
    KEYS = %r
    src, out_dir, seed, trials = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    data = open(src, 'rb').read()
    rng = random.Random(seed)
    summary = []
    for t in range(trials):
        bad = bytearray(data)
        nflips = rng.choice([1, 2, 8, 64, 512])
        for _ in range(nflips):
            pos = rng.randrange(len(bad)) if rng.random() < 0.7 else rng.randrange(min(len(bad), 0x300))
            bad[pos] ^= 1 << rng.randrange(8) if rng.random() < 0.5 else rng.randrange(1, 256)
        if rng.random() < 0.3:
            bad = bad[:rng.randrange(len(bad))]
        path = '%%s/flip%%d.etl' %% (out_dir, t)
        open(path, 'wb').write(bad)
        try:
            f = EtlFile(path)
        except (ValueError, OSError) as e:
            summary.append(('open', type(e).__name__))
            continue
        n = 0
        for line in f.lines('json'):
            ev = json.loads(line)
            for k in KEYS:
                assert k in ev, (t, k, line[:200])
            assert ('fields' in ev) or ('payload' in ev) or ('error' in ev), line[:200]
            n += 1
        text = list(f.lines('text'))
        assert len(text) == n, (t, len(text), n)
        assert all(isinstance(e, str) and e for e in f.errors)
        summary.append(('ok', n, len(f.errors)))
    print(json.dumps(summary))
''') % (EVENT_KEYS,)


def test_random_byte_flips_never_crash(clean, tmp_path):
    path, data, _ = clean
    trials = scaled(120, 40)
    r = subprocess.run([sys.executable, '-c', FLIP_CHECKER, str(path), str(tmp_path), '20240601', str(trials)],
                       capture_output=True, text=True, timeout=CLI_TIMEOUT)
    assert r.returncode == 0, r.stderr[-3000:]
    summary = json.loads(r.stdout)
    assert len(summary) == trials
    opened = [s for s in summary if s[0] == 'ok']
    assert len(opened) > trials // 2
    assert any(s[2] > 0 for s in opened), 'no flip was ever reported as damage'


def test_random_byte_flips_cli(clean, tmp_path):
    path, data, _ = clean
    rng = random.Random(7)
    for t in range(scaled(6, 3)):
        bad = bytearray(data)
        for _ in range(rng.choice([4, 40, 400])):
            bad[rng.randrange(len(bad))] = rng.randrange(256)
        p = write_variant(tmp_path, f'cli{t}.etl', bytes(bad))
        for fmt in ('json', 'text'):
            r = run_module('decode', p, '--format', fmt)
            assert r.returncode in (0, 1, 2), r.returncode
            assert 'Traceback' not in r.stderr, r.stderr[-2000:]
            assert (r.returncode == 1) == bool(r.stderr.strip()) or r.returncode == 2
            if fmt == 'json':
                json_lines(r.stdout)  # every line is valid JSON
        r = run_module('decode', p, '--summary')
        assert r.returncode in (0, 1, 2) and 'Traceback' not in r.stderr


# ---------------------------------------------------------------------------
# a recorder killed with SIGKILL

WRITER_SCRIPT = textwrap.dedent('''
    import sys, time
    from traceloggingdynamic import EventBuilder, Provider
    p = Provider(b'TldTests.Killed')
    eb = EventBuilder()
    i = 0
    while True:
        eb.reset(b'Tick')
        eb.add_uint64(b'seq', i)
        eb.add_str8(b'pad', 'p' * (i % 50))
        p.write(eb)
        i += 1
        if i % 200 == 0:
            time.sleep(0.001)
''')


def wait_for_buffers(path, n, proc, deadline):
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            data = path.read_bytes()
            if len(data) > 0x200 and buffers_written_of(data) >= n:
                return
        except FileNotFoundError:
            pass
        time.sleep(0.02)
    pytest.fail(f'{path} never reached {n} buffers')


def check_killed_file(path):
    """A file whose writer was SIGKILLed: every flushed event decodes, nothing
    is called damaged, and the missing end is said once (issue 17 item 9):
    EtlFile.session_not_stopped, a note on stderr and exit status 1, a
    "session:" line in the summary."""
    events, errors, header = read_etl(path)
    assert errors == [], errors
    assert len(events) > 0
    assert [e['fields']['seq'] for e in events] == list(range(len(events))), 'events lost or damaged'
    assert all(e['fields']['pad'] == 'p' * (e['fields']['seq'] % 50) for e in events)
    assert all(e['event'] == 'Tick' and e['provider'] == 'TldTests.Killed' for e in events)
    assert header['buffers_written'] >= 3
    f = EtlFile(path)
    assert f.session_not_stopped and f.last_flush == header['end_time']
    assert sum(1 for _ in f.lines()) == len(events)
    assert len(f.notes) == 1 and 'was not stopped' in f.notes[0] and f.errors == []
    r = run_module('decode', path)
    assert r.returncode == 1, r.stderr
    assert len(json_lines(r.stdout)) == len(events)
    assert r.stderr.count('was not stopped') == 1 and header['end_time'][:19] in r.stderr, r.stderr
    r = run_module('decode', path, '--summary')
    assert r.returncode == 1
    assert 'session: not stopped' in r.stdout and r.stderr == '', (r.stdout, r.stderr)
    return events


def kill_group(proc):
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def test_sigkilled_recorder_leaves_decodable_file(tmp_path):
    script = tmp_path / 'writer.py'
    script.write_text(WRITER_SCRIPT)
    out = tmp_path / 'killed.etl'
    env = dict(os.environ)
    for k in ('TRACELOGGING_SESSION_FILE', 'TRACELOGGING_SESSION_PROVIDERS', 'TRACELOGGING_SESSION_STACKS',
              'TRACELOGGING_SESSION_MAX_SIZE'):
        env.pop(k, None)
    proc = subprocess.Popen([sys.executable, '-m', 'traceloggingdynamic', 'record', '-o', str(out),
                             '--provider', 'TldTests.Killed', '--buffer-size', '8192', '--flush-interval', '0.05',
                             '--', str(script)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    try:
        wait_for_buffers(out, 4, proc, time.monotonic() + CLI_TIMEOUT)
        time.sleep(0.13)
    finally:
        kill_group(proc)
    check_killed_file(out)


def test_sigkilled_session_in_plain_python(tmp_path):
    env = dict(os.environ)
    for k in ('TRACELOGGING_SESSION_FILE', 'TRACELOGGING_SESSION_PROVIDERS', 'TRACELOGGING_SESSION_STACKS',
              'TRACELOGGING_SESSION_MAX_SIZE'):
        env.pop(k, None)
    for attempt in range(scaled(3, 2)):
        out = tmp_path / f'killed{attempt}.etl'
        code = ('import traceloggingdynamic as tld\n'
                f's = tld.Session({str(out)!r}, ["TldTests.Killed"], flush_interval=0.02, buffer_size=4096)\n'
                's.start()\n' + WRITER_SCRIPT)
        proc = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=env, start_new_session=True)
        try:
            wait_for_buffers(out, 3 + attempt * 3, proc, time.monotonic() + CLI_TIMEOUT)
            time.sleep(0.011 * (attempt + 1))
        finally:
            kill_group(proc)
        check_killed_file(out)
