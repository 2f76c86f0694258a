"""Shared pytest setup for both packages' tests.

tests/python/tld/ holds traceloggingdynamic's tests (encoder, providers,
sessions, decoder), tests/python/etwtrace/ etwtrace's. Helpers used by both
(etl_helpers.py) live here; pytest puts this folder on sys.path because this
conftest.py sits in it.
"""
import os

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
    tmp = request.node.funcargs.get('tmp_path')
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
