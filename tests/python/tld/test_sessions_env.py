"""Sessions started from the environment at interpreter start.

What this file is for (issue 3, "a way to start one from the environment at
interpreter start"): with ``TRACELOGGING_SESSION_FILE``,
``TRACELOGGING_SESSION_PROVIDERS`` (comma-separated specs) and optionally
``TRACELOGGING_SESSION_STACKS`` set, any ``python`` run records the given
providers into the file and stops the session at exit; providers are enabled
from the first line of the program; malformed settings only warn; without the
variables nothing is started. Real subprocesses, as a user would run them.
"""

import json
import textwrap

from etl_helpers import read_etl, run_python

PROGRAM = textwrap.dedent('''
    import json, sys
    from traceloggingdynamic import EventBuilder, Provider
    a = Provider(b'EnvProvA')
    b = Provider(b'EnvProvB')
    c = Provider(b'EnvProvC')
    eb = EventBuilder()
    for i in range(3):
        for p, name in ((a, b'A'), (b, b'B'), (c, b'C')):
            eb.reset(name, level=4, keyword=0x2 if i == 1 else 0x1)
            eb.add_int32(b'i', i)
            p.write(eb)
    print(json.dumps({'a': a.is_enabled(), 'c': c.is_enabled()}))
''')


def test_env_autostart_records_and_stops_at_exit(tmp_path):
    out = tmp_path / 'env.etl'
    r = run_python(PROGRAM, env={'TRACELOGGING_SESSION_FILE': str(out),
                                 'TRACELOGGING_SESSION_PROVIDERS': 'EnvProvA, *EnvProvB:4:0x2'})
    assert r.returncode == 0, r.stderr
    assert r.stderr == ''
    assert json.loads(r.stdout) == {'a': True, 'c': False}
    evs, errors, header = read_etl(out)
    assert errors == []
    assert [(e['event'], e['fields']['i']) for e in evs] == [('A', 0), ('A', 1), ('B', 1), ('A', 2)]
    assert header['end_time'] is not None          # finalized at exit
    assert not any('stack' in e for e in evs)


def test_env_stacks(tmp_path):
    out = tmp_path / 'envstacks.etl'
    r = run_python(PROGRAM, env={'TRACELOGGING_SESSION_FILE': str(out),
                                 'TRACELOGGING_SESSION_PROVIDERS': 'EnvProvA',
                                 'TRACELOGGING_SESSION_STACKS': '0x2'})
    assert r.returncode == 0, r.stderr
    evs, errors, _ = read_etl(out)
    assert errors == []
    assert [('stack' in e) for e in evs] == [False, True, False]
    assert all(isinstance(a, int) for a in evs[1]['stack']) and len(evs[1]['stack']) >= 3


def test_env_max_size(tmp_path):
    out = tmp_path / 'envlimit.etl'
    code = textwrap.dedent('''
        from traceloggingdynamic import EventBuilder, Provider
        p, eb = Provider(b'EnvProvA'), EventBuilder()
        for i in range(20_000):
            eb.reset(b'A')
            eb.add_str8(b'pad', 'x' * 100)
            p.write(eb)
        print('done')
    ''')
    r = run_python(code, env={'TRACELOGGING_SESSION_FILE': str(out), 'TRACELOGGING_SESSION_PROVIDERS': 'EnvProvA',
                              'TRACELOGGING_SESSION_MAX_SIZE': '128K'})
    assert r.returncode == 0 and r.stdout.strip() == 'done', r.stderr
    assert 0 < out.stat().st_size <= 128 * 1024
    evs, errors, header = read_etl(out)
    assert errors == [] and 0 < len(evs) < 20_000 and header['events_lost'] == 20_000 - len(evs)


def test_env_session_survives_sys_exit_code(tmp_path):
    out = tmp_path / 'exit.etl'
    code = PROGRAM + '\nsys.exit(5)\n'
    r = run_python(code, env={'TRACELOGGING_SESSION_FILE': str(out),
                              'TRACELOGGING_SESSION_PROVIDERS': 'EnvProvC:0'})
    assert r.returncode == 5
    evs, errors, _ = read_etl(out)
    assert errors == [] and [e['event'] for e in evs] == ['C', 'C', 'C']


