"""A workload with a known split, for the built-in sampler's truth test and
benchmark: three functions burn CPU in random short bursts (their shares
set by SHARES, but measured: the truth is each function's own CPU and
elapsed time, taken inside every burst), each burst at a given
recursion depth, in one or more threads.

    python sampler_truth.py OUT.etl CLOCK RATE DEPTH THREADS SECONDS
    python sampler_truth.py - ...      (no session, no sampler: the bare run)

Runs a session and the built-in sampler around the workload only, and
prints one JSON line: {"threads": {tid: {"cpu": {"burn_a": s, ...,
"total": s}, "wall": {...}}}, "stats": sampler counts, "wall": s}: the CPU
and the elapsed time each function ran, of each thread. SECONDS is each
thread's CPU time.
"""
import json
import random
import sys
import threading
import time

SHARES = {'burn_a': 0.5, 'burn_b': 0.3, 'burn_c': 0.2}


def burn_a(seconds):  # BURN_A
    start, wall = time.thread_time(), time.perf_counter()  # BURN_A
    end = start + seconds             # BURN_A
    n = 0                             # BURN_A
    while time.thread_time() < end:   # BURN_A LOOP
        for _ in range(100):          # BURN_A LOOP
            n += 1                    # BURN_A LOOP
    return time.thread_time() - start, time.perf_counter() - wall  # BURN_A


def burn_b(seconds):  # BURN_B
    start, wall = time.thread_time(), time.perf_counter()  # BURN_B
    end = start + seconds             # BURN_B
    n = 0                             # BURN_B
    while time.thread_time() < end:   # BURN_B LOOP
        for _ in range(100):          # BURN_B LOOP
            n += 1                    # BURN_B LOOP
    return time.thread_time() - start, time.perf_counter() - wall  # BURN_B


def burn_c(seconds):  # BURN_C
    start, wall = time.thread_time(), time.perf_counter()  # BURN_C
    end = start + seconds             # BURN_C
    n = 0                             # BURN_C
    while time.thread_time() < end:   # BURN_C LOOP
        for _ in range(100):          # BURN_C LOOP
            n += 1                    # BURN_C LOOP
    return time.thread_time() - start, time.perf_counter() - wall  # BURN_C


FUNCTIONS = {'burn_a': burn_a, 'burn_b': burn_b, 'burn_c': burn_c}


def at_depth(depth, fn, seconds):
    if depth <= 1:
        return fn(seconds)
    return at_depth(depth - 1, fn, seconds)


def warm_up(seconds):
    """Runs before the measured bursts, while the sampler finds the thread
    (its first drain period): not part of the split."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def worker(depth, seconds, seed, out):
    warm_up(0.15)
    rng = random.Random(seed)
    names = list(SHARES)
    weights = [SHARES[n] for n in names]
    cpu, wall = dict.fromkeys(names, 0.0), dict.fromkeys(names, 0.0)
    start, wall_start = time.thread_time(), time.perf_counter()
    while time.thread_time() - start < seconds:
        name = rng.choices(names, weights)[0]
        burst = rng.uniform(0.0005, 0.004)
        c, w = at_depth(depth, FUNCTIONS[name], burst)   # its own time, not the recursion's
        cpu[name] += c
        wall[name] += w
    cpu['total'] = time.thread_time() - start
    wall['total'] = time.perf_counter() - wall_start
    out[threading.get_native_id()] = {'cpu': cpu, 'wall': wall}


def main():
    out_path, clock, rate, depth, nthreads, seconds = sys.argv[1:7]
    depth, nthreads, seconds, rate = int(depth), int(nthreads), float(seconds), int(rate)
    sys.setrecursionlimit(max(1000, depth + 200))
    session = sampler = None
    if out_path != '-':
        import etwtrace
        from traceloggingdynamic import Session
        session = Session(out_path, [etwtrace._etwtrace.PROVIDER_ID + ':5'])
        session.start()
        sampler = etwtrace.Sampler(rate=rate, clock=clock, max_depth=max(2048, depth + 100))
    results = {}
    threads = [threading.Thread(target=worker, args=(depth, seconds, i, results)) for i in range(nthreads)]
    if sampler is not None:
        sampler.start()
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    stats = sampler.stop()._asdict() if sampler is not None else None
    if session is not None:
        session.stop()
    print(json.dumps({'threads': results, 'stats': stats, 'wall': wall}))


if __name__ == '__main__':
    main()
