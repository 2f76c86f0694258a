"""Demo: build TraceLogging events with traceloggingdynamic and show them.

Run with ``make demo``. Builds a few events the way an application would,
prints the bytes a session (or ETW) receives, and shows the provider's
enable state. Until in-process sessions land (see README, "Status"), nobody
listens on Linux, so ``is_enabled()`` is False and ``write()`` returns 0.
"""

import uuid

import traceloggingdynamic as tld


def show(eb):
    meta, data = eb._get_meta_data()
    print(f'  {eb}')
    print(f'    descriptor {eb._get_event_desc().hex(" ")}')
    print(f'    metadata   {meta.hex(" ")}')
    print(f'    data       {data.hex(" ")}')


def main():
    provider = tld.Provider(b'MyCompany.MyComponent')
    print(provider)
    print(f'  traits {provider._get_traits().hex(" ")}')
    print(f'  id from name: {tld.providerid_from_name("MyCompany.MyComponent")}')

    eb = tld.EventBuilder()
    eb.reset(b'Request', level=4, keyword=0x21, opcode=1)
    eb.add_int32(b'count', 42)
    eb.add_str8(b'user', 'alice')
    eb.add_str16(b'path', 'C:\\tmp\\données')
    eb.add_guid(b'session', uuid.UUID('00112233-4455-6677-8899-aabbccddeeff'))
    eb.add_uint16_seq(b'ports', [80, 443, 8080], out_type=tld.OutType.PORT)
    eb.add_struct(b'point', 2)
    eb.add_float64(b'x', 1.5)
    eb.add_float64(b'y', -2.0)
    show(eb)

    print(f'  is_enabled(4, 0x21): {provider.is_enabled(4, 0x21)}')
    print(f'  write(): {provider.write(eb, activity_id=uuid.uuid4())}')

    # Errors are exceptions that say what was wrong; the builder refuses to
    # write a half-built event until the next reset().
    try:
        eb.add_uint8(b'too_big', 300)
    except OverflowError as e:
        print(f'  add_uint8(300) -> {type(e).__name__}: {e}')
    try:
        for i in range(200):
            eb.add_int8(b'f', i % 100)
    except ValueError as e:
        print(f'  200 more fields -> ValueError: {e}')
    try:
        provider.write(eb)
    except ValueError as e:
        print(f'  write() after that -> ValueError: {e}')
    provider.close()


if __name__ == '__main__':
    main()
