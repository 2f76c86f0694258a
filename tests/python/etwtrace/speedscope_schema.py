"""A check of speedscope's file format, written from the facts of its
published schema (https://www.speedscope.app/file-format-schema.json,
generated from the viewer's file-format-spec.ts; see
shared/spec/report-formats.md §1): the schema below as JSON Schema,
checked with `jsonschema`, plus the rules the viewer's importer enforces
that a schema cannot say (frame indices in range, as many weights as
samples, evented events ordered inside [startValue, endValue])."""

import jsonschema

SCHEMA_URL = 'https://www.speedscope.app/file-format-schema.json'
UNITS = ['none', 'nanoseconds', 'microseconds', 'milliseconds', 'seconds', 'bytes']

_FRAME = {
    'type': 'object',
    'required': ['name'],
    'properties': {'name': {'type': 'string'}, 'file': {'type': 'string'},
                   'line': {'type': 'number'}, 'col': {'type': 'number'}},
}
_COMMON = {'name': {'type': 'string'}, 'unit': {'enum': UNITS},
           'startValue': {'type': 'number'}, 'endValue': {'type': 'number'}}
_EVENTED = {
    'type': 'object',
    'required': ['type', 'name', 'unit', 'startValue', 'endValue', 'events'],
    'properties': dict(_COMMON, type={'const': 'evented'}, events={
        'type': 'array',
        'items': {'type': 'object', 'required': ['type', 'frame', 'at'],
                  'properties': {'type': {'enum': ['O', 'C']}, 'frame': {'type': 'number'},
                                 'at': {'type': 'number'}}}}),
}
_SAMPLED = {
    'type': 'object',
    'required': ['type', 'name', 'unit', 'startValue', 'endValue', 'samples', 'weights'],
    'properties': dict(_COMMON, type={'const': 'sampled'},
                       samples={'type': 'array', 'items': {'type': 'array', 'items': {'type': 'number'}}},
                       weights={'type': 'array', 'items': {'type': 'number'}}),
}
SCHEMA = {
    '$schema': 'http://json-schema.org/draft-07/schema#',
    'type': 'object',
    'required': ['$schema', 'shared', 'profiles'],
    'properties': {
        '$schema': {'const': SCHEMA_URL},
        'shared': {'type': 'object', 'required': ['frames'],
                   'properties': {'frames': {'type': 'array', 'items': _FRAME}}},
        'profiles': {'type': 'array', 'items': {'oneOf': [_EVENTED, _SAMPLED]}},
        'name': {'type': 'string'},
        'activeProfileIndex': {'type': 'number'},
        'exporter': {'type': 'string'},
    },
}


def validate_speedscope(doc):
    """Raises (jsonschema.ValidationError or AssertionError) unless `doc` is
    a speedscope file the viewer imports."""
    jsonschema.validate(doc, SCHEMA)
    n = len(doc['shared']['frames'])
    assert 0 <= doc.get('activeProfileIndex', 0) < max(len(doc['profiles']), 1)
    for p in doc['profiles']:
        assert p['endValue'] >= p['startValue']
        if p['type'] == 'sampled':
            assert len(p['samples']) == len(p['weights'])
            assert all(w >= 0 for w in p['weights'])
            assert all(0 <= f < n and f == int(f) for s in p['samples'] for f in s)
        else:
            last = p['startValue']
            for e in p['events']:
                assert 0 <= e['frame'] < n
                assert last <= e['at'] <= p['endValue'], 'events out of order or outside the profile'
                last = e['at']
