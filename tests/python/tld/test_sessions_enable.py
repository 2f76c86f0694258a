"""ETW enable semantics of in-process sessions, seen through the files.

What this file is for (issue 3): a session's provider filter (level,
match-any, match-all) decides exactly which events land in its file; several
sessions with different filters each get exactly their events; providers
created before or after a session starts are enabled when they match (by
plain name, ASCII case-insensitively; by ``*Name``; by GUID);
``Provider.is_enabled`` reflects the live sessions and flips back when the
last one stops; sessions start and stop while threads write.
"""

import itertools
import threading
import time
import uuid

import pytest

import traceloggingdynamic as tld
from traceloggingdynamic import EventBuilder, Provider

from etl_helpers import read_etl, scaled

LEVELS = [0, 1, 2, 3, 4, 5, 6, 255]
KEYWORDS = [0, 0x1, 0x2, 0x4, 0x6, 0x8, 0x3, 0xA, 0xE, 0x8000000000000000, 0x8000000000000002, 2**64 - 1]


def passes(level, keyword, f_level, f_any, f_all):
    """ETW's rule, as documented in tld_session.h / the brief."""
    level_ok = level == 0 or f_level == 0 or level <= f_level
    any_mask = f_any if f_any else 2**64 - 1
    kw_ok = keyword == 0 or ((keyword & any_mask) != 0 and (keyword & f_all) == f_all)
    return level_ok and kw_ok


def ev_name(level, keyword):
    return f'L{level}K{keyword:x}'


def write_grid(prov):
    eb = EventBuilder()
    for level, kw in itertools.product(LEVELS, KEYWORDS):
        eb.reset(ev_name(level, kw).encode(), level=level, keyword=kw)
        eb.add_uint8(b'level', level)
        prov.write(eb)


def names_in(path, provider=None):
    evs, errors, _ = read_etl(path)
    assert errors == []
    return [e['event'] for e in evs if provider is None or e['provider'] == provider]


def expected_names(*filters):
    out = []
    for level, kw in itertools.product(LEVELS, KEYWORDS):
        if any(passes(level, kw, *f) for f in filters):
            out.append(ev_name(level, kw))
    return out


FILTERS = [
    # (spec suffix, (level, any, all))
    ('', (5, 0, 0)),                       # default level is 5, every keyword
    (':0', (0, 0, 0)),                      # every level
    (':4', (4, 0, 0)),
    (':1:0x2', (1, 2, 0)),
    (':5:0x6:0x2', (5, 6, 2)),
    (':255:0:0x6', (255, 0, 6)),            # any 0 = all keywords, all 0x6 required
    (':3:0x8000000000000000', (3, 2**63, 0)),
    (':2:18446744073709551615:0x8000000000000002', (2, 2**64 - 1, 0x8000000000000002)),
    ('::0x8', (5, 8, 0)),                   # empty level part keeps the default
]


@pytest.mark.parametrize('suffix,flt', FILTERS, ids=[f[0] or 'default' for f in FILTERS])
def test_level_any_all_grid(tmp_path, suffix, flt):
    name = 'TldTests.Enable.Grid'
    path = tmp_path / 'grid.etl'
    prov = Provider(name.encode())
    with tld.Session(str(path), [name + suffix]) as s:
        for level, kw in itertools.product(LEVELS, KEYWORDS):
            if passes(level, kw, *flt):
                assert prov.is_enabled(level, kw), (level, hex(kw))
        write_grid(prov)
        stats = s.stop()
    prov.close()
    expected = expected_names(flt)
    assert names_in(path) == expected
    assert stats.events_written == len(expected)
    assert stats.events_lost == 0


def test_provider_spec_objects(tmp_path):
    name = 'TldTests.Enable.SpecObj'
    path = tmp_path / 'spec.etl'
    prov = Provider(name.encode())
    spec = tld.ProviderSpec(name=name, level=3, match_any=0x6, match_all=0x4) \
        if hasattr(tld, 'ProviderSpec') else pytest.fail('traceloggingdynamic.ProviderSpec is missing')
    with tld.Session(str(path), [spec]):
        write_grid(prov)
    prov.close()
    assert names_in(path) == expected_names((3, 6, 4))


