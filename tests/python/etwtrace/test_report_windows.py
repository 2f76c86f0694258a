"""`report` on a Windows capture's layout (what WPR writes for etwtrace):
the "Python" provider's PythonFunction events (thunk address ranges) in
a kernel logger's file, with the CPU samples as kernel records — PerfInfo
SampledProfile, then a StackWalk record carrying its stack. The
PythonFunction records are real ones, written by etwtrace's stack mode
into one of our sessions; the kernel records come from the test-only
writers of etl_windows_fixtures.py.

Samples are the stacks of SampledProfile records of processes that wrote
Python events; a stack walk of another process (WPR records them all) or
of another kind of event (a context switch) is not a sample.
"""

import struct
import uuid

import pytest

import etl_windows_fixtures as wf
from etwtrace_helpers import clean_env, needs_core, python_events, run

pytestmark = needs_core

PYTHON_PID, OTHER_PID, TID = 4242, 8, 777
PROVIDER_LE = uuid.UUID('99a10640-320d-4b37-9e26-c311d86da7ab').bytes_le

WRITER = r'''
import sys, etwtrace, traceloggingdynamic as tld
def leaf():
    return 1
def outer():
    return leaf()
s = tld.Session(sys.argv[1], ['99a10640-320d-4b37-9e26-c311d86da7ab:5'])
s.start()
t = etwtrace.StackSamplingTracer()
t.enable()
outer()
t.disable()
s.stop()
'''


def python_records(path):
    """The raw event records of the Python provider in one of our files."""
    data = path.read_bytes()
    size = struct.unpack_from('<I', data, 0)[0]
    out = []
    for b in wf.buffers_of(data, size):
        used = struct.unpack_from('<I', b, 0x30)[0]
        pos = wf.BH
        while pos + 4 <= used:
            length, marker = struct.unpack_from('<HH', b, pos)
            if length == 0:
                break
            if b[pos + 24:pos + 40] == PROVIDER_LE:
                out.append(bytearray(b[pos:pos + length]))
            pos += (length + 7) & ~7
    return out


@pytest.fixture(scope='module')
def windows_capture(tmp_path_factory):
    folder = tmp_path_factory.mktemp('wincap')
    ours = folder / 'ours.etl'
    run(['-c', WRITER, ours], env=clean_env())
    funcs = {e['fields']['Name']: (int(e['fields']['BeginAddress'], 16), int(e['fields']['EndAddress'], 16))
             for e in python_events(ours) if e['event'] == 'PythonFunction'}
    leaf, outer = funcs['leaf'], funcs['outer']
    assert leaf[0] < leaf[1] and outer[0] < outer[1]

    k = wf.KernelTrace()
    t = k.START_CLOCK
    k.buffer(0)
    k.add(wf.system_record(0x0303, 4, 0, 0, t + 1, wf.process_payload(PYTHON_PID, 4, 'python.exe', 'python.exe x.py')))
    k.add(wf.system_record(0x0503, 3, 0, 0, t + 2, wf.thread_payload(PYTHON_PID, TID)))
    for rec in python_records(ours):            # now of process 4242, thread 777, in the kernel's clock
        struct.pack_into('<IIQ', rec, 8, TID, PYTHON_PID, t + 10)
        k.add(bytes(rec))
    ntdll = 0x7FFA00001000
    for cpu in (1, 2):
        k.buffer(cpu)
        for i in range(10):
            ts = t + 100 + 10 * i + cpu
            k.add(wf.perfinfo_record(0x0F2E, 2, ts, wf.sample_payload(leaf[0] + 4, TID)))
            # leaf <- outer <- ntdll, innermost first
            k.add(wf.perfinfo_record(0x1820, 2, ts + 1, wf.stack_payload(
                ts, PYTHON_PID, TID, [leaf[0] + 4, outer[0] + 8, ntdll])))
        # Not samples: a stack of another process, and a stack of an event
        # that is no SampledProfile (a context switch's).
        k.add(wf.perfinfo_record(0x0F2E, 2, t + 300 + cpu, wf.sample_payload(outer[0], 900 + cpu)))
        k.add(wf.perfinfo_record(0x1820, 2, t + 301 + cpu, wf.stack_payload(
            t + 300 + cpu, OTHER_PID, 900 + cpu, [outer[0] + 8, ntdll])))
        k.add(wf.perfinfo_record(0x1820, 2, t + 311 + cpu, wf.stack_payload(
            t + 310 + cpu, PYTHON_PID, TID, [outer[0] + 8, ntdll])))
    path = folder / 'wpr.etl'
    path.write_bytes(k.data())
    return path


def test_kernel_samples_of_the_python_process_are_reported(windows_capture):
    folded = run(['-m', 'etwtrace', 'report', windows_capture, '--format', 'collapsed']).stdout
    rows = [line.rpartition(' ') for line in folded.splitlines()]
    assert [([f.split(' (')[0] for f in stack.split(';')], count) for stack, _, count in rows] == \
        [(['outer', 'leaf'], '20')], folded
    top = run(['-m', 'etwtrace', 'report', windows_capture]).stdout
    assert '20 samples' in top, top


def test_native_frames_of_kernel_samples(windows_capture):
    folded = run(['-m', 'etwtrace', 'report', windows_capture, '--format', 'collapsed', '--native']).stdout
    rows = [line.rpartition(' ') for line in folded.splitlines()]
    assert len(rows) == 1 and rows[0][2] == '20', folded
    frames = rows[0][0].split(';')
    assert [f.split(' (')[0] for f in frames[1:]] == ['outer', 'leaf'], folded
    assert '0x7ffa00001000' in frames[0].lower(), folded

