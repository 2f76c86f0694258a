"""Provider specs and session statistics for ``traceloggingdynamic.Session``.

A session enables providers the way ``tracelog -enable`` does. Each provider
is given as a ``ProviderSpec`` or as text in tracelog's syntax::

    NAME_OR_GUID[:LEVEL[:ANY[:ALL]]]

- ``NAME_OR_GUID``: a GUID (``8e805eb3-...`` with or without braces),
  ``*Name`` (the GUID hashed from Name, as ``tracelog -guid *Name`` uses;
  see ``providerid_from_name``), or a plain provider name, matched against
  the names of providers in this process (ASCII letters case-insensitively).
- ``LEVEL``: decimal 0..255, default 5 (0 means every level).
- ``ANY`` / ``ALL``: keyword masks, decimal or ``0x`` hex, 64 bits; default 0
  (ANY 0 means every keyword, ALL 0 requires nothing).

An empty part keeps its default (``Name::0x10`` is level 5, match-any 0x10).

The ``Session`` type itself is implemented in C (``_tld``); it calls
``_coerce_spec`` here to turn each given provider into a ``ProviderSpec``,
and returns ``SessionStats`` from ``stop()`` and ``stats()``.
"""

import re
from typing import NamedTuple, Optional, Union

from ._tld import providerid_from_name

__all__ = ('ProviderSpec', 'SessionStats')

_GUID = re.compile(r'\{?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\}?\Z')
# A mistyped GUID (a digit too many or too few, braces): hex digits and
# dashes only, with a dash and at least 16 digits, or anything in braces.
# It must not silently become a provider name that nothing has.
_LOOKS_LIKE_GUID = re.compile(r'(\{.*\}?|\{?(?=(?:-*[0-9a-fA-F]){16})[0-9a-fA-F]*-[0-9a-fA-F-]*\}?)\Z')
_DECIMAL = re.compile(r'[0-9]+\Z')
_KEYWORD = re.compile(r'(0[xX][0-9a-fA-F]+|[0-9]+)\Z')
_U64_MAX = (1 << 64) - 1
# A size: a number of bytes, or a number with a binary unit (K, M, G, T;
# also KB/KiB, MB/MiB ..., any case), e.g. "500M", "2GiB", "1.5g".
_SIZE = re.compile(r'\s*([0-9]+(?:\.[0-9]+)?)\s*(?:([kmgt])(?:i?b)?|b)?\s*\Z', re.IGNORECASE)
_SIZE_UNITS = {None: 1, 'k': 1 << 10, 'm': 1 << 20, 'g': 1 << 30, 't': 1 << 40}

DEFAULT_LEVEL = 5


class SessionStats(NamedTuple):
    """Counters of a session: what ``Session.stop()`` and ``Session.stats()`` return."""

    events_written: int
    """Events stored in the file."""
    events_lost: int
    """Events dropped (larger than a buffer, or the file could not be written)."""
    buffers_written: int
    """Buffers in the file, the header buffer included."""
    events_pending: int = 0
    """Events recorded but still in memory (0 after ``stop()``)."""


class ProviderSpec(NamedTuple):
    """One provider a session enables, with ETW's filter.

    Exactly one of ``name`` and ``id`` is set: a session matches providers by
    id when ``id`` is given, else by name (ASCII case-insensitively).
    """

    name: Optional[str] = None
    id: 'Optional[uuid.UUID]' = None  # a string: uuid is imported only where a GUID is parsed or checked
    level: int = DEFAULT_LEVEL
    match_any: int = 0
    match_all: int = 0

    @classmethod
    def parse(cls, text: str) -> 'ProviderSpec':
        """Parses ``NAME_OR_GUID[:LEVEL[:ANY[:ALL]]]`` (see the module docstring).

        Raises ValueError naming the spec when it is malformed.
        """
        if not isinstance(text, str):
            raise TypeError(f'a provider spec must be a str, not {type(text).__name__}')
        parts = text.split(':')
        if len(parts) > 4:
            raise ValueError(f'provider spec {text!r} has {len(parts)} parts; '
                             'expected NAME_OR_GUID[:LEVEL[:ANY[:ALL]]]')
        target = parts[0].strip()
        if not target:
            raise ValueError(f'provider spec {text!r} names no provider; '
                             'expected NAME_OR_GUID[:LEVEL[:ANY[:ALL]]]')
        name, pid = None, None
        guid = _GUID.match(target)
        if guid is not None and (target.startswith('{') == target.endswith('}')):
            import uuid
            pid = uuid.UUID(guid.group(1))
        elif _LOOKS_LIKE_GUID.match(target):
            raise ValueError(f'provider spec {text!r}: {target!r} is not a GUID; a GUID is 32 hex digits '
                             'grouped 8-4-4-4-12, such as 99a10640-320d-4b37-9e26-c311d86da7ab')
        elif target.startswith('*'):
            if len(target) == 1:
                raise ValueError(f'provider spec {text!r}: "*" must be followed by a provider name')
            pid = providerid_from_name(target[1:])
        else:
            name = target
        level = DEFAULT_LEVEL
        if len(parts) > 1 and parts[1].strip():
            part = parts[1].strip()
            if not _DECIMAL.match(part) or int(part) > 255:
                raise ValueError(f'provider spec {text!r}: level {part!r} must be a decimal number from 0 to 255')
            level = int(part)
        masks = []
        for what, part in zip(('match-any', 'match-all'), parts[2:]):
            part = part.strip()
            masks.append(_parse_keyword(part, f'provider spec {text!r}: {what} keyword mask') if part else 0)
        masks += [0] * (2 - len(masks))
        return cls(name, pid, level, masks[0], masks[1])

    def __str__(self) -> str:
        who = self.name if self.id is None else str(self.id)
        return f'{who}:{self.level}:0x{self.match_any:x}:0x{self.match_all:x}'


