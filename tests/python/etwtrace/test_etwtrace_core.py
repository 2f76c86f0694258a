"""Unit-level tests of the etwtrace core (issue 4): the extension module and
the Python API, recorded in this process with a real traceloggingdynamic
Session and decoded with EtlFile. (The subprocess scenarios of the
upstream tests, through the CLI, live in test_etwtrace_*.py.)

What is checked here: PythonFunction events and thunk ranges, native stacks
of PythonStackSample passing through the thunks of the calling functions in
order, marks and ranges, enable/disable cycles, exceptions and generators
through traced frames, instrumented Push/Pop balance per thread, threads,
the fallback when executable memory is refused, the refusal to enable over
CPython's -X perf, and both API generations.
"""

import os
import subprocess
import sys
import textwrap
import threading
import warnings

import pytest

import traceloggingdynamic as tld
from traceloggingdynamic.etl import EtlFile

import etwtrace
from etwtrace import _etwtrace

PROVIDER = '99a10640-320d-4b37-9e26-c311d86da7ab'
THIS_FILE = __file__
HAVE_THUNKS = _etwtrace.info()['backend'] != 'none'


def _int(v):
    return int(v, 16) if isinstance(v, str) else int(v)


class Trace:
    """Decoded events of one recording."""

    def __init__(self, path):
        f = EtlFile(path)
        self.events = list(f.events())
        assert f.errors == []
        self.functions = {}
        for e in self.events:
            if e['event'] == 'PythonFunction':
                fields = dict(e['fields'])
                for k in ('FunctionID', 'BeginAddress', 'EndAddress'):
                    fields[k] = _int(fields[k])
                self.functions.setdefault(fields['FunctionID'], fields)

    def named(self, event):
        return [e for e in self.events if e['event'] == event]

    def function(self, name, source=THIS_FILE):
        found = [f for f in self.functions.values() if f['Name'] == name and f['SourceFile'] == source]
        assert len(found) == 1, (name, found)
        return found[0]

    def names_in_stack(self, stack):
        """The traced functions whose thunk ranges hold addresses of `stack`, innermost first."""
        out = []
        for addr in stack:
            for f in self.functions.values():
                if f['BeginAddress'] <= addr < f['EndAddress']:
                    out.append(f['Name'])
        return out


def record(tmp_path, body, stacks=0x200, name='t.etl'):
    path = tmp_path / name
    with tld.Session(str(path), [f'{PROVIDER}:5'], stacks=stacks):
        body()
    return Trace(path)


# ---- stack-sampling mode ---------------------------------------------------------

def b_marks():
    etwtrace._stack_mark('in b')


def a_calls_b():
    b_marks()


@pytest.mark.skipif(not HAVE_THUNKS, reason='no thunks on this platform')
def test_stack_sample_passes_through_thunks_of_b_then_a(tmp_path):
    def body():
        with etwtrace.tracing():
            a_calls_b()
    t = record(tmp_path, body)
    a, b = t.function('a_calls_b'), t.function('b_marks')
    for f in (a, b):
        assert f['IsPythonCode'] == 1 and 0 < f['BeginAddress'] < f['EndAddress']
        assert f['EndAddress'] - f['BeginAddress'] == _etwtrace.info()['thunk_size']
    assert a['LineNumber'] == a_calls_b.__code__.co_firstlineno
    assert a['FunctionID'] != b['FunctionID'] and min(a['FunctionID'], b['FunctionID']) > 0
    (sample,) = t.named('PythonStackSample')
    assert sample['fields'] == {'Mark': 'in b'}
    names = t.names_in_stack(sample['stack'])
    assert names[:2] == ['b_marks', 'a_calls_b'], names
    assert 'test_stack_sample_passes_through_thunks_of_b_then_a' not in names  # began before tracing
    # the package's own files are never traced
    assert not [f for f in t.functions.values() if f['SourceFile'] in etwtrace._OWN_FILES]
    threads = t.named('PythonThread')
    assert [e['opcode'] for e in threads] == [1, 2]
    assert {e['fields']['ThreadID'] for e in threads} == {threading.get_native_id()}


