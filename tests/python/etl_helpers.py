"""Shared helpers for the session / .etl / decoder / CLI tests (issue 3).

Nothing here decodes TraceLogging fields: the tests check what our decoder
(``traceloggingdynamic.etl.EtlFile`` and ``python -m traceloggingdynamic
decode``) shows a user. The only independent parsing is ``walk_records``,
a minimal walk over the buffer/record layout of spec/etl-file.md, used to
know where each record of a file we wrote ends (truncation tests).
"""

import datetime
import json
import os
import re
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
AMSI_ETL = REPO.parent / 'shared' / 'data' / 'AMSITrace.etl'

SANITIZED = os.environ.get('TLD_SANITIZED') == '1'
IN_CI = bool(os.environ.get('CI'))

# Seconds a CLI subprocess may take before the test calls it a hang.
CLI_TIMEOUT = 120 if SANITIZED else 60

EVENT_KEYS = ('time', 'provider', 'provider_id', 'event', 'level', 'keyword', 'opcode', 'id',
              'version', 'task', 'channel', 'pid', 'tid', 'activity_id', 'related_activity_id')

_ISO = re.compile(r'^(\d{4,5})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?Z$')
_EPOCH_1601 = datetime.datetime(1601, 1, 1, tzinfo=datetime.timezone.utc)
_EPOCH_1970_TICKS = 116444736000000000  # FILETIME of 1970-01-01


def scaled(n, sanitized_n=None):
    """A count for this run: smaller under ASan (TLD_SANITIZED=1)."""
    if SANITIZED:
        return sanitized_n if sanitized_n is not None else max(1, n // 4)
    return n


def iso_to_filetime(s):
    """'2020-02-17T12:48:57.7518824Z' -> FILETIME (100 ns ticks since 1601), exactly."""
    m = _ISO.match(s)
    assert m, f'not an ISO 8601 UTC time with a Z suffix: {s!r}'
    y, mo, d, hh, mm, ss = (int(x) for x in m.groups()[:6])
    frac = (m.group(7) or '').ljust(7, '0')
    assert len(frac) == 7 or frac[7:].strip('0') == '', f'sub-100ns digits in {s!r}'
    days = (datetime.date(y, mo, d) - datetime.date(1601, 1, 1)).days
    return ((days * 86400 + hh * 3600 + mm * 60 + ss) * 10_000_000) + int(frac[:7])


def filetime_to_iso(ft):
    """FILETIME -> the decoder's ISO form (7 fractional digits, Z)."""
    secs, frac = divmod(ft, 10_000_000)
    dt = _EPOCH_1601 + datetime.timedelta(seconds=secs)
    return dt.strftime('%Y-%m-%dT%H:%M:%S') + f'.{frac:07d}Z'


def unix_ns_to_filetime(ns):
    return ns // 100 + _EPOCH_1970_TICKS


def now_filetime():
    return unix_ns_to_filetime(time.time_ns())


def header_time(value):
    """A header time as FILETIME, whether the header gives an ISO string or a number."""
    if isinstance(value, str):
        return iso_to_filetime(value)
    assert isinstance(value, int), value
    return value


def require(module_name):
    """Import a test dependency: skip when missing, fail when CI is set."""
    try:
        return __import__(module_name, fromlist=['_'])
    except ImportError as e:
        if IN_CI:
            pytest.fail(f'test dependency {module_name} is missing in CI: {e}')
        pytest.skip(f'test dependency {module_name} not installed ({e})')


def read_etl(path):
    """(events, errors, header) of a file, through the public EtlFile API."""
    from traceloggingdynamic.etl import EtlFile
    f = EtlFile(str(path))
    events = list(f.events())
    return events, list(f.errors), f.header


def events_of(path, provider=None):
    events, errors, _ = read_etl(path)
    assert errors == [], errors
    if provider is not None:
        events = [e for e in events if e['provider'] == provider]
    return events


def names_of(events):
    return [e['event'] for e in events]


def run_module(*args, timeout=CLI_TIMEOUT, env=None, cwd=None, input=None):
    """Runs ``python -m traceloggingdynamic ARGS`` and returns the CompletedProcess."""
    full_env = dict(os.environ)
    for k in ('TRACELOGGING_SESSION_FILE', 'TRACELOGGING_SESSION_PROVIDERS', 'TRACELOGGING_SESSION_STACKS',
              'TRACELOGGING_SESSION_MAX_SIZE'):
        full_env.pop(k, None)
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, '-m', 'traceloggingdynamic', *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env=full_env, cwd=cwd,
                          input=input)


def run_python(code, *, env=None, timeout=CLI_TIMEOUT, cwd=None, args=()):
    """Runs ``python -c CODE`` with a clean session environment plus ``env``."""
    full_env = dict(os.environ)
    for k in ('TRACELOGGING_SESSION_FILE', 'TRACELOGGING_SESSION_PROVIDERS', 'TRACELOGGING_SESSION_STACKS',
              'TRACELOGGING_SESSION_MAX_SIZE'):
        full_env.pop(k, None)
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, '-c', code, *args], capture_output=True, text=True,
                          timeout=timeout, env=full_env, cwd=cwd)


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# ---------------------------------------------------------------------------
# Minimal independent walk of the buffer/record layout (spec/etl-file.md)

def buffer_size_of(data):
    return struct.unpack_from('<I', data, 0)[0]


def buffers_written_of(data):
    """TRACE_LOGFILE_HEADER.BuffersWritten from buffer 0 (0x48 + 0x20 + 0x24)."""
    return struct.unpack_from('<I', data, 0x48 + 0x20 + 0x24)[0]


def walk_records(data, buffer_size=None):
    """Yields (buffer_index, file_offset, size, header_type) for every record of
    buffers 1.. of a file WE wrote (EVENT_HEADER records only, 0xC013)."""
    bs = buffer_size or buffer_size_of(data)
    nbuf = (len(data) + bs - 1) // bs
    for b in range(1, nbuf):
        base = b * bs
        if base + 0x48 > len(data):
            return
        saved = struct.unpack_from('<I', data, base + 4)[0]
        end = base + min(saved, bs)
        off = base + 0x48
        while off + 4 <= end:
            size, htype = struct.unpack_from('<HH', data, off)
            if size == 0:
                break
            yield b, off, size, htype
            off += (size + 7) & ~7


def complete_event_count(data, cut, buffer_size=None):
    """How many event records of `data` lie entirely below offset `cut`."""
    bs = buffer_size or buffer_size_of(data)
    n = 0
    for b, off, size, htype in walk_records(data, bs):
        assert htype == 0xC013, hex(htype)
        if b * bs + 0x48 <= cut and off + size <= cut:
            n += 1
    return n


def assert_event_shape(ev):
    """Every key of the documented JSON shape is there with the right type."""
    for k in EVENT_KEYS:
        assert k in ev, (k, ev)
    iso_to_filetime(ev['time'])
    assert isinstance(ev['level'], int) and isinstance(ev['pid'], int) and isinstance(ev['tid'], int)
    assert isinstance(ev['keyword'], str) and re.fullmatch(r'0x[0-9a-f]+', ev['keyword']), ev['keyword']
    if ev['provider'] is not None:
        assert isinstance(ev['fields'], dict)
    else:
        assert 'payload' in ev


def seq_by_thread(events, tid_field='t', seq_field='seq'):
    out = {}
    for e in events:
        out.setdefault(e['fields'][tid_field], []).append(e['fields'][seq_field])
    return out