def _parse_keyword(text: str, what: str) -> int:
    """A 64-bit keyword mask given as decimal or 0x hex; ValueError saying `what` otherwise."""
    text = text.strip()
    if not _KEYWORD.match(text) or int(text, 0 if text[:2].lower() == '0x' else 10) > _U64_MAX:
        raise ValueError(f'{what} {text!r} must be a decimal or 0x-hex number of at most 64 bits')
    return int(text, 0 if text[:2].lower() == '0x' else 10)


def parse_size(text: str, what: str = 'size') -> int:
    """Bytes from "1048576", "500M", "2GiB" or "1.5g" (units are powers of
    1024); ValueError saying `what` was wrong otherwise."""
    m = _SIZE.match(text)
    if m is None:
        raise ValueError(f'{what} {text!r} is not a size: give bytes, or a number with K, M, G or T '
                         '(powers of 1024), e.g. 500M or 2G')
    size = int(float(m.group(1)) * _SIZE_UNITS[m.group(2) and m.group(2).lower()])
    if not 0 < size <= _U64_MAX:
        raise ValueError(f'{what} {text!r} must be more than 0 bytes and fit in 64 bits')
    return size


def _check_spec(spec: ProviderSpec, shown: object) -> ProviderSpec:
    """Validates the fields of a ProviderSpec built by hand."""
    if (spec.name is None) == (spec.id is None):
        raise ValueError(f'provider spec {shown!r} must have exactly one of name and id')
    if spec.name is not None and (not isinstance(spec.name, str) or not spec.name or '\0' in spec.name):
        raise ValueError(f'provider spec {shown!r}: name must be a non-empty str without NUL characters')
    if spec.id is not None:
        import uuid
        if not isinstance(spec.id, uuid.UUID):
            raise ValueError(f'provider spec {shown!r}: id must be a uuid.UUID')
    for field, top in (('level', 255), ('match_any', _U64_MAX), ('match_all', _U64_MAX)):
        value = getattr(spec, field)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
            raise ValueError(f'provider spec {shown!r}: {field} must be an int from 0 to {top:#x}'
                             if top > 255 else
                             f'provider spec {shown!r}: {field} must be an int from 0 to {top}')
    return spec


def _describe_unmatched(spec: ProviderSpec, given: object, known: str) -> str:
    """The sentence for a provider spec that no provider of the process
    matched (Session.unmatched_providers, stop()'s warning); `known` is
    the open providers' names, joined by ", "."""
    if spec.id is None:
        what = f'no provider named {spec.name!r} was seen'
    else:
        what = f'no provider with id {spec.id} was seen'
        if isinstance(given, str) and given.strip().startswith('*'):
            what += f" (the id of {given.strip().split(':')[0][1:]!r})"
    return f'{what}; known: {known}' if known else f'{what}; no provider is open in this process'


def stop_for_cli(session):
    """Stops `session` for a command-line tool: returns its SessionStats and
    the sentences of its RuntimeWarnings about lost events (what was lost and
    why), which the tool says last and loudly instead of as a Python warning.
    Warnings about providers nobody had are left to unmatched_providers()."""
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        stats = session.stop()
    losses = [str(w.message) for w in caught
              if issubclass(w.category, RuntimeWarning) and ' lost ' in str(w.message)]
    return stats, losses


def stop_quietly(session) -> SessionStats:
    """session.stop() without its RuntimeWarnings about providers nobody
    had: the CLIs and the environment's session say those in one line each,
    from session.unmatched_providers()."""
    import warnings
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message=r'.*: no provider (named|with id) ', category=RuntimeWarning)
        return session.stop()


def _coerce_spec(item: Union[str, ProviderSpec]) -> ProviderSpec:
    """What Session (C) calls for each provider it was given."""
    if isinstance(item, str):
        return ProviderSpec.parse(item)
    if isinstance(item, ProviderSpec):
        return _check_spec(item, item)
    raise TypeError(f'provider spec {item!r} is neither a str nor a ProviderSpec')
