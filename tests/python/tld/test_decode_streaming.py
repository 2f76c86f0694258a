"""Streaming (issue 13 item 3, issue 15 item 4): ``decode`` (--summary,
JSON, text) and EtlFile read a multi-GB trace without holding it: peak RSS
stays under 200 MB whatever the file size. The trace is made by repeating
full buffers of a real session trace (capped at 2 GiB, deleted after);
a compressed variant expands to more than it occupies on disk.

Under ASan (TLD_SANITIZED=1) the files are smaller and the RSS bound is not
asserted (the sanitizer's shadow memory and quarantine are not the reader's);
the walks and counts are still checked. No timing is asserted: the speed
is measured by bench/bench_decode.py.
"""

import os
import struct
import subprocess
import sys

import pytest

import traceloggingdynamic as tld
from traceloggingdynamic import EventBuilder, Provider

from etl_helpers import CLI_TIMEOUT, SANITIZED, read_etl
import etl_windows_fixtures as wf

PROV = 'TldTests.Streaming'
BS = 65536
RSS_BOUND_KB = 200 * 1024
BIG_BYTES = (256 if SANITIZED else 2048) * 1024 * 1024


@pytest.fixture(scope='module')
def template(tmp_path_factory):
    """Buffer 0 and one full event buffer of a real session trace, and the
    number of events in that buffer."""
    path = tmp_path_factory.mktemp('stream') / 'small.etl'
    p = Provider(PROV.encode())
    eb = EventBuilder()
    with tld.Session(str(path), [PROV], buffer_size=BS):
        for i in range(3000):
            eb.reset(b'Blob', level=4)
            eb.add_int32(b'i', i)
            eb.add_binary_bytes(b'payload', bytes(range(256)) * 4)
            p.write(eb)
    p.close()
    data = path.read_bytes()
    events, errors, _ = read_etl(path)
    assert errors == []
    buf1 = data[BS:2 * BS]
    # Events held by buffer 1: count its records.
    used = struct.unpack_from('<I', buf1, 0x30)[0]
    off, count = 0x48, 0
    while off < used:
        size = struct.unpack_from('<H', buf1, off)[0]
        count += 1
        off += (size + 7) & ~7
    assert count > 30
    return data[:BS], buf1, count


def write_big(path, template, nbuf, compress=False):
    """Buffer 0, then `nbuf` copies of the event buffer (the last with the
    flush marker of a stopped session); returns the file size."""
    b0, buf, _ = template
    b0 = bytearray(b0)
    struct.pack_into('<I', b0, wf.LF + 0x24, 1 + nbuf)                 # BuffersWritten
    if compress:
        mode = struct.unpack_from('<I', b0, wf.LF + 0x20)[0]
        struct.pack_into('<I', b0, wf.LF + 0x20, mode | wf.COMPRESSED_MODE)
        z = bytearray(buf[:wf.BH])
        used = struct.unpack_from('<I', buf, 0x30)[0]
        body = wf.lz77_compress(buf[wf.BH:used])
        struct.pack_into('<I', z, 0, wf.BH + len(body))
        struct.pack_into('<H', z, 0x34, struct.unpack_from('<H', z, 0x34)[0] | wf.FLAG_COMPRESSED)
        buf = bytes(z) + body
    last = bytearray(buf)
    struct.pack_into('<H', last, 0x34, struct.unpack_from('<H', last, 0x34)[0] | wf.FLAG_FLUSH)
    chunk = buf * 64
    with open(path, 'wb') as f:
        f.write(b0)
        left = nbuf - 1
        while left >= 64:
            f.write(chunk)
            left -= 64
        f.write(buf * left)
        f.write(last)
    return os.path.getsize(path)


MEASURE = r'''
import sys
from traceloggingdynamic.__main__ import main
import io, os
mode = sys.argv[2]
if mode in ('json', 'text'):
    sys.stdout = open(os.devnull, 'w')
    rc = main(['decode', sys.argv[1], '--format', mode])
elif mode == 'summary':
    rc = main(['decode', sys.argv[1], '--summary'])
else:  # EtlFile.events(), as Python code would walk it
    from traceloggingdynamic.etl import EtlFile
    n = sum(1 for _ in EtlFile(sys.argv[1]).events())
    print('events:', n)
    rc = 0
# The peak RSS of this process image: VmHWM (ru_maxrss would include the
# parent's, recorded at exec after a vfork).
with open('/proc/self/status') as f:
    hwm = next(int(line.split()[1]) for line in f if line.startswith('VmHWM:'))
print('MAXRSS_KB', hwm, file=sys.stderr)
sys.exit(rc)
'''


def measure(path, mode):
    r = subprocess.run([sys.executable, '-c', MEASURE, str(path), mode], capture_output=True, text=True,
                       timeout=CLI_TIMEOUT * 20)
    lines = [l for l in r.stderr.splitlines() if l.startswith('MAXRSS_KB')]
    assert lines, r.stderr
    return r, int(lines[-1].split()[1])


def big_file(tmp_path, template, nbytes):
    path = tmp_path / 'big.etl'
    nbuf = nbytes // BS - 1
    size = write_big(path, template, nbuf)
    return path, nbuf * template[2], size


def test_summary_of_a_multi_gb_trace_in_bounded_memory(tmp_path, template):
    path, nevents, size = big_file(tmp_path, template, BIG_BYTES)
    try:
        assert size >= BIG_BYTES - BS
        r, rss = measure(path, 'summary')
        assert r.returncode == 0, r.stderr
        assert f'events: {nevents}' in r.stdout
        assert f'{nevents}    Blob' in r.stdout, r.stdout
        if not SANITIZED:
            assert rss < RSS_BOUND_KB, f'peak RSS {rss} KiB reading a {size >> 20} MiB file'
    finally:
        path.unlink()


@pytest.mark.parametrize('mode', ['json', 'text', 'events'])
def test_line_walks_stream(tmp_path, template, mode):
    """JSON, text and EtlFile.events() walk a line per event, slower than
    the summary: 1 GiB (a quarter under ASan) shows memory does not follow
    the file size."""
    path, nevents, size = big_file(tmp_path, template, BIG_BYTES // 2)
    try:
        r, rss = measure(path, mode)
        assert r.returncode == 0, r.stderr
        if mode == 'events':
            assert f'events: {nevents}' in r.stdout
        if not SANITIZED:
            assert rss < RSS_BOUND_KB, f'peak RSS {rss} KiB reading a {size >> 20} MiB file'
    finally:
        path.unlink()


def test_compressed_trace_expanding_beyond_its_size(tmp_path, template):
    path = tmp_path / 'bigz.etl'
    nbuf = (BIG_BYTES // 4) // BS
    size = write_big(path, template, nbuf, compress=True)
    try:
        assert size < nbuf * BS // 2   # it occupies less than it expands to
        r, rss = measure(path, 'summary')
        assert r.returncode == 0, r.stderr
        assert f'events: {nbuf * template[2]}' in r.stdout
        assert f'compressed buffers: {nbuf} of {nbuf + 1}' in r.stdout
        if not SANITIZED:
            assert rss < RSS_BOUND_KB, f'peak RSS {rss} KiB'
    finally:
        path.unlink()
