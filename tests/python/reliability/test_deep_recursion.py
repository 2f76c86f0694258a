"""Stack-sampling mode must not crash a program that runs without it:
recursion far deeper than the C stack could hold with one C frame per
Python call (the PEP 523 hook's cost) runs to the end, and tracing goes on
afterwards."""
import json

from etwtrace_helpers import needs_core, python_events, run

DEEP = '''
import json, sys, threading
import etwtrace
from etwtrace import _etwtrace
import traceloggingdynamic as tld
sys.setrecursionlimit(200_000)
depth = int(sys.argv[2])
session = tld.Session(sys.argv[1], ['99a10640-320d-4b37-9e26-c311d86da7ab:5'])
session.start()

def down(n):
    return 0 if n == 0 else 1 + down(n - 1)

def after_the_deep_part(x):
    return x + 1

result = {}
def in_thread():
    result['thread'] = down(depth)

with etwtrace.StackSamplingTracer(with_threads=True):
    result['main'] = down(depth)
    t = threading.Thread(target=in_thread)
    t.start(); t.join()
    result['after'] = after_the_deep_part(1)
    result['info'] = {k: _etwtrace.info()[k] for k in ('deep_recursion_parks', 'active')}
session.stop()
print(json.dumps(result))
'''


@needs_core
def test_deep_recursion_in_stack_mode_completes(tmp_path):
    script = tmp_path / 'deep.py'
    script.write_text(DEEP)
    # 3.11's default thread stack is 8 MiB: 80,000 levels under the hook
    # would need several times that.
    proc = run([script, tmp_path / 'deep.etl', 80_000], cwd=tmp_path, timeout=300)
    result = json.loads(proc.stdout.splitlines()[-1])
    assert result['main'] == 80_000 and result['thread'] == 80_000
    assert result['after'] == 2
    assert result['info']['deep_recursion_parks'] >= 2          # main thread and the other one
    assert result['info']['active'] == 'stack'
    # The hook came back after the deep part: the function called after it
    # still got a thunk (a PythonFunction with a real address range).
    funcs = {e['fields']['Name']: e['fields'] for e in python_events(tmp_path / 'deep.etl')
             if e['event'] == 'PythonFunction'}
    after = funcs['after_the_deep_part']
    assert int(after['EndAddress'], 16) > int(after['BeginAddress'], 16) > 0
