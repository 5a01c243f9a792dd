# The journal's on-flash record frame. Fixed little-endian header, JSON payload, CRC32:
#
#   0  u8   magic 0xD7        marks a frame start, so a scan can tell data from junk
#   1  u8   type              record type code (TYPE_*), readable without parsing JSON
#   2  u16  length            payload length in bytes
#   4  u32  seq               device-wide sequence number, strictly increasing
#   8  ...  payload           the record without "seq" (the header has it): compact binary
#                             (codec.py), or a UTF-8 JSON object if it starts with "{"
#   8+n u32 crc32             over bytes 0 .. 8+n-1
#
# A torn write leaves a frame whose length runs past the end or whose CRC fails;
# the reader stops there and reports it.
#
# Below the format, FrameReader reads frames back from a journal file (a segment, a thinned
# file or a commit file): checks each one, steps over corrupt bytes to the next good frame and
# notes the seqs lost there. Every reader of the journal walks its files with FrameReader.frames.
import struct
from binascii import crc32
from micropython import const

MAGIC = const(0xD7)
SHORT_MAGIC = const(0xD6)  # a short frame, only in thinned files: encode_short
SHORT_HEADER_SIZE = const(5)
HEADER_SIZE = const(8)
TRAILER_SIZE = const(4)
MAX_PAYLOAD = const(2048)

TYPE_BOOT = const(1)
TYPE_SESSION_START = const(2)
TYPE_METER = const(3)
TYPE_SESSION_END = const(4)
TYPE_FAULT = const(5)
# A Sample.Periodic meter value: its own code so thinning drops it without parsing the
# payload, which is a "meter" record like code 3 (docs/journal.md, Capacity).
TYPE_METER_PERIODIC = const(6)
# A reading billing takes where the price or the charge state changes (`Trigger`): the same
# record again; thinned with the periodic values (docs/journal.md, Capacity).
TYPE_METER_EDGE = const(7)
TYPE_METER_EVENT = const(10)  # meters: 10-19
TYPE_PLAN = const(40)  # charging control: control uses 40-49
# journal area (20-29): docs/journal.md; a tariff change is billing's tariff_change (60)
TYPE_GAP = const(21)
TYPE_TIME_SYNC = const(22)
TYPE_TARIFF_CHANGE = const(60)  # billing: 60-69
TYPE_PRICE_SCHEDULE = const(61)

# The header is struct "<BBHI": magic, type, length, seq (the layout above).


# What a bad frame raises: ValueError itself, as its callers tell no other apart (run in place,
# a class of its own is ~200 bytes of RAM).
FrameError = ValueError


def encode(rtype, seq, payload):
    n = len(payload)
    if n > MAX_PAYLOAD:
        raise FrameError("payload too long: %d" % n)
    frame = bytearray(HEADER_SIZE + n + TRAILER_SIZE)
    struct.pack_into("<BBHI", frame, 0, MAGIC, rtype, n, seq)
    frame[HEADER_SIZE:HEADER_SIZE + n] = payload
    struct.pack_into("<I", frame, HEADER_SIZE + n, crc32(memoryview(frame)[:HEADER_SIZE + n]))
    return frame


def encode_short(rtype, seq, payload):
    """The frame in its short form, for thinned files (docs/journal.md, Capacity): magic
    SHORT_MAGIC, type, u8 length, the seq's low 16 bits, payload, and the CRC32 of the full
    frame (over its 8-byte header), so a reader that rebuilds the header checks the whole seq.
    The writer uses it only for payloads under 256 bytes and a seq under 65536 past the
    frame before it in the file, which is what a reader rebuilds the seq from."""
    n = len(payload)
    full = encode(rtype, seq, payload)
    frame = bytearray(SHORT_HEADER_SIZE + n + TRAILER_SIZE)
    frame[0] = SHORT_MAGIC
    frame[1] = rtype
    frame[2] = n
    frame[3] = seq & 0xFF
    frame[4] = (seq >> 8) & 0xFF
    frame[SHORT_HEADER_SIZE:] = memoryview(full)[HEADER_SIZE:]
    return frame


def parse_header(hdr):
    """(type, length, seq) from 8 header bytes; FrameError if not a frame start."""
    magic, rtype, n, seq = struct.unpack_from("<BBHI", hdr, 0)
    if magic != MAGIC or n > MAX_PAYLOAD:
        raise FrameError("bad frame header")
    return rtype, n, seq


