"""``python -m traceloggingdynamic decode`` and EtlFile on files we write.

What this file is for (issue 3, decoder CLI): the JSON lines equal what
``EtlFile.events()`` gives; ``--format text`` has the documented one-line
shape ("<time> <provider>/<event> <level> <pid> <tid> name=value ...");
``--summary`` counts events per provider and name and shows the time span
and lost events; non-TraceLogging events are listed with provider id, event
id and raw payload (hex) instead of being dropped; exit statuses (0 clean,
1 damage, 2 usage/unreadable); a closed pipe is not an error.
"""

import json
import os
import struct
import subprocess
import sys
import threading

import pytest

import traceloggingdynamic as tld
from traceloggingdynamic import EventBuilder, Provider

from etl_helpers import CLI_TIMEOUT, json_lines, read_etl, run_module, walk_records

PA, PB = 'TldTests.Cli.A', 'TldTests.Cli.B'


@pytest.fixture(scope='module')
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp('cli') / 'small.etl'
    pa, pb = Provider(PA.encode()), Provider(PB.encode())
    eb = EventBuilder()
    with tld.Session(str(path), [PA, PB]):
        for i in range(3):
            eb.reset(b'Hello', level=4)
            eb.add_int32(b'x', i)
            eb.add_str8(b's', 'h\u00e9 "q"')
            eb.add_str8(b'nl', 'a\nb')
            pa.write(eb)
        eb.reset(b'Other', level=2)
        eb.add_hexint32(b'h', 255)
        eb.add_uint8_seq(b'arr', [1, 2])
        eb.add_bool32(b'ok', 1)
        pb.write(eb)
        eb.reset(b'Empty', level=5)
        pb.write(eb)
    pa.close()
    pb.close()
    events, errors, header = read_etl(path)
    assert errors == [] and len(events) == 5
    return path, events


def test_json_lines_equal_api(small):
    path, events = small
    r = run_module('decode', path)
    assert r.returncode == 0 and r.stderr == ''
    assert json_lines(r.stdout) == events
    assert r.stdout.endswith('\n') and r.stdout.count('\n') == 5
    for line in r.stdout.splitlines():
        obj = json.loads(line)
        assert list(obj)[:15] == ['time', 'provider', 'provider_id', 'event', 'level', 'keyword', 'opcode', 'id',
                                  'version', 'task', 'channel', 'pid', 'tid', 'activity_id', 'related_activity_id']


def test_text_format(small):
    path, events = small
    r = run_module('decode', path, '--format', 'text')
    assert r.returncode == 0 and r.stderr == ''
    lines = r.stdout.splitlines()
    pid, tid = os.getpid(), threading.get_native_id()
    assert len(lines) == 5
    assert lines[0] == f'{events[0]["time"]} {PA}/Hello 4 {pid} {tid} x=0 s="h\u00e9 \\"q\\"" nl="a\\nb"'
    assert lines[3] == f'{events[3]["time"]} {PB}/Other 2 {pid} {tid} h="0xff" arr=[1,2] ok=true'
    assert lines[4] == f'{events[4]["time"]} {PB}/Empty 5 {pid} {tid}'


def test_summary(small):
    path, events = small
    r = run_module('decode', path, '--summary')
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()]
    assert ['3', PA] in rows and ['3', 'Hello'] in rows
    assert ['2', PB] in rows and ['1', 'Other'] in rows and ['1', 'Empty'] in rows
    assert events[0]['time'] in r.stdout and events[-1]['time'] in r.stdout
    assert any('lost' in line and line.rstrip().endswith('0') for line in r.stdout.splitlines()), r.stdout
    assert any(row[:1] == ['events:'] and row[-1] == '5' for row in rows), r.stdout


def test_non_tracelogging_event_is_listed_with_raw_payload(small, tmp_path):
    """A record without PROV_TRAITS/EVENT_SCHEMA_TL (here: ours with its
    extended-info flag cleared, as a manifest-based event looks) is listed with
    its provider id, event id and payload instead of being dropped."""
    path, events = small
    data = bytearray(path.read_bytes())
    recs = list(walk_records(bytes(data)))
    assert len(recs) == 5
    _, off, size, _ = recs[3]                      # the 'Other' event
    flags = struct.unpack_from('<H', data, off + 4)[0]
    assert flags & 1
    struct.pack_into('<H', data, off + 4, flags & ~1)
    struct.pack_into('<H', data, off + 0x28, 4242)   # EVENT_DESCRIPTOR.Id
    p = tmp_path / 'mixed.etl'
    p.write_bytes(bytes(data))
    got, errors, _ = read_etl(p)
    assert errors == []
    assert len(got) == 5
    ev = got[3]
    assert ev['provider'] is None and ev['event'] is None
    assert ev['provider_id'] == events[3]['provider_id']
    assert ev['id'] == 4242 and ev['level'] == 2 and ev['pid'] == os.getpid()
    assert ev['time'] == events[3]['time']
    assert ev['payload'] == bytes(data[off + 0x50:off + size]).hex()
    assert 'fields' not in ev
    assert [g for i, g in enumerate(got) if i != 3] == [e for i, e in enumerate(events) if i != 3]
    r = run_module('decode', p, '--format', 'text')
    assert r.returncode == 0
    line = r.stdout.splitlines()[3]
    assert line.startswith(f'{ev["time"]} {{{ev["provider_id"]}}}/4242 2 {ev["pid"]} {ev["tid"]} ')
    # tl_decoder.h documents `payload=<hex>`; text values are otherwise written as in JSON, so a
    # quoted hex string is accepted too
    assert line.endswith((f' payload={ev["payload"]}', f' payload="{ev["payload"]}"')), line
    r = run_module('decode', p, '--summary')
    assert r.returncode == 0 and ev['provider_id'] in r.stdout


@pytest.mark.parametrize('args', [['decode'], ['decode', 'x.etl', '--format', 'xml'], ['frobnicate'],
                                  ['decode', 'x.etl', '--bogus'], []])
def test_usage_errors(tmp_path, args):
    r = run_module(*args, cwd=tmp_path)
    assert r.returncode == 2, (args, r.returncode)
    assert r.stderr.strip() and 'Traceback' not in r.stderr


def test_closed_pipe_is_not_an_error(tmp_path):
    path = tmp_path / 'big.etl'
    p = Provider(b'TldTests.Cli.Pipe')
    eb = EventBuilder()
    with tld.Session(str(path), ['TldTests.Cli.Pipe']):
        for i in range(20000):
            eb.reset(b'Line')
            eb.add_uint32(b'i', i)
            eb.add_str8(b'pad', 'p' * 40)
            p.write(eb)
    p.close()
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, '-m', 'traceloggingdynamic', 'decode', str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    first = proc.stdout.readline()
    assert json.loads(first)['fields']['i'] == 0
    proc.stdout.close()
    try:
        proc.wait(timeout=CLI_TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert 'Traceback' not in err, err
    assert proc.returncode in (0, -13), proc.returncode   # 0, or quietly killed by SIGPIPE
