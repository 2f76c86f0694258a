"""Burns CPU in spin() <- main() until interrupted (Ctrl-C); writes the
file named by argv[1] once it runs, so a test knows when to press it."""
import sys
import time


def spin():
    n = 0
    for i in range(10000):
        n += i
    return n


def main():
    open(sys.argv[1], 'w').close()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        spin()


main()
