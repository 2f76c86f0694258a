"""Side-by-side speed of our C ``traceloggingdynamic`` and Microsoft's
pure-Python reference 1.0.1, measured in one process.

What it measures (ns per event / per call, median over several rounds):

1. Per-event cost of the typical hot path, on a reused EventBuilder::

       eb.reset(b'Event', 5, 1)
       eb.add_int32(b'i', 123); eb.add_float64(b'f', 1.5)
       eb.add_str16(b's16', 'hello world'); eb.add_str8(b's8', 'hello world')
       eb.add_guid(b'g', a_uuid); eb.add_int32_seq(b'seq', list_of_16_ints)
       provider.write(eb)

   to a provider nobody listens to, ours vs the reference, and the ratio
   reference/ours (target >= 30x). Extra rows: reset+add_int32+write alone,
   and a large event (one str16 of 1000 characters).
2. ``provider.is_enabled()`` / ``is_enabled(5, 1)`` on a disabled provider
   (ours only) against trivial C calls: ``traceloggingdynamic._tld._noop()``
   (a METH_FASTCALL module function returning False) and ``int.bit_length``
   of a small int, both as a method-style call through an attribute and as a
   pre-bound callable (target: is_enabled within 1.5x of ``_noop``).
   Shown raw and net of the measured
   empty-loop overhead.
3. Where the per-event time goes: each call of the hot path timed on its own
   (``reset``; ``reset`` + one ``add_*`` minus ``reset``; ``write`` of a
   finished event), for both implementations, with each call's share of the
   sum.

No pass/fail: it prints numbers and ratios only (the machine may be noisy).

Method: timeit-style loops (``for _ in itertools.repeat(None, n)``) around
generated code, the short calls unrolled 10x, timed with
``time.perf_counter_ns`` with the garbage collector disabled. The two
implementations are interleaved case by case in every round (alternating who
goes first) and medians over the rounds are reported; ``--json`` also keeps
every sample.

The reference is Windows-only (its ``Provider`` class body calls
``ctypes.WinDLL``), so it is loaded from its file under the module name
``tld_reference_bench`` with ``ctypes.WinDLL`` replaced, during the import
only, by a stand-in whose functions are plain Python functions returning 0:
EventWriteTransfer 0 (nobody listens), EventProviderEnabled 0, and
EventRegister 0 after storing a nonzero handle through its ``byref`` argument
so the provider is open. A real ctypes foreign call with argtypes conversion
costs more than such a Python function, so the reference's numbers, and the
ratios, are if anything on the low side; ``--ffi-standin`` makes the
reference's ETW calls real ctypes foreign calls (to libc ``isalpha``, which
returns 0 for the handle value 1) to include that conversion cost. The
reference file is checked by SHA-256 so that another file (or our own module)
cannot stand in for it, and before timing the script checks that both encode
the per-event event to the same descriptor, metadata and data bytes.

How to run::

    make bench
    # which runs:
    TLD_REFERENCE_PATH=$PWD/.cache/reference/traceloggingdynamic/__init__.py \\
        .venv/bin/python bench/bench_event.py

``TLD_REFERENCE_PATH`` defaults to
``.cache/reference/traceloggingdynamic/__init__.py`` in the checkout (install it
with ``pip install --no-deps --target .cache/reference
traceloggingdynamic==1.0.1``). Options: ``--rounds N`` (default 7),
``--scale X`` (multiplies every iteration count; 0.1 for a quick look),
``--json FILE`` (write all numbers), ``--only ours`` (skip the reference, e.g.
under ``perf stat``), ``--sections 1,2,3``, ``--clock cpu`` (tables from
``time.thread_time_ns`` instead of ``perf_counter_ns``: leaves out time the
thread was descheduled; both clocks are always recorded, and a ``noise:``
line says how much other work interfered), ``--ffi-standin`` (see above).
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import itertools
import json
import os
import pathlib
import platform
import statistics
import sys
import time
import uuid

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
REFERENCE_MODULE_NAME = 'tld_reference_bench'

UNROLL = 10  # short calls are repeated this many times per loop iteration
CLOCK = 'wall'  # which clock the tables use: 'wall' (perf_counter_ns) or 'cpu' (--clock cpu)

# ---------------------------------------------------------------------------
# Loading the reference with a stand-in ETW DLL.


def _stand_in_function(name):
    def function(*args):
        return 0
    function.__name__ = name
    return function


def _event_register(provider_id, callback, context, handle_ref):
    # handle_ref is ctypes.byref(c_uint64): store a nonzero handle so the
    # reference's provider is "open", as after a successful EventRegister.
    handle_ref._obj.value = 1
    return 0


FFI_STAND_IN = False  # --ffi-standin


def _ffi_function(name):
    # A real ctypes foreign function, so that the reference's calls pay
    # ctypes' argument conversion as on Windows: libc's isalpha(), which
    # returns 0 for the first argument these calls pass (the handle, 1) and
    # ignores the others (x86-64/aarch64 calling conventions). A fresh
    # function object per name keeps the reference's argtypes apart.
    function = ctypes.CDLL(None)['isalpha']
    return function


class _StandInWinDLL:
    """``ctypes.WinDLL(name, mode=...)`` stand-in: every export is a Python
    function returning 0 (ERROR_SUCCESS / not enabled / nobody listening);
    with --ffi-standin, all but EventRegister are ctypes calls of isalpha()."""

    def __init__(self, name, mode=0, *args, **kwargs):
        self._name = name

    def __getattr__(self, name):
        if name.startswith('_'):
            raise AttributeError(name)
        if name == 'EventRegister':
            function = _event_register
        elif FFI_STAND_IN:
            function = _ffi_function(name)
        else:
            function = _stand_in_function(name)
        setattr(self, name, function)
        return function


def load_reference():
    """The reference, loaded by the test suite's loader (tests/python/tld/
    reference_impl.py: path, version check) with this benchmark's stand-in."""
    sys.path.insert(0, str(REPO_ROOT / 'tests' / 'python' / 'tld'))
    import reference_impl
    try:
        module = reference_impl.load_reference(_StandInWinDLL, REFERENCE_MODULE_NAME)
    except reference_impl.ReferenceUnavailable as e:
        sys.exit(f'bench: {e} (or use --only ours)')
    return module, reference_impl.reference_path()


