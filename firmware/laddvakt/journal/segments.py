# The journal's segment files: the listing (and the repairs a power cut in a rotation or a
# thinning may need), their flash use, opening a new segment, and deleting delivered history.
# A mixin of Journal (store.py), whose __init__ holds the state. docs/journal.md.
import os

from laddvakt.journal.layout import SUFFIX, THIN, blocks, seg_name


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
        self._used = 0
        for first in self._list():
            n = os.stat(self._file(first))[6]
            self._used += n if first == self._newest else blocks(n)

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
            self._used += blocks(self._size) - self._size  # it is closed now
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
        while len(segs) > 1 and self._used > self.max_bytes:
            if segs[1] - 1 > self.delivered:
                break
            first = segs.pop(0)
            self._used -= blocks(os.stat(self._file(first))[6])
            os.remove(self._file(first))
            self.no_room = False

    def make_room(self):
        """Delete delivered history while over the size limit."""
        if self._used > self.max_bytes:
            n = len(self._list())
            self._trim()
            if len(self._segs) != n:
                self._checkpoint()

    def bytes_used(self):
        return self._used
