# The journal's write path: a record is held in RAM or committed at once, a commit goes
# into the commit files, and those are merged into a new segment once they add up.
# Writer is a mixin of Journal (store.py), whose __init__ holds the state. docs/journal.md, Commit.
# CommitFiles, below it: the records committed since the last merge, in small files that
# littlefs keeps inline in its directory's metadata (no block copied, no erase).
import os

from micropython import const

from laddvakt.journal import frame as jf
from laddvakt.journal.layout import SLOT, slot_name


class Writer:
    def append(self, rtype, payload, commit=True):
        """Add one record; returns its sequence number. With commit (the default) it and
        any held before it are on flash when this returns; without, it waits in RAM for
        the next commit (at most hold_bytes of frames wait) and is lost if power is cut
        first, its seq then going to the next record: readers never see it before."""
        seq = self.seq + 1
        frame = jf.encode(rtype, seq, payload)
        self._held.append(frame)
        self._held_n += len(frame)
        self.seq = seq
        if commit or self._held_n > self.hold_bytes:
            self.commit()
        return seq

    def commit(self):
        """Put the held records on flash: into commit files, or merged with those into
        a new segment once they add up to merge_bytes."""
        held = self._held
        if not held:
            return
        if self.seq > self.mark:
            self._raise_mark()  # on flash before any seq above the old mark is
        c = self._commits
        if c.slots and c.size + self._held_n > self.segment_bytes:
            self._merge((), 0)  # the commit files alone: a segment stays within segment_bytes
        if c.size + self._held_n >= min(self.merge_bytes, self.segment_bytes):
            self._merge(held, self._held_n)
        else:
            # Named from committed + 1 even when boot skipped seqs above it (store._skip).
            c.write(held, self.seq - len(held) + 1, self.committed + 1)
        self._held = []
        self._held_n = 0
        self.committed = self.seq

    def merge(self):
        """Commit what is held and move every commit file into the segment now."""
        if self._held or self._commits.slots:
            if self.seq > self.mark:
                self._raise_mark()
            self._merge(self._held, self._held_n)
            self._held = []
            self._held_n = 0
            self.committed = self.seq

    def _merge(self, held, size):
        """Copy the commit files and the held frames into a new segment (the newest one if
        it is still empty) with one write and one flush (atomic in littlefs), then remove
        the commit files; a cut before their removal leaves copies that open() drops."""
        c = self._commits
        n = c.size + size
        if self._size:
            # Each merge writes a new segment whole: appending to one already synced would
            # make littlefs copy its partly filled last block first (lfs_ctz_extend).
            self._trim()
            self._start_segment()
        f = self._f
        for slot in c.slots:  # the commit files' content, in order
            self._rd.copy(c.file(slot[0]), f)
        for frame in held:
            f.write(frame)
        # littlefs commits file data only on flush or close.
        f.flush()
        self._size += n
        self.used += n
        self._seg_last = self.seq if held else self.committed
        c.clear()
        # After every merge: boot scans only what came after it, and its seq names every
        # merged record, so a segment cut or deleted later shows as a gap at boot instead of
        # seqs handed out again (docs/journal.md, Corruption).
        self._checkpoint()


# littlefs keeps a file of at most this many bytes inline in its directory's metadata
# (VfsLfs2's cache size): writing one programs about its size plus 70 bytes, no erase.
_INLINE = const(128)


class CommitFiles:
    """The commit files in directory `path` (their own: docs/journal.md), read with `reader`
    (a FrameReader). slots: [first seq, size] of each file, ascending; size: their bytes."""

    def __init__(self, path, rd):
        self.path = path
        self._rd = rd
        self.slots = []
        self.size = 0
        self._tail = None  # content of the last commit file while it may grow in place

    def file(self, first):
        return self.path + "/" + slot_name(first)

    def recover(self, last):
        """Take up the commit files at boot (the directory holds only a few) and return the
        last seq they hold; `last`: the last seq in the segments. Those a merge already
        copied into the segment (a cut before their removal) and empty ones (a cut before
        their first close) are removed. A file with bytes that are not frames is never
        removed: its lost seqs go to the reader's gaps (then a `gap` record), and one with
        nothing new readable is set aside as .bad. docs/journal.md, Corruption."""
        rd = self._rd
        files = []
        for n in sorted(os.listdir(self.path)):
            if n.endswith(SLOT):
                first = int(n[:-3])
                with open(self.path + "/" + n, "rb") as f:
                    size = f.seek(0, 2)
                    top, end = first - 1, 0
                    for r in rd.frames(f, 0, first - 1):
                        top, end = r[1], f.tell()
                files.append((n, first, size, top, end))
        for k in range(len(files)):
            n, first, size, top, end = files[k]
            path = self.path + "/" + n
            if not size or (end == size and top <= last):
                os.remove(path)
                continue
            if first > last + 1:
                last = rd.lost(last, 0, first)  # a commit file before this one is missing
            if end < size:
                nxt = files[k + 1][1] if k + 1 < len(files) else 0
                hi = rd.lost(max(top, last), size - end, nxt if nxt > max(top, last) else 0)
                if top <= last:
                    os.rename(path, path[:-3] + ".bad")
                    last = hi
                    continue
                top = hi
            self.slots.append([first, size])
            self.size += size
            last = max(last, top)
        return last

    def first_after(self, seq):
        """The lowest first seq of a commit file above seq (0: none), before recover()."""
        best = 0
        for n in os.listdir(self.path):
            if n.endswith(SLOT):
                first = int(n[:-3])
                if first > seq and (not best or first < best):
                    best = first
        return best

    def write(self, frames, seq, name):
        """Put frames (encoded, the first of them seq) on flash; a new first file is named
        `name` (seq, or lower: the first seq of a skip before it, store.py _skip)."""
        i = 0
        tail = self._tail
        if tail is not None:
            # The last commit file grows in place while it stays inline: littlefs commits
            # a rewrite atomically at close (old content or new, never torn).
            n = len(tail)
            while i < len(frames) and n + len(frames[i]) <= _INLINE:
                n += len(frames[i])
                i += 1
            if i:
                new = tail + b"".join(frames[:i])
                slot = self.slots[-1]
                with open(self.file(slot[0]), "wb") as f:
                    f.write(new)
                self.size += len(new) - slot[1]
                slot[1] = len(new)
                self._tail = new
        while i < len(frames):
            # A new commit file per _INLINE bytes of frames (a bigger frame alone), in
            # seq order: a cut leaves a prefix of the commit, each file whole or absent.
            j = i + 1
            n = len(frames[i])
            while j < len(frames) and n + len(frames[j]) <= _INLINE:
                n += len(frames[j])
                j += 1
            data = b"".join(frames[i:j])
            first = seq + i if i else name
            with open(self.file(first), "wb") as f:
                f.write(data)
            self.slots.append([first, n])
            self.size += n
            self._tail = data if n < _INLINE else None
            i = j

    def clear(self):
        """Remove them all (a merge copied them into a segment)."""
        for slot in self.slots:
            os.remove(self.file(slot[0]))
        self.slots = []
        self.size = 0
        self._tail = None

    def after(self, after_seq):
        """Paths of the commit files that hold a record after after_seq, in order."""
        slots = self.slots
        for k in range(len(slots)):
            if k + 1 < len(slots) and slots[k + 1][0] <= after_seq + 1:
                continue  # all of it delivered
            yield self.file(slots[k][0])
