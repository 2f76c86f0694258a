"""``python -m traceloggingdynamic``: record and decode traces, provider ids.

``record -o OUT.etl --provider SPEC [...] [--stacks KEYWORDS] -- script.py args``
(or ``-- -m module args``) runs a Python program in this process with a
trace session live, then says on stderr where the trace went and how many
events it holds. The program's exit status is ours.

``decode FILE.etl [--format json|text] [--summary]`` prints one JSON object
(or text line) per record, or a summary (counted in C, without a line per
event). The file is read as it is decoded, never held whole. Damage goes to
stderr; the exit status is 0 when the file decoded fully, 1 when damage was
reported (a session that was never stopped counts: its last events are
missing), 2 for usage errors and files that cannot be read (including
devices and other non-regular files).

``id NAME...`` prints the provider id ETW tools derive from each name
(what ``tracelog -guid *NAME`` enables).
"""

import argparse
import collections
import os
import sys

from . import Session, _tld, providerid_from_name
from .etl import EtlFile
from ._runner import EXIT_OK, exit_like, run_target
from .sessions import ProviderSpec, _parse_keyword, parse_size, stop_for_cli

EXIT_DAMAGED, EXIT_USAGE = 1, 2


def _build_parser():
    parser = argparse.ArgumentParser(prog='python -m traceloggingdynamic',
                                     description='Record and decode TraceLogging traces (.etl files).')
    sub = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')

    rec = sub.add_parser(
        'record', help='run a Python program with a trace session live',
        usage='%(prog)s -o OUT.etl --provider SPEC [--provider SPEC ...] [--stacks KEYWORDS] '
              '[--buffer-size N] [--flush-interval SEC] [--max-size SIZE] -- (script.py | -m module) [args ...]',
        description='Runs script.py (or -m module) in this process, as `python script.py args` would, '
                    'while a session records the given providers into OUT.etl.')
    rec.add_argument('-o', '--output', required=True, metavar='OUT.etl', help='the .etl file to write')
    rec.add_argument('-p', '--provider', action='append', required=True, metavar='SPEC',
                     help='NAME_OR_GUID[:LEVEL[:ANY[:ALL]]]: a GUID, *Name (GUID hashed from Name) or a '
                          'provider name; LEVEL 0-255 (default 5); ANY/ALL keyword masks. Repeatable.')
    rec.add_argument('--stacks', default='0', metavar='KEYWORDS',
                     help='keyword mask (decimal or 0x hex) of events that get the native stack')
    rec.add_argument('--buffer-size', type=int, default=_tld.DEFAULT_BUFFER_SIZE, metavar='N',
                     help='bytes per buffer: a multiple of 1024 from 4096 to 16 MiB '
                          f'(default {_tld.DEFAULT_BUFFER_SIZE})')
    rec.add_argument('--flush-interval', type=float, default=1.0, metavar='SEC',
                     help='seconds between writes to the file (default 1.0)')
    rec.add_argument('--max-size', metavar='SIZE',
                     help='stop recording when the file reaches SIZE (bytes, or 500M, 2G: powers of 1024); '
                          'the program goes on and the file keeps what came before (default: no limit)')
    rec.add_argument('target', nargs=argparse.REMAINDER, help='script.py args, or -m module args')

    dec = sub.add_parser('decode', help='print the events of an .etl file',
                         description='Prints one JSON object per event (or one text line), or a summary.')
    dec.add_argument('file', metavar='FILE.etl')
    dec.add_argument('--format', choices=('json', 'text'), default='json')
    dec.add_argument('--summary', action='store_true',
                     help='print events per provider and event name, the time span and lost events instead')

    id_cmd = sub.add_parser('id', help='print the provider id derived from provider names')
    id_cmd.add_argument('names', nargs='+', metavar='NAME')
    return parser


def main(argv=None):
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command == 'id':
        for name in args.names:
            print(f'{providerid_from_name(name)}  {name}')
        return EXIT_OK
    if args.command == 'decode':
        return _decode(args)
    return _record(parser, args)


# ---- decode ----

def _error(message):
    print(f'python -m traceloggingdynamic: {message}', file=sys.stderr)


