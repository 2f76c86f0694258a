"""``--capture FILE`` on Windows: Windows Performance Recorder (WPR).

WPR starts an ETW recording with the bundled profile (``python.wprp``:
CPU samples with stacks, processes, threads and images, and the "Python"
provider at level 5), the program runs, and ``wpr -stop FILE`` merges it
all into FILE, which WPA opens (with the bundled stack tags) and
``python -m traceloggingdynamic decode`` reads. This is what a user of
upstream etwtrace with WPR/WPA expects: ETW delivers the events and walks
the native stacks through the thunks' registered unwind data.

WPR needs ``wpr.exe`` (Windows 10 and later have it in System32; the
Windows ADK has newer ones; ``WPR_EXE`` names another) and an elevated
prompt. When it cannot be used, :func:`capture` says why in one line and
returns None, and the caller records in-process instead.

Nothing here needs Windows to run: the tests drive it on Linux with a
stand-in ``wpr`` on PATH.
"""

import os
import shutil
import sys
from pathlib import Path

# Whether --capture tries WPR first (the CLI asks; tests set it elsewhere).
APPLIES = sys.platform == 'win32'
PROFILE = Path(__file__).resolve().parent / 'profile' / 'python.wprp'
STACKTAGS = Path(__file__).resolve().parent / 'profile' / 'python.stacktags'


def find_wpr(environ=None):
    """The wpr.exe to use, or None: WPR_EXE, then System32, then PATH."""
    environ = os.environ if environ is None else environ
    named = environ.get('WPR_EXE')
    if named:
        return named if os.path.isfile(named) else None
    system = os.path.join(environ.get('SystemRoot', r'C:\Windows'), 'System32', 'wpr.exe')
    if os.path.isfile(system):
        return system
    return shutil.which('wpr', path=environ.get('PATH'))


def profile_name(machine):
    """The profile of python.wprp for this processor ('ARM64' has no
    context-switch stacks, which Windows on ARM64 does not give)."""
    return 'ARM64' if str(machine).upper() in ('ARM64', 'AARCH64') else 'Default'


def start_command(wpr, instance, machine, profile=PROFILE):
    # -filemode: the recording goes to disk as it runs, so nothing from the
    # start of a long program is lost to a wrapped memory buffer.
    return [str(wpr), '-start', f'{profile}!{profile_name(machine)}', '-filemode', '-instancename', instance]


def stop_command(wpr, instance, path):
    return [str(wpr), '-stop', str(path), '-instancename', instance]


def cancel_command(wpr, instance):
    return [str(wpr), '-cancel', '-instancename', instance]


def is_elevated():
    """True or False on Windows; None where it cannot be told."""
    if os.name != 'nt':
        return None
    try:
        import ctypes
        return bool(ctypes.windll.shell32.IsUserAnAdmin())
    except (ImportError, AttributeError, OSError):
        return None


def _first_line(text):
    for line in (text or '').splitlines():
        if line.strip():
            return line.strip()
    return ''


def _say(message):
    print(f'etwtrace: {message}', file=sys.stderr)


def capture(path, run, *, wpr=None, machine=None, elevated=None, say=_say):
    """Records the run of `run()` (which returns the program's exit status)
    with WPR into `path`. Returns that status (or 2 when WPR failed to
    write the file), or None, after saying why in one line, when WPR cannot
    be used: the caller then records in-process."""
    import platform  # these three here: every --capture imports this module, only Windows uses them
    import subprocess
    import uuid
    wpr = wpr or find_wpr()
    if wpr is None:
        say('wpr.exe not found (not in System32, WPR_EXE or PATH): recording in-process instead')
        return None
    elevated = is_elevated() if elevated is None else elevated
    if elevated is False:
        say('WPR needs an elevated (administrator) prompt: recording in-process instead')
        return None
    machine = machine or platform.machine()
    instance = f'etwtrace-{uuid.uuid4().hex[:12]}'
    started = subprocess.run(start_command(wpr, instance, machine), capture_output=True, text=True)
    if started.returncode != 0:
        why = _first_line(started.stdout) or _first_line(started.stderr) or f'exit status {started.returncode}'
        say(f'wpr -start failed ({why}): recording in-process instead')
        return None
    try:
        status = run()
    except BaseException:
        subprocess.run(cancel_command(wpr, instance), capture_output=True)
        raise
    path = os.path.abspath(path)
    stopped = subprocess.run(stop_command(wpr, instance, path), capture_output=True, text=True)
    if stopped.returncode != 0 or not os.path.isfile(path):
        why = _first_line(stopped.stdout) or _first_line(stopped.stderr) or f'exit status {stopped.returncode}'
        say(f'wpr -stop {path} failed ({why}); nothing was written')
        return status or 2
    say(f'WPR wrote {path} ({os.path.getsize(path)} bytes, profile {PROFILE.name}!{profile_name(machine)}); '
        f'open it in WPA with the stack tags {STACKTAGS}, or: python -m traceloggingdynamic decode {path} --summary')
    return status
