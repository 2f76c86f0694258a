"""Ten threads, thread i calls a chain of depth min(i, 2) + 1 and marks the
stack at its end: a(0) marks in a, a(1) in b, a(2+) in c."""
import threading

import etwtrace


def a(depth):
    if depth:
        b(depth - 1)
    else:
        etwtrace._mark_stack('end of chain')


def b(depth):
    if depth:
        c()
    else:
        etwtrace._mark_stack('end of chain')


def c():
    etwtrace._mark_stack('end of chain')


if __name__ == '__main__':
    threads = [threading.Thread(target=a, args=(i,), name=f'worker-{i}') for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
