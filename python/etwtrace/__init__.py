"""etwtrace: make Python functions visible to native profilers.

Not implemented yet in this distribution: importing works, enabling raises
NotImplementedError with a pointer to the tracking issue. See README.
"""

__all__ = ('enable', 'disable', 'tracing')

_NOT_YET = ('etwtrace is not implemented yet in this build (stack-sampling and instrumented '
            'modes land with the etwtrace issue); traceloggingdynamic is available.')


def enable(*args, **kwargs):
    """Not implemented yet: raises NotImplementedError."""
    raise NotImplementedError(_NOT_YET)


def disable(*args, **kwargs):
    """Not implemented yet: raises NotImplementedError."""
    raise NotImplementedError(_NOT_YET)


def tracing(*args, **kwargs):
    """Not implemented yet: raises NotImplementedError."""
    raise NotImplementedError(_NOT_YET)
