# The journal's segment files: the listing (and the repairs a power cut in a rotation or a
# thinning may need), their flash use, opening a new segment, and deleting delivered history.
# Then thinning: when the journal is over its size limit and delivered history is gone, closed
# segments are rewritten without their periodic meter values, packed into thinned files
# (docs/journal.md, Capacity). A mixin of Journal (store.py), whose __init__ holds the state.
# docs/journal.md.
import os

from micropython import const

from laddvakt.journal import frame as jf
from laddvakt.journal.layout import SUFFIX, THIN, blocks, seg_name

_ENOSPC = const(28)
_PACK = const(16300)  # thinned segments are packed into files of up to this many bytes (4 blocks:
# after the first, each block of a littlefs file starts with 4 or 8 bytes of pointers)


class Segments:
    def _list(self):
        """First seqs of all segments, ascending; listed once, on first need."""
        if self._segs is not None:
            return self._segs
        old = self.path + "/old/"
        top = []
        segs = []
        thin = self._thin_done
        for n in os.listdir(self.path + "/old"):
            if n.endswith(THIN):
                # Thinned by older firmware: thinned files have a directory of their own now.
                os.rename(old + n, self.path + "/thin/" + n)
                thin.append(int(n[:-3]))
            elif n.endswith(SUFFIX):
                segs.append(int(n[:-3]))
        for n in os.listdir(self.path + "/thin"):
            if n.endswith(THIN):
                thin.append(int(n[:-3]))
        for n in os.listdir(self.path):
            if n.endswith(SUFFIX):
                top.append(int(n[:-3]))
        stale = False
        for first in thin:
            if first in segs:
                # A cut between thinning's rename and the removal of the original.
                os.remove(old + seg_name(first))
                segs.remove(first)
                stale = True
        try:
            os.remove(self.path + "/thin.tmp")  # a thinning the power cut interrupted
        except OSError:
            pass
        allsegs = sorted(segs + thin + top)
        for i in range(1, len(allsegs)):
            if allsegs[i] in segs and allsegs[i - 1] in thin:
                # The oldest segments not thinned: a cut after thinning them into the
                # file before them, before their removal, leaves them there twice.
                last = self._scan(allsegs[i - 1], 0, allsegs[i - 1] - 1)[0]
                while i < len(allsegs) and allsegs[i] in segs and allsegs[i] <= last:
                    os.remove(old + seg_name(allsegs[i]))
                    segs.remove(allsegs.pop(i))
                    stale = True
                break
        # A cut in a rotation may leave the newest in old/ or an older one on top.
        newest = allsegs[-1] if allsegs else 0
        for first in top:
            if first != newest:
                os.rename(self.path + "/" + seg_name(first), old + seg_name(first))
        if newest and newest not in top:
            os.rename(old + seg_name(newest), self.path + "/" + seg_name(newest))
        self._newest = newest
        self._segs = allsegs
        if stale:
            self._stat_used()
        return self._segs

    @property
    def segment_count(self):
        """How many segment files the journal has (thinned ones included)."""
        return len(self._list())

    def _stat_used(self):
        self.used = 0
        for first in self._list():
            n = os.stat(self._file(first))[6]
            self.used += n if first == self._newest else blocks(n)

    def _scan(self, first, off, seq):
        """(last valid seq, end offset of valid data, file size) of one segment, from a
        known-good offset. Corrupt frames followed by valid ones are stepped over."""
        last = seq
        with open(self._file(first), "rb") as f:
            size = f.seek(0, 2)
            for r in self._rd.frames(f, off, last):
                last = r[1]
                off = f.tell()
        return last, off, size

    def _file(self, first):
        # The newest segment lives beside the state file; closed ones in old/. Boot
        # touches only the small top directory, however long the backlog.
        if first == self._newest:
            return self.path + "/" + seg_name(first)
        if first in self._thin_done:
            return self.path + "/thin/%010d%s" % (first, THIN)
        return self.path + "/old/" + seg_name(first)

    def _start_segment(self):
        if self._f:
            self._f.close()
        first = self._seg_last + 1
        segs = self._list()
        prev = self._newest
        if prev and prev != first:
            self.used += blocks(self._size) - self._size  # it is closed now
        # Checkpoint first: at boot, the segment it names is the newest there is.
        self._save_state(first, 0, self._seg_last)
        if prev and prev != first:
            os.rename(self.path + "/" + seg_name(prev), self.path + "/old/" + seg_name(prev))
        if first not in segs:
            segs.append(first)
        self._newest = first
        self._f = open(self._file(first), "ab")
        self._size = self._f.seek(0, 2)

    def _trim(self):
        # Delete the oldest segments while over budget, but only fully delivered ones:
        # delivered records stay as history until their space is needed.
        segs = self._list()
        while len(segs) > 1 and self.used > self.max_bytes:
            if segs[1] - 1 > self.delivered:
                break
            first = segs.pop(0)
            self.used -= blocks(os.stat(self._file(first))[6])
            os.remove(self._file(first))
            self.no_room = False

    def make_room(self):
        """Delete delivered history while over the size limit."""
        if self.used > self.max_bytes:
            n = len(self._list())
            self._trim()
            if len(self._segs) != n:
                self._checkpoint()

    def bytes_used(self):
        return self.used

    # ---- thinning --------------------------------------------------------------------
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
        return self.used > self.max_bytes and (self.no_room or self._unthinned() is None)

    def thin_candidate(self):
        """(first, last) seq range of the oldest closed segments not yet thinned, when the
        journal is over budget; None otherwise. The range is as many segments in a row as
        the thinned file before them still has room for (up to _PACK bytes after
        thinning), or as fill a new one: packed files then end close to _PACK, not a
        range's size short of it. One gap record reports the whole range."""
        if self.used <= self.max_bytes or self.no_room:
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
                    rd.copy(self._file(into), out)
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
        self.used += blocks(new) - old
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
                        rtype == jf.TYPE_METER and bytes(rd.payload(n)).find(b"Sample.Periodic") >= 0):
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
