"""Test-only writers of .etl files in layouts Windows writes, made from the
format (../shared/spec/etl-file.md, etw-kernel-events.md), not copied from
any file:

- ``lz77_compress``: an [MS-XCA] Plain LZ77 compressor (greedy, 3-byte
  hash, offsets up to 8192, lengths through the shared half-byte, byte,
  u16 and u32 forms, the last flag word padded with 1s);
- ``relog``: rewrites a file our sessions wrote as a relogged file:
  LogFileMode gets EVENT_TRACE_COMPRESSED_MODE, every buffer after the first
  is compressed and takes only its compressed bytes on disk (BufferSize =
  0x48 + compressed length, flag 0x40, Offset@0x30 = the expanded extent),
  optionally buffer 0 shorter than the logfile's BufferSize, and
  optionally an older logger's SavedOffset of 0;
- ``KernelTrace``: a file of kernel records (SYSTEM and PERFINFO headers)
  and TraceLogging events, buffer by buffer, per CPU.
"""

import struct

BH = 0x48                       # buffer header size
COMPRESSED_MODE = 0x04000000
FLAG_FLUSH, FLAG_PROC_INDEX, FLAG_COMPRESSED = 0x01, 0x20, 0x40
LF = BH + 0x20                  # TRACE_LOGFILE_HEADER in buffer 0


def lz77_compress(data, max_match=0):
    out = bytearray(b'\0\0\0\0')
    flag_at, flags, nflags = 0, 0, 0
    nibble_at = None
    last = {}
    n = len(data)

    def flag(bit):
        nonlocal flag_at, flags, nflags
        if nflags == 32:
            struct.pack_into('<I', out, flag_at, flags)
            flag_at = len(out)
            out.extend(b'\0\0\0\0')
            flags, nflags = 0, 0
        flags = (flags << 1) | bit
        nflags += 1

    i = 0
    while i < n:
        best = dist = 0
        if i + 3 <= n:
            key = data[i:i + 3]
            cand = last.get(key)
            last[key] = i
            if cand is not None and i - cand <= 8192:
                length = 0
                while i + length < n and data[cand + length] == data[i + length] and \
                        (not max_match or length < max_match):
                    length += 1
                if length >= 3:
                    best, dist = length, i - cand
        if not best:
            flag(0)
            out.append(data[i])
            i += 1
            continue
        flag(1)
        small = best - 3
        out += struct.pack('<H', ((dist - 1) << 3) | min(small, 7))
        if small >= 7:
            nib = min(best - 10, 15)
            if nibble_at is None:
                nibble_at = len(out)
                out.append(nib)
            else:
                out[nibble_at] |= nib << 4
                nibble_at = None
            if best - 10 >= 15:
                if best - 25 < 255:
                    out.append(best - 25)
                else:
                    out.append(255)
                    v = best - 3
                    out += struct.pack('<H', v) if v <= 0xFFFF else struct.pack('<HI', 0, v)
        i += best
    pad = (flags << (32 - nflags)) | ((1 << (32 - nflags)) - 1) if nflags < 32 else flags
    struct.pack_into('<I', out, flag_at, pad & 0xFFFFFFFF)
    if nflags == 32:
        out += b'\xff\xff\xff\xff'
    return bytes(out)


def buffers_of(data, buffer_size):
    """The buffers of an uncompressed file of fixed-size buffers."""
    return [data[i:i + buffer_size] for i in range(0, len(data), buffer_size)]


def relog(data, *, compress=True, buffer0_size=None, saved_offset_zero=False):
    """A file we wrote (fixed-size buffers) as a relogger writes it."""
    bs = struct.unpack_from('<I', data, 0)[0]
    bufs = buffers_of(data, bs)
    out = bytearray()
    b0 = bytearray(bufs[0])
    if compress:
        mode = struct.unpack_from('<I', b0, LF + 0x20)[0]
        struct.pack_into('<I', b0, LF + 0x20, mode | COMPRESSED_MODE)
    if buffer0_size:
        used = struct.unpack_from('<I', b0, 0x30)[0]
        assert used <= buffer0_size
        b0 = b0[:buffer0_size]
        struct.pack_into('<I', b0, 0, buffer0_size)
    if saved_offset_zero:
        struct.pack_into('<I', b0, 4, 0)
    out += b0
    for b in bufs[1:]:
        b = bytearray(b)
        if saved_offset_zero:
            struct.pack_into('<I', b, 4, 0)
        if not compress:
            out += b
            continue
        used = struct.unpack_from('<I', b, 0x30)[0]
        z = lz77_compress(bytes(b[BH:used]))
        struct.pack_into('<I', b, 0, BH + len(z))
        flags = struct.unpack_from('<H', b, 0x34)[0]
        struct.pack_into('<H', b, 0x34, flags | FLAG_COMPRESSED)
        out += b[:BH] + z
    return bytes(out)


