"""Enable/disable cycles with both API generations into a session at
argv[1]; exceptions raised through traced frames while tracing is switched
on and off. Marks name each phase so the test can check what was traced."""
import sys

import etwtrace
import traceloggingdynamic as tld

PROVIDER = '99a10640-320d-4b37-9e26-c311d86da7ab:5'


def leaf():
    etwtrace._stack_mark('leaf')


def middle():
    leaf()


def boom(disable_token=None):
    if disable_token is not None:
        etwtrace.disable(disable_token)   # switched off while this frame runs
    raise RuntimeError('through traced frames')


def outer(token=None):
    try:
        boom(token)
    except RuntimeError:
        return 'caught'


def only_when_off():
    return 1


with tld.Session(sys.argv[1], [PROVIDER], stacks=0x200):
    for i in range(3):                              # seed API: token cycles
        token = etwtrace.enable(with_threads=False)
        middle()
        assert outer() == 'caught'
        etwtrace.disable(token)
    for i in range(3):                              # context managers
        with etwtrace.tracing(with_threads=False):
            middle()
        with etwtrace.StackSamplingTracer():
            middle()
        with etwtrace.InstrumentedTracer():
            middle()
    assert not etwtrace.is_active()
    only_when_off()                                 # never traced: no PythonFunction
    token = etwtrace.enable(with_threads=False)
    assert outer(token) == 'caught'                 # disabled inside a traced frame
    assert not etwtrace.is_active()
    try:
        with etwtrace.StackSamplingTracer():
            boom()
    except RuntimeError:
        pass
    assert not etwtrace.is_active()
print('cycles done')
