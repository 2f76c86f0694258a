"""Run by an interpreter that may have been traced since startup (etwtrace.pth):
reports whether etwtrace was loaded before this script and whether tracing is
on, then marks a stack inside probe() when it is."""
import json
import sys

LOADED_AT_START = 'etwtrace' in sys.modules

import etwtrace  # noqa: E402


def probe():
    active = etwtrace.is_active()
    if active:
        etwtrace._mark_stack('pth probe')
    return active


print(json.dumps({'active': probe(), 'loaded_at_start': LOADED_AT_START}))
