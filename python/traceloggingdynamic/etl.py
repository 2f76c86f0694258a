"""Reading ``.etl`` files (ours and Windows') from Python.

``EtlFile`` wraps the C reader and decoder (``_tld.decode_etl``): one JSON
object per record, read from the file and decoded as the iteration goes, so
a file of any size is never held in memory (the reader keeps a bounded pool
of buffers)::

    from traceloggingdynamic.etl import EtlFile

    f = EtlFile('trace.etl')
    print(f.header['start_time'], f.header['events_lost'])
    for event in f.events():
        print(event['provider'], event['event'], event.get('fields'))
    if f.errors:
        print('damaged:', *f.errors, sep='\\n  ')

Windows-written files are read too: compressed (relogged, WPR-merged)
files, older loggers, and kernel records ("provider": "MSNT_SystemTrace",
"event": "Process/Start", "PerfInfo/SampledProfile", ...; ``kernel=False``
leaves them out). The keys of each event are described in docs/etl-reader.md.
A truncated or corrupted file yields every event that still decodes; what
was wrong is added to ``errors`` as the walk meets it. ``summary()`` counts
without decoding a line per event.
"""

import json
import os
from typing import Any, Dict, Iterator, List, Optional, Union

from ._tld import decode_etl

__all__ = ('EtlFile',)

PathLike = Union[str, bytes, 'os.PathLike[str]', 'os.PathLike[bytes]']


class EtlFile:
    """An ``.etl`` file to decode.

    Opening reads the logfile header: OSError when the file cannot be
    opened, ValueError when it is not a regular file or not an ``.etl``
    file. Each call of ``lines()``, ``events()`` or ``summary()`` walks the
    file again from the start.
    """

    def __init__(self, path: PathLike, kernel: bool = True) -> None:
        self.path = os.fspath(path)
        self.kernel = kernel
        self._pending = decode_etl(self.path, 'json', kernel)
        self._last = self._pending
        self.header: Dict[str, Any] = self._pending.header
        """The logfile header: buffer_size, buffers_written, events_lost,
        start_time and end_time (ISO 8601 or None), pointer_size,
        logger_name, compressed, ... (``present`` is False when buffer 0 had none)."""
        self.errors: List[str] = self._pending.errors
        """Sentences about damage met by the latest walk (grows while it runs;
        the first 1000: ``error_count`` counts them all)."""
        self.notes: List[str] = self._pending.notes
        """Sentences about what is missing without damage, met by the latest
        walk: at its end, a session that was never stopped."""

    def _walk(self, format: str):
        if self._pending is not None and format == 'json':
            reader = self._pending
        else:
            if self._pending is not None:
                self._pending.close()
            reader = decode_etl(self.path, format, self.kernel)
        self._pending = None
        self._last = reader
        self.errors = reader.errors
        self.notes = reader.notes
        return reader

    def lines(self, format: str = 'json') -> Iterator[str]:
        """The decoded records as lines (without newline): JSON or one-line text."""
        return iter(self._walk(format))

    def events(self) -> Iterator[Dict[str, Any]]:
        """The decoded records as dicts (``json.loads`` of each JSON line)."""
        loads = json.loads
        for line in self.lines('json'):
            yield loads(line)

    def summary(self) -> Dict[str, Any]:
        """Counts made in C in one pass, without decoding lines: events,
        messages (WPP), system_records (kernel records met), system_listed
        (those in rows), rows (``(provider, event, count, kind)``),
        first_time and last_time."""
        return self._walk('json').summarize()

    @property
    def counts(self) -> Dict[str, int]:
        """Counters of the latest walk: events, damaged_records, damaged_buffers,
        undecodable_events, system_records, buffer_count, compressed_buffers,
        error_count."""
        r = self._last
        return {'events': r.events, 'damaged_records': r.damaged_records,
                'damaged_buffers': r.damaged_buffers, 'undecodable_events': r.undecodable_events,
                'system_records': r.system_records, 'buffer_count': r.buffer_count,
                'compressed_buffers': r.compressed_buffers, 'error_count': r.error_count}

    @property
    def error_count(self) -> int:
        """Problems met by the latest walk, listed in ``errors`` or not."""
        return self._last.error_count

    @property
    def session_not_stopped(self) -> bool:
        """True when the session that wrote the file was not stopped (it was
        still running when the file was opened, or its process was killed):
        events after ``last_flush`` are missing. Known from opening."""
        return self._last.session_not_stopped

    @property
    def last_flush(self) -> Optional[str]:
        """When ``session_not_stopped``: the time of the last flush (ISO 8601)."""
        return self._last.last_flush

    def close(self) -> None:
        """Closes the file of the latest walk."""
        self._last.close()

    def __repr__(self) -> str:
        return f'EtlFile({self.path!r})'