def test_no_variables_no_session(tmp_path):
    r = run_python(PROGRAM)
    assert r.returncode == 0 and r.stderr == ''
    assert json.loads(r.stdout) == {'a': False, 'c': False}
    assert list(tmp_path.iterdir()) == []


def test_malformed_settings_warn_and_run(tmp_path):
    out = tmp_path / 'bad.etl'
    for env in ({'TRACELOGGING_SESSION_FILE': str(out), 'TRACELOGGING_SESSION_PROVIDERS': 'EnvProvA:999'},
                {'TRACELOGGING_SESSION_FILE': str(out)},
                {'TRACELOGGING_SESSION_FILE': str(tmp_path / 'no' / 'dir.etl'),
                 'TRACELOGGING_SESSION_PROVIDERS': 'EnvProvA'},
                {'TRACELOGGING_SESSION_FILE': str(out), 'TRACELOGGING_SESSION_PROVIDERS': 'EnvProvA',
                 'TRACELOGGING_SESSION_STACKS': 'lots'},
                {'TRACELOGGING_SESSION_FILE': str(out), 'TRACELOGGING_SESSION_PROVIDERS': 'EnvProvA',
                 'TRACELOGGING_SESSION_MAX_SIZE': 'big'}):
        r = run_python(PROGRAM, env=env)
        assert r.returncode == 0, (env, r.stderr)
        assert json.loads(r.stdout) == {'a': False, 'c': False}
        assert 'TRACELOGGING_SESSION' in r.stderr or 'session' in r.stderr.lower(), r.stderr
        assert 'Traceback' not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_child_processes_do_not_clobber_the_file(tmp_path):
    out = tmp_path / 'parent.etl'
    code = textwrap.dedent('''
        import subprocess, sys
        from traceloggingdynamic import EventBuilder, Provider
        p = Provider(b'EnvProvA')
        eb = EventBuilder()
        eb.reset(b'Parent')
        p.write(eb)
        subprocess.run([sys.executable, '-c', 'from traceloggingdynamic import EventBuilder, Provider\\n'
                        'p = Provider(b"EnvProvA"); eb = EventBuilder(); eb.reset(b"Child"); p.write(eb)'],
                       check=True)
        eb.reset(b'ParentAgain')
        p.write(eb)
    ''')
    r = run_python(code, env={'TRACELOGGING_SESSION_FILE': str(out),
                              'TRACELOGGING_SESSION_PROVIDERS': 'EnvProvA'})
    assert r.returncode == 0, r.stderr
    evs, errors, _ = read_etl(out)
    assert errors == []
    assert [e['event'] for e in evs] == ['Parent', 'ParentAgain']


def test_per_process_files_with_pid_placeholder(tmp_path):
    pattern = str(tmp_path / 'trace-{pid}.etl')
    code = textwrap.dedent('''
        import os, subprocess, sys
        from traceloggingdynamic import EventBuilder, Provider
        p = Provider(b'EnvProvA')
        eb = EventBuilder()
        eb.reset(b'Parent')
        p.write(eb)
        child = subprocess.run([sys.executable, '-c', 'import os\\n'
                        'from traceloggingdynamic import EventBuilder, Provider\\n'
                        'p = Provider(b"EnvProvA"); eb = EventBuilder(); eb.reset(b"Child"); p.write(eb)\\n'
                        'print(os.getpid())'], check=True, capture_output=True, text=True)
        print(os.getpid(), child.stdout.strip())
    ''')
    r = run_python(code, env={'TRACELOGGING_SESSION_FILE': pattern,
                              'TRACELOGGING_SESSION_PROVIDERS': 'EnvProvA'})
    assert r.returncode == 0, r.stderr
    parent, child = r.stdout.split()
    pe, errors, _ = read_etl(tmp_path / f'trace-{parent}.etl')
    assert errors == [] and [(e['event'], e['pid']) for e in pe] == [('Parent', int(parent))]
    ce, errors, _ = read_etl(tmp_path / f'trace-{child}.etl')
    assert errors == [] and [(e['event'], e['pid']) for e in ce] == [('Child', int(child))]
