"""Marks a stack at each level the arguments ask for: `by_arg.py a b c`
marks in a(), then in b() called from a(), then in c() called from b()."""
import sys

import etwtrace

WANTED = set(sys.argv[1:])


def a():
    etwtrace._mark_stack('in a')
    if 'b' in WANTED:
        b()


def b():
    etwtrace._mark_stack('in b')
    if 'c' in WANTED:
        c()


def c():
    etwtrace._mark_stack('in c')


if 'a' in WANTED:
    a()
