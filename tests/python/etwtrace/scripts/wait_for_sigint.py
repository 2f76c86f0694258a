"""Announces on stdout that it is running (and its pid), then waits in a function of its
own until Ctrl-C (SIGINT) interrupts it: the traceback must show only this
file's frames, as under plain `python`."""
import os
import sys
import time


def wait_here():
    print('waiting', os.getpid(), flush=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.01)
    sys.exit(3)   # never interrupted: the test fails on this status


wait_here()
