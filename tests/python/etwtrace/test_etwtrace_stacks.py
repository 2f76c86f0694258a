"""Stack-sampling mode end to end (port of upstream etwtrace's scenarios to
Linux): the CLI's --capture writes an .etl file with our in-process session;
our decoder reads it; thunk ranges of PythonFunction events must show up in
the native stacks attached to PythonStackSample, innermost first.

Also: marks and ranges, enable/disable cycles and exceptions through traced
frames, fork.
"""

import os
import re
import sys

import pytest

from etwtrace_helpers import (SANITIZED, SCRIPTS, as_int, capture, clean_env, distinct_function_names, functions_of,
                              names, needs_core, package_files, python_events, run, sampled_stacks)

pytestmark = needs_core


def test_runs_untraced_and_traced():
    assert run([SCRIPTS / 'no_events.py', 'x']).stdout.strip() == 'no events x'
    assert run(['-m', 'etwtrace', '--', SCRIPTS / 'no_events.py', 'x']).stdout.strip() == 'no events x'
    assert run(['-m', 'etwtrace', '--stack', '--', SCRIPTS / 'no_events.py']).stdout.strip() == 'no events'


def test_basic_functions_exactly_module_a_b(tmp_path):
    events, proc = capture(tmp_path, 'basic.py')
    assert distinct_function_names(events, SCRIPTS / 'basic.py') == ['<module>', 'a', 'b']
    pkg, threading_file = package_files()
    for e in events:
        if e['event'] == 'PythonFunction':
            src = e['fields']['SourceFile']
            assert not os.path.realpath(src).startswith(str(pkg) + os.sep), f'package file traced: {src}'
            assert os.path.realpath(src) != threading_file, 'threading traced'
    m = re.search(r'trace written to (.+?): (\d+) events', proc.stderr)
    assert m, proc.stderr
    assert os.path.samefile(m.group(1), tmp_path / 'basic.etl')
    assert int(m.group(2)) >= len(events) > 0


def test_basic_function_events_describe_thunks(tmp_path):
    events, _ = capture(tmp_path, 'basic.py')
    funcs = {e['fields']['Name']: e for e in functions_of(events, SCRIPTS / 'basic.py')}
    ids = set()
    for name, e in funcs.items():
        f = e['fields']
        assert e['level'] == 5 and as_int(e['keyword']) == 0x400 and e['opcode'] == 0
        begin, end = as_int(f['BeginAddress']), as_int(f['EndAddress'])
        assert 0 < begin < end and end - begin < 4096, (name, f)
        assert f['IsPythonCode'] == 1
        ids.add(as_int(f['FunctionID']))
    assert len(ids) == 3 and all(i > 0 for i in ids)
    source = (SCRIPTS / 'basic.py').read_text().splitlines()
    assert source[funcs['a']['fields']['LineNumber'] - 1].startswith('def a(')
    assert source[funcs['b']['fields']['LineNumber'] - 1].startswith('def b(')
    assert funcs['<module>']['fields']['LineNumber'] == 1
    ranges = sorted((as_int(e['fields']['BeginAddress']), as_int(e['fields']['EndAddress'])) for e in funcs.values())
    assert all(r1[1] <= r2[0] for r1, r2 in zip(ranges, ranges[1:])), 'thunk ranges overlap'


def test_basic_stack_holds_b_a_module_in_order(tmp_path):
    events, _ = capture(tmp_path, 'basic.py')
    samples = [e for e in events if e['event'] == 'PythonStackSample']
    assert len(samples) == 1
    assert samples[0]['fields']['Mark'] == 'basic'
    assert samples[0]['level'] == 5 and as_int(samples[0]['keyword']) == 0x200
    assert sampled_stacks(events, SCRIPTS / 'basic.py') == [['b', 'a', '<module>']]


@pytest.mark.parametrize('args, expected', [
    ((), []),
    (('a',), [['a', '<module>']]),
    (('a', 'b'), [['a', '<module>'], ['b', 'a', '<module>']]),
    (('a', 'b', 'c'), [['a', '<module>'], ['b', 'a', '<module>'], ['c', 'b', 'a', '<module>']]),
])
def test_by_arg_stacks(tmp_path, args, expected):
    events, _ = capture(tmp_path, 'by_arg.py', *args)
    assert sampled_stacks(events, SCRIPTS / 'by_arg.py') == expected
    marks = [e['fields']['Mark'] for e in events if e['event'] == 'PythonStackSample']
    assert marks == [f'in {x}' for x in args]


def test_ten_threads(tmp_path):
    events, _ = capture(tmp_path, 'threaded.py')
    stacks = sampled_stacks(events, SCRIPTS / 'threaded.py')
    assert len(stacks) == 10
    assert sorted(map(tuple, stacks)) == sorted([('a',), ('b', 'a')] + [('c', 'b', 'a')] * 8)
    samples = [e for e in events if e['event'] == 'PythonStackSample']
    assert len({e['tid'] for e in samples}) == 10           # each from its own thread
    pkg, threading_file = package_files()
    # threading gets no thunk (the built-in sampler, which runs beside the
    # thunks here, may still name its functions, without an address range).
    assert not [e for e in events if e['event'] == 'PythonFunction'
                and os.path.realpath(e['fields']['SourceFile']) == threading_file
                and as_int(e['fields']['BeginAddress']) != 0]


def test_marks_and_ranges(tmp_path):
    events, proc = capture(tmp_path, 'marks.py')
    assert 'active True' in proc.stdout
    marks = [(e['fields']['Mark'], e['opcode']) for e in events if e['event'] == 'PythonMark']
    assert marks == [('custom one', 0), ('plain two', 0), ('range three', 1), ('inside range', 0),
                     ('range three', 2)]
    for e in events:
        if e['event'] == 'PythonMark':
            assert e['level'] == 5 and as_int(e['keyword']) == 0x800 and 'stack' not in e