@pytest.mark.skipif(not HAVE_THUNKS, reason='no thunks on this platform')
def test_perf_map_names_thunks(tmp_path):
    def fn_for_perf_map():
        pass
    def body():
        with etwtrace.StackSamplingTracer():
            fn_for_perf_map()
    t = record(tmp_path, body)
    f = t.function('test_perf_map_names_thunks.<locals>.fn_for_perf_map')
    path = _etwtrace.info()['perf_map']
    with open(path) as fp:
        lines = fp.read().splitlines()
    want = f'{f["BeginAddress"]:x} {f["EndAddress"] - f["BeginAddress"]:x} py::{f["Name"]}:{THIS_FILE}'
    assert want in lines


def gen_values():
    yield 1
    etwtrace._stack_mark('in generator')
    yield 2


def raise_inner():
    raise KeyError('x')


def raise_outer():
    raise_inner()


@pytest.mark.skipif(not HAVE_THUNKS, reason='no thunks on this platform')
def test_exceptions_and_generators_through_thunks(tmp_path):
    def thrower():
        try:
            yield 1
        except ValueError:
            yield 'caught'

    def body():
        with etwtrace.StackSamplingTracer():
            for _ in range(3):
                with pytest.raises(KeyError):
                    raise_outer()
            assert list(gen_values()) == [1, 2]
            g = thrower()   # first sight of this code happens with throwflag set
            next(g)
            assert g.throw(ValueError()) == 'caught'
            try:
                raise RuntimeError('pending')   # a pending exception survives first sight
            except RuntimeError:
                assert list(gen_values()) == [1, 2]
                assert sys.exc_info()[0] is RuntimeError
    t = record(tmp_path, body)
    assert {'raise_inner', 'raise_outer', 'gen_values'} <= {f['Name'] for f in t.functions.values()}
    samples = t.named('PythonStackSample')
    assert len(samples) == 2
    for s in samples:
        assert t.names_in_stack(s['stack'])[0] == 'gen_values'


def test_enable_disable_cycles_rewrite_functions(tmp_path):
    def fn_cycle():
        return 1

    def body():
        for _ in range(3):
            token = etwtrace.enable()
            assert etwtrace.is_active() and _etwtrace.active() == 'stack'
            fn_cycle()
            etwtrace.disable(token)
            assert not etwtrace.is_active() and _etwtrace.active() is None
    t = record(tmp_path, body)
    evs = [e for e in t.named('PythonFunction') if e['fields']['Name'].endswith('fn_cycle')]
    assert len(evs) == 3                                   # once per trace
    assert len({e['fields']['FunctionID'] for e in evs}) == 1   # same id for the process
    assert len({e['fields']['BeginAddress'] for e in evs}) == 1  # same thunk
    assert [e['opcode'] for e in t.named('PythonThread')] == [1, 2] * 3


def test_enable_errors():
    token = etwtrace.enable()
    try:
        with pytest.raises(RuntimeError, match='already enabled'):
            etwtrace.enable()
        with pytest.raises(RuntimeError, match='already enabled'):
            etwtrace.InstrumentedTracer().enable()
    finally:
        etwtrace.disable(token)
    with pytest.raises(RuntimeError, match='not enabled'):
        _etwtrace.disable()
    with pytest.raises(ValueError, match="'bogus' is not a trace mode"):
        _etwtrace.enable('bogus')


def test_ignore_and_include(tmp_path):
    def fn_ignored_by_prefix():
        pass

    def body():
        tracer = etwtrace.StackSamplingTracer()
        tracer.include('/nonexistent-prefix/')
        with tracer:
            assert etwtrace.get_include_prefixes() == ['/nonexistent-prefix/']
            assert etwtrace._OWN_FILES <= etwtrace.get_ignored_files()
            fn_ignored_by_prefix()
        with etwtrace.StackSamplingTracer():
            fn_ignored_by_prefix()   # a new trace decides again, with its own (empty) filters
    t = record(tmp_path, body)
    assert len([e for e in t.named('PythonFunction')
                if e['fields']['Name'].endswith('fn_ignored_by_prefix')]) == 1


