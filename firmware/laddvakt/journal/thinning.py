# Thinning: when the journal is over its size limit and delivered history is gone, closed
# segments are rewritten without their periodic meter values, packed into thinned files.
# A mixin of Journal (store.py), whose __init__ holds the state. docs/journal.md, Capacity.
import os

from laddvakt.journal import frame as jf
from laddvakt.journal.layout import blocks, seg_name
from micropython import const

_PERIODIC = b"Sample.Periodic"
_ENOSPC = const(28)
_PACK = const(16300)  # thinned segments are packed into files of up to this many bytes (4 blocks:
# after the first, each block of a littlefs file starts with 4 or 8 bytes of pointers)


class Thinning:
    def _unthinned(self):
        """Index of the oldest closed segment not yet thinned, or None."""
        segs = self._list()
        for i in range(len(segs) - 1):
            if segs[i] not in self._thin_done:
                return i
        return None

    @property
    def full(self):
        """Over the size limit with nothing left to delete or thin."""
        return self._used > self.max_bytes and (self.no_room or self._unthinned() is None)

    def thin_candidate(self):
        """(first, last) seq range of the oldest closed segments not yet thinned, when the
        journal is over budget; None otherwise. The range is as many segments in a row as
        the thinned file before them still has room for (up to _PACK bytes after
        thinning), or as fill a new one: packed files then end close to _PACK, not a
        range's size short of it. One gap record reports the whole range."""
        if self._used <= self.max_bytes or self.no_room:
            return None
        i = self._unthinned()
        if i is None:
            return None
        segs = self._segs
        prev = segs[i - 1] if i and segs[i - 1] in self._thin_done else 0
        room = _PACK - (os.stat(self._file(prev))[6] if prev else 0)
        rd = self._rd
        skipped = rd.skipped
        self._prev_out = None
        kept = self._thin_into(segs[i], None)[1]
        if kept > room:
            room = _PACK  # it starts a new file
        k = i + 1
        while k < len(segs) - 1 and segs[k] not in self._thin_done:
            n = self._thin_into(segs[k], None)[1]
            if kept + n > room:
                break
            kept += n
            k += 1
        rd.skipped = skipped  # counted by the pass that writes
        return segs[i], segs[k] - 1

    def thin(self, first, last=None):
        """Rewrite closed segments (the one starting at first, and those after it up to
        seq last) without their periodic meter values, into one file. The caller has
        journaled the gap record that reports the range first. Returns records dropped.
        The result is packed behind the thinned file just before it while that stays
        within _PACK bytes: a thinned segment of a few hundred bytes would otherwise
        keep a whole block."""
        segs = self._list()
        i = segs.index(first)
        k = i + 1
        while last is not None and k < len(segs) - 1 and segs[k] <= last:
            k += 1
        srcs = segs[i:k]
        size = 0
        rd = self._rd
        skipped = rd.skipped
        self._prev_out = None
        for s in srcs:
            size += self._thin_into(s, None)[1]  # what stays: a first pass only counts
        rd.skipped = skipped  # a corrupt frame is counted once, by the pass that writes
        into = segs[i - 1] if i and segs[i - 1] in self._thin_done else 0
        base = os.stat(self._file(into))[6] if into else 0
        if base + size > _PACK:
            into = base = 0
        tmp = self.path + "/thin.tmp"
        dropped = 0
        old = 0
        self._prev_out = None
        try:
            with open(tmp, "wb") as out:
                if into:
                    buf = rd.buf
                    with open(self._file(into), "rb") as p:
                        while True:
                            n = p.readinto(buf)
                            if not n:
                                break
                            out.write(memoryview(buf)[:n])
                for s in srcs:
                    dropped += self._thin_into(s, out)[0]
                    old += blocks(os.stat(self._file(s))[6])
                new = out.tell()
        except OSError as err:
            if err.errno != _ENOSPC:
                raise
            # littlefs itself is out of room (the limit left it too little): stop thinning
            # until delivery frees space; the journal counts as full meanwhile. The gap
            # record already journaled over-reports, as after a cut.
            try:
                os.remove(tmp)
            except OSError:
                pass
            self.no_room = True
            return 0
        # rename is atomic: a power cut leaves the segments whole or thinned, never torn;
        # _list() removes an original if the cut came before the removals below.
        if into:
            os.rename(tmp, self._file(into))  # replaces the shorter one atomically
            old += blocks(base)
        else:
            self._thin_done.append(first)
            os.rename(tmp, self._file(first))
        for s in srcs:
            os.remove(self.path + "/old/" + seg_name(s))
        del segs[i + (0 if into else 1):k]
        self._used += blocks(new) - old
        self.thinned += dropped
        self._hint = (0, 0, 0)
        self._checkpoint()
        return dropped

    def _thin_into(self, first, out):
        """(records dropped, bytes kept) of thinning one segment, written to out (None:
        only counted)."""
        dropped = kept = 0
        rd = self._rd
        with open(self._file(first), "rb") as f:
            for rtype, seq, n in rd.frames(f, 0, first - 1):
                if rtype == jf.TYPE_METER_PERIODIC or rtype == jf.TYPE_METER_EDGE or (
                        rtype == jf.TYPE_METER and bytes(rd.payload(n)).find(_PERIODIC) >= 0):
                    dropped += 1
                    continue
                # Short frames (3 bytes less) where a reader can rebuild the seq from the
                # frame before; the first of a pass is whole (what precedes it is not known here).
                prev = self._prev_out
                short = prev is not None and n < 256 and seq - prev < 0x10000
                kept += (jf.SHORT_HEADER_SIZE if short else jf.HEADER_SIZE) + n + jf.TRAILER_SIZE
                self._prev_out = seq
                if out is not None:
                    p = rd.payload(n)
                    out.write(jf.encode_short(rtype, seq, p) if short else jf.encode(rtype, seq, p))
        return dropped, kept
