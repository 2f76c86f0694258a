"""Fork while tracing: the child starts its own session (argv[2]) and calls
functions it never ran before; the parent (session argv[1]) goes on too.
Prints the child's pid."""
import os
import sys

import etwtrace
import traceloggingdynamic as tld

PROVIDER = '99a10640-320d-4b37-9e26-c311d86da7ab:5'


def before_fork():
    return 1


def child_leaf():
    etwtrace._mark_stack('child')


def child_main():
    before_fork()
    child_leaf()


def parent_leaf():
    etwtrace._mark_stack('parent')


def parent_main():
    parent_leaf()


with etwtrace.StackSamplingTracer():
    with tld.Session(sys.argv[1], [PROVIDER], stacks=0x200):
        before_fork()
        pid = os.fork()
        if pid == 0:
            status = 0
            try:
                with tld.Session(sys.argv[2], [PROVIDER], stacks=0x200):
                    child_main()
            except BaseException as e:
                print('child failed:', repr(e), file=sys.stderr)
                status = 1
            sys.stdout.flush()
            os._exit(status)
        parent_main()
        _, wstatus = os.waitpid(pid, 0)
print(pid, os.waitstatus_to_exitcode(wstatus))
