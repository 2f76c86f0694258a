"""a() -> b() -> a stack mark (seed API): the smallest traced program."""
import etwtrace


def a():
    b()


def b():
    etwtrace._stack_mark('basic')


a()