def fn_under_filters():
    return 1


@pytest.mark.parametrize('first, later', [(etwtrace.StackSamplingTracer, etwtrace.InstrumentedTracer),
                                          (etwtrace.InstrumentedTracer, etwtrace.StackSamplingTracer),
                                          (etwtrace.StackSamplingTracer, etwtrace.StackSamplingTracer)])
def test_filters_belong_to_their_tracer(tmp_path, first, later):
    """include()/ignore() of one tracer neither outlive it nor reach another
    (issue 10 item 6): a later tracer records the functions the first one
    filtered out, and nothing is left to see once the first is disabled."""
    def body():
        t = first()
        t.include('/srv/app')
        t.ignore(__file__)
        with t:
            fn_under_filters()
        assert etwtrace.get_include_prefixes() == []
        assert __file__ not in etwtrace.get_ignored_files()
        with later():
            assert etwtrace.get_include_prefixes() == []
            fn_under_filters()
        with t:                                  # the first tracer keeps its own filters
            assert etwtrace.get_include_prefixes() == ['/srv/app']
    t = record(tmp_path, body)
    named = [e for e in t.named('PythonFunction') if e['fields']['Name'].endswith('fn_under_filters')]
    assert len(named) == 1
    if later is etwtrace.InstrumentedTracer:
        fid = named[0]['fields']['FunctionID']
        assert [e for e in t.named('PythonFunctionPush') if e['fields']['FunctionID'] == fid]


# ---- marks -------------------------------------------------------------------------

def test_marks_and_ranges(tmp_path):
    def body():
        with etwtrace.InstrumentedTracer() as tracer:
            etwtrace.custom_mark('seed mark')
            etwtrace.mark('plain')
            with etwtrace.mark_range('span'):
                tracer.mark('inside')
            with tracer.mark_range('span2'):
                pass
            tracer._mark_stack('stack via tracer')
            etwtrace._mark_stack('stack via module')
    t = record(tmp_path, body)
    marks = [(e['opcode'], e['fields']['Mark']) for e in t.named('PythonMark')]
    assert marks == [(0, 'seed mark'), (0, 'plain'), (1, 'span'), (0, 'inside'), (2, 'span'),
                     (1, 'span2'), (2, 'span2')]
    assert [e['fields']['Mark'] for e in t.named('PythonStackSample')] == ['stack via tracer', 'stack via module']
    for e in t.named('PythonMark'):
        assert (e['level'], e['keyword']) == (5, '0x800')


def test_marks_warn_when_inactive(tmp_path):
    assert etwtrace.is_active() is False
    def body():
        with pytest.warns(RuntimeWarning):
            etwtrace.mark('no tracer')
        with pytest.warns(RuntimeWarning):
            with etwtrace.mark_range('no tracer'):
                pass
        with pytest.warns(RuntimeWarning):
            etwtrace._mark_stack('no tracer')
        with pytest.warns(RuntimeWarning):
            etwtrace._stack_mark('no tracer, seed form')
        with pytest.warns(RuntimeWarning):
            etwtrace.custom_mark('no tracer, seed form')
        token = etwtrace.enable()
        etwtrace.disable(token)
        with pytest.warns(RuntimeWarning):
            etwtrace.custom_mark('after disable')          # issue 10 item 7
        tracer = etwtrace.InstrumentedTracer()
        with tracer:
            pass
        for write in (lambda: tracer.mark('disabled tracer'), lambda: tracer._mark_stack('disabled tracer'),
                      lambda: tracer.mark_range('disabled tracer').__enter__()):
            with pytest.warns(RuntimeWarning):
                write()
    t = record(tmp_path, body)
    assert t.named('PythonMark') == [] and t.named('PythonStackSample') == []
    with pytest.raises(TypeError):
        etwtrace.custom_mark(b'bytes')
    with pytest.raises(TypeError):
        etwtrace._stack_mark(b'bytes')


