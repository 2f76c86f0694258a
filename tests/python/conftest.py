"""Shared pytest setup for both packages' tests.

tests/python/tld/ holds traceloggingdynamic's tests (encoder, providers,
sessions, decoder), tests/python/etwtrace/ etwtrace's. Helpers used by both
(etl_helpers.py) live here; pytest puts this folder on sys.path because this
conftest.py sits in it.
"""
import glob
import os
import re
import shutil
from pathlib import Path

import pytest

from etl_helpers import AMSI_ETL

# What one test may leave in its tmp_path (files written elsewhere are the
# test's own business to clean up). TLD_TEST_DISK_CAP_MB overrides it, e.g.
# for the soak mode of the reliability suite.
DISK_CAP_BYTES = int(os.environ.get('TLD_TEST_DISK_CAP_MB', '1024')) * 1024 * 1024


def _tree_size(path):
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                pass
    return total


@pytest.fixture(autouse=True)
def _disk_cap(request):
    """Fails a test whose tmp_path grew beyond DISK_CAP_BYTES."""
    yield
    tmp = (getattr(request.node, 'funcargs', None) or {}).get('tmp_path')
    if tmp is not None and os.path.isdir(tmp):
        used = _tree_size(tmp)
        assert used <= DISK_CAP_BYTES, (f'the test left {used / 2**20:.0f} MiB in {tmp}, over the '
                                        f'{DISK_CAP_BYTES / 2**20:.0f} MiB cap')


@pytest.fixture(scope='session')
def amsi_etl_path():
    """The Windows-written reference trace (../shared/data/AMSITrace.etl)."""
    if not AMSI_ETL.exists():
        pytest.skip(f'{AMSI_ETL} is missing')
    return AMSI_ETL


# The perf map, jitdump and perf inject's jitted objects that tested
# processes leave in /tmp (perf needs them after the process exits, so the
# processes cannot remove their own).
_PERF_LEFTOVERS = ('/tmp/perf-*.map', '/tmp/jit-*.dump', '/tmp/jitted-*-*.so')
_OURS = (str(Path(__file__).resolve().parents[2]).encode(), b'/pytest-of-')


def _leftover_pid(path):
    m = re.match(r'(?:perf|jit|jitted)-(\d+)', os.path.basename(path))
    return int(m.group(1)) if m else None


def _is_running(pid):
    """Whether another process with that pid runs (this one is finishing)."""
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def _written_by_our_tests(path):
    try:
        with open(path, 'rb') as f:
            head = f.read(1 << 20)
    except OSError:
        return False
    return any(mark in head for mark in _OURS)


@pytest.fixture(scope='session', autouse=True)
def _remove_perf_leftovers():
    """Removes, after the run, the /tmp perf maps and jitdumps our tested
    processes wrote (and perf inject's .so files of those processes), and
    the jitted-code folders of the perf captures the run made."""
    before = {p for pattern in _PERF_LEFTOVERS for p in glob.glob(pattern)}
    before_folders = set(glob.glob('/tmp/jitted-etwtrace-*'))
    yield
    done = set()
    for path in sorted({p for pattern in _PERF_LEFTOVERS[:2] for p in glob.glob(pattern)} - before):
        pid = _leftover_pid(path)
        if pid is None or _is_running(pid) or not _written_by_our_tests(path):
            continue
        done.add(pid)
    # --capture --perf's folders for jitted code (where perf unwinds with libdw).
    for path in set(glob.glob('/tmp/jitted-etwtrace-*')) - before_folders:
        shutil.rmtree(path, ignore_errors=True)
    for pid in done:
        for path in [f'/tmp/perf-{pid}.map', f'/tmp/jit-{pid}.dump', *glob.glob(f'/tmp/jitted-{pid}-*.so')]:
            if path not in before:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