# ---------------------------------------------------------------------------
# Timing machinery.

_TEMPLATE = '''
def _bench(_n, _timer, _cpu, _repeat, eb, p, u, seq, big, noop, mod, x, ie, bl):
    _c0 = _cpu()
    _t0 = _timer()
    for _ in _repeat(None, _n):
{body}
    _t1 = _timer()
    return _t1 - _t0, _cpu() - _c0
'''


def make_timer(body: str, unroll: int = 1):
    """Compile a loop running ``body`` (statements, ';'-separated allowed)
    ``unroll`` times per iteration; returns f(n, ctx) -> (wall, cpu) ns per
    body: wall from perf_counter_ns, cpu from thread_time_ns (this thread's
    CPU time, which leaves out time the thread was descheduled)."""
    lines = '\n'.join('        ' + body for _ in range(unroll))
    namespace = {}
    exec(compile(_TEMPLATE.format(body=lines), f'<bench {body[:40]}>', 'exec'), namespace)
    fn = namespace['_bench']

    def run(n, ctx):
        gc.collect()
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            wall, cpu = fn(n, time.perf_counter_ns, time.thread_time_ns, itertools.repeat, ctx['eb'], ctx['p'], ctx['u'], ctx['seq'],
                         ctx['big'], ctx['noop'], ctx['mod'], ctx['x'], ctx['ie'], ctx['bl'])
        finally:
            if was_enabled:
                gc.enable()
        return wall / (n * unroll), cpu / (n * unroll)
    return run