# ---- instrumented mode ----------------------------------------------------------

def instr_leaf(x):
    return len([x])


def instr_raises():
    raise ValueError('through')


def instr_gen():
    yield instr_leaf(1)
    yield instr_leaf(2)


def instr_top():
    instr_leaf(0)
    try:
        instr_raises()
    except ValueError:
        pass
    return list(instr_gen())


def check_balanced(t):
    """Push/Pop nest properly per thread; returns {tid: [(depth, name), ...pushes]}."""
    names = {f['FunctionID']: f['Name'] for f in t.functions.values()}
    stacks, pushes = {}, {}
    for e in t.events:
        tid = e['tid']
        if e['event'] == 'PythonFunctionPush':
            fid = _int(e['fields']['FunctionID'])
            st = stacks.setdefault(tid, [])
            caller = _int(e['fields']['Caller'])
            if st:  # the caller, or 0 when it is ignored (threading, etwtrace: no Push of their own)
                assert caller in (st[-1], 0), (names.get(fid), names.get(caller), names.get(st[-1]))
            pushes.setdefault(tid, []).append((len(st), names[fid], caller, e['fields']['CallerLine']))
            st.append(fid)
        elif e['event'] == 'PythonFunctionPop':
            fid = _int(e['fields']['FunctionID'])
            st = stacks.get(tid)
            assert st and st[-1] == fid, (names.get(fid), st)
            st.pop()
    assert all(not st for st in stacks.values()), stacks
    return pushes


def test_instrumented_push_pop_balanced(tmp_path):
    def body():
        with etwtrace.InstrumentedTracer():
            assert instr_top() == [1, 1]
    t = record(tmp_path, body)
    pushes = check_balanced(t)
    mine = pushes[next(iter(pushes))]
    names = [n for _, n, _, _ in mine]
    assert names[:4] == ['instr_top', 'instr_leaf', 'len', 'instr_raises']
    assert names.count('instr_gen') == 3                   # two resumes after the first start
    top = t.function('instr_top')
    assert top['BeginAddress'] == top['EndAddress'] == 0 and top['IsPythonCode'] == 1
    builtin = [f for f in t.functions.values() if f['Name'] == 'len']
    assert builtin and builtin[0]['IsPythonCode'] == 0 and builtin[0]['SourceFile'] == 'builtins'
    # Caller and CallerLine: instr_leaf(0) is the first line of instr_top's body
    leaf = [p for p in mine if p[1] == 'instr_leaf'][0]
    assert leaf[2] == top['FunctionID'] and leaf[3] == instr_top.__code__.co_firstlineno + 1


def test_instrumented_disable_pops_running_frames(tmp_path):
    holder = {}

    def inner():
        holder['tracer'].disable()  # Pops for inner and outer are written now

    def outer():
        inner()

    def body():
        holder['tracer'] = tracer = etwtrace.InstrumentedTracer()
        tracer.enable()
        outer()
    t = record(tmp_path, body)
    check_balanced(t)
    assert {'outer', 'inner'} <= {n.rsplit('.', 1)[-1] for n in (f['Name'] for f in t.functions.values())}


def worker_depth(n):
    if n:
        return worker_depth(n - 1)
    etwtrace._stack_mark('thread')
    return 0


