"""Signal safety of the built-in sampler under stress (scripts/sampler_stress.py):
10,000 samples a second of every thread while threads start and exit,
generators and coroutines are created, thrown into and closed, exceptions
unwind deep stacks, modules are imported, code is compiled and freed, the
garbage collector runs and the sampler is stopped and started again. The
process must finish (no crash, no deadlock: the run has a time limit), its
.etl decode fully, and every run's counts add up, with exactly the samples
counted as written in the file. `make check` runs this again with the
extension built with ASan and UBSan."""

import json
import sys

import pytest

from etwtrace_helpers import SCRIPTS, needs_core, python_events, run, samples_of

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith('linux'), reason='the built-in sampler is Linux only'),
    needs_core,
]


@pytest.mark.parametrize('clock', ['wall', 'cpu'])
def test_stress(tmp_path, clock):
    etl = tmp_path / f'stress_{clock}.etl'
    proc = run([SCRIPTS / 'sampler_stress.py', etl, '3', clock], timeout=300)
    runs = [json.loads(line[4:]) for line in proc.stdout.splitlines() if line.startswith('RUN ')]
    assert len(runs) >= 1, proc.stdout
    for r in runs:
        assert r['drained'] == r['samples'], r
        assert r['samples'] == r['written'] + r['hidden'] + r['unheard'] + r['write_failed'], r
        assert r['write_failed'] == 0 and r['unheard'] == 0, r
    events = python_events(etl)                       # decodes fully, nothing lost
    samples = samples_of(events)                      # every FunctionID announced
    assert len(samples) == sum(r['written'] for r in runs)
    ends = [e['fields'] for e in events if e['event'] == 'PythonSampler' and e['opcode'] == 2]
    assert [e['Written'] for e in ends] == [r['written'] for r in runs]
    assert [e['Dropped'] for e in ends] == [r['dropped'] for r in runs]
    assert sum(1 for s in samples if s.flags & 0x4) == sum(r['unreadable'] for r in runs)
    seen = {name for s in samples for name in s.names}
    for name in ('recurse_and_raise', 'numbers', 'short_thread', 'main'):
        assert name in seen, sorted(seen)
    if clock == 'wall':
        assert len({s.tid for s in samples}) > 10    # many short threads were sampled
