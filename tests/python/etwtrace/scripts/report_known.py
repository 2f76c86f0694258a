"""A program with a known call structure for the report tests:
outer() calls rec(5) three times (rec recurses six levels deep, the
innermost calls leaf()); a plain mark, a mark range around one leaf(); a
thread named 'worker' runs worker(), which calls leaf() four times.
Calls: outer 1, rec 18, leaf 8, worker 1. No builtins are called from
these functions, so their stacks hold only them."""
import threading

import etwtrace


def leaf():
    x = i = 0
    while i < 2000:
        x += i
        i += 1
    return x


def rec(n):
    if n:
        return rec(n - 1)
    return leaf()


def outer():
    for _ in range(3):
        rec(5)


def worker():
    leaf()
    leaf()
    leaf()
    leaf()


if __name__ == '__main__':
    outer()
    etwtrace.mark('plain mark')
    with etwtrace.mark_range('range mark'):
        leaf()
    t = threading.Thread(target=worker, name='worker')
    t.start()
    t.join()
