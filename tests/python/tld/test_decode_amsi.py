"""Decoding a real Windows-written .etl file: ../shared/data/AMSITrace.etl.

What this file is for (issue 3): the decoder must read files written by
Windows, not only ours. AMSITrace.etl (6 buffers of 64 KiB) holds 19
TraceLogging events ``AmsiScript`` from provider ``AmsiTrace``. The expected
values below were established with the third-party parsers (dissect.etl for
headers/pids/raw timestamps, converted with the spec's formula FILETIME =
StartTime + (ts - SystemTime) * 10^7 / PerfFreq; etl-parser for the fields),
not with our decoder:
per-process counts, field values, timestamps (to the microsecond dissect.etl
shows), activity ids and the header. Checked through ``EtlFile`` and through
``python -m traceloggingdynamic decode`` (JSON, text, --summary).
"""

import collections
import hashlib
import json

import pytest

from etl_helpers import AMSI_ETL, assert_event_shape, iso_to_filetime, json_lines, run_module

pytestmark = pytest.mark.skipif(not AMSI_ETL.is_file(), reason=f'{AMSI_ETL} is not available')

POWERSHELL = 'PowerShell_C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe_10.0.18362.1'
VBS_RUN = 'IWshShell3.Run("powershell.exe -nop -w 1 -enc RwBlAHQALQBBAGwAaQBhAHMA", "0", "true");\r\n'
VBS_MSGBOX = 'msgbox "Is VBScript Dead?"\r\n'

# In time order, the order the reader gives (Windows' readers too): the
# file's six buffers interleave in time, each in time order inside.
# (pid, tid, time, activity id or None, Engine, len(Script), first 16 hex
# digits of sha256(Script as UTF-8)).
EXPECTED = [
    (38080, 40928, '2020-02-17T12:48:57.4542723Z', None, 'VBScript', 88, 'e1c7f8673b45983c'),
    (29868, 27320, '2020-02-17T12:48:57.6493899Z', None, POWERSHELL, 9, '856ba9bfc0a4b4b3'),
    (29868, 27320, '2020-02-17T12:48:57.6813707Z', '66931e3d-e311-0000-03d0-af6611e3d501', POWERSHELL, 2473, '8773de3a11ffd845'),
    (29868, 27320, '2020-02-17T12:48:57.7336241Z', '66931e3d-e311-0000-06d0-af6611e3d501', POWERSHELL, 368, 'f039fea3e511a0f3'),
    (29868, 27320, '2020-02-17T12:48:57.7518824Z', '66931e3d-e311-0000-06d0-af6611e3d501', POWERSHELL, 350, 'ea42c9807a2c452f'),
    (29868, 27320, '2020-02-17T12:48:57.9606697Z', '66931e3d-e311-0002-f5ee-9f6611e3d501', POWERSHELL, 9, '16045c1a8580f807'),
    (37092, 11152, '2020-02-17T12:48:59.4874750Z', None, 'VBScript', 88, 'e1c7f8673b45983c'),
    (33992, 17492, '2020-02-17T12:48:59.6574063Z', None, POWERSHELL, 9, '856ba9bfc0a4b4b3'),
    (33992, 17492, '2020-02-17T12:48:59.6884353Z', '66931e3d-e311-0007-ff73-a56611e3d501', POWERSHELL, 2473, '8773de3a11ffd845'),
    (33992, 17492, '2020-02-17T12:48:59.7359380Z', '66931e3d-e311-0007-0274-a56611e3d501', POWERSHELL, 368, 'f039fea3e511a0f3'),
    (33992, 17492, '2020-02-17T12:48:59.7526578Z', '66931e3d-e311-0007-0274-a56611e3d501', POWERSHELL, 350, 'ea42c9807a2c452f'),
    (33992, 17492, '2020-02-17T12:48:59.9523541Z', '66931e3d-e311-0000-44d2-af6611e3d501', POWERSHELL, 9, '16045c1a8580f807'),
    (13532, 37384, '2020-02-17T12:49:46.4912773Z', None, 'VBScript', 28, 'fee5e2ba1cf7ddfa'),
    (32276, 36584, '2020-02-17T12:49:49.9753709Z', None, 'VBScript', 88, 'e1c7f8673b45983c'),
    (31968, 16108, '2020-02-17T12:49:50.1428657Z', None, POWERSHELL, 9, '856ba9bfc0a4b4b3'),
    (31968, 16108, '2020-02-17T12:49:50.1683334Z', '66931e3d-e311-0007-8e74-a56611e3d501', POWERSHELL, 2473, '8773de3a11ffd845'),
    (31968, 16108, '2020-02-17T12:49:50.2074835Z', '66931e3d-e311-0007-9174-a56611e3d501', POWERSHELL, 368, 'f039fea3e511a0f3'),
    (31968, 16108, '2020-02-17T12:49:50.2184556Z', '66931e3d-e311-0007-9174-a56611e3d501', POWERSHELL, 350, 'ea42c9807a2c452f'),
    (31968, 16108, '2020-02-17T12:49:50.4024329Z', '66931e3d-e311-0000-67d9-af6611e3d501', POWERSHELL, 9, '16045c1a8580f807'),
]


@pytest.fixture(scope='module')
def amsi():
    from traceloggingdynamic.etl import EtlFile
    f = EtlFile(str(AMSI_ETL))
    events = list(f.events())
    return f, events


