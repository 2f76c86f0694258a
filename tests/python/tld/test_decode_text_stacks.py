"""``decode --format text`` on a trace of a Python program traced by
etwtrace (issue 10 items 7 and 9): every event with a non-zero opcode says
it (``opcode=start``/``stop``), and stacks are hex addresses, each inside a
``PythonFunction`` thunk range of the same trace named as the Python
function (``"0x7f... b_marks (test_decode_text_stacks.py:NN)"``). The JSON
keeps exact decimal addresses.
"""

import re

import pytest

import traceloggingdynamic as tld

from etl_helpers import json_lines, run_module

etwtrace = pytest.importorskip('etwtrace')
from etwtrace import _etwtrace  # noqa: E402

PROVIDER = '99a10640-320d-4b37-9e26-c311d86da7ab'
HAVE_THUNKS = _etwtrace.info()['backend'] != 'none'


def b_marks():
    etwtrace._stack_mark('in b')


def a_calls_b():
    b_marks()


@pytest.fixture(scope='module')
def trace(tmp_path_factory):
    path = tmp_path_factory.mktemp('textstacks') / 'py.etl'
    with tld.Session(str(path), [f'{PROVIDER}:5'], stacks=0x200):
        with etwtrace.tracing():
            with etwtrace.mark_range('outer'):
                a_calls_b()
            etwtrace.mark('plain')
    return path


def test_marks_show_their_opcode(trace):
    r = run_module('decode', trace, '--format', 'text')
    assert r.returncode == 0, r.stderr
    marks = [line for line in r.stdout.splitlines() if ' Python/PythonMark ' in line]
    assert len(marks) == 3, r.stdout
    assert ' opcode=start Mark="outer"' in marks[0]
    assert ' opcode=stop Mark="outer"' in marks[1]
    assert 'opcode=' not in marks[2] and 'Mark="plain"' in marks[2]
    threads = [line for line in r.stdout.splitlines() if ' Python/PythonThread ' in line]
    assert [('opcode=start' in t, 'opcode=stop' in t) for t in threads] == [(True, False), (False, True)]


@pytest.mark.skipif(not HAVE_THUNKS, reason='no thunks on this platform')
def test_stack_frames_are_named_from_python_function_ranges(trace):
    r = run_module('decode', trace, '--format', 'text')
    assert r.returncode == 0, r.stderr
    (line,) = [line for line in r.stdout.splitlines() if ' Python/PythonStackSample ' in line]
    frames = re.findall(r'"(0x[0-9a-f]+)([^"]*)"', line.split(' stack=', 1)[1])
    assert frames and all(int(a, 16) > 0 for a, _ in frames)
    named = [rest.strip() for _, rest in frames if rest.strip()]
    here = __file__.rsplit('/', 1)[-1]
    want_b = f'b_marks ({here}:{b_marks.__code__.co_firstlineno})'
    want_a = f'a_calls_b ({here}:{a_calls_b.__code__.co_firstlineno})'
    py = [n for n in named if n.endswith(')')]
    assert py[:2] == [want_b, want_a], line
    # The same addresses as the JSON's exact numbers, and inside those ranges.
    events = json_lines(run_module('decode', trace).stdout)
    (sample,) = [e for e in events if e['event'] == 'PythonStackSample']
    assert [int(a, 16) for a, _ in frames] == sample['stack']
    fn = {e['fields']['Name']: e['fields'] for e in events if e['event'] == 'PythonFunction'}
    lo, hi = int(fn['b_marks']['BeginAddress'], 16), int(fn['b_marks']['EndAddress'], 16)
    assert any(lo <= a < hi for a in sample['stack'])
