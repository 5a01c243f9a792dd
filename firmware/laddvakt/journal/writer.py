# The journal's write path: a record is held in RAM or committed at once, a commit goes
# into the commit files, and those are merged into a new segment once they add up.
# A mixin of Journal (store.py), whose __init__ holds the state. docs/journal.md, Commit.
from laddvakt.journal import frame as jf



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

    def _merge(self, held, n_held):
        """Copy the commit files and the held frames into a new segment (the newest one if
        it is still empty) with one write and one flush (atomic in littlefs), then remove
        the commit files; a cut before their removal leaves copies that open() drops."""
        c = self._commits
        n = c.size + n_held
        if self._size:
            # Each merge writes a new segment whole: appending to one already synced would
            # make littlefs copy its partly filled last block first (lfs_ctz_extend).
            self._trim()
            self._start_segment()
        f = self._f
        c.copy_into(f)
        for frame in held:
            f.write(frame)
        # littlefs commits file data only on flush or close.
        f.flush()
        self._size += n
        self._used += n
        self._seg_last = self.seq if held else self.committed
        c.clear()
        # After every merge: boot scans only what came after it, and its seq names every
        # merged record, so a segment cut or deleted later shows as a gap at boot instead of
        # seqs handed out again (docs/journal.md, Corruption).
        self._checkpoint()