def test_nineteen_amsiscript_events(amsi):
    f, events = amsi
    assert f.errors == []
    assert len(events) == 19
    for ev in events:
        assert_event_shape(ev)
        assert ev['provider'] == 'AmsiTrace'
        assert ev['provider_id'] == '8e805eb3-6a8f-4a1e-90fa-a831d94e54a1'
        assert ev['event'] == 'AmsiScript'
        assert (ev['level'], ev['keyword'], ev['channel']) == (5, '0x0', 11)
        assert (ev['opcode'], ev['id'], ev['version'], ev['task']) == (0, 0, 0, 0)
        assert ev['related_activity_id'] is None
        assert list(ev['fields']) == ['Engine', 'Script', 'Raw Script']
        assert 'stack' not in ev and 'error' not in ev and 'unparsed' not in ev


def test_pids_per_process(amsi):
    counts = collections.Counter(ev['pid'] for ev in amsi[1])
    assert counts == {29868: 5, 33992: 5, 31968: 5, 37092: 1, 38080: 1, 13532: 1, 32276: 1}


def test_each_event_header_and_fields(amsi):
    events = amsi[1]
    for ev, (pid, tid, time, activity, engine, script_len, digest) in zip(events, EXPECTED):
        assert (ev['pid'], ev['tid']) == (pid, tid)
        assert ev['time'] == time
        assert ev['activity_id'] == activity
        fields = ev['fields']
        assert fields['Engine'] == engine
        assert len(fields['Script']) == script_len
        assert hashlib.sha256(fields['Script'].encode()).hexdigest()[:16] == digest
        # 'Raw Script' is UINT16[] with out-type STRING: one string, the same text.
        assert fields['Raw Script'] == fields['Script']


def test_concrete_field_values(amsi):
    events = amsi[1]
    first = events[4]   # the first in file order
    assert first['time'] == '2020-02-17T12:48:57.7518824Z'
    assert first['fields']['Script'].startswith("if ($this.Name.IndexOf('-') -lt 0)\r\n          {\r\n")
    assert first['fields']['Script'].endswith('$this.Name\r\n          }')
    assert events[5]['fields']['Script'] == '$global:?'
    assert events[7]['fields']['Script'] == 'Get-Alias'
    assert events[8]['fields']['Script'].startswith('@{\r\nGUID="1DA87E53-152B-403E-98DC-74D7B4D63D59"\r\n'
                                                     'Author="Microsoft Corporation"')
    assert events[6]['fields']['Script'] == VBS_RUN
    assert events[12]['fields'] == {'Engine': 'VBScript', 'Script': VBS_MSGBOX, 'Raw Script': VBS_MSGBOX}


def test_times_within_header_span(amsi):
    f, events = amsi
    h = f.header
    start, end = iso_to_filetime(h['start_time']), iso_to_filetime(h['end_time'])
    assert h['start_time'] == '2020-02-17T12:48:30.4203138Z'
    assert h['end_time'] == '2020-02-17T12:50:00.0260662Z'
    for ev in events:
        assert start <= iso_to_filetime(ev['time']) <= end
    # the buffers are merged: time order across the whole file
    times = [iso_to_filetime(ev['time']) for ev in events]
    assert times == sorted(times)


def test_header(amsi):
    h = amsi[0].header
    assert h['buffer_size'] == 65536
    assert h['buffers_written'] == 6
    assert h['events_lost'] == 3
    assert h['pointer_size'] == 8
    assert h['perf_freq'] == 10_000_000
    assert h['clock_type'] == 1
    assert h['number_of_processors'] == 8
    assert h['provider_version'] == 18362
    assert h['logger_name'] == 'AMSITraceSession'
    assert h['logfile_name'] == 'c:\\work\\AMSITrace.etl'


def test_events_can_be_walked_twice(amsi):
    f, events = amsi
    assert list(f.events()) == events
    assert f.errors == []
    lines = list(f.lines('json'))
    assert [json.loads(line) for line in lines] == events


def test_text_lines(amsi):
    f, events = amsi
    lines = list(f.lines('text'))
    assert len(lines) == 19
    assert lines[0].startswith('2020-02-17T12:48:57.4542723Z AmsiTrace/AmsiScript 5 38080 40928 Engine="VBScript"')
    assert lines[4].startswith('2020-02-17T12:48:57.7518824Z AmsiTrace/AmsiScript 5 29868 27320 Engine="PowerShell_C:')
    assert all(' AmsiTrace/AmsiScript 5 ' in line and ' Raw Script="' in line for line in lines)
    assert all('\n' not in line for line in lines)


def test_cli_json_matches_api(amsi):
    r = run_module('decode', AMSI_ETL)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ''
    assert json_lines(r.stdout) == amsi[1]
    r2 = run_module('decode', AMSI_ETL, '--format', 'json')
    assert r2.returncode == 0 and r2.stdout == r.stdout


def test_cli_text(amsi):
    r = run_module('decode', AMSI_ETL, '--format', 'text')
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == list(amsi[0].lines('text'))


def test_cli_summary():
    r = run_module('decode', AMSI_ETL, '--summary')
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert 'AmsiTrace' in out and 'AmsiScript' in out
    lines = out.splitlines()
    assert any(line.split() == ['19', 'AmsiTrace'] for line in lines), out
    assert any(line.split() == ['19', 'AmsiScript'] for line in lines), out
    assert '2020-02-17T12:48:57.4542' in out      # earliest event
    assert '2020-02-17T12:49:50.4024' in out      # latest event
    assert any('lost' in line and '3' in line for line in lines), out
