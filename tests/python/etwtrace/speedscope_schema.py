"""A check of speedscope's file format, written from the facts of its
published schema (https://www.speedscope.app/file-format-schema.json,
generated from the viewer's file-format-spec.ts; see
shared/spec/report-formats.md §1): the schema below as JSON Schema, checked
by a small validator of the keywords it uses (type, required, properties,
enum, const, items, oneOf; no third-party package needed), plus the rules
the viewer's importer enforces that a schema cannot say (frame indices in
range, as many weights as samples, evented events ordered inside
[startValue, endValue])."""

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


_TYPES = {'object': dict, 'array': list, 'string': str}


def schema_errors(value, schema, where='$'):
    """The ways `value` breaks `schema` (the keywords above), as sentences."""
    errors = []
    kind = schema.get('type')
    if kind == 'number':
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return [f'{where}: {value!r} is not a number']
    elif kind and not isinstance(value, _TYPES[kind]):
        return [f'{where}: {type(value).__name__} is not {kind}']
    if 'const' in schema and value != schema['const']:
        errors.append(f'{where}: {value!r} is not {schema["const"]!r}')
    if 'enum' in schema and value not in schema['enum']:
        errors.append(f'{where}: {value!r} is not one of {schema["enum"]}')
    for key in schema.get('required', ()):
        if key not in value:
            errors.append(f'{where}: {key!r} is missing')
    for key, sub in schema.get('properties', {}).items():
        if isinstance(value, dict) and key in value:
            errors += schema_errors(value[key], sub, f'{where}.{key}')
    if 'items' in schema:
        for i, item in enumerate(value):
            errors += schema_errors(item, schema['items'], f'{where}[{i}]')
    if 'oneOf' in schema:
        matching = [s for s in schema['oneOf'] if not schema_errors(value, s, where)]
        if len(matching) != 1:
            errors.append(f'{where}: matches {len(matching)} of the oneOf schemas, not exactly one')
    return errors


def validate_speedscope(doc):
    """Raises AssertionError unless `doc` is a speedscope file the viewer
    imports."""
    errors = schema_errors(doc, SCHEMA)
    assert not errors, errors[:5]
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