@pytest.mark.parametrize('mode', ['stack', 'instrumented'])
def test_threads_with_and_without_with_threads(tmp_path, mode):
    cls = etwtrace.StackSamplingTracer if mode == 'stack' else etwtrace.InstrumentedTracer
    tids = {}

    def run_thread(key):
        def target():
            tids[key] = threading.get_native_id()
            worker_depth(2)
        th = threading.Thread(target=target)
        th.start()
        th.join()

    def body():
        with cls(with_threads=False):
            run_thread('untraced')
        with cls(with_threads=True):
            run_thread('traced')
    t = record(tmp_path, body)
    thread_events = [(e['opcode'], e['fields']['ThreadID']) for e in t.named('PythonThread')]
    me = threading.get_native_id()
    assert thread_events == [(1, me), (2, me), (1, me), (1, tids['traced']), (2, tids['traced']), (2, me)]
    samples = {e['tid']: e for e in t.named('PythonStackSample')}
    assert set(samples) == {tids['untraced'], tids['traced']}
    if mode == 'stack' and HAVE_THUNKS:
        assert t.names_in_stack(samples[tids['traced']]['stack'])[:3] == ['worker_depth'] * 3
        assert t.names_in_stack(samples[tids['untraced']]['stack']) == []
    if mode == 'instrumented':
        pushes = check_balanced(t)
        assert tids['untraced'] not in pushes
        assert [n for _, n, _, _ in pushes[tids['traced']]].count('worker_depth') == 3


# ---- API generations -------------------------------------------------------------

def test_seed_api_forms(tmp_path, monkeypatch):
    monkeypatch.delenv('ETW_CORE_TEST_ON', raising=False)
    assert etwtrace.enable_if('ETW_CORE_TEST_ON', with_threads=True) is None
    for off in ('0', 'no', 'FALSE', 'No'):
        monkeypatch.setenv('ETW_CORE_TEST_ON', off)
        assert etwtrace.enable_if('ETW_CORE_TEST_ON', with_threads=True) is None
        assert etwtrace.enable_if('ETW_CORE_TEST_ON', 'ETW_CORE_TEST_TYPE') is None
    assert not etwtrace.is_active()
    monkeypatch.setenv('ETW_CORE_TEST_ON', '1')
    token = etwtrace.enable_if('ETW_CORE_TEST_ON', with_threads=True)
    assert token is not None and etwtrace.is_active() and _etwtrace.active() == 'stack'
    etwtrace.disable(token)
    token = etwtrace.enable_if('ETW_CORE_TEST_ON', True)
    etwtrace.disable(token)
    with etwtrace.tracing(with_threads=True) as token:
        assert etwtrace.is_active()
    assert not etwtrace.is_active()


def test_later_enable_if_types(monkeypatch):
    monkeypatch.setenv('ETW_CORE_TEST_ON', 'yes')
    for value, mode in (('', 'stack'), ('stack', 'stack'), ('Instrumented', 'instrumented')):
        monkeypatch.setenv('ETW_CORE_TEST_TYPE', value)
        tracer = etwtrace.enable_if('ETW_CORE_TEST_ON', 'ETW_CORE_TEST_TYPE')
        try:
            assert _etwtrace.active() == mode
            assert isinstance(tracer, etwtrace.StackSamplingTracer if mode == 'stack'
                              else etwtrace.InstrumentedTracer)
        finally:
            tracer.disable()
    monkeypatch.setenv('ETW_CORE_TEST_TYPE', 'sideways')
    with pytest.raises(ValueError, match="'sideways'.*'stack' or 'instrumented'"):
        etwtrace.enable_if('ETW_CORE_TEST_ON', 'ETW_CORE_TEST_TYPE')
    assert not etwtrace.is_active()
    monkeypatch.delenv('ETW_CORE_TEST_TYPE')
    tracer = etwtrace.enable_if('', 'ETW_CORE_TEST_TYPE')   # empty variable name: always
    assert _etwtrace.active() == 'stack'
    tracer.disable()


def test_info_and_forward_hook():
    info = _etwtrace.info()
    for key in ('version', 'arch', 'python', 'thunk_size', 'thunk_stride', 'arena_size', 'backend',
                'exec_refused', 'perf_map', 'provider_id'):
        assert key in info
    assert info['provider_id'] == PROVIDER and info['version'] == etwtrace.__version__
    assert info['code_extra_inline'] is True
    _etwtrace._forward_only_hook(True)
    try:
        assert sum(range(10)) == 45
        with pytest.raises(RuntimeError, match='another frame-evaluation hook'):
            etwtrace.enable()
    finally:
        _etwtrace._forward_only_hook(False)
    etwtrace.disable(etwtrace.enable())


