"""c() <- b() <- a(): a busy loop in c for perf sampling (seconds from argv)."""
import sys
import time


def c(deadline):
    n = 0
    while time.monotonic() < deadline:
        for i in range(2000):
            n += i * i
    return n


def b(deadline):
    return c(deadline)


def a(deadline):
    return b(deadline)


if __name__ == '__main__':
    a(time.monotonic() + float(sys.argv[1] if len(sys.argv) > 1 else 1.0))
