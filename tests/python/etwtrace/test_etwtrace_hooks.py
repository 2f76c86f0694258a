"""Instrumented mode's two hooks (monitor.c, instrument.c):
on CPython 3.13 and 3.14 a sys.monitoring tool of our own, elsewhere and
when no tool id is free the C profile function; and its two ways of reading
callers' lines: walking interpreter frames (3.11, 3.13, 3.14;
lines.c) or CPython's frame API. Every combination must write
exactly the events of the profile function reading the frame API, and the
tool must share sys.monitoring politely with other tools (cProfile)."""

import sys

import pytest

from etwtrace_helpers import SCRIPTS, as_int, clean_env, needs_core, python_events, run

pytestmark = needs_core

HAS_TOOL = (3, 13) <= sys.version_info[:2] <= (3, 14)
HAS_WALK = HAS_TOOL or sys.version_info[:2] == (3, 11)
needs_tool = pytest.mark.skipif(not HAS_TOOL, reason='the sys.monitoring tool is built for CPython 3.13 and 3.14 '
                                                     '(the CI runs them in Debian chroots)')
needs_walk = pytest.mark.skipif(not HAS_WALK, reason='the frame walk is built for CPython 3.11, 3.13 and 3.14')


def call_log(events):
    """The Python provider's events as comparable tuples: FunctionIDs become
    (name, is-Python-code), thread ids their order of appearance."""
    funcs, threads, log = {}, {}, []

    def func(value):
        return funcs.get(as_int(value), ('<none>', None)) if as_int(value) else None

    for e in events:
        f = e['fields']
        tid = threads.setdefault(e['tid'], len(threads))
        if e['event'] == 'PythonFunction':
            funcs[as_int(f['FunctionID'])] = (f['Name'], f['IsPythonCode'])
        elif e['event'] == 'PythonFunctionPush':
            log.append(('push', tid, func(f['FunctionID']), func(f['Caller']), f['CallerLine']))
        elif e['event'] == 'PythonFunctionPop':
            log.append(('pop', tid, func(f['FunctionID'])))
        elif e['event'] == 'PythonThread':
            log.append(('thread', tid, e['opcode']))
    return log


def scenario(tmp_path, hook, frame_api):
    """(what the script printed, call log) of hooks_compared.py."""
    etl = tmp_path / f'{hook}-{int(frame_api)}.etl'
    env = clean_env(**({'ETWTRACE_FRAME_API': '1'} if frame_api else {}))
    out = run([SCRIPTS / 'hooks_compared.py', etl, hook], env=env).stdout.strip()
    return out, call_log(python_events(etl))


def assert_same_log(log, reference, what):
    # The scenario really ran: its interesting calls are in the log.
    pushed = {entry[2][0] for entry in log if entry[0] == 'push'}
    for name in ('everything', 'Point.__add__', 'Point.double', 'key', 'sorted', 'list.append', 'numbers',
                 'closing', 'root', 'leaf', 'deep', 'worker', 'len', 'divmod', 'str.upper'):
        assert name in pushed, (name, sorted(pushed))
    assert sum(1 for entry in log if entry[0] == 'thread') == 6     # 3 threads: start and stop
    source = (SCRIPTS / 'hooks_compared.py').read_text().splitlines()
    key_push = next(entry for entry in log if entry[0] == 'push' and entry[2][0] == 'key')
    assert key_push[3][0] == 'sorted' and 'sorted(' in source[key_push[4] - 1]
    assert_same_per_thread(log, reference, what)


def by_thread(log):
    """Each thread's entries in their order. Across threads a log is only
    ordered by when events were written: compact call records reach the
    file a batch at a time, stamped with their first call's time."""
    threads = {}
    for entry in log:
        threads.setdefault(entry[1], []).append(entry)
    return threads


def assert_same_per_thread(log, reference, what):
    got, want = by_thread(log), by_thread(reference)
    assert sorted(got) == sorted(want), f'{what}: threads {sorted(got)} against {sorted(want)}'
    for tid in sorted(want):
        a, b = got[tid], want[tid]
        if a != b:
            first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
            pytest.fail(f'{what} differ in thread {tid} at entry {first} of {len(a)}/{len(b)}:\n'
                        f'{a[max(0, first - 3):first + 3]}\nreference:\n{b[max(0, first - 3):first + 3]}')


