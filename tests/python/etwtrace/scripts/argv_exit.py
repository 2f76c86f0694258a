"""Prints what a program sees of its invocation, then exits with the status
given as the first argument (default 0)."""
import json
import os
import sys

print(json.dumps({'argv': sys.argv, 'path0': sys.path[0], 'name': __name__,
                  'cwd': os.getcwd(), 'main_file': getattr(sys.modules['__main__'], '__file__', None)}))
sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
