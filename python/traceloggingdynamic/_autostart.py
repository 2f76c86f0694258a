"""Starts a trace session from the environment at interpreter start.

Imported by ``traceloggingdynamic-session.pth`` (installed at the top of
site-packages) only when ``TRACELOGGING_SESSION_FILE`` is set, so an
interpreter started without it pays nothing. Variables:

- ``TRACELOGGING_SESSION_FILE``: the ``.etl`` file to write. A ``{pid}`` in
  it becomes the process id, and then child Python processes (which inherit
  the variables) each write their own file. Without ``{pid}`` the variables
  are removed from ``os.environ`` once read, so children do not overwrite
  the file.
- ``TRACELOGGING_SESSION_PROVIDERS`` (required): comma-separated provider
  specs, ``NAME_OR_GUID[:LEVEL[:ANY[:ALL]]]`` each (see ``sessions.py``).
- ``TRACELOGGING_SESSION_STACKS`` (optional): keyword mask (decimal or 0x
  hex) of the events that carry the writing thread's stack.
- ``TRACELOGGING_SESSION_MAX_SIZE`` (optional): the file's size limit
  (bytes, or ``500M``, ``2G``: powers of 1024); recording stops there.

The session is stopped at interpreter exit; then one line on stderr names
each provider of PROVIDERS that no provider of the process had (a typo
records nothing). If a variable is malformed or the file cannot be
created, one warning line goes to stderr and the program runs without a
session; nothing here may stop it from starting.
"""

import os
import sys

from . import Session
from .sessions import ProviderSpec, _parse_keyword, parse_size, stop_quietly

FILE_VAR = 'TRACELOGGING_SESSION_FILE'
PROVIDERS_VAR = 'TRACELOGGING_SESSION_PROVIDERS'
STACKS_VAR = 'TRACELOGGING_SESSION_STACKS'
MAX_SIZE_VAR = 'TRACELOGGING_SESSION_MAX_SIZE'

session = None
"""The running Session, or None when none could be started."""


def _session_from_environment(environ):
    """A started Session built from `environ`; ValueError/OSError say what was wrong."""
    path = environ.get(FILE_VAR, '')
    if not path.strip():
        raise ValueError(f'{FILE_VAR} is empty; set it to the .etl file to write')
    providers_text = environ.get(PROVIDERS_VAR, '')
    specs = [ProviderSpec.parse(part) for part in providers_text.split(',') if part.strip()]
    if not specs:
        raise ValueError(f'{PROVIDERS_VAR} is not set or empty; set it to comma-separated '
                         'provider specs such as "MyProvider:5" or "*MyProvider:4:0x10"')
    stacks_text = environ.get(STACKS_VAR, '').strip()
    stacks = _parse_keyword(stacks_text, STACKS_VAR) if stacks_text else 0
    max_size_text = environ.get(MAX_SIZE_VAR, '').strip()
    max_size = parse_size(max_size_text, MAX_SIZE_VAR) if max_size_text else None
    per_process = '{pid}' in path
    s = Session(path.replace('{pid}', str(os.getpid())), specs, stacks=stacks, max_size=max_size)
    s.start()
    if not per_process:
        for name in (FILE_VAR, PROVIDERS_VAR, STACKS_VAR, MAX_SIZE_VAR):
            os.environ.pop(name, None)
    return s


def _stop_at_exit():
    """Stops the session (before _tld's own atexit hook, registered earlier)
    and says which providers it never saw."""
    if session is None or not session.running:
        return
    stop_quietly(session)
    for line in session.unmatched_providers():
        sys.stderr.write(f'traceloggingdynamic: trace session {session.path}: {line}\n')


def _autostart():
    global session
    try:
        session = _session_from_environment(os.environ)
    except Exception as e:  # never keep the program from starting
        sys.stderr.write(f'traceloggingdynamic: no trace session started from the environment: {e}\n')
        return
    import atexit
    atexit.register(_stop_at_exit)


_autostart()
