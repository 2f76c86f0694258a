"""Runs a Python program in this process the way the interpreter would:
``script.py args`` or ``-m module args``, its uncaught exception printed
without our frames, its non-daemon threads joined, its exit status (and
death by Ctrl-C) passed on. Shared by ``python -m traceloggingdynamic
record`` and ``python -m etwtrace``; kept apart from the command lines so
that running a program imports nothing it does not need.
"""

import os
import runpy
import signal
import sys
import threading
import traceback

EXIT_OK = 0


def run_target(target):
    """Runs `script.py args` or `-m module args` like the interpreter would.

    Returns the exit status: SystemExit's code, 1 after an uncaught exception
    (printed as Python prints it), else 0. After KeyboardInterrupt (Ctrl-C)
    the traceback is printed the same way and the status is -SIGINT:
    `exit_like` then ends the process by SIGINT, as Python does.
    """
    saved_argv, saved_path0 = sys.argv[:], sys.path[0] if sys.path else None
    try:
        if target[0] == '-m':
            sys.argv = [target[1]] + target[2:]  # run_module puts the module's path in argv[0]
            if sys.path:
                sys.path[0] = os.getcwd()
            runpy.run_module(target[1], run_name='__main__', alter_sys=True)
        else:
            sys.argv = target[:]
            if sys.path:
                sys.path[0] = os.path.dirname(os.path.abspath(target[0]))
            runpy.run_path(target[0], run_name='__main__')
        _join_threads()
        return EXIT_OK
    except SystemExit as e:
        _join_threads()
        return _exit_status(e.code)
    except BaseException as e:  # the target's uncaught exception, shown as Python shows it
        _print_program_exception(e)
        if isinstance(e, KeyboardInterrupt):
            _join_threads()
            return -signal.SIGINT
        return 1
    finally:
        sys.argv = saved_argv
        if saved_path0 is not None and sys.path:
            sys.path[0] = saved_path0


def _print_program_exception(e):
    """Prints the program's uncaught exception as `python script.py` would:
    without our frames and runpy's, which plain Python would not show."""
    tb = e.__traceback__
    ours = {__file__, runpy.__file__, '<frozen runpy>'}
    while tb is not None and tb.tb_frame.f_code.co_filename in ours:
        tb = tb.tb_next
    e.__traceback__ = tb  # the default hook prints the exception's own traceback
    try:
        sys.excepthook(type(e), e, tb)
    except Exception:
        traceback.print_exception(type(e), e, tb)


def _join_threads():
    """Waits for the program's non-daemon threads, as the interpreter does
    before exiting, so their events are recorded before the session stops.
    A second Ctrl-C stops waiting."""
    try:
        for t in threading.enumerate():
            if t is not threading.current_thread() and not t.daemon:
                t.join()
    except KeyboardInterrupt:
        pass


def _exit_status(code):
    """What the interpreter makes of sys.exit(code): the low 8 bits of an
    int on POSIX (sys.exit(-1) is 255 there), 1 after printing anything else."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF if os.name == 'posix' else code
    print(code, file=sys.stderr)
    return 1


def exit_like(status):
    """Leaves the process with `status` as Python would: a negative status
    means the program was ended by that signal (Ctrl-C: SIGINT), and the
    process ends by the same signal, so a shell sees 130 and stops a
    script it runs, as after Ctrl-C under plain `python`."""
    if status >= 0:
        sys.exit(status)
    signum = -status
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    if sys.platform == 'win32':
        os._exit(0xC000013A if signum == signal.SIGINT else 1)  # STATUS_CONTROL_C_EXIT, as python.exe
    try:
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
    except (OSError, ValueError):
        pass
    os._exit(128 + signum)
