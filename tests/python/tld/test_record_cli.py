"""``python -m traceloggingdynamic record`` as a user runs it.

What this file is for (issue 3, recorder CLI): ``record -o OUT.etl
--provider SPEC [...] [--stacks KW] -- script.py args`` (or ``-- -m module
args``) runs the target as ``python script.py args`` would (sys.argv,
__name__, sys.path[0], stdout), with the session live; the trace holds the
target's events (only those the specs enable); stderr says where the trace
went and how many events it holds; the target's exit status is propagated;
an unwritable output path is a clear error; ``--stacks`` adds stacks.
Everything runs in real subprocesses.
"""

import json
import os
import re
import textwrap

import pytest

from etl_helpers import json_lines, read_etl, run_module

SCRIPT = textwrap.dedent('''
    import json, os, sys, threading
    from traceloggingdynamic import EventBuilder, Provider

    p = Provider(b'MyProv')
    other = Provider(b'OtherProv')
    eb = EventBuilder()
    eb.reset(b'Args', level=4, keyword=0x1)
    eb.add_str8_seq(b'argv', sys.argv)
    eb.add_str8(b'name', __name__)
    p.write(eb)
    for i in range(5):
        eb.reset(b'Step', level=5, keyword=0x2)
        eb.add_int32(b'i', i)
        p.write(eb)
    eb.reset(b'Verbose', level=6, keyword=0x2)
    p.write(eb)
    eb.reset(b'FromOther')
    other.write(eb)

    def worker():
        e = EventBuilder()
        e.reset(b'FromThread', level=4, keyword=0x4)
        e.add_uint32(b'tid', threading.get_native_id())
        p.write(e)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    print(json.dumps({'argv': sys.argv, 'name': __name__, 'path0': sys.path[0],
                      'enabled': p.is_enabled(5, 2)}))
    code = int(os.environ.get('SCRIPT_EXIT', '0'))
    if os.environ.get('SCRIPT_RAISE'):
        raise RuntimeError('boom from the script')
    sys.exit(code)
''')


@pytest.fixture
def script(tmp_path):
    d = tmp_path / 'prog'
    d.mkdir()
    s = d / 'script.py'
    s.write_text(SCRIPT)
    return s


def events_in(path):
    evs, errors, _ = read_etl(path)
    assert errors == []
    return evs


def check_report(stderr, out, n):
    """stderr names the file and the number of events."""
    assert str(out) in stderr, stderr
    assert re.search(r'\b%d events?\b' % n, stderr), stderr


