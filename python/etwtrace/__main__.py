"""``python -m etwtrace``: not implemented yet in this build (see README)."""

import sys

from . import _NOT_YET

if __name__ == '__main__':
    print(_NOT_YET, file=sys.stderr)
    sys.exit(2)
