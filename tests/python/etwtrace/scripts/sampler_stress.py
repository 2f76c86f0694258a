"""Everything that changes a thread's frames, while the built-in sampler
interrupts every thread 10,000 times a second: threads starting and
exiting, generators and coroutines created, resumed, thrown into and
closed, exceptions unwinding deep stacks, modules imported, code compiled
and freed, the garbage collector running, and the sampler itself stopped
and started again.

    python sampler_stress.py OUT.etl SECONDS CLOCK

Prints one line per sampler run: RUN {counts}.
"""
import asyncio
import gc
import importlib
import json
import os
import random
import shutil
import sys
import tempfile
import threading
import time

import etwtrace
from traceloggingdynamic import Session

RATE = 10000


def recurse_and_raise(n):
    if n == 0:
        raise ValueError('bottom')
    try:
        recurse_and_raise(n - 1)
    finally:
        pass


def exceptions():
    for depth in (1, 10, 100):
        try:
            recurse_and_raise(depth)
        except ValueError:
            pass


def numbers(limit):
    try:
        for i in range(limit):
            yield i
    except GeneratorExit:
        raise
    except KeyError:
        yield -1


def generators():
    for _ in range(20):
        g = numbers(100)
        next(g)
        next(g)
        g.throw(KeyError)
        g.close()
        sum(numbers(2000))  # long enough that CPU-time samples land in generator frames
        h = numbers(10)
        next(h)
        del h   # closed by its finalizer


async def leaf(i):
    await asyncio.sleep(0)
    return i


async def fan_out():
    return sum(await asyncio.gather(*(leaf(i) for i in range(20))))


def coroutines():
    asyncio.run(fan_out())


def compiled_code(i):
    ns = {}
    exec(compile(f'def f{i}(x):\n    return [x * k for k in range(50)]\n', f'<stress {i}>', 'exec'), ns)
    ns[f'f{i}'](i)


def imports(folder, i):
    name = f'stress_module_{os.getpid()}_{i}'
    with open(os.path.join(folder, name + '.py'), 'w') as f:
        f.write('def work():\n    return sum(range(1000))\nVALUE = work()\n')
    importlib.invalidate_caches()
    module = importlib.import_module(name)
    assert module.VALUE == sum(range(1000))
    del sys.modules[name]


def short_thread(rng):
    end = time.perf_counter() + rng.uniform(0.001, 0.02)
    while time.perf_counter() < end:
        exceptions()
    if rng.random() < 0.5:
        time.sleep(0.001)


def main():
    out, seconds, clock = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    session = Session(out, [etwtrace._etwtrace.PROVIDER_ID + ':5'])
    session.start()
    folder = tempfile.mkdtemp(prefix='sampler-stress-')
    sys.path.insert(0, folder)
    rng = random.Random(1)
    sampler = etwtrace.Sampler(rate=RATE, clock=clock)
    sampler.start()
    runs = []
    end = time.perf_counter() + seconds
    i = 0
    threads = []
    try:
        while time.perf_counter() < end:
            i += 1
            t = threading.Thread(target=short_thread, args=(random.Random(i),))
            t.start()
            threads.append(t)
            exceptions()
            generators()
            coroutines()
            compiled_code(i)
            if i % 5 == 0:
                imports(folder, i)
            if i % 7 == 0:
                gc.collect()
            if i % 25 == 0:   # stop and start again while threads run
                runs.append(sampler.stop())
                sampler = etwtrace.Sampler(rate=RATE, clock=clock)
                sampler.start()
            threads = [t for t in threads if t.is_alive()]
        for t in threads:
            t.join()
        runs.append(sampler.stop())
    finally:
        session.stop()
        shutil.rmtree(folder, ignore_errors=True)
    for r in runs:
        print('RUN ' + json.dumps(r._asdict()))
    print('ITERATIONS', i)


if __name__ == '__main__':
    main()
