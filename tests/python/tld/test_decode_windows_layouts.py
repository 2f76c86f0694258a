"""The decoder on the layouts Windows writes (issue 15), built from the
format by test-only writers (etl_windows_fixtures.py), and checked against
``dissect.etl`` where it reads them:

- relogged, compressed files (LogFileMode 0x04000000, buffers after the
  first compressed with Plain LZ77 and only as long as their compressed
  bytes, buffer 0 shorter than the logfile's BufferSize): the same events
  as the uncompressed original, no damage; dissect.etl's own LZXPRESS
  decoder expands our fixtures' buffers to the original records (so the
  test compressor is checked independently of ours);
- older loggers (SavedOffset 0 in every buffer): the header is found, the
  times are right, nothing is called damaged; dissect agrees;
- kernel records: named, decoded, counted per class by --summary, stacks
  named module+offset in text; dissect sees the same records;
- files that are not regular (issue 17 item 7): one line, exit 2.

etl-parser reads neither compressed files nor kernel payloads; it is
checked on the uncompressed originals by test_interop_parsers.py.
"""

import io
import json
import os
import struct
import threading

import pytest

import traceloggingdynamic as tld
from traceloggingdynamic import EventBuilder, Provider
from traceloggingdynamic.etl import EtlFile

from etl_helpers import iso_to_filetime, json_lines, read_etl, require, run_module
import etl_windows_fixtures as wf

PROV = 'TldTests.Windows.Layouts'


