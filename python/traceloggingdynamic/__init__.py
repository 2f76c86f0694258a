"""traceloggingdynamic: write TraceLogging (ETW) events from Python, in C.

A drop-in, much faster implementation of Microsoft's pure-Python
``traceloggingdynamic`` 1.0.1: the same names, signatures and byte-identical
events, with a few deliberate fixes (see README, "Deviations"). On Windows
events go to ETW; everywhere they also go to in-process trace sessions.

Example::

    provider = Provider(b'MyCompany.MyComponent')
    if provider.is_enabled(5, 0x21):
        eb = EventBuilder()
        eb.reset(b'MyEvent', 5, 0x21)
        eb.add_bool32(b'MyField', True)
        provider.write(eb)

Recording (any platform, no administrator rights): ``Session(path,
providers)`` writes the events of the given providers into an ``.etl``
file; ``etl.EtlFile`` decodes one (also available here as ``EtlFile``)::

    with Session('trace.etl', ['MyCompany.MyComponent:5']) as session:
        ...  # code that writes events
    for event in EtlFile('trace.etl').events():
        print(event['event'], event['fields'])

A session can also start with the interpreter, from the environment:

- ``TRACELOGGING_SESSION_FILE``: the ``.etl`` file to write (``{pid}`` in
  it becomes the process id);
- ``TRACELOGGING_SESSION_PROVIDERS``: comma-separated provider specs
  ``NAME_OR_GUID[:LEVEL[:ANY[:ALL]]]`` (required);
- ``TRACELOGGING_SESSION_STACKS``: keyword mask of events that carry stacks.

Command line: ``python -m traceloggingdynamic record|decode|id`` (``--help``).
"""

from ._tld import (
    EventBuilder,
    FieldRangeError,
    FieldTypeError,
    Provider,
    Session,
    providerid_from_name,
    providerid_from_name_bytes_utf8,
)
from .sessions import ProviderSpec, SessionStats

# The reference module's __all__; the session API is importable by name
# (Session, ProviderSpec, SessionStats, EtlFile) but not exported by `*`.

__all__ = (
    'providerid_from_name',
    'providerid_from_name_bytes_utf8',
    'OutType',
    'EventBuilder',
    'Provider',
)


class OutType:
    """Formatting hints a decoder may apply to a field (a plain class of ints)."""

    NULL = 0
    """Default formatting for the field's in-type."""
    NOPRINT = 1
    """Field should be hidden."""
    STRING = 2
    """Show an int8/uint8/uint16 as a character."""
    BOOLEAN = 3
    """Show a uint8 as a boolean."""
    HEX = 4
    """Show an integer in hexadecimal."""
    PID = 5
    """A process id (uint32)."""
    TID = 6
    """A thread id (uint32)."""
    PORT = 7
    """A big-endian IP port (uint16)."""
    IPV4 = 8
    """An IPv4 address (uint32)."""
    IPV6 = 9
    """An IPv6 address (binary)."""
    SOCKETADDRESS = 10
    """A sockaddr (binary)."""
    XML = 11
    """XML text (strings; implies UTF-8 for 8-bit strings)."""
    JSON = 12
    """JSON text (strings; implies UTF-8 for 8-bit strings)."""
    WIN32ERROR = 13
    """A Win32 error code (uint32)."""
    NTSTATUS = 14
    """An NTSTATUS (uint32)."""
    HRESULT = 15
    """An HRESULT (int32)."""
    FILETIME = 16
    """Implied by the FILETIME in-type."""
    SIGNED = 17
    """Implied by the signed integer in-types."""
    UNSIGNED = 18
    """Implied by the unsigned integer in-types."""
    CULTURE_INSENSITIVE_DATETIME = 33
    """Locale-invariant date/time (filetime/systemtime)."""
    UTF8 = 35
    """8-bit string is UTF-8."""
    PKCS7_WITH_TYPE_INFO = 36
    """A PKCS7 packet followed by TraceLogging type info (binary)."""
    CODE_POINTER = 37
    """An address in code (integer types)."""
    DATETIME_UTC = 38
    """Date/time in UTC (filetime/systemtime)."""
    _CHAIN = 128
    _TYPE_MASK = 127


def __getattr__(name):
    # EtlFile lives in .etl, imported on first use: it pulls in json, which
    # an interpreter started with a session (see _autostart) does not need.
    if name == 'EtlFile':
        from .etl import EtlFile
        return EtlFile
    raise AttributeError(f"module 'traceloggingdynamic' has no attribute {name!r}")
