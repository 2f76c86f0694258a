"""Shared pytest setup for both packages' tests.

tests/python/tld/ holds traceloggingdynamic's tests (encoder, providers,
sessions, decoder), tests/python/etwtrace/ etwtrace's. Helpers used by both
(etl_helpers.py) live here; pytest puts this folder on sys.path because this
conftest.py sits in it.
"""
import pytest

from etl_helpers import AMSI_ETL


@pytest.fixture(scope='session')
def amsi_etl_path():
    """The Windows-written reference trace (../shared/data/AMSITrace.etl)."""
    if not AMSI_ETL.exists():
        pytest.skip(f'{AMSI_ETL} is missing')
    return AMSI_ETL