@pytest.fixture(scope='module')
def original(tmp_path_factory):
    """A multi-buffer trace of our sessions: two threads, 8 KiB buffers."""
    path = tmp_path_factory.mktemp('winlayout') / 'original.etl'
    p = Provider(PROV.encode())

    def work(k):
        eb = EventBuilder()
        for i in range(400):
            eb.reset(b'Step', level=4)
            eb.add_int32(b'k', k)
            eb.add_int32(b'i', i)
            eb.add_str8(b'text', 'x' * (i % 40))
            p.write(eb)

    with tld.Session(str(path), [PROV], buffer_size=8192):
        threads = [threading.Thread(target=work, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    p.close()
    events, errors, header = read_etl(path)
    assert errors == [] and len(events) == 800
    assert header['buffers_written'] > 8
    return path, path.read_bytes(), events


def test_relogged_compressed_file_decodes_like_the_original(original, tmp_path):
    path, data, events = original
    z = wf.relog(data, compress=True, buffer0_size=2048)
    assert len(z) < len(data) // 2
    zpath = tmp_path / 'relogged.etl'
    zpath.write_bytes(z)
    got, errors, header = read_etl(zpath)
    assert errors == []
    assert got == events
    assert header['compressed'] is True and header['log_file_mode'] & wf.COMPRESSED_MODE
    f = EtlFile(zpath)
    assert sum(1 for _ in f.lines()) == 800
    nbuf = header['buffers_written']
    assert f.counts['compressed_buffers'] == nbuf - 1 and f.counts['buffer_count'] == nbuf
    r = run_module('decode', zpath, '--summary')
    assert r.returncode == 0 and r.stderr == '', r.stderr
    assert f'compressed buffers: {nbuf - 1} of {nbuf}' in r.stdout
    assert 'events: 800' in r.stdout
    r = run_module('decode', zpath, '--format', 'text')
    assert r.returncode == 0 and r.stdout.count('\n') == 800
    assert r.stdout.splitlines()[0].split(' ', 2)[1] == f'{PROV}/Step'


def test_dissect_reads_our_compressed_fixture(original, tmp_path):
    """dissect.etl expands each compressed buffer of the fixture to the
    original buffer's records, and walks the same event records we do."""
    etl_mod = require('dissect.etl')
    path, data, events = original
    z = wf.relog(data, compress=True)
    bs = struct.unpack_from('<I', data, 0)[0]
    orig = wf.buffers_of(data, bs)
    etl = etl_mod.ETL(io.BytesIO(z))
    seen = 0
    theirs = []
    for i, buf in enumerate(etl.buffers()):
        if i == 0:
            continue
        used = struct.unpack_from('<I', orig[i], 0x30)[0]
        assert bytes(buf.data) == orig[i][wf.BH:used], f'buffer {i}'
        for rec in buf:
            h = rec.header
            if type(h).__name__ == 'EventHeader':
                seen += 1
                theirs.append((h.header.TimeDelta, h.header.ThreadId, h.header.ProcessId))
    assert seen == len(events)
    # Our order is by time; theirs by buffer: compare as sets of (clock, tid, pid).
    # dissect converts times in floating point: allow its last digit.
    ours = sorted((iso_to_filetime(e['time']), e['tid'], e['pid']) for e in events)
    conv = sorted((etl.get_filetime_for_event(t), tid, pid) for t, tid, pid in theirs)
    assert [x[1:] for x in conv] == [x[1:] for x in ours]
    assert all(abs(a[0] - b[0]) <= 1 for a, b in zip(conv, ours))


def test_older_logger_saved_offset_zero(original, tmp_path):
    etl_mod = require('dissect.etl')
    path, data, events = original
    old = wf.relog(data, compress=False, saved_offset_zero=True)
    p = tmp_path / 'old.etl'
    p.write_bytes(old)
    got, errors, header = read_etl(p)
    assert errors == [] and header['present']
    assert got == events
    assert not any(e['time'].startswith('1601') for e in got)
    r = run_module('decode', p)
    assert r.returncode == 0 and r.stderr == ''
    etl = etl_mod.ETL(io.BytesIO(old))
    n = sum(1 for rec in etl if type(rec.header).__name__ == 'EventHeader')
    assert n == len(events)


# ---- kernel records ---------------------------------------------------------------

NTDLL = r'\Device\HarddiskVolume3\Windows\System32\ntdll.dll'


@pytest.fixture(scope='module')
def kernel_trace(tmp_path_factory):
    """Process/thread/image rundown on CPU 0, then samples and their stacks
    spread over two CPUs' buffers, interleaved in time."""
    k = wf.KernelTrace()
    t = k.START_CLOCK
    k.buffer(0)
    k.add(wf.system_record(0x0303, 4, 0, 0, t + 1, wf.process_payload(4242, 4, 'python.exe', 'python.exe fib.py')))
    k.add(wf.system_record(0x0303, 4, 0, 0, t + 1, wf.process_payload(8, 4, 'svchost.exe', '', sid=None)))
    k.add(wf.system_record(0x0503, 3, 0, 0, t + 2, wf.thread_payload(4242, 777)))
    k.add(wf.system_record(0x1403, 3, 0, 0, t + 3, wf.image_payload(0x7FFA00000000, 0x200000, 4242, NTDLL)))
    samples = []
    for cpu in (1, 2):
        k.buffer(cpu)
        for i in range(20):
            ts = t + 100 + 10 * i + cpu
            ip = 0x7FFA00000000 + 0x100 * i + cpu
            k.add(wf.perfinfo_record(0x0F2E, 2, ts, wf.sample_payload(ip, 777)))
            k.add(wf.perfinfo_record(0x1820, 2, ts + 1, wf.stack_payload(ts, 4242, 777, [ip, 0x7FFA00001000])))
            samples.append((ts, ip))
    k.add(wf.system_record(0x0504, 3, 0, 0, t + 1000, wf.thread_payload(4242, 777)))
    path = tmp_path_factory.mktemp('kernel') / 'kernel.etl'
    path.write_bytes(k.data())
    return path, samples


def test_kernel_records_are_named_and_decoded(kernel_trace):
    path, samples = kernel_trace
    events, errors, _ = read_etl(path)
    assert errors == []
    assert all(e['provider'] == 'MSNT_SystemTrace' for e in events)
    names = [e['event'] for e in events]
    assert names[:4] == ['Process/DCStart', 'Process/DCStart', 'Thread/DCStart', 'Image/DCStart']
    assert names.count('PerfInfo/SampledProfile') == 40 and names.count('StackWalk/Stack') == 40
    assert names[-1] == 'Thread/DCEnd'
    # Time order across the CPUs' buffers.
    clocks = [e['clock'] for e in events]
    assert clocks == sorted(clocks)
    proc = events[0]
    assert proc['provider_id'] == '3d6fa8d0-fe05-11d0-9dda-00c04fd7ba7c' and proc['opcode'] == 3
    assert proc['fields']['ProcessId'] == 4242 and proc['fields']['ImageFileName'] == 'python.exe'
    assert proc['fields']['CommandLine'] == 'python.exe fib.py'
    assert proc['fields']['UserSID'] == 'S-1-5-21-1-2'
    assert events[1]['fields']['ImageFileName'] == 'svchost.exe' and 'UserSID' not in events[1]['fields']
    image = events[3]['fields']
    assert image['ImageBase'] == '0x7ffa00000000' and image['ImageSize'] == '0x200000' and image['FileName'] == NTDLL
    # Each sample, then its stack: the stack's EventTimeStamp is the sample's clock.
    got = [(e['clock'], int(e['fields']['InstructionPointer'], 16)) for e in events
           if e['event'] == 'PerfInfo/SampledProfile']
    assert got == sorted(samples)
    for e in events:
        if e['event'] == 'PerfInfo/SampledProfile':
            assert e['pid'] is None and e['tid'] == 777
        if e['event'] == 'StackWalk/Stack':
            assert e['pid'] == 4242 and e['tid'] == 777
            assert e['stack'][1] == 0x7FFA00001000
            assert any(s[0] == e['fields']['EventTimeStamp'] and s[1] == e['stack'][0] for s in samples)
    # kernel=False leaves them out.
    assert list(EtlFile(path, kernel=False).events()) == []


def test_kernel_summary_counts_classes(kernel_trace):
    path, _ = kernel_trace
    r = run_module('decode', path, '--summary')
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()]
    assert ['events:', '0'] in rows
    # 85 kernel records and the logfile header record (EventTrace, not listed)
    assert any(row[:3] == ['system', 'records:', '86'] for row in rows), r.stdout
    assert ['85', 'MSNT_SystemTrace'] in rows
    assert ['40', 'PerfInfo/SampledProfile'] in rows and ['40', 'StackWalk/Stack'] in rows
    assert ['2', 'Process/DCStart'] in rows and ['1', 'Image/DCStart'] in rows


def test_kernel_text_names_stack_frames(kernel_trace):
    path, _ = kernel_trace
    r = run_module('decode', path, '--format', 'text')
    assert r.returncode == 0, r.stderr
    stacks = [line for line in r.stdout.splitlines() if '/StackWalk/Stack ' in line]
    assert len(stacks) == 40
    assert all('"0x7ffa00001000 ntdll.dll+0x1000"]' in line for line in stacks), stacks[0]
    assert '/PerfInfo/SampledProfile 0 - 777 InstructionPointer="0x7ffa' in r.stdout


def test_dissect_sees_our_kernel_records(kernel_trace):
    etl_mod = require('dissect.etl')
    path, _ = kernel_trace
    ours = [e for e in read_etl(path)[0]]
    etl = etl_mod.ETL(open(path, 'rb'))
    theirs = []
    for rec in etl:
        h = rec.header
        kind = type(h).__name__
        if kind in ('SystemHeader', 'PerfinfoTraceHeader') and h.header.Group != 0:
            theirs.append((h.header.TimeDelta, (h.header.Group << 8) | h.header.OpCode, bytes(h.payload)))
    assert len(theirs) == len(ours)
    assert sorted((t, hook) for t, hook, _ in theirs) == sorted((e['clock'], int(e['hook'], 16)) for e in ours)
    # The payload bytes behind a decoded sample.
    sample = next(e for e in ours if e['event'] == 'PerfInfo/SampledProfile')
    payload = next(p for t, hook, p in theirs if t == sample['clock'] and hook == 0x0F2E)
    ip, tid = struct.unpack_from('<QI', payload)
    assert ip == int(sample['fields']['InstructionPointer'], 16) and tid == sample['fields']['ThreadId']


# ---- files that are not .etl files -------------------------------------------------

@pytest.mark.parametrize('which', ['dev_zero', 'directory', 'fifo'])
def test_non_regular_files_get_one_line(tmp_path, which):
    if which == 'dev_zero':
        target = '/dev/zero'
    elif which == 'directory':
        target = str(tmp_path)
    else:
        target = str(tmp_path / 'fifo')
        os.mkfifo(target)
    r = run_module('decode', target, '--summary')
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.count('\n') == 1 and 'not a regular file' in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr and r.stdout == ''
    with pytest.raises(ValueError, match='not a regular file'):
        EtlFile(target)


def test_real_windows_file_relogged_compressed(tmp_path):
    """AMSITrace.etl (written by Windows) relogged compressed by the fixture
    writer, buffer 0 cut to 4 KiB: the same 19 events; dissect.etl agrees."""
    from etl_helpers import AMSI_ETL
    if not AMSI_ETL.exists():
        pytest.skip(f'{AMSI_ETL} not found')
    data = AMSI_ETL.read_bytes()
    want, errors, _ = read_etl(AMSI_ETL)
    assert errors == [] and len(want) == 19
    z = wf.relog(data, compress=True, buffer0_size=4096)
    p = tmp_path / 'amsi_relogged.etl'
    p.write_bytes(z)
    got, errors, header = read_etl(p)
    assert errors == [] and header['compressed']
    assert got == want
    etl_mod = require('dissect.etl')
    n = sum(1 for rec in etl_mod.ETL(io.BytesIO(z)) if type(rec.header).__name__ == 'EventHeader')
    assert n == 19


def test_etl_parser_decodes_the_same_kernel_fields(kernel_trace):
    """etl-parser decodes the Process (with a UserSID), Thread and Image
    classes (not PerfInfo or StackWalk): its values equal ours, field by field."""
    etl_etl = require('etl.etl')
    path, _ = kernel_trace

    class Collect:
        def __init__(self):
            self.records = []

        def on_system_trace(self, obj):
            self.records.append(obj)

        def on_perfinfo_trace(self, obj):
            pass

        def on_trace_record(self, obj):
            pass

        def on_event_record(self, obj):
            pass

        def on_win_trace(self, obj):
            pass

    obs = Collect()
    etl_etl.build_from_stream(path.read_bytes()).parse(obs)
    theirs = {}
    for rec in obs.records:
        try:
            mof = rec.get_mof()
        except Exception:    # classes it lacks; a process without a UserSID (4 zero bytes)
            continue
        theirs.setdefault(type(mof).__name__.split('_')[0], []).append(mof.source)
    ours = {}
    for e in read_etl(path)[0]:
        ours.setdefault(e['event'], e['fields'])   # the first of each
    p, t, i = theirs['Process'][0], theirs['Thread'][0], theirs['ImageLoad'][0]
    mine = ours['Process/DCStart']
    assert (p.ProcessId, p.ParentId, p.SessionId, p.ExitStatus, p.Flags) == \
        (mine['ProcessId'], mine['ParentId'], mine['SessionId'], mine['ExitStatus'], mine['Flags'])
    assert p.UniqueProcessKey == int(mine['UniqueProcessKey'], 16)
    assert p.DirectoryTableBase == int(mine['DirectoryTableBase'], 16)
    mine = ours['Thread/DCStart']
    assert (t.ProcessId, t.ThreadId, t.BasePriority, t.PagePriority, t.IoPriority) == \
        (mine['ProcessId'], mine['ThreadId'], mine['BasePriority'], mine['PagePriority'], mine['IoPriority'])
    assert (t.Affinity, t.Win32StartAddr, t.TebBase) == \
        tuple(int(mine[k], 16) for k in ('Affinity', 'Win32StartAddr', 'TebBase'))
    mine = ours['Image/DCStart']
    assert (i.ImageBase, i.ImageSize, i.ProcessId, i.ImageChecksum, i.TimeDateStamp) == \
        (int(mine['ImageBase'], 16), int(mine['ImageSize'], 16), mine['ProcessId'], mine['ImageChecksum'],
         mine['TimeDateStamp'])
