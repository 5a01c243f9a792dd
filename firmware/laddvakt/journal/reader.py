# Reads frames back from a journal file (a segment, a thinned file or a commit file): checks
# each one, steps over corrupt bytes to the next good frame and notes the seqs lost there.
# Every reader of the journal walks its files with FrameReader.frames.
from micropython import const

from laddvakt.journal import frame as jf

_MIN_FRAME = const(12)  # header 8, empty payload, CRC 4


class FrameReader:
    """The journal's read buffers, allocated once: buf holds the payload of the frame just
    read (and serves the journal as its copy buffer). skipped counts the corrupt frames
    stepped over; gaps holds the (first, last) seq ranges lost to them, not yet reported."""

    def __init__(self):
        self._hdr = bytearray(jf.HEADER_SIZE)
        self._trl = bytearray(jf.TRAILER_SIZE)
        self.buf = bytearray(jf.MAX_PAYLOAD)
        self.skipped = 0
        self.gaps = []

    def frames(self, f, off, last):
        """Yield (type, seq, length) of each valid frame of file f from offset off on, in
        order; `last` is the seq before off. The payload is in buf until the next step,
        and f is positioned at the end of the frame (f.tell() is where the next one
        starts). A corrupt frame followed by valid ones is stepped over."""
        while True:
            r = self._next(f, off, last)
            if r is None:
                return
            last = r[1]
            off = f.tell()
            yield r

    def payload(self, n):
        """The payload of the frame just read, n bytes long."""
        return memoryview(self.buf)[:n]

    def note_gap(self, a, b):
        if (a, b) not in self.gaps:
            self.gaps.append((a, b))

    def lost(self, last, nbytes, nxt=0):
        """Note the seqs lost in nbytes of unreadable frames after seq `last` and return the
        highest: up to nxt - 1 when the next readable seq nxt is known, else as many as the
        bytes could hold (a full frame takes at least 12), so the gap over-reports and a seq
        that may have been used is never handed out again."""
        self.skipped += 1
        hi = nxt - 1 if nxt else last + max(1, nbytes // _MIN_FRAME)
        if hi > last:
            self.note_gap(last + 1, hi)
        return max(hi, last)

    def _read(self, f, last):
        """(type, seq, length) of the next valid frame, payload in buf; None if the bytes at
        the file position are not one. `last`: the seq before it, from which a short
        frame's seq is rebuilt (its CRC then checks the whole seq)."""
        hdr = self._hdr
        pos = f.tell()
        got = f.readinto(hdr)
        if got and hdr[0] == jf.SHORT_MAGIC:
            if got < jf.SHORT_HEADER_SIZE:
                return None
            rtype, n, seq = jf.rebuild_header(hdr, last)
            f.seek(pos + jf.SHORT_HEADER_SIZE)
        else:
            if got != jf.HEADER_SIZE:
                return None
            try:
                rtype, n, seq = jf.parse_header(hdr)
            except jf.FrameError:
                return None
        mv = memoryview(self.buf)[:n]
        if f.readinto(mv) != n or f.readinto(self._trl) != jf.TRAILER_SIZE:
            return None
        try:
            jf.check_crc(hdr, mv, self._trl)
        except jf.FrameError:
            return None
        return rtype, seq, n

    def _next(self, f, off, last):
        """The frame at off, or, if that one is corrupt, the next valid frame after it
        with a higher seq than `last` (its skipped seqs are noted in gaps).
        None at the end of valid data; the file is left positioned after the frame."""
        f.seek(off)
        r = self._read(f, last)
        if r is not None and r[1] > last:
            return r
        # Resynchronise: try each later magic byte. CRC32 makes a false frame unlikely.
        pos = off + 1
        buf = self.buf
        while True:
            f.seek(pos)
            got = f.readinto(buf)
            if not got:
                return None
            i = 0
            while i < got:
                if buf[i] == jf.MAGIC or buf[i] == jf.SHORT_MAGIC:
                    f.seek(pos + i)
                    r = self._read(f, last)
                    if r is not None and r[1] > last:
                        self.skipped += 1
                        if r[1] > last + 1:
                            self.note_gap(last + 1, r[1] - 1)
                        return r
                    f.seek(pos)
                    got = f.readinto(buf)  # _read reused the buffer
                i += 1
            pos += got