class Case:
    def __init__(self, key, label, body, unroll=1, setup=None, n_ours=200_000, n_ref=20_000, ref=True):
        self.key, self.label, self.body = key, label, body
        self.unroll, self.setup = unroll, setup
        self.n_ours, self.n_ref, self.ref = n_ours, n_ref, ref
        self.timer = make_timer(body, unroll)
        self.samples = {'ours': [], 'reference': []}      # wall-clock ns per body
        self.cpu_samples = {'ours': [], 'reference': []}  # thread CPU ns per body

    def median(self, impl, clock=None):
        s = (self.cpu_samples if (clock or CLOCK) == 'cpu' else self.samples)[impl]
        return statistics.median(s) if s else None


RESET = "eb.reset(b'Event', 5, 1)"
ADDS = [
    ('add_int32', "eb.add_int32(b'i', 123)"),
    ('add_float64', "eb.add_float64(b'f', 1.5)"),
    ('add_str16', "eb.add_str16(b's16', 'hello world')"),
    ('add_str8', "eb.add_str8(b's8', 'hello world')"),
    ('add_guid', "eb.add_guid(b'g', u)"),
    ('add_int32_seq', "eb.add_int32_seq(b'seq', seq)"),
]
WRITE = 'p.write(eb)'


def build_full_event(ctx):
    """Leave ctx's builder holding the complete per-event event (for write)."""
    eb, u, seq = ctx['eb'], ctx['u'], ctx['seq']
    eb.reset(b'Event', 5, 1)
    eb.add_int32(b'i', 123)
    eb.add_float64(b'f', 1.5)
    eb.add_str16(b's16', 'hello world')
    eb.add_str8(b's8', 'hello world')
    eb.add_guid(b'g', u)
    eb.add_int32_seq(b'seq', seq)


def make_cases(sections):
    cases = []
    if 1 in sections:
        full = '; '.join([RESET] + [c for _, c in ADDS] + [WRITE])
        cases += [
            Case('per_event', 'reset + 6 add_* + write', full),
            Case('small_event', 'reset + add_int32 + write', f"{RESET}; eb.add_int32(b'i', 123); {WRITE}"),
            Case('large_event', 'reset + add_str16(1000 chars) + write', f"{RESET}; eb.add_str16(b'big', big); {WRITE}",
                 n_ours=100_000, n_ref=10_000),
        ]
    if 2 in sections:
        n = 200_000  # iterations; each runs the call UNROLL times
        micro = [
            ('loop', 'empty loop (overhead)', 'pass'),
            ('is_enabled', 'p.is_enabled()', 'p.is_enabled()'),
            ('is_enabled_5_1', 'p.is_enabled(5, 1)', 'p.is_enabled(5, 1)'),
            ('mod_noop', '_tld._noop()', 'mod._noop()'),
            ('mod_noop_5_1', '_tld._noop(5, 1)', 'mod._noop(5, 1)'),
            ('bit_length', 'x.bit_length()', 'x.bit_length()'),
            ('bound_is_enabled', 'ie() [ie = p.is_enabled]', 'ie()'),
            ('bound_is_enabled_5_1', 'ie(5, 1)', 'ie(5, 1)'),
            ('bound_noop', 'noop() [noop = _tld._noop]', 'noop()'),
            ('bound_noop_5_1', 'noop(5, 1)', 'noop(5, 1)'),
            ('bound_bit_length', 'bl() [bl = x.bit_length]', 'bl()'),
        ]
        cases += [Case(k, label, body, unroll=UNROLL, n_ours=n, ref=False) for k, label, body in micro]
    if 3 in sections:
        cases.append(Case('part_reset', 'reset', RESET, n_ours=500_000, n_ref=50_000))
        for name, call in ADDS:
            cases.append(Case('part_reset+' + name, 'reset + ' + name, f'{RESET}; {call}',
                              n_ours=500_000, n_ref=50_000))
        cases.append(Case('part_write', 'write (finished event)', WRITE, unroll=UNROLL, setup=build_full_event,
                          n_ours=100_000, n_ref=10_000))
    return cases


def make_context(module, provider):
    return {
        'eb': module.EventBuilder(),
        'p': provider,
        'u': uuid.UUID('01234567-89ab-cdef-0123-456789abcdef'),
        'seq': list(range(-8, 8)),
        'big': 'x' * 1000,
        'noop': None, 'mod': None, 'x': 5, 'ie': None, 'bl': None,
    }


