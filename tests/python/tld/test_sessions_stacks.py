"""Native stacks attached to events (the STACK_TRACE64 extended item).

What this file is for (issue 3): a session created with ``stacks=KW``
attaches the writing thread's native return addresses to every recorded
event whose keyword shares a bit with KW; other events (and keyword-0
events) carry no ``stack``. The addresses are real: each lies in an
executable mapping of the writing process, and the interpreter's own code
is among them.
"""

import threading

import pytest

import traceloggingdynamic as tld
from traceloggingdynamic import EventBuilder, Provider

from etl_helpers import read_etl


def executable_mappings():
    maps = []
    with open('/proc/self/maps') as f:
        for line in f:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split('-'))
            if 'x' in parts[1]:
                maps.append((lo, hi, parts[5] if len(parts) > 5 else ''))
    return maps


def mapping_of(addr, maps):
    for lo, hi, name in maps:
        if lo <= addr < hi:
            return name
    return None


@pytest.fixture
def recorded(tmp_path):
    name = 'TldTests.Stacks'
    path = tmp_path / 'stacks.etl'
    prov = Provider(name.encode())
    eb = EventBuilder()

    def write(evname, kw):
        eb.reset(evname, level=4, keyword=kw)
        eb.add_int32(b'x', 1)
        prov.write(eb)

    def from_thread():
        e = EventBuilder()
        e.reset(b'Thread', level=4, keyword=0x4)
        prov.write(e)

    with tld.Session(str(path), [name], stacks=0x4 | 0x10) as s:
        assert s.stacks == 0x14
        for _ in range(2):
            write(b'Same', 0x4)                                    # same call site twice
        write(b'Multi', 0x3 | 0x10)
        write(b'NoStackKw', 0x1)
        write(b'Keyword0', 0)
        list(map(lambda kw: write(b'ViaMap', kw), [0x4]))          # extra C frames
        t = threading.Thread(target=from_thread)
        t.start()
        t.join()
        maps = executable_mappings()
    prov.close()
    evs, errors, _ = read_etl(path)
    assert errors == []
    return {e['event'] if e['event'] != 'Same' else f'Same{i}': e for i, e in enumerate(evs)}, maps


def test_stacks_only_on_matching_keywords(recorded):
    evs, _ = recorded
    assert set(evs) == {'Same0', 'Same1', 'Multi', 'NoStackKw', 'Keyword0', 'ViaMap', 'Thread'}
    for name in ('Same0', 'Same1', 'Multi', 'ViaMap', 'Thread'):
        st = evs[name].get('stack')
        assert isinstance(st, list) and len(st) >= 3, (name, st)
        assert all(isinstance(a, int) and not isinstance(a, bool) and a > 0 for a in st)
    for name in ('NoStackKw', 'Keyword0'):
        assert 'stack' not in evs[name], name
    assert evs['Multi']['fields'] == {'x': 1}


def test_stack_addresses_are_code_of_this_process(recorded):
    evs, maps = recorded
    for name in ('Same0', 'Multi', 'ViaMap', 'Thread'):
        st = evs[name]['stack']
        where = [mapping_of(a, maps) for a in st]
        assert all(w is not None for w in where), (name, [hex(a) for a, w in zip(st, where) if w is None])
        assert any('python' in w for w in where), (name, where)


def test_same_call_site_same_stack_deeper_call_longer_stack(recorded):
    evs, _ = recorded
    assert evs['Same0']['stack'] == evs['Same1']['stack']
    assert len(evs['ViaMap']['stack']) > len(evs['Same0']['stack'])


def test_no_stacks_without_stack_keywords(tmp_path):
    path = tmp_path / 'nostacks.etl'
    prov = Provider(b'TldTests.NoStacks')
    eb = EventBuilder()
    with tld.Session(str(path), ['TldTests.NoStacks']):
        for kw in (0, 1, 2**64 - 1):
            eb.reset(b'E', keyword=kw)
            prov.write(eb)
    prov.close()
    evs, errors, _ = read_etl(path)
    assert errors == [] and len(evs) == 3
    assert not any('stack' in e for e in evs)


def test_all_keyword_stacks_except_keyword_zero(tmp_path):
    path = tmp_path / 'allstacks.etl'
    prov = Provider(b'TldTests.AllStacks')
    eb = EventBuilder()
    with tld.Session(str(path), ['TldTests.AllStacks'], stacks=2**64 - 1):
        for kw in (0, 1, 0x8000000000000000):
            eb.reset(b'K%x' % kw, keyword=kw)
            prov.write(eb)
    prov.close()
    evs, errors, _ = read_etl(path)
    assert errors == []
    assert [('stack' in e) for e in evs] == [False, True, True]


def test_stacks_only_for_the_session_that_asked(tmp_path):
    a, b = tmp_path / 'a.etl', tmp_path / 'b.etl'
    prov = Provider(b'TldTests.StacksTwo')
    eb = EventBuilder()
    with tld.Session(str(a), ['TldTests.StacksTwo'], stacks=1), tld.Session(str(b), ['TldTests.StacksTwo']):
        eb.reset(b'E', keyword=1)
        prov.write(eb)
    prov.close()
    ea, _, _ = read_etl(a)
    eb_, _, _ = read_etl(b)
    assert 'stack' in ea[0] and len(ea[0]['stack']) >= 3
    assert 'stack' not in eb_[0]
