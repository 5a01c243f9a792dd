# The commit files: the records committed since the last merge, in small files that littlefs
# keeps inline in its directory's metadata (no block copied, no erase). docs/journal.md, Commit.
import os

from laddvakt.journal.layout import SLOT, slot_name

# littlefs keeps a file of at most this many bytes inline in its directory's metadata
# (VfsLfs2's cache size): writing one programs about its size plus 70 bytes, no erase.
_INLINE = 128


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)


class CommitFiles:
    """The commit files in directory `path` (their own: docs/journal.md), read with `reader`
    (a FrameReader). slots: [first seq, size] of each file, ascending; size: their bytes."""

    def __init__(self, path, reader):
        self.path = path
        self._rd = reader
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
                _write(self.file(slot[0]), new)
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
            _write(self.file(first), data)
            self.slots.append([first, n])
            self.size += n
            self._tail = data if n < _INLINE else None
            i = j

    def copy_into(self, f):
        """Write the content of every commit file to f, in order."""
        buf = self._rd.buf
        for slot in self.slots:
            with open(self.file(slot[0]), "rb") as s:
                while True:
                    k = s.readinto(buf)
                    if not k:
                        break
                    f.write(memoryview(buf)[:k])

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