# ---- subprocesses: refused executable memory, -X perf, fork ------------------------

def run_python(code, *args, env=None, timeout=120):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, *args, '-c', textwrap.dedent(code)], capture_output=True, text=True,
                          env=full_env, timeout=timeout)


@pytest.mark.skipif(not HAVE_THUNKS, reason='no thunks on this platform')
def test_fallback_when_exec_memory_refused(tmp_path):
    path = tmp_path / 'denied.etl'
    run = run_python(f'''
        import warnings, traceloggingdynamic as tld, etwtrace
        def f(): etwtrace._stack_mark('x')
        with tld.Session({str(path)!r}, ['{PROVIDER}:5'], stacks=0x200):
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter('always')
                for _ in range(3):
                    with etwtrace.tracing():
                        f()
            print(len(w), [str(x.message) for x in w])
            assert [x.category for x in w] == [RuntimeWarning]
        info = etwtrace._etwtrace.info()
        assert info['exec_refused'] is True, info
    ''', env={'ETWTRACE_TEST_DENY_EXEC': '1'})
    assert run.returncode == 0, run.stderr + run.stdout
    assert 'executable memory is refused' in run.stdout
    t = Trace(path)
    f = [x for x in t.functions.values() if x['Name'] == 'f']
    assert f and f[0]['BeginAddress'] == f[0]['EndAddress'] == 0
    assert len(t.named('PythonStackSample')) == 3


@pytest.mark.skipif(sys.version_info < (3, 12), reason='-X perf (CPython perf trampoline) exists from 3.12; '
                    'the chroot runs cover 3.13 and 3.14')
def test_refuses_over_x_perf():
    run = run_python('''
        import sys, etwtrace
        assert sys.is_stack_trampoline_active()
        try:
            etwtrace.enable()
        except RuntimeError as e:
            print('refused:', e)
        else:
            raise SystemExit('enabled over -X perf')
        assert sys.is_stack_trampoline_active() and not etwtrace.is_active()
        def g(): return 1
        assert g() == 1
        sys.deactivate_stack_trampoline()
        token = etwtrace.enable()
        assert g() == 1
        etwtrace.disable(token)
        assert not sys.is_stack_trampoline_active() and g() == 1
    ''', '-X', 'perf')
    assert run.returncode == 0, run.stderr + run.stdout
    assert 'refused: cannot enable stack sampling: another frame-evaluation hook' in run.stdout
    assert '-X perf' in run.stdout


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='no fork')
def test_fork_while_tracing(tmp_path):
    run = run_python('''
        import os, etwtrace
        def child_fn(n): return n if n < 2 else child_fn(n - 1) + child_fn(n - 2)
        def new_fn(): return 5
        with etwtrace.tracing():
            child_fn(10)
            pid = os.fork()
            if pid == 0:
                ok = child_fn(12) == 144 and new_fn() == 5
                os._exit(0 if ok else 3)
            _, status = os.waitpid(pid, 0)
            print('child', os.waitstatus_to_exitcode(status), pid, os.getpid())
    ''')
    assert run.returncode == 0, run.stderr
    code, pid, parent = run.stdout.split()[1:]
    try:
        assert code == '0'
        if HAVE_THUNKS:
            with open(f'/tmp/perf-{pid}.map') as f:
                text = f.read()
            assert 'py::child_fn' in text and 'py::new_fn' in text
    finally:   # a `-c` program's maps name no file of ours: the session's clean-up cannot tell them
        for p in (pid, parent):
            try:
                os.unlink(f'/tmp/perf-{p}.map')
            except FileNotFoundError:
                pass
