"""`python -m etwtrace report` on real traces of a program with a known call
structure (scripts/report_known.py, traced in instrumented mode): every
format holds exactly the expected stacks, counts and nesting, and times add
up (self + children = inclusive). JSON formats are checked against the
viewers' rules: speedscope's published schema (speedscope_schema.py) and
its importer's rules for evented profiles; Chrome's trace events nest per
thread. Also: stack samples from a stack-sampling trace, a damaged file,
unbalanced entry/exit fed through the Python API, and the CLI's errors.
"""

import json
import re
from pathlib import Path

import pytest

from etwtrace_helpers import SCRIPTS, capture, needs_core, run
from speedscope_schema import validate_speedscope

KNOWN = SCRIPTS / 'report_known.py'
FILE = str(KNOWN)
CALLS = {'outer': 1, 'rec': 18, 'leaf': 8, 'worker': 1}

pytestmark = needs_core


@pytest.fixture(scope='module')
def known_trace(tmp_path_factory):
    tmp = tmp_path_factory.mktemp('report')
    _, proc = capture(tmp, 'report_known.py', mode='instrumented')
    etl = tmp / 'report_known.etl'
    assert etl.is_file(), proc.stderr
    return etl, proc


def report(*args, check=True):
    return run(['-m', 'etwtrace', 'report', *map(str, args)], check=check)


def known_frames(frames):
    """The frames of report_known.py in a folded stack, as function names."""
    out = []
    for f in frames:
        m = re.match(r'^(.*) \((.*):(\d+)\)$', f)
        if m and m.group(2) == FILE:
            out.append(m.group(1))
    return out


def folded(text):
    rows = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(' ')
        rows.append((stack.split(';'), int(count)))
    return rows


def test_capture_prints_summary_and_report_commands(known_trace):
    etl, proc = known_trace
    assert re.search(r'report_known\.etl: [\d.]+ \w+, \d+ threads, \d+ events; \d+ calls of \d+ functions '
                     r'\(instrumented\); 3 marks', proc.stderr), proc.stderr
    assert f'python -m etwtrace report {etl}' in proc.stderr
    assert f'python -m etwtrace report {etl} --format html' in proc.stderr


def test_call_counts_and_recursion_counted_once(known_trace):
    from etwtrace import report
    profile = report.load(known_trace[0])
    rows = {f['name']: f for f in profile.functions() if f['file'] == FILE}
    assert {name: rows[name]['calls'] for name in CALLS} == CALLS
    info = profile.info()
    assert info['has_calls'] and info['marks'] == 3 and info['damage_count'] == 0
    assert info['unmatched_exits'] == 0 and info['closed_at_end'] == 0
    # leaf is never recursive: its total is its self time; rec's total is
    # its outermost calls' (not the sum over recursion levels).
    assert rows['leaf']['total'] == rows['leaf']['self']
    assert rows['rec']['total'] < rows['rec']['self'] * 6 + rows['leaf']['total']


def test_collapsed_stacks_exact_and_times_add_up(known_trace):
    text = report(known_trace[0], '--format', 'collapsed').stdout
    # What flamegraph.pl, inferno and speedscope read: `frame;frame;... N`,
    # N a positive integer after the last space, no empty frame.
    for line in text.splitlines():
        assert re.fullmatch(r'[^;\n]+(;[^;\n]+)* [1-9]\d*', line), line
    rows = folded(text)
    stacks = {}
    for frames, count in rows:
        key = tuple(known_frames(frames))
        if key:
            stacks[key] = stacks.get(key, 0) + count
    recs = [('<module>', 'outer') + ('rec',) * d for d in range(1, 7)]
    expected = {('<module>',), ('<module>', 'outer'), *recs, recs[-1] + ('leaf',), ('<module>', 'leaf'),
                ('worker',), ('worker', 'leaf')}
    # Frames from other files (threading's bookkeeping under <module>) may
    # add stacks that reduce to these; no other shape may appear.
    assert set(stacks) == expected
    # Every count is a positive integer (ns of self time), and the sum of
    # self time of a subtree is the inclusive time the model reports.
    from etwtrace import report as rp
    fn = {f['name']: f for f in rp.load(known_trace[0], timeline=False).functions() if f['file'] == FILE}
    for name in ('outer', 'leaf', 'worker'):
        inclusive = sum(c for frames, c in rows if name in known_frames(frames))
        assert inclusive == fn[name]['total'], name
    rec_inclusive = sum(c for frames, c in rows if 'rec' in known_frames(frames))
    assert rec_inclusive == fn['rec']['total']


