"""A session asked for a provider that never existed (issue 10 item 8): a
typo in a name (`Pyhton`) or a wrong id records nothing, so the session
says which of its specs no provider of the process had, and names those
that exist: Session.unmatched_providers(), a RuntimeWarning from stop(),
one line from `record`. A mistyped GUID is refused when parsed."""

import textwrap
import uuid
import warnings

import pytest

from traceloggingdynamic import Provider, ProviderSpec, Session
from etl_helpers import run_module

KNOWN = 'TldTests.Unmatched.Known'


def test_unmatched_names_and_ids(tmp_path):
    p = Provider(KNOWN.encode())
    wrong_id = uuid.UUID('01234567-89ab-cdef-0123-456789abcdef')
    s = Session(tmp_path / 't.etl', [f'{KNOWN}:5', 'Pyhton:5', str(wrong_id), '*NoSuchProvider'])
    s.start()
    lines = s.unmatched_providers()
    assert len(lines) == 3
    assert lines[0].startswith("no provider named 'Pyhton' was seen; known: ") and KNOWN in lines[0]
    assert lines[1].startswith(f'no provider with id {wrong_id} was seen; known: ')
    assert "(the id of 'NoSuchProvider')" in lines[2]
    with pytest.warns(RuntimeWarning) as caught:
        s.stop()
    messages = [str(w.message) for w in caught]
    assert len(messages) == 3
    assert all(m.startswith(f"trace session {str(tmp_path / 't.etl')!r}: no provider ") for m in messages)
    assert s.unmatched_providers() == lines      # kept after stop
    del p


def test_provider_opened_later_counts(tmp_path):
    name = 'TldTests.Unmatched.Later'
    s = Session(tmp_path / 't.etl', [name])
    s.start()
    assert len(s.unmatched_providers()) == 1
    p = Provider(name.encode())
    assert s.unmatched_providers() == []
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        s.stop()
    del p


def test_no_warning_when_everything_matched(tmp_path):
    p = Provider(KNOWN.encode())
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        with Session(tmp_path / 't.etl', [KNOWN]) as s:
            pass
    assert s.unmatched_providers() == []
    del p


@pytest.mark.parametrize('text', ['99a10640-320d-4b37-9e26-c311d86da7a',      # 35 characters
                                  '99a10640-320d-4b37-9e26-c311d86da7abc',
                                  '{99a10640-320d-4b37-9e26-c311d86da7ab',
                                  '{not-a-guid}', '99a10640320d-4b37-9e26-c311d86da7ab:5'])
def test_mistyped_guid_is_a_value_error(text):
    with pytest.raises(ValueError, match='is not a GUID'):
        ProviderSpec.parse(text)


@pytest.mark.parametrize('text', ['Microsoft-Windows-Kernel', 'My-App', 'abc-def:4', 'Python'])
def test_dashed_names_stay_names(text):
    assert ProviderSpec.parse(text).name == text.split(':')[0]


def test_record_says_it_in_one_line(tmp_path):
    script = tmp_path / 's.py'
    script.write_text(textwrap.dedent(f'''
        import sys
        from traceloggingdynamic import Provider
        sys.keep_open = Provider(b'{KNOWN}')   # "known" names the providers open at the end
    '''))
    out = tmp_path / 'o.etl'
    proc = run_module('record', '-o', out, '--provider', 'Pyhton:5', '--provider', KNOWN, '--', script,
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if 'no provider' in line]
    assert lines == [f"python -m traceloggingdynamic: record: no provider named 'Pyhton' was seen; "
                     f"known: {KNOWN}"], proc.stderr
    assert 'Warning' not in proc.stderr