def _decode(args):
    try:
        etl = EtlFile(args.file)
    except OSError as e:
        _error(f'cannot read {args.file}: {e.strerror or e}')
        return EXIT_USAGE
    except ValueError as e:
        _error(str(e))
        return EXIT_USAGE
    shown = 0

    def report_damage():
        nonlocal shown
        while shown < len(etl.errors):
            print(f'{args.file}: {etl.errors[shown]}', file=sys.stderr)
            shown += 1

    try:
        if args.summary:
            _print_summary(etl)   # says whether the session was stopped
            report_damage()
        else:
            out = sys.stdout
            for line in etl.lines(args.format):
                out.write(line)
                out.write('\n')
                if len(etl.errors) > shown:
                    out.flush()
                    report_damage()
            out.flush()
            report_damage()
            for note in etl.notes:
                print(f'{args.file}: {note}', file=sys.stderr)
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as cat does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    more = etl.error_count - len(etl.errors)
    if more > 0:
        print(f'{args.file}: ... and {more} more problems not listed', file=sys.stderr)
    # Damage, or a session never stopped (its last events are missing): 1.
    return EXIT_DAMAGED if etl.error_count or etl.notes else EXIT_OK


def _print_summary(etl):
    s = etl.summary()
    header, counts = etl.header, etl.counts
    print(f'file: {etl.path}')
    print(f'events: {s["events"] + s["messages"]}')
    system = s['system_records']
    parts = []
    if s['system_listed']:
        parts.append('kernel records, by class below')
    if system - s['system_listed']:
        parts.append(f'{system - s["system_listed"]} EventTrace records of the file itself, not listed')
    print(f'system records: {system}' + (f' ({"; ".join(parts)})' if parts else ''))
    print(f'time span: {s["first_time"] or "-"} .. {s["last_time"] or "-"}')
    lost = header.get('events_lost') if header.get('present') else None
    print(f'lost events (header EventsLost): {lost if lost is not None else "unknown (no logfile header)"}')
    print(f'damaged: {counts["damaged_records"]} records, {counts["damaged_buffers"]} buffers, '
          f'{counts["undecodable_events"]} events not fully decoded')
    if counts['compressed_buffers']:
        print(f'compressed buffers: {counts["compressed_buffers"]} of {counts["buffer_count"]}')
    if etl.notes:
        print(f'session: not stopped (still running, or killed): events after its last flush, at '
              f'{etl.last_flush}, are missing')
    rows = s['rows']
    if rows:
        print()
        width = max(len(str(r[2])) for r in rows)
        by_provider = collections.Counter()
        for provider, _, n, _ in rows:
            by_provider[provider] += n
        for provider, n in sorted(by_provider.items(), key=lambda kv: (-kv[1], kv[0])):
            print(f'{n:>{width}}  {provider}')
            for p, name, m, _ in sorted(rows, key=lambda r: (-r[2], r[1])):
                if p == provider:
                    print(f'{m:>{width}}    {name}')


# ---- record ----

def _record(parser, args):
    target = list(args.target)
    if target and target[0] == '--':
        target.pop(0)
    if not target:
        parser.error('record: give the program to run after --, e.g. `-- script.py args` or `-- -m module args`')
    if target[0] == '-m' and len(target) < 2:
        parser.error('record: -m needs a module name')
    if target[0] != '-m' and not os.path.isfile(target[0]):
        _error(f"record: can't open file {target[0]!r}: no such file")
        return EXIT_USAGE
    try:
        stacks = _parse_keyword(args.stacks, '--stacks')
        max_size = parse_size(args.max_size, '--max-size') if args.max_size is not None else None
        specs = [ProviderSpec.parse(text) for text in args.provider]
        session = Session(args.output, specs, stacks=stacks, buffer_size=args.buffer_size,
                          flush_interval=args.flush_interval, max_size=max_size)
        session.start()
    except (ValueError, TypeError) as e:
        _error(f'record: {e}')
        return EXIT_USAGE
    except OSError as e:
        _error(f'record: cannot create {args.output}: {e.strerror or e}')
        return EXIT_USAGE
    try:
        status = run_target(target)
    finally:
        stats, losses = stop_for_cli(session)
        print(f'trace written to {args.output}: {stats.events_written} events, '
              f'{stats.events_lost} lost, {stats.buffers_written} buffers', file=sys.stderr)
        for text in losses:
            _error(f'record: WARNING: {text}')
        for line in session.unmatched_providers():
            _error(f'record: {line}')
    return status



if __name__ == '__main__':
    exit_like(main())
