"""Instrumented mode on each of its hooks: the same calls traced into the
.etl file argv[1]. argv[2] == 'default' lets etwtrace choose (its
sys.monitoring tool on 3.13/3.14); 'python-only' turns builtins off (the
frame-evaluation hook); 'profile' takes sys.monitoring's tool ids
2-4 first, as other tools would, so the profile function is used. With
ETWTRACE_FRAME_API=1 in the environment, frames are read only through
CPython's frame API. Prints the hook used and whether frames were walked.
Exercises Python calls, builtins (functions, methods called through their
descriptor, bound methods, a builtin raising), Python code called from C
(sorted key, map), class creation, operators and properties, generators
(yield, resume, throw, close), coroutines, exceptions unwinding several
frames and threads."""
import os
import sys
import threading

import etwtrace
import traceloggingdynamic as tld

etl, hook = sys.argv[1], sys.argv[2]
if hook == 'python-only':   # the frame-evaluation hook: Python functions, no builtins
    etwtrace._etwtrace.set_instrumented_builtins(False)
if hook == 'profile' and hasattr(sys, 'monitoring'):
    for tool in (2, 3, 4):
        sys.monitoring.use_tool_id(tool, f'placeholder {tool}')


class Point:
    def __init__(self, x):
        self.x = x

    def __add__(self, other):
        return Point(self.x + other.x)

    @property
    def double(self):
        return self.x * 2


def key(v):
    return -v


def deep(n):
    if n == 0:
        raise ValueError('bottom')
    return deep(n - 1)


def catcher():
    try:
        deep(3)
    except ValueError:
        return 'caught'


def numbers(n):
    for i in range(n):
        got = yield i
        if got:
            len(got)


def closing():
    try:
        yield 1
    finally:
        str(2)


async def leaf():
    return 5


async def root():
    return await leaf() + 1


def coroutine_run():
    c = root()
    try:
        c.send(None)
    except StopIteration as stop:
        return stop.value


def worker(depth):
    if depth:
        return worker(depth - 1)
    return os.getpid()


def everything():
    items = []
    items.append(len('abc'))                 # builtin function, method descriptor
    append = items.append
    append(3)                                # bound builtin method
    items.extend(sorted([3, 1, 2], key=key))  # Python called from C
    items.extend(map(key, [4, 5]))
    p = Point(1) + Point(2)                  # __init__, __add__
    items.append(p.double)                   # property
    items.append(catcher())
    try:
        divmod(1, 0)                         # a builtin raising (C_RAISE)
    except ZeroDivisionError:
        pass
    items.append(str.upper('a'))             # a method descriptor given its self explicitly
    try:
        list.append()                        # ... and without any argument: not reported
    except TypeError:
        pass
    g = numbers(3)
    next(g)
    g.send('xy')
    try:
        g.throw(KeyError('thrown'))
    except KeyError:
        pass
    c = closing()
    next(c)
    c.close()
    items.append(coroutine_run())
    threads = [threading.Thread(target=worker, args=(d,)) for d in (1, 2)]
    for t in threads:
        t.start()
        t.join()    # one at a time: the same order on both hooks
    # The Thread objects die here, inside everything(): threading's weak-set
    # callbacks then run while everything() runs for every hook. Freed with
    # the frame instead, they run after the profile function's return event
    # but before the evaluation hook's (docs/known-limits.md).
    del threads, t
    return items


session = tld.Session(etl, ['99a10640-320d-4b37-9e26-c311d86da7ab:5'])
session.start()
with etwtrace.InstrumentedTracer(with_threads=True):
    info = etwtrace._etwtrace.info()
    print('hook', info['instrumented_hook'], 'walk', info['instrumented_frame_walk'])
    everything()
session.stop()
