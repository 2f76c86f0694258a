"""Instrumented mode end to end (port of upstream etwtrace's scenarios):
`python -m etwtrace --instrumented --capture FILE -- script`, Python stacks
rebuilt from PythonFunctionPush/Pop per thread at each PythonStackSample."""

import pytest

from etwtrace_helpers import SCRIPTS, as_int, capture, functions_of, instrumented_stacks, names, needs_core

pytestmark = needs_core


def test_instrumented_runs():
    from etwtrace_helpers import run
    out = run(['-m', 'etwtrace', '--instrumented', '--', SCRIPTS / 'no_events.py']).stdout
    assert out.strip() == 'no events'


def test_basic(tmp_path):
    events, _ = capture(tmp_path, 'basic.py', mode='instrumented')
    funcs = functions_of(events, SCRIPTS / 'basic.py')
    assert names(funcs) == ['<module>', 'a', 'b']
    for e in funcs:
        f = e['fields']
        assert as_int(f['BeginAddress']) == 0 and as_int(f['EndAddress']) == 0   # no thunks here
        assert f['IsPythonCode'] == 1
    assert instrumented_stacks(events, SCRIPTS / 'basic.py') == [['b', 'a', '<module>']]


def test_push_carries_caller(tmp_path):
    events, _ = capture(tmp_path, 'basic.py', mode='instrumented')
    ids = {e['fields']['Name']: as_int(e['fields']['FunctionID']) for e in functions_of(events, SCRIPTS / 'basic.py')}
    pushes = {as_int(e['fields']['FunctionID']): e['fields'] for e in events if e['event'] == 'PythonFunctionPush'}
    assert as_int(pushes[ids['b']]['Caller']) == ids['a']
    assert as_int(pushes[ids['a']]['Caller']) == ids['<module>']
    source = (SCRIPTS / 'basic.py').read_text().splitlines()
    assert source[pushes[ids['b']]['CallerLine'] - 1].strip() == 'b()'


def test_builtins_reported(tmp_path):
    events, _ = capture(tmp_path, 'argv_exit.py', mode='instrumented')   # calls os.getcwd() from <module>
    builtins = {as_int(e['fields']['FunctionID']): e['fields'] for e in events
                if e['event'] == 'PythonFunction' and e['fields']['IsPythonCode'] == 0}
    getcwd = [i for i, f in builtins.items() if f['Name'].endswith('getcwd')]
    assert len(getcwd) == 1, [f['Name'] for f in builtins.values()]
    assert builtins[getcwd[0]]['SourceFile'] in ('posix', 'nt', 'os')     # the module name
    (module,) = [as_int(e['fields']['FunctionID']) for e in functions_of(events, SCRIPTS / 'argv_exit.py')]
    pushes = [e['fields'] for e in events if e['event'] == 'PythonFunctionPush'
              and as_int(e['fields']['FunctionID']) == getcwd[0]]
    assert [as_int(p['Caller']) for p in pushes] == [module]


@pytest.mark.parametrize('args, expected', [
    ((), []),
    (('a',), [['a', '<module>']]),
    (('a', 'b'), [['a', '<module>'], ['b', 'a', '<module>']]),
    (('a', 'b', 'c'), [['a', '<module>'], ['b', 'a', '<module>'], ['c', 'b', 'a', '<module>']]),
])
def test_by_arg(tmp_path, args, expected):
    events, _ = capture(tmp_path, 'by_arg.py', *args, mode='instrumented')
    assert instrumented_stacks(events, SCRIPTS / 'by_arg.py') == expected


def test_ten_threads(tmp_path):
    events, _ = capture(tmp_path, 'threaded.py', mode='instrumented')
    stacks = instrumented_stacks(events, SCRIPTS / 'threaded.py')
    assert sorted(map(tuple, stacks)) == sorted([('a',), ('b', 'a')] + [('c', 'b', 'a')] * 8)


def test_exceptions_and_generators_balance(tmp_path):
    events, _ = capture(tmp_path, 'raising.py', mode='instrumented')
    # instrumented_stacks asserts that every Pop matches the last Push of its thread.
    stacks = instrumented_stacks(events, SCRIPTS / 'raising.py')
    assert stacks == [['catcher', '<module>'], ['consume', '<module>']]
    per_thread = {}
    for e in events:
        if e['event'] == 'PythonFunctionPush':
            per_thread[e['tid']] = per_thread.get(e['tid'], 0) + 1
        elif e['event'] == 'PythonFunctionPop':
            per_thread[e['tid']] -= 1
    assert all(v >= 0 for v in per_thread.values())


def test_marks(tmp_path):
    events, proc = capture(tmp_path, 'marks.py', mode='instrumented')
    assert 'active True' in proc.stdout
    marks = [(e['fields']['Mark'], e['opcode']) for e in events if e['event'] == 'PythonMark']
    assert marks == [('custom one', 0), ('plain two', 0), ('range three', 1), ('inside range', 0),
                     ('range three', 2)]
