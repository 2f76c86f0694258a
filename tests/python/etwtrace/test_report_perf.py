"""`report` on the perf.data that `--capture --perf` writes in stack mode
(perf record + jitdump + perf inject): the sampled chains name the
script's Python functions, c <- b <- a, with the first lines the .etl
beside the perf data gives them; with --native, native frames are named
by symbol. Skipped like test_etwtrace_perf.py: only when perf is missing
outside CI.
"""

import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from etwtrace_helpers import IN_CI, SANITIZED, SCRIPTS, needs_core, run

PERF = shutil.which('perf')

pytestmark = [
    pytest.mark.skipif(not sys.platform.startswith('linux'), reason='perf is Linux only'),
    pytest.mark.skipif(PERF is None and not IN_CI,
                       reason='perf is not installed (Debian: linux-perf); in CI this test fails instead'),
    pytest.mark.skipif(SANITIZED, reason='perf DWARF unwinding under ASan is too slow and not what is tested'),
    needs_core,
]


def test_report_of_perf_capture_names_python_functions(tmp_path):
    assert PERF, 'perf is not installed but CI is set: install linux-perf'
    etl = tmp_path / 'busy.etl'
    proc = run(['-m', 'etwtrace', '--capture', etl, '--perf', '--', SCRIPTS / 'busy.py', '0.6'], timeout=300)
    data = tmp_path / 'busy.etl.perf' / 'perf.data'
    assert data.is_file(), proc.stderr
    # --capture ended with a summary of the perf samples and the commands.
    assert re.search(r'perf\.data: [\d.]+ m?s, \d+ threads?, \d+ events; \d+ samples', proc.stderr), proc.stderr
    assert re.search(r'c \(\S*busy\.py:6\)', proc.stderr), proc.stderr
    assert f'python -m etwtrace report {data}' in proc.stderr
    check_reports(tmp_path, data)


def check_reports(tmp_path, data):

    folded = run(['-m', 'etwtrace', 'report', data, '--format', 'collapsed']).stdout
    chains = {}
    for line in folded.splitlines():
        stack, _, count = line.rpartition(' ')
        names = tuple(re.sub(r' \(.*\)$', '', f) for f in stack.split(';') if 'busy.py' in f)
        chains[names] = chains.get(names, 0) + int(count)
    abc = chains.get(('<module>', 'a', 'b', 'c'), 0)
    assert abc > 0.5 * sum(chains.values()), chains
    lines = set(re.findall(r'\b([abc]) \(\S*busy\.py:(\d+)\)', folded))
    assert lines == {('a', '18'), ('b', '14'), ('c', '6')}

    native = run(['-m', 'etwtrace', 'report', data, '--format', 'collapsed', '--native']).stdout
    # Native frames (by symbol where the binary has one; sid's python3.14
    # has none for its eval loop) around the Python ones.
    assert re.search(r'^.*Py_BytesMain \((lib)?python3[^)]*\);.*;c \(\S*busy\.py:6\)', native, re.M), native[:3000]

    # The .etl of this capture holds the built-in sampler's samples: `report`
    # of it reports them (the same functions, without native frames).
    proc = run(['-m', 'etwtrace', 'report', tmp_path / 'busy.etl', '--format', 'collapsed'])
    assert re.search(r'^<module> \(\S*busy\.py:\d+\);a \(\S*busy\.py:18\);b \(\S*busy\.py:14\);'
                     r'c \(\S*busy\.py:6\) \d+$', proc.stdout, re.M), proc.stdout

    out = tmp_path / 'busy.speedscope.json'
    run(['-m', 'etwtrace', 'report', data, '--format', 'speedscope', '-o', out])
    doc = json.loads(out.read_text())
    from speedscope_schema import validate_speedscope
    validate_speedscope(doc)
    assert doc['profiles'][0]['type'] == 'sampled'
