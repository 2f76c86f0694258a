"""Does nothing traceable on purpose: runs with and without etwtrace."""
import sys

print('no events', *sys.argv[1:])
