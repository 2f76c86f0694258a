"""Smoke tests of the session API from Python: a Session writes a file that
EtlFile decodes, the record/decode CLI round trip in a real subprocess, and
a session started from TRACELOGGING_SESSION_* at interpreter start.
(Thorough session tests live in test_sessions*.py.)"""

import json
import os
import subprocess
import sys
import textwrap

import traceloggingdynamic as tld
from traceloggingdynamic.etl import EtlFile

PROVIDER = 'Smoke.Session.Provider'


def _write_events(provider, count):
    eb = tld.EventBuilder()
    for i in range(count):
        eb.reset(b'SmokeEvent', 4, 0x1)
        eb.add_int32(b'index', i)
        eb.add_str8(b'text', f'event {i}')
        assert provider.write(eb) == 0


def _child_env(**extra):
    env = dict(os.environ)
    for name in ('TRACELOGGING_SESSION_FILE', 'TRACELOGGING_SESSION_PROVIDERS', 'TRACELOGGING_SESSION_STACKS',
                 'TRACELOGGING_SESSION_MAX_SIZE'):
        env.pop(name, None)
    env.update(extra)
    return env


def test_session_file_decodes_back(tmp_path):
    path = tmp_path / 'smoke.etl'
    with tld.Provider(PROVIDER.encode()) as provider:
        assert not provider.is_enabled(4, 1)
        with tld.Session(path, [PROVIDER.lower() + ':5']) as session:
            assert session.running and session.path == str(path)
            assert provider.is_enabled(4, 1)
            _write_events(provider, 10)
        assert not session.running and not provider.is_enabled(4, 1)
    stats = session.stop()  # idempotent
    assert (stats.events_written, stats.events_lost) == (10, 0)
    assert stats == session.stats()
    f = EtlFile(path)
    assert f.header['events_lost'] == 0 and f.header['buffer_size'] == 65536
    events = list(f.events())
    assert f.errors == []
    assert [e['fields'] for e in events] == [{'index': i, 'text': f'event {i}'} for i in range(10)]
    assert {(e['provider'], e['event'], e['level'], e['keyword'], e['pid']) for e in events} == {
        (PROVIDER, 'SmokeEvent', 4, '0x1', os.getpid())}


def test_provider_spec_parse():
    spec = tld.ProviderSpec.parse('*Smoke.Other:3:0x10:7')
    assert spec == tld.ProviderSpec(None, tld.providerid_from_name('Smoke.Other'), 3, 0x10, 7)
    assert tld.ProviderSpec.parse('Name') == tld.ProviderSpec('Name', None, 5, 0, 0)


def test_cli_record_then_decode(tmp_path):
    script = tmp_path / 'target.py'
    script.write_text(textwrap.dedent(f'''
        import sys
        import traceloggingdynamic as tld
        p = tld.Provider({PROVIDER.encode()!r})
        eb = tld.EventBuilder()
        for arg in sys.argv[1:]:
            eb.reset(b'Arg', 5, 1)
            eb.add_str8(b'value', arg)
            p.write(eb)
        sys.exit(7)
    '''))
    out = tmp_path / 'cli.etl'
    run = subprocess.run([sys.executable, '-m', 'traceloggingdynamic', 'record', '-o', str(out),
                          '--provider', '*' + PROVIDER, '--', str(script), 'a', 'b c'],
                         env=_child_env(), capture_output=True, text=True, timeout=120)
    assert run.returncode == 7, run.stderr
    assert f'trace written to {out}: 2 events, 0 lost' in run.stderr
    dec = subprocess.run([sys.executable, '-m', 'traceloggingdynamic', 'decode', str(out)],
                         env=_child_env(), capture_output=True, text=True, timeout=120)
    assert dec.returncode == 0, dec.stderr
    events = [json.loads(line) for line in dec.stdout.splitlines()]
    assert [e['fields']['value'] for e in events] == ['a', 'b c']
    summary = subprocess.run([sys.executable, '-m', 'traceloggingdynamic', 'decode', '--summary', str(out)],
                             env=_child_env(), capture_output=True, text=True, timeout=120)
    assert summary.returncode == 0 and 'events: 2' in summary.stdout


def test_environment_autostart(tmp_path):
    out = tmp_path / 'auto.etl'
    code = textwrap.dedent(f'''
        import traceloggingdynamic as tld
        from traceloggingdynamic import _autostart
        assert _autostart.session is not None and _autostart.session.running
        p = tld.Provider({PROVIDER.encode()!r})
        eb = tld.EventBuilder()
        eb.reset(b'Auto', 5, 1)
        eb.add_int32(b'x', 42)
        p.write(eb)
    ''')
    run = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=120,
                         env=_child_env(TRACELOGGING_SESSION_FILE=str(out),
                                        TRACELOGGING_SESSION_PROVIDERS=f'Unused.Provider,{PROVIDER}:5'))
    assert run.returncode == 0, run.stderr
    # One line for the provider nobody had (issue 10 item 8), no warning traceback.
    assert run.stderr == (f"traceloggingdynamic: trace session {out}: no provider named 'Unused.Provider' was "
                          f"seen; known: {PROVIDER}\n"), run.stderr
    events = list(EtlFile(out).events())
    assert [(e['event'], e['fields']) for e in events] == [('Auto', {'x': 42})]


def test_environment_autostart_bad_variables_warn_once(tmp_path):
    run = subprocess.run([sys.executable, '-c', 'print("ran")'], capture_output=True, text=True, timeout=120,
                         env=_child_env(TRACELOGGING_SESSION_FILE=str(tmp_path / 'x.etl'),
                                        TRACELOGGING_SESSION_PROVIDERS='Name:999'))
    assert run.returncode == 0 and run.stdout == 'ran\n'
    assert run.stderr.count('\n') == 1 and "'Name:999'" in run.stderr
    assert not (tmp_path / 'x.etl').exists()


def test_lost_events_warn_on_stop(tmp_path):
    import pytest
    with tld.Provider(PROVIDER.encode()) as provider:
        session = tld.Session(tmp_path / 'lost.etl', [PROVIDER], buffer_size=4096)
        session.start()
        eb = tld.EventBuilder()
        eb.reset(b'TooBig', 5, 1)
        eb.add_binary_bytes(b'blob', b'x' * 5000)
        provider.write(eb)
        with pytest.warns(RuntimeWarning, match='lost 1 event: too large for one buffer'):
            stats = session.stop()
    assert stats.events_lost == 1 and stats.events_written == 0
