"""The extensions run in the main interpreter only (process-wide state:
one provider registry, one eval hook; static types); importing them in a subinterpreter
fails with an ImportError that says so, instead of sharing that state."""
import subprocess
import sys
import textwrap

import pytest

PROBE = textwrap.dedent('''
    import sys
    try:
        import _interpreters as interp              # 3.13+
    except ImportError:
        import _xxsubinterpreters as interp         # 3.11, 3.12
    for name in sys.argv[1:]:
        iid = interp.create()
        try:
            code = f"import {name}"
            err = interp.run_string(iid, code)       # 3.13+ returns the error
        except Exception as e:                       # 3.11/3.12 raise it
            err = e
        finally:
            interp.destroy(iid)
        print(name, "|", err)
''')


def have_subinterpreters():
    for mod in ('_interpreters', '_xxsubinterpreters'):
        try:
            __import__(mod)
            return True
        except ImportError:
            pass
    return False


@pytest.mark.skipif(not have_subinterpreters(), reason='this CPython has no subinterpreter module')
def test_extensions_refuse_subinterpreters():
    proc = subprocess.run([sys.executable, '-c', PROBE, 'json', 'traceloggingdynamic._tld', 'etwtrace._etwtrace',
                           'etwtrace._report'],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(' | ', 1) for line in proc.stdout.splitlines())
    assert lines['json'] in ('None', ''), lines['json']   # the probe itself works
    for name in ('traceloggingdynamic._tld', 'etwtrace._etwtrace', 'etwtrace._report'):
        assert 'main interpreter' in lines[name] or 'does not support loading in subinterpreters' in lines[name], \
            lines[name]


def test_main_interpreter_imports_both():
    proc = subprocess.run([sys.executable, '-c', 'import traceloggingdynamic._tld, etwtrace._etwtrace, etwtrace._report'],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