def test_record_script_with_args(tmp_path, script):
    out = tmp_path / 'trace.etl'
    r = run_module('record', '-o', out, '--provider', 'MyProv', '--', script, 'a', 'b c', '--flag',
                   cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown['argv'] == [str(script), 'a', 'b c', '--flag']
    assert shown['name'] == '__main__'
    assert shown['path0'] == str(script.parent)
    assert shown['enabled'] is True
    evs = events_in(out)
    assert [e['event'] for e in evs] == ['Args', 'Step', 'Step', 'Step', 'Step', 'Step', 'FromThread']
    assert evs[0]['fields'] == {'argv': [str(script), 'a', 'b c', '--flag'], 'name': '__main__'}
    assert [e['fields']['i'] for e in evs[1:6]] == list(range(5))
    assert all(e['provider'] == 'MyProv' for e in evs)
    assert evs[6]['fields']['tid'] == evs[6]['tid'] != evs[0]['tid']
    assert len({e['pid'] for e in evs}) == 1
    check_report(r.stderr, out, 7)


def test_record_relative_script_argv0_as_given(tmp_path, script):
    out = tmp_path / 'rel.etl'
    r = run_module('record', '-o', 'rel.etl', '--provider', 'MyProv', '--', 'prog/script.py', 'x',
                   cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)['argv'] == ['prog/script.py', 'x']
    assert events_in(out)[0]['fields']['argv'] == ['prog/script.py', 'x']
    assert 'rel.etl' in r.stderr


def test_record_module_form(tmp_path):
    pkg = tmp_path / 'mods'
    pkg.mkdir()
    (pkg / 'mymod.py').write_text(SCRIPT)
    out = tmp_path / 'mod.etl'
    r = run_module('record', '-o', out, '--provider', 'MyProv:5', '--', '-m', 'mymod', 'one', '-x',
                   cwd=pkg)
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown['argv'][1:] == ['one', '-x']
    assert os.path.samefile(shown['argv'][0], pkg / 'mymod.py')
    assert shown['name'] == '__main__'
    evs = events_in(out)
    assert [e['event'] for e in evs] == ['Args', 'Step', 'Step', 'Step', 'Step', 'Step', 'FromThread']
    check_report(r.stderr, out, 7)


def test_provider_filters_and_several_providers(tmp_path, script):
    out = tmp_path / 'filt.etl'
    r = run_module('record', '-o', out, '--provider', 'myprov:6:0x2', '--provider', '*OtherProv', '--', script)
    assert r.returncode == 0, r.stderr
    evs = events_in(out)
    assert [(e['provider'], e['event']) for e in evs] == \
        [('MyProv', 'Step')] * 5 + [('MyProv', 'Verbose'), ('OtherProv', 'FromOther')]
    check_report(r.stderr, out, 7)


@pytest.mark.parametrize('code', [0, 3, 42])
def test_exit_code_propagates(tmp_path, script, code):
    out = tmp_path / f'exit{code}.etl'
    r = run_module('record', '-o', out, '--provider', 'MyProv', '--', script, env={'SCRIPT_EXIT': str(code)})
    assert r.returncode == code, r.stderr
    assert len(events_in(out)) == 7   # the trace is complete whatever the exit status
    check_report(r.stderr, out, 7)


def test_uncaught_exception(tmp_path, script):
    out = tmp_path / 'raise.etl'
    r = run_module('record', '-o', out, '--provider', 'MyProv', '--', script, env={'SCRIPT_RAISE': '1'})
    assert r.returncode == 1
    assert 'RuntimeError: boom from the script' in r.stderr
    assert 'Traceback' in r.stderr
    assert len(events_in(out)) == 7
    check_report(r.stderr, out, 7)


def test_sys_exit_with_message(tmp_path):
    s = tmp_path / 'msg.py'
    s.write_text('import sys\nsys.exit("fatal: something went wrong")\n')
    out = tmp_path / 'msg.etl'
    r = run_module('record', '-o', out, '--provider', 'MyProv', '--', s)
    assert r.returncode == 1
    assert 'fatal: something went wrong' in r.stderr
    check_report(r.stderr, out, 0)


@pytest.mark.parametrize('bad_out', ['missing-dir/x.etl', 'is-a-dir'])
def test_unwritable_output(tmp_path, script, bad_out):
    (tmp_path / 'is-a-dir').mkdir()
    marker = tmp_path / 'ran'
    s = tmp_path / 'touch.py'
    s.write_text(f'open({str(marker)!r}, "w").close()\n')
    out = tmp_path / bad_out
    r = run_module('record', '-o', out, '--provider', 'MyProv', '--', s)
    assert r.returncode != 0
    assert str(out) in r.stderr, r.stderr
    assert 'Traceback' not in r.stderr
    assert not marker.exists(), 'the target ran although the trace could not be created'


def test_unwritable_output_permission(tmp_path, script):
    if os.geteuid() == 0:
        pytest.skip('root can write anywhere')
    d = tmp_path / 'ro'
    d.mkdir(mode=0o500)
    out = d / 'x.etl'
    r = run_module('record', '-o', out, '--provider', 'MyProv', '--', script)
    assert r.returncode != 0 and str(out) in r.stderr and 'Traceback' not in r.stderr


@pytest.mark.parametrize('args', [
    [],                                            # nothing
    ['-o', 'x.etl', '--', 'script.py'],            # no provider
    ['--provider', 'MyProv', '--', 'script.py'],   # no output
    ['-o', 'x.etl', '--provider', 'MyProv'],       # no target
    ['-o', 'x.etl', '--provider', 'MyProv:999', '--', 'script.py'],
    ['-o', 'x.etl', '--provider', 'MyProv', '--stacks', 'nope', '--', 'script.py'],
    ['-o', 'x.etl', '--provider', 'MyProv', '--', 'does-not-exist.py'],
])
def test_usage_errors(tmp_path, script, args):
    (tmp_path / 'script.py').write_text(SCRIPT)
    r = run_module('record', *args, cwd=tmp_path)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.strip() and 'Traceback' not in r.stderr
    assert not (tmp_path / 'x.etl').exists() or args[-1] == 'does-not-exist.py'


def test_stacks_option(tmp_path, script):
    out = tmp_path / 'stacks.etl'
    r = run_module('record', '-o', out, '--provider', 'MyProv', '--stacks', '0x1', '--', script)
    assert r.returncode == 0, r.stderr
    evs = events_in(out)
    with_stack = [e['event'] for e in evs if 'stack' in e]
    assert with_stack == ['Args']            # keyword 0x1 only
    st = evs[0]['stack']
    assert isinstance(st, list) and len(st) >= 3
    assert all(isinstance(a, int) and a > 0x1000 for a in st)
    r = run_module('record', '-o', out, '--provider', 'MyProv', '--stacks', '6', '--', script)
    assert r.returncode == 0
    evs = events_in(out)
    assert [e['event'] for e in evs if 'stack' in e] == ['Step'] * 5 + ['FromThread']


def test_decode_after_record_roundtrip(tmp_path, script):
    out = tmp_path / 'rt.etl'
    r = run_module('record', '-o', out, '--provider', 'MyProv', '--', script, 'z')
    assert r.returncode == 0
    d = run_module('decode', out)
    assert d.returncode == 0 and d.stderr == ''
    assert json_lines(d.stdout) == events_in(out)
    s = run_module('decode', out, '--summary')
    assert s.returncode == 0
    lines = [line.split() for line in s.stdout.splitlines()]
    assert ['7', 'MyProv'] in lines and ['5', 'Step'] in lines and ['1', 'Args'] in lines