def test_tree_text(known_trace):
    out = report(known_trace[0], '--format', 'tree', '--min-percent', '0').stdout
    lines = [line for line in out.splitlines() if FILE.rsplit('/', 1)[-1] in line or 'report_known.py' in line]
    rec_lines = [line for line in lines if re.search(r'\brec  .*report_known\.py:20  3 calls', line)]
    assert len(rec_lines) == 6, out
    # Each level is indented one step (3 columns) deeper than its parent.
    indents = [len(line) - len(line.lstrip('│ ├└─')) for line in rec_lines]
    assert indents == sorted(indents) and len(set(indents)) == 6
    assert re.search(r'rec  .*report_known\.py:20  3 calls, self .*, from line 28$', out, re.M)   # outer's call
    assert len(re.findall(r'rec  .*report_known\.py:20  3 calls, self .*, from line 22$', out, re.M)) == 5
    assert re.search(r'leaf  .*report_known\.py:12  4 calls', out)      # worker's
    assert re.search(r'leaf  .*report_known\.py:12  3 calls', out)      # under rec
    assert '\033[' not in out          # not a terminal: no colours
    from etwtrace import report as rp
    coloured = rp.load(known_trace[0], timeline=False).text('tree', colour=True, min_percent=0)
    assert re.search(r'\033\[3[123]m[\d.]+% [^\n]*\033\[0m  \033\[1m<module>\033\[0m', coloured)
    assert re.sub(r'\033\[\d+m', '', coloured) == rp.load(known_trace[0], timeline=False).text('tree', min_percent=0)


def test_top_text(known_trace):
    out = report(known_trace[0], '--limit', '0', '--sort', 'calls').stdout
    row = next(line for line in out.splitlines() if re.search(r'\brec \(.*report_known\.py:20\)', line))
    assert re.search(r'\s18\s+rec \(', row), row
    per_thread = report(known_trace[0], '--per-thread', '--limit', '5').stdout
    assert per_thread.count('\nThread ') == 2
    # Threads by the names threading gave them (PythonThreadName).
    assert re.search(r'\nThread MainThread \(tid \d+\)', per_thread), per_thread
    assert re.search(r'\nThread worker \(tid \d+\)', per_thread), per_thread


def _replay_evented(profile, frames):
    """speedscope's importer rules for an evented profile; returns {name: opens}
    and the deepest nesting of each name."""
    stack, opens, depth = [], {}, {}
    last = profile['startValue']
    for e in profile['events']:
        assert e['at'] >= last and e['at'] <= profile['endValue']
        last = e['at']
        name = frames[e['frame']]['name']
        if e['type'] == 'O':
            stack.append(e['frame'])
            opens[name] = opens.get(name, 0) + 1
            depth[name] = max(depth.get(name, 0), sum(1 for f in stack if frames[f]['name'] == name))
        else:
            assert stack and stack[-1] == e['frame'], 'a close that is not the top of the stack'
            stack.pop()
    assert not stack, 'frames still open at the end'
    return opens, depth


def test_speedscope_schema_and_events(known_trace, tmp_path):
    out = tmp_path / 'k.speedscope.json'
    report(known_trace[0], '--format', 'speedscope', '-o', out)
    doc = json.loads(out.read_text())
    validate_speedscope(doc)
    frames = doc['shared']['frames']
    keys = [(f['name'], f.get('file'), f.get('line')) for f in frames]
    assert len(keys) == len(set(keys)), 'frames are not de-duplicated'
    assert len(doc['profiles']) == 2
    totals = {}
    rec_depth = 0
    for p in doc['profiles']:
        assert p['type'] == 'evented' and p['unit'] == 'nanoseconds'
        opens, depth = _replay_evented(p, frames)
        for name in CALLS:
            totals[name] = totals.get(name, 0) + opens.get(name, 0)
        rec_depth = max(rec_depth, depth.get('rec', 0))
    assert totals == CALLS
    assert rec_depth == 6


