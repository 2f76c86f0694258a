"""A trace file that cannot grow (a full disk, or the size limit the user
set) stops recording cleanly: the program goes on, counts never go down,
the loss is stated, and the file decodes up to the last buffer written."""
import subprocess
import sys
import textwrap

from etl_helpers import read_etl

WRITER = textwrap.dedent('''
    import json, resource, signal, sys, warnings
    import traceloggingdynamic as tld
    path, limit_kind, limit, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if limit_kind == 'fsize':           # what a full disk looks like to the writer: EFBIG/ENOSPC
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        kwargs = {}
    else:
        kwargs = {'max_size': limit}
    p = tld.Provider(b'Reliability.Limits')
    eb = tld.EventBuilder()
    samples = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        s = tld.Session(path, ['Reliability.Limits'], buffer_size=16384, flush_interval=0.01, **kwargs)
        s.start()
        for i in range(count):
            eb.reset(b'Numbered', 5, 1)
            eb.add_uint64(b'seq', i)
            eb.add_str8(b'pad', 'x' * 100)
            p.write(eb)
            if i % 2000 == 0:
                st = s.stats()
                samples.append([st.events_written, st.events_lost])
        final = s.stop()
    print(json.dumps({'samples': samples, 'final': list(final),
                      'warnings': [str(w.message) for w in caught]}))
''')


def run_writer(tmp_path, kind, limit, count=60_000):
    import json
    path = tmp_path / 'limited.etl'
    proc = subprocess.run([sys.executable, '-c', WRITER, str(path), kind, str(limit), str(count)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return path, json.loads(proc.stdout.splitlines()[-1])


def check_stopped_cleanly(path, out, count, reason_words):
    written, lost, buffers, pending = out['final']
    assert pending == 0
    assert written + lost == count                       # every event is accounted for, once
    assert lost > 0 and written > 0
    for (w0, l0), (w1, l1) in zip(out['samples'], out['samples'][1:]):
        assert w1 >= w0 and l1 >= l0, out['samples']    # counts never go down
    assert len(out['warnings']) == 1 and all(w in out['warnings'][0] for w in reason_words), out['warnings']
    events, errors, header = read_etl(path)
    assert errors == [], errors
    assert len(events) == written
    # The events in the file are the first ones, in order: nothing after the stop.
    assert [e['fields']['seq'] for e in events] == list(range(written))
    assert header['events_lost'] == lost
    return buffers


def test_size_limit_stops_recording_and_leaves_a_valid_file(tmp_path):
    path, out = run_writer(tmp_path, 'max_size', 256 * 1024)
    buffers = check_stopped_cleanly(path, out, 60_000, ['size limit', 'recording stopped'])
    assert path.stat().st_size <= 256 * 1024
    assert buffers == 16


def test_full_disk_stops_recording_and_leaves_a_valid_file(tmp_path):
    path, out = run_writer(tmp_path, 'fsize', 200 * 1024)
    check_stopped_cleanly(path, out, 60_000, ['writing the file failed', 'recording stopped'])
    assert path.stat().st_size <= 200 * 1024


def test_capture_on_a_full_disk_says_so_loudly(tmp_path):
    """etwtrace --capture on a disk that fills up: the program runs to its
    end, and the last lines say how much was lost and why."""
    import resource
    import signal

    def small_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (512 * 1024, 512 * 1024))

    script = tmp_path / 'busy.py'
    script.write_text('def f(n):\n    return n if n < 2 else f(n - 1) + f(n - 2)\nprint(f(22))\n')
    trace = tmp_path / 'full.etl'
    proc = subprocess.run([sys.executable, '-m', 'etwtrace', '--instrumented', '--capture', str(trace), '--',
                           str(script)], capture_output=True, text=True, timeout=300, preexec_fn=small_disk,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '17711'                      # the program went on
    lines = proc.stderr.strip().splitlines()
    assert 'LOST' in lines[-2] and 'incomplete' in lines[-2], proc.stderr
    assert 'writing the file failed' in lines[-1] and 'recording stopped' in lines[-1], proc.stderr
    events, errors, header = read_etl(trace)
    assert errors == []
    assert len(events) > 0


def test_capture_max_size_stops_recording_and_says_so(tmp_path):
    """etwtrace --capture --max-size: the file stops at the size, the program
    runs to its end, and the last lines name the limit."""
    script = tmp_path / 'busy.py'
    script.write_text('def f(n):\n    return n if n < 2 else f(n - 1) + f(n - 2)\nprint(f(22))\n')
    trace = tmp_path / 'limited.etl'
    proc = subprocess.run([sys.executable, '-m', 'etwtrace', '--instrumented', '--events=push-pop', '--capture',
                           str(trace), '--max-size', '256K', '--', str(script)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == '17711'
    assert trace.stat().st_size <= 256 * 1024
    lines = proc.stderr.strip().splitlines()
    assert 'LOST' in lines[-2], proc.stderr
    assert 'size limit' in lines[-1] and f'max_size={256 * 1024}' in lines[-1], proc.stderr
    events, errors, header = read_etl(trace)
    assert errors == [] and len(events) > 0 and header['events_lost'] > 0


def test_record_max_size(tmp_path):
    """python -m traceloggingdynamic record --max-size: the same for any provider."""
    script = tmp_path / 'writer.py'
    script.write_text(textwrap.dedent('''
        import traceloggingdynamic as tld
        p = tld.Provider(b'Reliability.Limits')
        eb = tld.EventBuilder()
        for i in range(50_000):
            eb.reset(b'Numbered', 5, 1)
            eb.add_uint64(b'seq', i)
            eb.add_str8(b'pad', 'x' * 100)
            p.write(eb)
        print('done')
    '''))
    trace = tmp_path / 'limited.etl'
    proc = subprocess.run([sys.executable, '-m', 'traceloggingdynamic', 'record', '-o', str(trace), '-p',
                           'Reliability.Limits', '--max-size', '0.5m', '--', str(script)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == 'done'
    assert trace.stat().st_size <= 512 * 1024
    assert 'size limit' in proc.stderr and 'WARNING' in proc.stderr, proc.stderr
    events, errors, header = read_etl(trace)
    assert errors == []
    assert [e['fields']['seq'] for e in events] == list(range(len(events)))


def test_max_size_mistakes_are_usage_errors(tmp_path):
    script = tmp_path / 'never.py'
    script.write_text('open("ran", "w").close()\n')
    for args in (['--max-size', '10X', '--capture', 't.etl'], ['--max-size', '0', '--capture', 't.etl'],
                 ['--max-size', '1M']):
        proc = subprocess.run([sys.executable, '-m', 'etwtrace', *args, '--', str(script)],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert proc.returncode == 2, (args, proc.stderr)
        assert '--max-size' in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert not (tmp_path / 'ran').exists() and not (tmp_path / 't.etl').exists()
