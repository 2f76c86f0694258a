"""Truth: the built-in sampler reports the known split of a workload
(scripts/sampler_truth.py: three functions burning about 50/30/20 % in
random bursts, each burst measuring its own CPU and elapsed time) within 3
percentage points, at recursion depths 1 and 500, in 1 and 4 threads;
every sample in a burning function names one of its lines (its `def` line
while it waits to start, and nearly always one of its loop's) and the
whole recursion below it.

Wall-time sampling is checked against elapsed time (on a shared machine a
thread's elapsed time is not its CPU time: it waits for the GIL and for a
processor), at a high rate, so thousands of samples make 3 points more
than four standard deviations and the test does not flake. CPU-time
sampling is tick-limited (CONFIG_HZ, often 250 a second): in the time a
test may take it has too few samples for 3 points to mean much, so it is
checked against four standard deviations of its own sample count (and
bench/bench_sampler.py runs it long enough for 3 points). Sample counts
follow from the workload's CPU time, not from the machine's speed.
"""

import json
import math
import sys

import pytest

from etwtrace_helpers import SCRIPTS, needs_core, python_events, run, samples_of, source_lines

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith('linux'), reason='the built-in sampler is Linux only'),
    needs_core,
]

SCRIPT = SCRIPTS / 'sampler_truth.py'
NAMES = ('burn_a', 'burn_b', 'burn_c')


def measure(tmp_path, clock, rate, depth, threads, seconds):
    etl = tmp_path / f'truth_{clock}_{depth}_{threads}.etl'
    proc = run([SCRIPT, etl, clock, rate, depth, threads, seconds], timeout=600)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    tids = {int(t) for t in result['threads']}
    true = {k: sum(v[clock][k] for v in result['threads'].values()) for k in (*NAMES, 'total')}
    samples = [s for s in samples_of(python_events(etl)) if s.tid in tids]
    stats = result['stats']
    assert stats['dropped'] == 0 and stats['unreadable'] == 0 and stats['samples'] == stats['drained'], stats
    burnt = sum(true[k] for k in NAMES)
    return samples, {**{k: true[k] / burnt for k in NAMES}, 'seconds': true['total']}


def shares(samples):
    """Each burning function's share of the three together (the harness's
    own frames, warm-up and recursion, are in neither side)."""
    weights = {k: sum(s.weight for s in samples if s.names and s.names[0] == k) for k in NAMES}
    total = sum(weights.values())
    return {k: weights[k] / total for k in NAMES}


def check_stacks_and_lines(samples, depth):
    lines = {k: source_lines(SCRIPT, f'# BURN_{k[-1].upper()}') for k in NAMES}
    loops = {k: source_lines(SCRIPT, f'# BURN_{k[-1].upper()} LOOP') for k in NAMES}
    burning = [s for s in samples if s.names and s.names[0] in NAMES]
    assert len(burning) > len(samples) / 2
    for s in burning:
        assert s.frames[0][2] in lines[s.names[0]], s.frames[0]
        assert s.names[1:] == ['at_depth'] * depth + ['worker'], s.names[:5]
    # Nearly all of the time goes to the loop (entry and exit are a few calls).
    in_loop = sum(s.weight for s in burning if s.frames[0][2] in loops[s.names[0]])
    assert in_loop >= 0.9 * sum(s.weight for s in burning)


@pytest.mark.parametrize('depth', [1, 500])
@pytest.mark.parametrize('threads', [1, 4])
def test_known_split_within_3_points(tmp_path, depth, threads):
    rate, seconds = (4000, 1.0) if threads == 1 else (2000, 0.5)
    samples, truth = measure(tmp_path, 'wall', rate, depth, threads, seconds)
    burning = sum(1 for s in samples if s.names and s.names[0] in NAMES)
    assert burning >= 3000, f'{burning} samples: too few for the check to mean anything'
    got = shares(samples)
    for k in NAMES:
        assert abs(got[k] - truth[k]) <= 0.03, (k, f'reported {got[k]:.1%}', f'true {truth[k]:.1%}')
    check_stacks_and_lines(samples, depth)


def test_cpu_time_split_has_no_bias(tmp_path):
    samples, truth = measure(tmp_path, 'cpu', 1000, 50, 1, 2.5)
    n = len(samples)
    assert n >= 200, n
    got = shares(samples)
    for k in NAMES:
        bound = max(0.03, 4 * math.sqrt(truth[k] * (1 - truth[k]) / n))
        assert abs(got[k] - truth[k]) <= bound, (k, f'reported {got[k]:.1%}', f'true {truth[k]:.1%}', n)
    check_stacks_and_lines(samples, 50)
    assert all(s.clock == 1 for s in samples)
    # Each CPU-time sample weighs the timer periods it stands for (tick-
    # limited timers fire less often than asked): together never more than
    # the thread's CPU time holds (its timer starts when the thread is found).
    assert all(s.weight >= 1 for s in samples)
    assert sum(s.weight for s in samples) <= (truth['seconds'] + 0.15) * 1000 + 1   # with the warm-up
