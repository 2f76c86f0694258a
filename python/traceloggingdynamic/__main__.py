"""``python -m traceloggingdynamic``: small command-line helpers.

``id NAME...`` prints the provider id ETW tools derive from each name
(what ``tracelog -guid *NAME`` enables).
"""

import argparse
import sys

from . import providerid_from_name


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python -m traceloggingdynamic',
                                     description='TraceLogging helpers.')
    sub = parser.add_subparsers(dest='command', required=True)
    id_cmd = sub.add_parser('id', help='print the provider id derived from provider names')
    id_cmd.add_argument('names', nargs='+', metavar='NAME')
    args = parser.parse_args(argv)
    if args.command == 'id':
        for name in args.names:
            print(f'{providerid_from_name(name)}  {name}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