def test_marks_without_tracer_warn_and_do_nothing():
    code = ('import warnings, etwtrace\n'
            'with warnings.catch_warnings(record=True) as w:\n'
            '    warnings.simplefilter("always")\n'
            '    etwtrace.mark("x"); etwtrace._mark_stack("y")\n'
            '    with etwtrace.mark_range("z"): pass\n'
            'print(etwtrace.is_active(), [x.category.__name__ for x in w])\n')
    out = run(['-c', code]).stdout.split(None, 1)
    assert out[0] == 'False'
    assert eval(out[1]) == ['RuntimeWarning'] * 3


def test_exceptions_through_traced_frames(tmp_path):
    events, proc = capture(tmp_path, 'raising.py')
    stacks = sampled_stacks(events, SCRIPTS / 'raising.py')
    assert stacks == [['catcher', '<module>'], ['consume', '<module>']]
    assert distinct_function_names(events, SCRIPTS / 'raising.py') == ['<module>', 'catcher', 'consume', 'gen',
                                                                      'thrower']


def test_uncaught_exception_exit_status(tmp_path):
    events, proc = capture(tmp_path, 'raising.py', 'uncaught', check=False)
    assert proc.returncode == 1
    assert 'ValueError: deep' in proc.stderr
    assert 'trace written to' in proc.stderr            # the session was stopped and reported
    assert [e['fields']['Mark'] for e in events if e['event'] == 'PythonStackSample'] == ['caught',
                                                                                            'generator raised']


def test_enable_disable_cycles(tmp_path):
    etl = tmp_path / 'cycles.etl'
    assert run([SCRIPTS / 'cycles.py', etl]).stdout.strip() == 'cycles done'
    events = python_events(etl)
    funcs = functions_of(events, SCRIPTS / 'cycles.py')
    assert 'only_when_off' not in names(funcs)
    # One PythonFunction per function and mode, however many cycles.
    by_name = {}
    for e in funcs:
        by_name.setdefault(e['fields']['Name'], []).append(e)
    assert {'middle', 'leaf', 'outer', 'boom'} <= set(by_name)
    stacks = sampled_stacks(events, SCRIPTS / 'cycles.py')
    assert stacks.count(['leaf', 'middle']) >= 3 + 3 + 3   # seed cycles, tracing(), StackSamplingTracer
    pushes = [e for e in events if e['event'] == 'PythonFunctionPush']
    pops = [e for e in events if e['event'] == 'PythonFunctionPop']
    assert len(pushes) == len(pops) > 0                    # the InstrumentedTracer rounds balance


@pytest.mark.skipif(SANITIZED, reason="under GCC 12's libasan the forked child can hang for good: its new "
                    "session thread blocks in ASan's allocator lock, inherited locked from a parent thread that "
                    "was allocating at fork() (seen in AsanThread::Init -> SizeClassAllocator64 lock); plain "
                    "builds run this test on 3.11, 3.13 and 3.14")
def test_fork(tmp_path):
    parent_etl, child_etl = tmp_path / 'parent.etl', tmp_path / 'child.etl'
    out = run([SCRIPTS / 'forking.py', parent_etl, child_etl]).stdout.split()
    child_pid, child_status = int(out[0]), int(out[1])
    assert child_status == 0
    child = python_events(child_etl)
    assert {e['pid'] for e in child} == {child_pid}
    assert sampled_stacks(child, SCRIPTS / 'forking.py') == [['child_leaf', 'child_main']]
    parent = python_events(parent_etl)
    assert child_pid not in {e['pid'] for e in parent}
    assert sampled_stacks(parent, SCRIPTS / 'forking.py') == [['parent_leaf', 'parent_main']]
    # The child's thunks are its own (fresh arena), not the parent's.
    child_ranges = {(e['fields']['Name'], as_int(e['fields']['BeginAddress']))
                    for e in functions_of(child, SCRIPTS / 'forking.py')}
    parent_ranges = {(e['fields']['Name'], as_int(e['fields']['BeginAddress']))
                     for e in functions_of(parent, SCRIPTS / 'forking.py')}
    fresh = {b for n, b in child_ranges if n in ('child_leaf', 'child_main')}
    assert len(fresh) == 2 and not fresh & {b for _, b in parent_ranges}
    if sys.platform.startswith('linux'):
        # perf map per pid: the child's starts with the parent's entries.
        perf_map = f'/tmp/perf-{child_pid}.map'
        assert os.path.exists(perf_map)
        text = open(perf_map).read()
        for name in ('before_fork', 'child_leaf', 'child_main'):
            assert re.search(rf'^[0-9a-f]+ [0-9a-f]+ .*\b{name}\b.*forking\.py', text, re.M), (name, text)
        lines = {}
        for line in text.splitlines():
            start, size, sym = line.split(' ', 2)
            lines[int(start, 16)] = sym
        for name, begin in child_ranges:
            assert name in lines.get(begin, ''), (name, hex(begin))
        os.unlink(perf_map)


def test_stack_mode_refuses_to_stack_over_other_hook():
    """Enabling twice (nested tracers of the same kind) must not leave a
    dangling hook: after both exit, tracing is off."""
    code = ('import etwtrace\n'
            'with etwtrace.StackSamplingTracer():\n'
            '    try:\n'
            '        with etwtrace.StackSamplingTracer(): pass\n'
            '    except Exception as e: print("refused", type(e).__name__)\n'
            'print("active", etwtrace.is_active())\n')
    out = run(['-c', code], env=clean_env()).stdout
    assert out.strip().endswith('active False'), out