def test_several_entries_for_one_provider_record_each_event_once(tmp_path):
    name = 'TldTests.Enable.TwoEntries'
    path = tmp_path / 'two.etl'
    prov = Provider(name.encode())
    with tld.Session(str(path), [name + ':1', name + ':5:0x8', '*' + name + ':6:0x2:0x2']):
        write_grid(prov)
    prov.close()
    assert names_in(path) == expected_names((1, 0, 0), (5, 8, 0), (6, 2, 2))


def test_two_concurrent_sessions_get_exactly_their_events(tmp_path):
    name = 'TldTests.Enable.Concurrent'
    p1, p2 = tmp_path / 'a.etl', tmp_path / 'b.etl'
    prov = Provider(name.encode())
    other = Provider(b'TldTests.Enable.Other')
    eb = EventBuilder()
    with tld.Session(str(p1), [name + ':3']), tld.Session(str(p2), [name + ':5:0x2', 'TldTests.Enable.Other']):
        write_grid(prov)
        eb.reset(b'OtherEvent')
        other.write(eb)
    prov.close()
    other.close()
    assert names_in(p1) == expected_names((3, 0, 0))
    assert names_in(p2) == expected_names((5, 2, 0)) + ['OtherEvent']


def test_is_enabled_follows_live_sessions(tmp_path):
    name = 'TldTests.Enable.Flip'
    prov = Provider(name.encode())
    assert not prov.is_enabled()
    assert not prov.is_enabled(1, 1)
    s1 = tld.Session(str(tmp_path / '1.etl'), [name + ':2:0x1'])
    s2 = tld.Session(str(tmp_path / '2.etl'), [name + ':5:0x10'])
    assert not s1.running and not prov.is_enabled()
    s1.start()
    assert s1.running
    assert prov.is_enabled()
    assert prov.is_enabled(2, 0x1)
    assert prov.is_enabled(1, 0)
    s2.start()
    assert prov.is_enabled(5, 0x10)
    s1.stop()
    assert not s1.running
    assert prov.is_enabled(5, 0x10)
    assert prov.is_enabled()
    s2.stop()
    assert not prov.is_enabled()
    assert not prov.is_enabled(1, 0x1)
    assert not prov.is_enabled(5, 0x10)
    # A disabled provider's write is harmless and lands nowhere.
    eb = EventBuilder()
    eb.reset(b'AfterStop', level=1, keyword=1)
    assert prov.write(eb) == 0
    prov.close()
    assert names_in(tmp_path / '1.etl') == []
    assert names_in(tmp_path / '2.etl') == []


def test_is_enabled_false_for_levels_and_keywords_no_session_wants(tmp_path):
    name = 'TldTests.Enable.Precise'
    prov = Provider(name.encode())
    with tld.Session(str(tmp_path / 'p.etl'), [name + ':2:0x4:0x4']):
        # is_enabled may be conservatively true, but a plainly unmatched provider is not enabled.
        unrelated = Provider(b'TldTests.Enable.Unrelated')
        assert not unrelated.is_enabled()
        unrelated.close()
        assert prov.is_enabled(2, 0x4)
    assert not prov.is_enabled(2, 0x4)
    prov.close()


def test_providers_created_before_and_after_start(tmp_path):
    name = 'TldTests.Enable.Lifecycle'
    path = tmp_path / 'life.etl'
    before = Provider(name.encode())
    eb = EventBuilder()
    s = tld.Session(str(path), [name])
    eb.reset(b'BeforeStart')
    before.write(eb)                  # no session yet: nowhere
    s.start()
    eb.reset(b'FromEarlyProvider')
    before.write(eb)
    after = Provider(name.encode())   # same name, created while the session runs
    assert after.is_enabled()
    eb.reset(b'FromLateProvider')
    after.write(eb)
    late_other = Provider(b'TldTests.Enable.LifecycleOther')
    assert not late_other.is_enabled()
    eb.reset(b'FromOther')
    late_other.write(eb)
    closed = Provider(name.encode())
    closed.close()
    eb.reset(b'FromClosed')
    closed.write(eb)
    s.stop()
    eb.reset(b'AfterStop')
    after.write(eb)
    assert not after.is_enabled() and not before.is_enabled()
    for p in (before, after, late_other):
        p.close()
    assert names_in(path) == ['FromEarlyProvider', 'FromLateProvider']


