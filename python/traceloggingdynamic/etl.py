"""Reading ``.etl`` files (ours and Windows') from Python.

``EtlFile`` wraps the C decoder (``_tld.decode_etl``): one JSON object per
event, decoded as the iteration goes, so a large file never has all of its
JSON in memory::

    from traceloggingdynamic.etl import EtlFile

    f = EtlFile('trace.etl')
    print(f.header['start_time'], f.header['events_lost'])
    for event in f.events():
        print(event['provider'], event['event'], event['fields'])
    if f.errors:
        print('damaged:', *f.errors, sep='\\n  ')

The keys of each event are described in the README ("Recording and
decoding"). A truncated or corrupted file yields every event that still
decodes; what was wrong is added to ``errors`` as the walk meets it.
"""

import json
import os
from typing import Any, Dict, Iterator, List, Union

from ._tld import decode_etl

__all__ = ('EtlFile',)

PathLike = Union[str, bytes, 'os.PathLike[str]', 'os.PathLike[bytes]']


class EtlFile:
    """An ``.etl`` file to decode.

    Opening reads the logfile header: OSError when the file cannot be read,
    ValueError when it is not an ``.etl`` file. Each call of ``lines()`` or
    ``events()`` walks the file again from the start.
    """

    def __init__(self, path: PathLike) -> None:
        self.path = os.fspath(path)
        self._pending = decode_etl(self.path)
        self._last = self._pending
        self.header: Dict[str, Any] = self._pending.header
        """The logfile header: buffer_size, buffers_written, events_lost,
        start_time and end_time (ISO 8601 or None), pointer_size,
        logger_name, ... (``present`` is False when buffer 0 had none)."""
        self.errors: List[str] = self._pending.errors
        """Sentences about damage met by the latest walk (grows while it runs)."""

    def lines(self, format: str = 'json') -> Iterator[str]:
        """The decoded events as lines (without newline): JSON or one-line text."""
        reader = self._pending if (self._pending is not None and format == 'json') else decode_etl(self.path, format)
        self._pending = None
        self._last = reader
        self.errors = reader.errors
        return iter(reader)

    def events(self) -> Iterator[Dict[str, Any]]:
        """The decoded events as dicts (``json.loads`` of each JSON line)."""
        loads = json.loads
        for line in self.lines('json'):
            yield loads(line)

    @property
    def counts(self) -> Dict[str, int]:
        """Counters of the latest walk: events, damaged_records, damaged_buffers,
        undecodable_events, system_records."""
        r = self._last
        return {'events': r.events, 'damaged_records': r.damaged_records,
                'damaged_buffers': r.damaged_buffers, 'undecodable_events': r.undecodable_events,
                'system_records': r.system_records}

    def __repr__(self) -> str:
        return f'EtlFile({self.path!r})'

