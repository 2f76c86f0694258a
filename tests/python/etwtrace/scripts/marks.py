"""Marks of both API generations: custom_mark, mark, mark_range (start/stop)
and a warning-free run (the CLI keeps a tracer active)."""
import warnings

import etwtrace

warnings.simplefilter('error')      # a mark while a tracer is active must not warn
etwtrace.custom_mark('custom one')
etwtrace.mark('plain two')
with etwtrace.mark_range('range three'):
    etwtrace.mark('inside range')
print('active', etwtrace.is_active())