def run_rounds(cases, contexts, rounds, scale, progress):
    impls = list(contexts)
    # Warm-up: one short run of everything (specialisation, caches, buffers).
    for case in cases:
        for impl in impls:
            if impl == 'reference' and not case.ref:
                continue
            ctx = contexts[impl]
            if case.setup:
                case.setup(ctx)
            case.timer(max(1, int(case.n_ref * scale) // 10), ctx)
    for r in range(rounds):
        order = impls if r % 2 == 0 else impls[::-1]
        for case in cases:
            for impl in order:
                if impl == 'reference' and not case.ref:
                    continue
                ctx = contexts[impl]
                if case.setup:
                    case.setup(ctx)
                n = max(1, int((case.n_ours if impl == 'ours' else case.n_ref) * scale))
                wall, cpu = case.timer(n, ctx)
                case.samples[impl].append(wall)
                case.cpu_samples[impl].append(cpu)
        if progress:
            print(f'  round {r + 1}/{rounds} done', file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Report.

def fmt_ns(v):
    if v is None:
        return '-'
    return f'{v:,.0f}' if v >= 100 else f'{v:.1f}'


def fmt_ratio(a, b):
    if a is None or b is None or b <= 0:
        return '-'
    return f'{a / b:.1f}x' if a / b >= 10 else f'{a / b:.2f}x'


def report(cases, have_ref):
    by_key = {c.key: c for c in cases}
    out = {}
    finals = []

    def m(key, impl='ours'):
        c = by_key.get(key)
        return c.median(impl) if c else None

    if 'per_event' in by_key:
        print('\n1. Events to a provider nobody listens to (ns/event, median)')
        print(f'   {"case":<40} {"ours":>9} {"reference":>11} {"ref/ours":>9}')
        for key in ('per_event', 'small_event', 'large_event'):
            c = by_key[key]
            o, r = c.median('ours'), c.median('reference') if have_ref else None
            print(f'   {c.label:<40} {fmt_ns(o):>9} {fmt_ns(r):>11} {fmt_ratio(r, o):>9}')
            out[key] = {'ours_ns': o, 'reference_ns': r, 'ratio': (r / o) if r and o else None}
        o, r = m('per_event'), m('per_event', 'reference') if have_ref else None
        other = 'cpu' if CLOCK == 'wall' else 'wall'
        c = by_key['per_event']
        oo, ro = c.median('ours', other), c.median('reference', other) if have_ref else None
        if have_ref:
            finals.append(f'per-event: ours {fmt_ns(o)} ns, reference {fmt_ns(r)} ns, '
                          f'ratio {r / o:.1f}x (target >= 30x)  '
                          f'[{other} clock: {fmt_ns(oo)} / {fmt_ns(ro)} ns, {ro / oo:.1f}x]')
        else:
            finals.append(f'per-event: ours {fmt_ns(o)} ns (reference not measured)  [{other} clock: {fmt_ns(oo)} ns]')

    if 'loop' in by_key:
        loop = m('loop')
        print(f'\n2. Enabled check on a disabled provider vs trivial C calls (ns/call, median; '
              f'{UNROLL}x unrolled, empty-loop overhead {loop:.2f} ns/call)')
        print(f'   {"call":<36} {"raw":>7} {"net":>7} {"vs _noop":>9}')
        pairs = {
            'is_enabled': 'mod_noop', 'is_enabled_5_1': 'mod_noop_5_1',
            'mod_noop': 'mod_noop',
            'mod_noop_5_1': 'mod_noop_5_1', 'bit_length': 'mod_noop',
            'bound_is_enabled': 'bound_noop', 'bound_is_enabled_5_1': 'bound_noop_5_1', 'bound_noop': 'bound_noop',
            'bound_noop_5_1': 'bound_noop_5_1', 'bound_bit_length': 'bound_noop',
        }
        for key, base in pairs.items():
            c = by_key[key]
            raw = c.median('ours')
            net, bnet = raw - loop, m(base) - loop
            print(f'   {c.label:<36} {raw:>7.1f} {net:>7.1f} {fmt_ratio(net, bnet):>9}')
            out[key] = {'raw_ns': raw, 'net_ns': net, 'baseline': base, 'ratio_net': net / bnet if bnet > 0 else None,
                        'ratio_raw': raw / m(base)}
        out['loop'] = {'raw_ns': loop}
        for what, a, b, bl in (('is_enabled()', 'is_enabled', 'mod_noop', 'bit_length'),
                               ('is_enabled(5, 1)', 'is_enabled_5_1', 'mod_noop_5_1', None)):
            na, nb = m(a) - loop, m(b) - loop
            extra = f', bit_length {m(bl) - loop:.1f} ns' if bl else ''
            finals.append(f'{what}: {na:.1f} ns net ({m(a):.1f} raw), _noop{what[10:]} {nb:.1f} ns net '
                          f'({m(b):.1f} raw){extra}; ratio {na / nb:.2f}x net, {m(a) / m(b):.2f}x raw '
                          f'(target <= 1.5x)')

    if 'part_reset' in by_key:
        print('\n3. Where the per-event time goes (ns/call, median; add_* = (reset + add) - reset)')
        print(f'   {"call":<18} {"ours":>8} {"share":>6} {"reference":>10} {"share":>6} {"ref/ours":>9}')
        rows = [('reset', m('part_reset'), m('part_reset', 'reference') if have_ref else None)]
        for name, _ in ADDS:
            o = m('part_reset+' + name) - m('part_reset')
            r = (m('part_reset+' + name, 'reference') - m('part_reset', 'reference')) if have_ref else None
            rows.append((name, o, r))
        rows.append(('write', m('part_write'), m('part_write', 'reference') if have_ref else None))
        so = sum(o for _, o, _ in rows)
        sr = sum(r for _, _, r in rows) if have_ref else None
        parts = {}
        for name, o, r in rows:
            shr = f'{100 * r / sr:5.1f}%' if have_ref else '-'
            print(f'   {name:<18} {fmt_ns(o):>8} {100 * o / so:5.1f}% {fmt_ns(r):>10} {shr:>6} {fmt_ratio(r, o):>9}')
            parts[name] = {'ours_ns': o, 'reference_ns': r}
        print(f'   {"sum of parts":<18} {fmt_ns(so):>8} {"":>6} {fmt_ns(sr):>10} {"":>6} {fmt_ratio(sr, so):>9}')
        if 'per_event' in by_key:
            pe_r = m('per_event', 'reference') if have_ref else None
            print(f'   {"measured together":<18} {fmt_ns(m("per_event")):>8} {"":>6} {fmt_ns(pe_r):>10}')
        out['breakdown'] = parts
        out['breakdown_sum'] = {'ours_ns': so, 'reference_ns': sr}
    return out, finals


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--rounds', type=int, default=7)
    ap.add_argument('--scale', type=float, default=1.0, help='multiply every iteration count')
    ap.add_argument('--json', metavar='FILE', help='write the numbers to FILE')
    ap.add_argument('--only', choices=('ours',), help='measure ours only (no reference needed)')
    ap.add_argument('--sections', default='1,2,3', help='comma-separated subset of 1,2,3')
    ap.add_argument('--clock', choices=('wall', 'cpu'), default='wall',
                    help='clock for the tables: wall = perf_counter_ns (default), cpu = thread_time_ns '
                         '(leaves out time descheduled; use on a busy machine)')
    ap.add_argument('--ffi-standin', action='store_true',
                    help="the reference's ETW calls go through real ctypes foreign calls (to libc isalpha, "
                         'returning 0) instead of Python functions: closer to its cost on Windows')
    ap.add_argument('--quiet', action='store_true', help='no progress on stderr')
    args = ap.parse_args(argv)
    global CLOCK, FFI_STAND_IN
    CLOCK = args.clock
    FFI_STAND_IN = args.ffi_standin
    sections = {int(s) for s in args.sections.split(',') if s.strip()}

    import traceloggingdynamic as ours
    from traceloggingdynamic import _tld

    contexts = {}
    p_ours = ours.Provider(b'TraceLoggingDynamic.Bench')
    assert p_ours.is_open() and not p_ours.is_enabled() and not p_ours.is_enabled(5, 1)
    ctx = make_context(ours, p_ours)
    ctx.update(noop=_tld._noop, mod=_tld, ie=p_ours.is_enabled, bl=(5).bit_length)
    contexts['ours'] = ctx

    ref_path = None
    have_ref = args.only != 'ours'
    if have_ref:
        ref, ref_path = load_reference()
        p_ref = ref.Provider(b'TraceLoggingDynamic.Bench')
        assert p_ref.is_open(), 'stand-in EventRegister did not open the reference provider'
        contexts['reference'] = make_context(ref, p_ref)
        # Sanity check that both do the same work: the per-event event has
        # the same descriptor, metadata and data bytes in both.
        for name in ('ours', 'reference'):
            build_full_event(contexts[name])
            assert contexts[name]['p'].write(contexts[name]['eb']) == 0
        eo, er = contexts['ours']['eb'], contexts['reference']['eb']
        assert bytes(eo._get_event_desc()) == bytes(er._get_event_desc())
        ref_meta = ctypes.string_at(ctypes.addressof(er._meta), er._meta_pos)  # size slot set by write()
        ref_data = ctypes.string_at(ctypes.addressof(er._data), er._data_pos)
        assert eo._get_meta_data() == (ref_meta, ref_data), 'ours and the reference encode the event differently'

    cases = make_cases(sections)
    print(f'traceloggingdynamic bench: Python {platform.python_version()} on {platform.machine()}, '
          f'{os.cpu_count()} CPUs, {args.rounds} rounds, scale {args.scale:g}; ours {pathlib.Path(ours.__file__).parent}'
          + (f'; reference {ref_path}' if ref_path else '')
          + ('; reference ETW calls via ctypes FFI stand-ins' if have_ref and FFI_STAND_IN else ''))
    t0 = time.monotonic()
    run_rounds(cases, contexts, args.rounds, args.scale, progress=not args.quiet)
    results, finals = report(cases, have_ref)
    # How busy the machine was: wall/cpu per sample > 1.05 means the thread
    # was descheduled for more than 5% of that sample.
    ratios = [w / c for case in cases for impl in case.samples
              for w, c in zip(case.samples[impl], case.cpu_samples[impl]) if c > 0]
    busy = sum(1 for q in ratios if q > 1.05)
    print()
    for line in finals:
        print(line)
    hint = ' -- busy machine: --clock cpu gives steadier numbers' if CLOCK == 'wall' and busy > 0.2 * len(ratios) else ''
    print(f'noise: {busy} of {len(ratios)} samples lost >5% of wall time to other work '
          f'(median wall/cpu {statistics.median(ratios):.3f}, max {max(ratios):.2f}); tables use the {CLOCK} clock{hint}')
    print(f'({time.monotonic() - t0:.1f} s)')

    if args.json:
        doc = {
            'python': sys.version, 'machine': platform.machine(), 'cpus': os.cpu_count(),
            'rounds': args.rounds, 'scale': args.scale, 'unroll': UNROLL, 'clock': CLOCK,
            'ffi_standin': FFI_STAND_IN,
            'ours_path': str(pathlib.Path(ours.__file__).parent),
            'reference_path': str(ref_path) if ref_path else None,
            'results': results,
            'summary': finals,
            'samples_wall_ns': {c.key: {impl: s for impl, s in c.samples.items() if s} for c in cases},
            'samples_cpu_ns': {c.key: {impl: s for impl, s in c.cpu_samples.items() if s} for c in cases},
            'noise': {'samples': len(ratios), 'descheduled_over_5pct': busy,
                      'median_wall_over_cpu': statistics.median(ratios)},
        }
        pathlib.Path(args.json).write_text(json.dumps(doc, indent=2) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