def test_chrome_trace_events(known_trace, tmp_path):
    out = tmp_path / 'k.json'
    report(known_trace[0], '--format', 'chrome', '-o', out)
    doc = json.loads(out.read_text())
    events = doc['traceEvents']
    names = {(e['pid'], e['tid']): e['args']['name'] for e in events if e['ph'] == 'M' and e['name'] == 'thread_name'}
    slices = [e for e in events if e['ph'] == 'X']
    for e in slices:
        assert (e['pid'], e['tid']) in names, 'a thread without a thread_name'
        assert e['dur'] >= 0 and e['ts'] >= 0
    worker_tid = next(e['tid'] for e in slices if e['name'] == 'worker')
    assert names[(slices[0]['pid'], worker_tid)] == 'worker'
    counts = {}
    for e in slices:
        if e.get('args', {}).get('file', '').startswith(FILE + ':') and e['name'] in CALLS:
            counts[e['name']] = counts.get(e['name'], 0) + 1
    assert counts == CALLS
    # Strict nesting per thread: sorted by start (longer first), each slice
    # lies inside the enclosing open one.
    by_tid = {}
    for e in slices:
        by_tid.setdefault(e['tid'], []).append(e)
    for tid, items in by_tid.items():
        items.sort(key=lambda e: (e['ts'], -e['dur']))
        open_ends = []
        for e in items:
            while open_ends and e['ts'] >= open_ends[-1] - 1e-9:
                open_ends.pop()
            end = e['ts'] + e['dur']
            assert not open_ends or end <= open_ends[-1] + 1e-6, f'slices cross on tid {tid}'
            open_ends.append(end)
    instants = [e for e in events if e['ph'] == 'i']
    assert [(e['name'], e['s']) for e in instants] == [('plain mark', 't')]
    begins = [e for e in events if e['ph'] == 'B']
    ends = [e for e in events if e['ph'] == 'E']
    assert [e['name'] for e in begins] == ['range mark'] and [e['name'] for e in ends] == ['range mark']
    assert begins[0]['tid'] == ends[0]['tid'] and begins[0]['ts'] <= ends[0]['ts']
    assert names[(begins[0]['pid'], begins[0]['tid'])].startswith('marks: ')


def test_python_api_matches_cli_and_self_plus_children(known_trace):
    from etwtrace import report as rp
    profile = rp.load(known_trace[0])
    assert profile.text('collapsed') == report(known_trace[0], '--format', 'collapsed').stdout
    # The HTML data holds the tree: self + sum(children) == value per node.
    html = profile.text('html')
    data = json.loads(re.search(r'<script id="data" type="application/json">(.*?)</script>', html, re.S).group(1))
    names = [f[0] for f in data['functions']]
    for view in data['views']:
        nodes, w = view['nodes'], 6
        n = len(nodes) // w
        children = [0.0] * n
        for i in range(1, n):
            children[nodes[w * i + 1]] += nodes[w * i + 2]
        for i in range(1, n):
            assert nodes[w * i + 3] + children[i] == nodes[w * i + 2]
        assert children[0] == nodes[2]
        # Caller lines: rec is called from line 28 of outer (the loop) and
        # line 22 of rec; leaf from line 23 of rec.
        lines = {(names[nodes[w * nodes[w * i + 1]]] if nodes[w * i + 1] > 0 else None, names[nodes[w * i]],
                  nodes[w * i + 5]) for i in range(1, n)}
        if view['name'] in ('All', 'All threads'):
            assert {('outer', 'rec', 28), ('rec', 'rec', 22), ('rec', 'leaf', 23)} <= lines, lines