def test_name_matching_rules(tmp_path):
    """Plain names match ASCII case-insensitively (not other letters); *Name is
    the hashed GUID; a GUID matches whatever name the provider has."""
    custom_id = uuid.UUID('0badc0de-0000-4000-8000-000000000001')
    provs = {
        'mixed': Provider(b'TldTests.Enable.MixedCase'),
        'hashed_other_name': Provider(b'SomethingElse', id=tld.providerid_from_name('TldTests.Enable.Hashed')),
        'hashed_own': Provider(b'TldTests.Enable.Hashed'),
        'explicit_id_named_hashed': Provider(b'TldTests.Enable.Hashed2', id=custom_id),
        'by_guid': Provider(b'AnyName.ByGuid', id=custom_id),
        'unicode_upper': Provider('TldTests.Enable.\u00c9t\u00e9'.encode()),
        'unicode_exact': Provider('TldTests.Enable.\u00e9t\u00e9'.encode()),
        'prefix': Provider(b'TldTests.Enable.MixedCaseX'),
    }
    path = tmp_path / 'names.etl'
    specs = [
        'tldtests.enable.MIXEDCASE',            # ASCII case-insensitive
        '*TldTests.Enable.Hashed',               # GUID of the name
        '{%s}' % str(custom_id).upper(),          # GUID with braces, upper case
        'TldTests.Enable.\u00e9t\u00e9',          # non-ASCII letters compare exactly
    ]
    eb = EventBuilder()
    with tld.Session(str(path), specs):
        for key, p in provs.items():
            eb.reset(key.encode())
            p.write(eb)
    for p in provs.values():
        p.close()
    assert names_in(path) == ['mixed', 'hashed_other_name', 'hashed_own', 'explicit_id_named_hashed',
                              'by_guid', 'unicode_exact']


def test_star_name_does_not_match_same_name_with_other_id(tmp_path):
    path = tmp_path / 'star.etl'
    p = Provider(b'TldTests.Enable.Star', id=uuid.UUID(int=12345))
    q = Provider(b'TldTests.Enable.Star')
    eb = EventBuilder()
    with tld.Session(str(path), ['*TldTests.Enable.Star']):
        assert not p.is_enabled()
        eb.reset(b'p')
        p.write(eb)
        eb.reset(b'q')
        q.write(eb)
    p.close()
    q.close()
    assert names_in(path) == ['q']


@pytest.mark.parametrize('bad', ['', ':5', 'Name:256', 'Name:x', 'Name:5:zz', 'Name:5:0x1:0x1:9',
                                 'Name:5:0x10000000000000000', '*'])
def test_malformed_specs_are_rejected(tmp_path, bad):
    path = tmp_path / 'bad.etl'
    with pytest.raises(ValueError):
        tld.Session(str(path), [bad]).start()


