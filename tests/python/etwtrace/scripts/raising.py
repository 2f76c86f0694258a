"""Exceptions unwinding through traced frames, generators, and a mark after
each, then the status of the last uncaught error as the exit status."""
import sys

import etwtrace


def thrower(n):
    if n == 0:
        raise ValueError('deep')
    thrower(n - 1)


def catcher():
    try:
        thrower(3)
    except ValueError:
        etwtrace._mark_stack('caught')


def gen():
    yield 1
    yield 2
    raise KeyError('in generator')


def consume():
    try:
        for _ in gen():
            pass
    except KeyError:
        etwtrace._mark_stack('generator raised')


catcher()
consume()
if 'uncaught' in sys.argv:
    thrower(2)