def check_crc(hdr, payload, trailer):
    want = struct.unpack_from("<I", trailer, 0)[0]
    if crc32(payload, crc32(hdr)) != want:
        raise FrameError("crc mismatch")


_MIN_FRAME = const(12)  # header 8, empty payload, CRC 4


class FrameReader:
    """The journal's read buffers, allocated once: buf holds the payload of the frame just
    read (and serves the journal as its copy buffer). skipped counts the corrupt frames
    stepped over; gaps holds the (first, last) seq ranges lost to them, not yet reported."""

    def __init__(self):
        self.hdr = bytearray(HEADER_SIZE)
        self.trailer = bytearray(TRAILER_SIZE)
        self.buf = bytearray(MAX_PAYLOAD)
        self.skipped = 0
        self.gaps = []

    def copy(self, path, out):
        """Append the file at path to the open file out, through buf."""
        buf = self.buf
        with open(path, "rb") as f:
            while True:
                n = f.readinto(buf)
                if not n:
                    return
                out.write(memoryview(buf)[:n])

    def frames(self, f, off, last):
        """Yield (type, seq, length) of each valid frame of file f from offset off on, in
        order; `last` is the seq before off. The payload is in buf until the next step,
        and f is positioned at the end of the frame (f.tell() is where the next one
        starts). A corrupt frame followed by valid ones is stepped over: after a frame that
        is not valid, or not above `last`, the next valid frame with a higher seq (its skipped
        seqs are noted in gaps)."""
        buf = self.buf
        while True:
            f.seek(off)
            r = self._read(f, last)
            if r is None or r[1] <= last:
                r = None
                # Resynchronise: try each later magic byte. CRC32 makes a false frame unlikely.
                pos = off + 1
                while r is None:
                    f.seek(pos)
                    got = f.readinto(buf)
                    if not got:
                        return  # the end of valid data
                    i = 0
                    while i < got:
                        if buf[i] == MAGIC or buf[i] == SHORT_MAGIC:
                            f.seek(pos + i)
                            r = self._read(f, last)
                            if r is not None and r[1] > last:
                                self.skipped += 1
                                if r[1] > last + 1:
                                    self.note_gap(last + 1, r[1] - 1)
                                break
                            r = None
                            f.seek(pos)
                            got = f.readinto(buf)  # _read reused the buffer
                        i += 1
                    pos += got
            last = r[1]
            off = f.tell()
            yield r

    def payload(self, n):
        """The payload of the frame just read, n bytes long."""
        return memoryview(self.buf)[:n]

    def note_gap(self, a, b):
        if (a, b) not in self.gaps:
            self.gaps.append((a, b))

    def lost(self, last, n, nxt=0):
        """Note the seqs lost in n bytes of unreadable frames after seq `last` and return the
        highest: up to nxt - 1 when the next readable seq nxt is known, else as many as the
        bytes could hold (a full frame takes at least 12), so the gap over-reports and a seq
        that may have been used is never handed out again."""
        self.skipped += 1
        hi = nxt - 1 if nxt else last + max(1, n // _MIN_FRAME)
        if hi > last:
            self.note_gap(last + 1, hi)
        return max(hi, last)

    def _read(self, f, last):
        """(type, seq, length) of the next valid frame, payload in buf; None if the bytes at
        the file position are not one. `last`: the seq before it, from which a short
        frame's seq is rebuilt (its CRC then checks the whole seq)."""
        hdr = self.hdr
        pos = f.tell()
        got = f.readinto(hdr)
        if got and hdr[0] == SHORT_MAGIC:
            if got < SHORT_HEADER_SIZE:
                return None
            # Turn the short header into the full one, its seq the first one after `last`
            # with those low 16 bits.
            rtype = hdr[1]
            n = hdr[2]
            seq = ((last + 1) & ~0xFFFF) | hdr[3] | hdr[4] << 8
            if seq <= last:
                seq += 0x10000
            struct.pack_into("<BBHI", hdr, 0, MAGIC, rtype, n, seq)
            f.seek(pos + SHORT_HEADER_SIZE)
        else:
            if got != HEADER_SIZE:
                return None
            try:
                rtype, n, seq = parse_header(hdr)
            except FrameError:
                return None
        mv = memoryview(self.buf)[:n]
        if f.readinto(mv) != n or f.readinto(self.trailer) != TRAILER_SIZE:
            return None
        try:
            check_crc(hdr, mv, self.trailer)
        except FrameError:
            return None
        return rtype, seq, n