def test_sessions_start_and_stop_while_threads_write(tmp_path):
    """4 threads write numbered events through one provider while sessions
    come and go. Every file is valid; in every file each thread's numbers are
    a contiguous, increasing run (a session sees every event written while it
    is live, in order); the session live throughout has all of them."""
    name = 'TldTests.Enable.Churn'
    prov = Provider(name.encode())
    nthreads = 4
    stop = threading.Event()
    written = [0] * nthreads
    started = threading.Barrier(nthreads + 1)

    def work(k):
        eb = EventBuilder()
        i = 0
        started.wait()
        while not stop.is_set() or i < 200:
            eb.reset(b'Churn', level=4, keyword=1 << (i % 3))
            eb.add_uint8(b't', k)
            eb.add_uint32(b'seq', i)
            prov.write(eb)
            i += 1
            if i % 10 == 0:
                time.sleep(0.0005)  # a steady stream, not millions of events
        written[k] = i

    whole = tld.Session(str(tmp_path / 'whole.etl'), [name + ':0'])
    whole.start()
    threads = [threading.Thread(target=work, args=(k,)) for k in range(nthreads)]
    for t in threads:
        t.start()
    started.wait()
    churn = []
    stats = {}
    rounds = scaled(12, 4)
    for r in range(rounds):
        flt = [name + ':4', name + ':4:0x2', name + ':4:0x5:0x4'][r % 3]
        s = tld.Session(str(tmp_path / f'churn{r}.etl'), [flt], buffer_size=4096 * (1 + r % 2))
        s.start()
        time.sleep(0.01)
        if churn and r % 2:
            prev, pr = churn.pop(0)
            stats[pr] = prev.stop()
        churn.append((s, r))
        time.sleep(0.01)
    for s, r in churn:
        stats[r] = s.stop()
    stop.set()
    for t in threads:
        t.join()
    whole_stats = whole.stop()
    prov.close()

    evs, errors, _ = read_etl(tmp_path / 'whole.etl')
    assert errors == []
    assert whole_stats.events_lost == 0
    assert whole_stats.events_written == len(evs) == sum(written)
    for k in range(nthreads):
        assert [e['fields']['seq'] for e in evs if e['fields']['t'] == k] == list(range(written[k]))

    for r in range(rounds):
        path = tmp_path / f'churn{r}.etl'
        evs, errors, _ = read_etl(path)
        assert errors == [], (r, errors)
        assert stats[r].events_written == len(evs) and stats[r].events_lost == 0, (r, stats[r])
        assert evs, f'session {r} was live while threads wrote but recorded nothing'
        flt = [(4, 0, 0), (4, 2, 0), (4, 5, 4)][r % 3]
        for k in range(nthreads):
            seqs = [e['fields']['seq'] for e in evs if e['fields']['t'] == k]
            assert all(passes(4, 1 << (s % 3), *flt) for s in seqs), (r, k)
            # contiguous among the events this filter accepts
            if seqs:
                wanted = [s for s in range(seqs[0], seqs[-1] + 1) if passes(4, 1 << (s % 3), *flt)]
                assert seqs == wanted, f'session {r}, thread {k}: events missing or reordered'


# Out-of-range arguments, with a session live. The reference module passes
# is_enabled's arguments to EventProviderEnabled through ctypes argtypes
# (c_byte level, c_uint64 keyword), which truncate instead of checking:
# 256 is level 0 ("any level"), 2**64 is keyword 0. We do the same, and
# check it against ctypes' own conversion, so a session that listens at
# level 5 answers exactly as ETW would for the truncated values.
OUT_OF_RANGE_LEVELS = [0, 5, 6, 127, 128, 255, 256, 261, 2**64, 2**64 + 5, -1, -251, -256]
OUT_OF_RANGE_KEYWORDS = [0, 1, 0x10, 2**64, 2**64 + 1, 2**65 + 0x10, -1, -2**63, -2**64]


def ctypes_truncated(level, keyword):
    import ctypes
    return (ctypes.c_byte(level).value & 0xFF, ctypes.c_uint64(keyword).value)


@pytest.mark.parametrize('level', OUT_OF_RANGE_LEVELS)
def test_is_enabled_truncates_like_the_reference_with_a_session_live(tmp_path, level):
    name = 'TldTests.Enable.Range'
    prov = Provider(name.encode())
    with tld.Session(str(tmp_path / 'range.etl'), [name + ':5:0x1']):
        for keyword in OUT_OF_RANGE_KEYWORDS:
            lv, kw = ctypes_truncated(level, keyword)
            assert prov.is_enabled(level, keyword) == passes(lv, kw, 5, 1, 0), (level, keyword, lv, kw)
    assert not prov.is_enabled(level, 1)
    prov.close()
