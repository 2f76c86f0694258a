"""Demo: record TraceLogging and etwtrace events into an in-process .etl
session, then decode the file. Run with ``make demo``.

Writes only build/demo/demo.etl (and says so). No administrator rights, no
external service: the session lives in this process.
"""

import os
import uuid

import etwtrace
import traceloggingdynamic as tld
from traceloggingdynamic.etl import EtlFile

OUT_DIR = os.path.join('build', 'demo')
TRACE = os.path.join(OUT_DIR, 'demo.etl')


def b():
    etwtrace._mark_stack('inside b')


def a():
    b()


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    provider = tld.Provider(b'MyCompany.MyComponent')
    print(provider)
    print(f'  enabled before the session: {provider.is_enabled(4, 0x21)}')

    # Our provider at level 5 with any keyword, and etwtrace's "Python"
    # provider with stacks on PythonStackSample (keyword 0x200).
    with tld.Session(TRACE, ['MyCompany.MyComponent:5', 'Python:5'], stacks=0x200) as session:
        print(f'  enabled during the session: {provider.is_enabled(4, 0x21)}')
        eb = tld.EventBuilder()
        eb.reset(b'Request', level=4, keyword=0x21, opcode=1)
        eb.add_int32(b'count', 42)
        eb.add_str8(b'user', 'alice')
        eb.add_str16(b'path', 'C:\\tmp\\données')
        eb.add_uint16_seq(b'ports', [80, 443, 8080])
        eb.add_hexint32(b'flags', 0xBEEF)
        eb.add_struct(b'point', 2)
        eb.add_float64(b'x', 1.5)
        eb.add_float64(b'y', -2.0)
        provider.write(eb, activity_id=uuid.uuid4())

        # Python functions as native frames: a() -> b() -> a stack sample.
        with etwtrace.StackSamplingTracer():
            a()
    stats = session.stop()
    print(f'trace written to {TRACE}: {stats.events_written} events, {stats.events_lost} lost')

    trace = EtlFile(TRACE)
    functions = {}
    for event in trace.events():
        fields = event['fields']
        if event['event'] == 'PythonFunction':
            functions[(int(fields['BeginAddress'], 16), int(fields['EndAddress'], 16))] = fields['Name']
        elif event['event'] == 'Request':
            print(f"  {event['provider']}/{event['event']} level={event['level']} keyword={event['keyword']} "
                  f"fields={fields}")
        elif event['event'] == 'PythonStackSample':
            names = [name for addr in event.get('stack', [])
                     for (lo, hi), name in functions.items() if lo <= addr < hi]
            print(f"  Python/PythonStackSample '{fields['Mark']}': Python frames in the native stack: "
                  f"{' <- '.join(names)}")
    print(f'  decode it yourself: python -m traceloggingdynamic decode {TRACE} --summary')


if __name__ == '__main__':
    main()
