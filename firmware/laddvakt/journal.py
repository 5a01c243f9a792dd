# Append-only journal of records in bounded segment files, plus a delivery cursor.
# Segments are named by the first sequence number they hold, so finding where a
# reader must start needs only a directory listing, never a scan of old data.
import os

from . import journal_format as jf

_CURSOR = "cursor"
_SUFFIX = ".jl"


def _seg_name(first_seq):
    return "%010d%s" % (first_seq, _SUFFIX)


class Journal:
    def __init__(self, path, segment_bytes=16384, max_bytes=262144):
        self.path = path
        self.segment_bytes = segment_bytes
        self.max_bytes = max_bytes
        self.seq = 0  # last sequence number written
        self.delivered = 0  # last sequence number the uplink has had acknowledged
        self.corrupt = []  # (segment, offset) of each bad tail found at recovery
        self._segs = []  # first seq of each segment, ascending
        self._f = None  # open append handle of the newest segment
        self._size = 0  # its size
        self._hdr = bytearray(jf.HEADER_SIZE)
        self._trl = bytearray(jf.TRAILER_SIZE)
        self._buf = bytearray(jf.MAX_PAYLOAD)
        self._hint = (0, 0, 0)  # (segment first seq, offset, seq before offset)

    # ---- recovery -------------------------------------------------------------
    def open(self):
        try:
            os.mkdir(self.path)
        except OSError:
            pass
        names = [n for n in os.listdir(self.path) if n.endswith(_SUFFIX)]
        self._segs = sorted(int(n[: -len(_SUFFIX)]) for n in names)
        self.delivered = self._read_cursor()
        self.seq = self.delivered
        if self._segs:
            first = self._segs[-1]
            last_seq, end, size = self._scan(first)
            if last_seq:
                self.seq = max(self.seq, last_seq)
            else:
                self.seq = max(self.seq, first - 1)
            if end < size:
                # A torn or corrupt tail: keep it for forensics, append elsewhere.
                self.corrupt.append((_seg_name(first), end))
                if not last_seq:
                    # Nothing valid in it: set it aside under a name the listing
                    # ignores, or the new segment would reuse its name and seq.
                    self._segs.pop()
                    os.rename(self._file(first), self.path + "/%010d.bad" % first)
                self._start_segment()
            else:
                self._f = open(self._file(first), "ab")
                self._size = size
        else:
            self._start_segment()
        return self

    def _scan(self, first):
        """(last valid seq, end offset of valid data, file size) of one segment."""
        last = 0
        off = 0
        with open(self._file(first), "rb") as f:
            while True:
                r = self._read_frame(f)
                if r is None:
                    break
                last = r[1]
                off += jf.HEADER_SIZE + r[2] + jf.TRAILER_SIZE
            size = f.seek(0, 2)
        return last, off, size

    def _read_frame(self, f):
        """(type, seq, length) of the next valid frame, payload in self._buf; None at end."""
        hdr = self._hdr
        if f.readinto(hdr) != jf.HEADER_SIZE:
            return None
        try:
            rtype, n, seq = jf.parse_header(hdr)
        except jf.FrameError:
            return None
        mv = memoryview(self._buf)[:n]
        if f.readinto(mv) != n or f.readinto(self._trl) != jf.TRAILER_SIZE:
            return None
        try:
            jf.check_crc(hdr, mv, self._trl)
        except jf.FrameError:
            return None
        return rtype, seq, n

    # ---- writing --------------------------------------------------------------
    def _file(self, first):
        return self.path + "/" + _seg_name(first)

    def _start_segment(self):
        if self._f:
            self._f.close()
        first = self.seq + 1
        if first not in self._segs:
            self._segs.append(first)
        self._f = open(self._file(first), "ab")
        self._size = self._f.seek(0, 2)

    def append(self, rtype, payload):
        """Write one record and commit it to flash; returns its sequence number."""
        seq = self.seq + 1
        frame = jf.encode(rtype, seq, payload)
        if self._size and self._size + len(frame) > self.segment_bytes:
            self._start_segment()
            self._trim()
        self._f.write(frame)
        # littlefs commits file data only on flush or close.
        self._f.flush()
        self._size += len(frame)
        self.seq = seq
        return seq

    def _trim(self):
        # Delete the oldest segments while over budget, but only fully delivered ones.
        # Undelivered records are never dropped here.
        while len(self._segs) > 1 and self.bytes_used() > self.max_bytes:
            if self._segs[1] - 1 > self.delivered:
                break
            os.remove(self._file(self._segs.pop(0)))

    def bytes_used(self):
        total = 0
        for first in self._segs:
            total += os.stat(self._file(first))[6]
        return total

    # ---- reading and delivery -------------------------------------------------
    def read_after(self, after_seq, visit):
        """Call visit(seq, type, payload_mv) for records after after_seq, in order,
        until it returns False. payload_mv is only valid during the call."""
        segs = self._segs
        i = len(segs) - 1
        while i > 0 and segs[i] > after_seq + 1:
            i -= 1
        while i < len(segs):
            first = segs[i]
            hseg, hoff, hseq = self._hint
            with open(self._file(first), "rb") as f:
                off = 0
                if hseg == first and hseq <= after_seq:
                    f.seek(hoff)
                    off = hoff
                while True:
                    r = self._read_frame(f)
                    if r is None:
                        break
                    rtype, seq, n = r
                    if seq > after_seq:
                        if not visit(seq, rtype, memoryview(self._buf)[:n]):
                            return
                    else:
                        off += jf.HEADER_SIZE + n + jf.TRAILER_SIZE
                        self._hint = (first, off, seq)
            i += 1

    def pending(self):
        return self.seq - self.delivered

    def set_delivered(self, seq):
        if seq <= self.delivered:
            return
        self.delivered = seq
        tmp = self.path + "/" + _CURSOR + ".tmp"
        with open(tmp, "w") as f:
            f.write(str(seq))
        # rename is atomic on littlefs and POSIX: the cursor is old or new, never torn.
        os.rename(tmp, self.path + "/" + _CURSOR)

    def _read_cursor(self):
        try:
            with open(self.path + "/" + _CURSOR) as f:
                return int(f.read())
        except (OSError, ValueError):
            return 0

    def close(self):
        if self._f:
            self._f.close()
            self._f = None
