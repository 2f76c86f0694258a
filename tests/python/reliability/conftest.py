"""The reliability suite: fork, planted files, kills, deep recursion, full
disks. Each test is fast by default; TLD_SOAK=1 makes the loops long (the
soak mode), e.g. `TLD_SOAK=1 pytest tests/python/reliability`."""
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / 'etwtrace'))

SOAK = os.environ.get('TLD_SOAK') == '1'


@pytest.fixture
def soak():
    """How many times to repeat a trial: a few in CI, many in soak mode."""
    return lambda fast, long: long if SOAK else fast