def test_stack_samples_from_a_stack_sampling_trace(tmp_path):
    """threaded.py marks the stack (PythonStackSample + native stack) at the
    end of a chain a(0), a->b, a->b->c on ten threads: the samples map to
    those functions through the PythonFunction thunk ranges."""
    events, _ = capture(tmp_path, 'threaded.py', mode='stack')
    # The built-in sampler runs beside the thunks and may catch a few ticks
    # of this short program (3.14 does, at <module>); those are its own.
    files = {e['fields']['FunctionID']: e['fields']['SourceFile'] for e in events if e['event'] == 'PythonFunction'}
    names = {e['fields']['FunctionID']: e['fields']['Name'] for e in events if e['event'] == 'PythonFunction'}
    stacks, sampled = {}, 0
    for e in events:
        if e['event'] == 'PythonSample':
            ids = [hex(i) for i in reversed(e['fields']['FunctionIDs'])]
            key = tuple(names[i] for i in ids if 'threaded.py' in files[i])
            stacks[key] = stacks.get(key, 0) - e['fields']['Weight']
            sampled += e['fields']['Weight']
    out = report(tmp_path / 'threaded.etl', '--format', 'collapsed').stdout
    for frames, count in folded(out):
        key = tuple(re.sub(r' \(.*\)$', '', f) for f in frames if 'threaded.py' in f)
        stacks[key] = stacks.get(key, 0) + count
    assert {k: v for k, v in stacks.items() if v} == {('a',): 1, ('a', 'b'): 1, ('a', 'b', 'c'): 8}
    top = report(tmp_path / 'threaded.etl').stdout
    assert f'{10 + sampled} samples' in top


def test_damaged_trace_reports_what_it_holds(known_trace, tmp_path):
    data = known_trace[0].read_bytes()
    cut = tmp_path / 'cut.etl'
    cut.write_bytes(data[:len(data) - 40000])
    proc = report(cut)
    assert proc.stdout.count('warning: the trace is damaged') == 1
    assert 'calls of' in proc.stdout
    bad = tmp_path / 'bad.etl'
    buf = bytearray(data)
    buf[0x10000 + 0x48 + 2:0x10000 + 0x48 + 4] = b'\x00\x00'   # the first record of buffer 1
    bad.write_bytes(bytes(buf))
    proc = report(bad, '--format', 'tree')
    assert proc.stdout.count('warning: the trace is damaged') == 1


def test_unbalanced_calls_through_the_api():
    from etwtrace import _report, report
    core = _report.Profile()
    core.define_function(1, 1, 'f', 'x.py', 1)
    core.define_function(1, 2, 'g', 'x.py', 5)
    core.call_exit(1, 1, 100, 7)           # began before tracing
    core.call_enter(1, 1, 110, 1)
    core.call_enter(1, 1, 120, 2)          # never returns: ends at the thread's last event
    core.mark(1, 1, 300, 0, 'last')
    profile = report.Profile(core.finish())
    info = profile.info()
    assert (info['unmatched_exits'], info['closed_at_end']) == (1, 2)
    assert profile.text('collapsed') == 'f (x.py:1) 10\nf (x.py:1);g (x.py:5) 180\n'
    summary = profile.summary()
    assert '2 calls were still open' in summary and '1 returns from calls that began before' in summary
    with pytest.raises(RuntimeError, match='finished'):
        core.call_enter(1, 1, 400, 1)


def test_cli_errors(tmp_path):
    proc = report(tmp_path / 'missing.etl', check=False)
    assert proc.returncode == 2 and 'missing.etl: no such file' in proc.stderr
    junk = tmp_path / 'junk.etl'
    junk.write_bytes(b'not a trace at all' * 10)
    proc = report(junk, check=False)
    assert proc.returncode == 2 and 'not an .etl file' in proc.stderr and 'perf.data' in proc.stderr
    proc = report(junk, '--format', 'svg', check=False)
    assert proc.returncode == 2 and 'invalid choice' in proc.stderr


def test_bundled_windows_trace_has_no_python_events(amsi_etl_path):
    proc = report(amsi_etl_path)
    assert 'no calls and no samples' in proc.stdout
    assert proc.stdout.count('warning: the trace is damaged') == 1   # its header says 3 events were lost


def test_written_files_are_listed(known_trace, tmp_path):
    out = tmp_path / 'page.html'
    proc = report(known_trace[0], '--format', 'html', '-o', out)
    assert f'html written to {out}' in proc.stderr
    assert out.read_text().startswith('<!DOCTYPE html>')
    assert 'http://' not in out.read_text() and 'https://' not in out.read_text()
    assert Path(out).stat().st_size < 2_000_000