# ---- kernel traces -------------------------------------------------------------

def system_record(hook, version, tid, pid, ts, payload):
    return struct.pack('<IHHIIQII', 0xC0020000 | version, 0x20 + len(payload), hook, tid, pid, ts, 0, 0) + payload


def perfinfo_record(hook, version, ts, payload):
    return struct.pack('<IHHQ', 0xC0110000 | version, 0x10 + len(payload), hook, ts) + payload


def wstr(s):
    return s.encode('utf-16-le') + b'\0\0'


SID_S_1_5_21_1_2 = bytes([1, 3, 0, 0, 0, 0, 0, 5]) + struct.pack('<III', 21, 1, 2)


def process_payload(pid, ppid, image, cmd, sid=SID_S_1_5_21_1_2):
    """Process class v4; the UserSID is TOKEN_USER (two pointers) and the
    SID, or 4 zero bytes when `sid` is None."""
    user = struct.pack('<QQ', 0xFFFF9000AAAA0000, 0) + sid if sid else b'\0\0\0\0'
    return (struct.pack('<QIIIiQI', 0xFFFF800012340000, pid, ppid, 1, 0, 0x1AB000, 0) + user +
            image.encode() + b'\0' + wstr(cmd) + wstr('') + wstr(''))


def thread_payload(pid, tid):
    return struct.pack('<IIQQQQQQQIBBBB', pid, tid, 0xFFFFA00000010000, 0xFFFFA0000000A000, 0xE000100000,
                       0xE0000F0000, 0xF, 0x7FF612340000, 0xE000200000, 0, 8, 5, 2, 0)


def image_payload(base, size, pid, path):
    return struct.pack('<QQIIIIQIIII', base, size, pid, 0x1234, 0x5F000000, 0, base, 0, 0, 0, 0) + wstr(path)


def sample_payload(ip, tid):
    return struct.pack('<QIHBB', ip, tid, 1, 0, 0)


def stack_payload(ts, pid, tid, addresses):
    return struct.pack('<QII', ts, pid, tid) + b''.join(struct.pack('<Q', a) for a in addresses)


class KernelTrace:
    """Buffers of records, written as a file with a logfile header."""

    START_CLOCK = 5_000_000
    START_FT = 133_000_000_000_000_000     # 2022-06-18T04:26:40Z
    FREQ = 10_000_000

    def __init__(self, buffer_size=8192):
        self.bs = buffer_size
        self.buffers = []           # (cpu, [records])

    def buffer(self, cpu):
        self.buffers.append((cpu, []))

    def add(self, record):
        self.buffers[-1][1].append(record)

    def _header_buffer(self, count):
        names = wstr('NT Kernel Logger') + wstr('kernel.etl')
        size = 0x20 + 0x118 + len(names)
        lf = bytearray(0x118)
        struct.pack_into('<IIII', lf, 0, self.bs, 0x0501000A, 19041, 4)
        struct.pack_into('<Q', lf, 0x10, self.START_FT + 36_000_000_000)
        struct.pack_into('<IIIIIIII', lf, 0x18, 156250, 0, 1, count, 1, 8, 0, 2400)
        struct.pack_into('<QQQII', lf, 0xF8, self.START_FT - 864_000_000_000, self.FREQ, self.START_FT, 1, 0)
        rec = struct.pack('<IHHIIQII', 0xC0020002, size, 0, 0, 0, self.START_CLOCK, 0, 0) + bytes(lf) + names
        rec += b'\0' * (-len(rec) % 8)
        return self._buffer(0, [rec], FLAG_FLUSH | FLAG_PROC_INDEX, 4)

    def _buffer(self, cpu, records, flags, btype=0):
        body = b''.join(r + b'\0' * (-len(r) % 8) for r in records)
        used = BH + len(body)
        assert used <= self.bs, 'records do not fit the buffer'
        hdr = bytearray(BH)
        struct.pack_into('<IIIIQQQHHIIHH', hdr, 0, self.bs, used, used, 0, 0, 0, 0, cpu, 7, 3, used, flags, btype)
        return bytes(hdr) + body + b'\xff' * (self.bs - used)

    def data(self):
        count = 1 + len(self.buffers)
        out = [self._header_buffer(count)]
        for i, (cpu, recs) in enumerate(self.buffers):
            last = i == len(self.buffers) - 1
            out.append(self._buffer(cpu, recs, FLAG_PROC_INDEX | (FLAG_FLUSH if last else 0)))
        return b''.join(out)