@pytest.mark.parametrize('hook, expected', [
    pytest.param('profile', 'hook PyEval_SetProfile walk True', marks=needs_walk, id='frame-walk'),
    pytest.param('default', 'hook sys.monitoring walk True', marks=needs_tool, id='monitoring-tool'),
])
def test_same_events_as_the_profile_function_on_the_frame_api(tmp_path, hook, expected):
    """The profile function walking frames (3.11, 3.13, 3.14), and the
    sys.monitoring tool (3.13, 3.14), against the reference: the profile
    function reading CPython's frame API."""
    out, log = scenario(tmp_path, hook, frame_api=False)
    assert out == expected
    out, reference = scenario(tmp_path, 'profile', frame_api=True)
    assert out == 'hook PyEval_SetProfile walk False'
    assert_same_log(log, reference, f'{expected} and the profile function on the frame API')


SHARED = r'''
import cProfile, sys, etwtrace
def f():
    return sum([1, 2])
p = cProfile.Profile()
p.enable()
with etwtrace.InstrumentedTracer():
    info = etwtrace._etwtrace.info()
    print(info['instrumented_hook'], info['monitoring_tool_id'], sys.monitoring.get_tool(2) is not None)
    f()
p.disable()
print('after', [sys.monitoring.get_tool(i) for i in (2, 3, 4)])
print('cprofile saw f', any(getattr(s.code, 'co_name', '') == 'f' for s in p.getstats()))
'''


@needs_tool
def test_tool_shares_sys_monitoring_with_cprofile():
    out = run(['-c', SHARED]).stdout.splitlines()
    assert out[0] == 'sys.monitoring 3 True'          # cProfile holds PROFILER_ID (2)
    assert out[1] == 'after [None, None, None]'       # both gave their ids back
    assert out[2] == 'cprofile saw f True'


def test_hook_reported_and_released():
    code = ('import sys, etwtrace\n'
            'with etwtrace.InstrumentedTracer():\n'
            '    print(etwtrace._etwtrace.info()["instrumented_hook"])\n'
            'print(etwtrace._etwtrace.info()["monitoring_tool_id"], sys.getprofile())\n'
            'if hasattr(sys, "monitoring"): print([sys.monitoring.get_tool(i) for i in range(6)])\n')
    out = run(['-c', code]).stdout.splitlines()
    assert out[0] == ('sys.monitoring' if HAS_TOOL else 'PyEval_SetProfile')
    assert out[1] == 'None None'
    if len(out) > 2:
        assert out[2] == str([None] * 6)


def without_builtins(log):
    """The reference log as the Python-functions-only hook writes it: no
    builtins, and a Python function called from a builtin (sorted's key)
    has the nearest Python function below it as its Caller."""
    out, stacks = [], {}
    for entry in log:
        kind, tid = entry[0], entry[1]
        stack = stacks.setdefault(tid, [])
        if kind == 'push':
            func = entry[2]
            stack.append(func)
            if func is not None and func[1] == 0:
                continue
            caller = entry[3]
            if caller is not None and caller[1] == 0:   # called from a builtin
                caller = next((f for f in reversed(stack[:-1]) if f is None or f[1] != 0), None)
            out.append(('push', tid, func, caller, entry[4]))
        elif kind == 'pop':
            func = stack.pop() if stack else None
            if func is not None and func[1] == 0:
                continue
            out.append(entry)
        else:
            out.append(entry)
    return out


@needs_walk
def test_python_only_hook_writes_the_python_calls_of_the_profile_function(tmp_path):
    """Builtins off: the frame-evaluation hook writes exactly the Python
    functions' Push/Pop events of the profile function reading CPython's
    frame API (generators, exceptions, calls from C, threads included)."""
    out, log = scenario(tmp_path, 'python-only', frame_api=False)
    assert out == 'hook PEP 523 (Python functions only) walk True'
    _, reference = scenario(tmp_path, 'profile', frame_api=True)
    expected = without_builtins(reference)
    assert not any(entry[0] == 'push' and entry[2] and entry[2][1] == 0 for entry in log)
    assert any(entry[0] == 'push' and entry[2] and entry[2][0] == 'key' for entry in log)
    assert_same_per_thread(log, expected, 'python-only hook and the profile function without builtins')
