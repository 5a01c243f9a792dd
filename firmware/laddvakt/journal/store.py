# Append-only journal of records in bounded segment files, plus a small state file
# (delivery cursor and checkpoint). Segments are named by the first sequence number
# they hold, so finding where a reader must start needs only a directory listing,
# and recovery reads the checkpoint and the frames after it, never the backlog.
# A commit writes its records into small commit files (inline in littlefs' metadata:
# no block copied, no erase), merged into a new segment in one write once they add up
# to merge_bytes. Format, commit, merge, recovery and thinning: docs/journal.md.
# Journal is the entry: recovery, reading and the cursor here; the segment files and thinning
# (segments.py) and the write path with its commit files (writer.py) are its mixins.
import os

from laddvakt.journal import layout
from laddvakt.journal.frame import FrameReader
from laddvakt.journal.layout import seg_name
from laddvakt.journal.segments import Segments
from laddvakt.journal.writer import CommitFiles, Writer


class Journal(Segments, Writer):
    def __init__(self, path, segment_bytes=16384, max_bytes=262144):
        self.path = path
        self.segment_bytes = segment_bytes
        self.max_bytes = max_bytes
        self.seq = 0  # last sequence number written
        self.delivered = 0  # last sequence number the uplink has had acknowledged
        self.corrupt = []  # (segment, offset) of each bad tail found at recovery
        self.thinned = 0  # periodic meter records dropped by thinning
        self._segs = None  # first seq of each segment, ascending (None: not listed yet)
        self._newest = 0  # first seq of the newest segment
        self._thin_done = []  # segments already thinned (first seq)
        # Flash taken by segments: closed ones in whole littlefs blocks (a file's last
        # block is its own), the newest in bytes.
        self.used = 0
        self._f = None  # open append handle of the newest segment
        self._size = 0  # its size
        self._rd = FrameReader()  # its buffers serve every read and copy
        # (first, last) seq ranges lost to corruption, and (first, last, "reserved") for the seqs
        # a boot skipped up to the seq mark, not yet reported: the guard takes them from this
        # list, the reader's own (it is only ever changed in place).
        self.gaps = self._rd.gaps
        # The commit files: their own directory (docs/journal.md).
        self._commits = CommitFiles(path + "/c", self._rd)
        self._hint = (0, 0, 0)  # (segment first seq, offset, seq before offset)
        self._prev_out = None  # seq of the frame thinning wrote last (short frames: _thin_into)
        self.no_room = False  # thinning met a full filesystem (ENOSPC): full until space frees
        self._saved_delivered = 0
        self.cursor_every = 16
        # Commit files are merged into a new segment once they and the commit hold this many
        # bytes (or segment_bytes, if smaller); 0: every commit is a segment of its own.
        # Inline commit files cost little to write, but each one in the directory is
        # copied again whenever littlefs compacts its metadata: 1 KiB measured best.
        self.merge_bytes = 1024
        # Frames appended with commit=False wait in RAM for the next commit, at most this
        # many bytes of them (then they are committed at once).
        self.hold_bytes = 256
        self.committed = 0  # last seq on flash: readers see records up to here
        self._held = []  # frames not committed yet (seqs committed+1 ...)
        self._held_n = 0
        self._seg_last = 0  # last seq in the segments (the commit files hold the ones after)
        # The seq mark: no seq above it was ever handed out. It is on flash in three copies
        # (the state file, two mark files) before a commit passes it, raised a block of
        # mark_every seqs at a time; boot goes on above the highest copy, so a seq is never
        # handed out twice even when the newest files are lost (docs/journal.md, Seq marks).
        self.mark = 0
        self.mark_every = 128
        self._cp = (0, 0, 0)  # (segment, offset, seq) of the last checkpoint

    @property
    def skipped(self):
        """Corrupt frames stepped over (reported in status)."""
        return self._rd.skipped

    # ---- recovery -------------------------------------------------------------
    def open(self):
        for d in (self.path, self.path + "/old", self.path + "/thin", self._commits.path):
            try:
                os.mkdir(d)
            except OSError:
                pass
        # The checkpoint (segment, offset, seq, used); the delivery cursor and the mark (the
        # highest of its copies), read before any state is saved.
        self.delivered, cp_seg, cp_off, cp_seq, cp_used, self.mark = layout.load(self.path)
        self._saved_delivered = self.delivered
        # Seqs up to here were written (the checkpoint follows every merge): if the files no
        # longer hold them, they are reported lost, never handed out again.
        cp_known = cp_seq if cp_seg else 0
        self.seq = self.delivered
        first = 0
        if cp_seg and cp_used >= cp_off:
            try:
                os.stat(self.path + "/" + seg_name(cp_seg))
                # The checkpoint names the newest segment (it is written before a segment
                # is made), so boot needs no listing; readers list the rest when needed.
                first = cp_seg
            except OSError:
                pass
        if not first:
            segs = self._list()
            first = segs[-1] if segs else 0
            cp_used = -1
        if first:
            self._newest = first
            if cp_seg != first:
                cp_off, cp_seq = 0, first - 1
            last_seq, end, size = self._scan(first, cp_off, cp_seq)
            if size < cp_off:
                # Cut below what the checkpoint vouched for: read it all again; the seqs the
                # checkpoint knew and the file no longer holds are reported below.
                last_seq, end, size = self._scan(first, 0, first - 1)
            if cp_used < 0:
                self._stat_used()
            else:
                # The checkpoint knows the size of all but the newest segment's tail,
                # so boot never visits every segment.
                self.used = cp_used - cp_off + size
            self.seq = max(self.seq, last_seq, first - 1)
            self._seg_last = max(last_seq, first - 1)
            self._size = size
            if end < size or self._seg_last < cp_known:
                # A torn or corrupt tail: keep it for forensics, append elsewhere. The seqs it
                # may have held are reported lost (up to the first commit file after it) and
                # never handed out again (docs/journal.md, Corruption).
                self.corrupt.append((seg_name(first), end))
                base = self._seg_last
                if end < size:
                    base = self._rd.lost(base, size - end, self._commits.first_after(base))
                if base < cp_known:
                    base = self._rd.lost(base, 0, cp_known + 1)  # the checkpoint knew them
                self._seg_last = base
                self.seq = max(self.seq, base)
                if last_seq < first:
                    # Nothing valid in it: set it aside under a name the listing
                    # ignores, or the new segment would reuse its name and seq.
                    self._list().pop()
                    self.used -= size
                    os.rename(self._file(first), self.path + "/" + "%010d%s" % (first, ".bad"))
                    self._newest = 0
                self._start_segment()
            else:
                self._f = open(self._file(first), "ab")
                self._size = size
                self._save_state(first, end, self._seg_last)
        else:
            self._seg_last = self.seq
            if self._seg_last < cp_known:  # every segment is gone
                self._seg_last = self.seq = self._rd.lost(self._seg_last, 0, cp_known + 1)
            self._start_segment()
        self.seq = self.committed = max(self.seq, self._commits.recover(self._seg_last))
        if self.mark > self.seq:
            # Go on above the seq mark: the seqs after the last one found up to it are skipped
            # and reported (`gap`, why `reserved`): most were never used, but records whose
            # files were lost without a trace would be among them. Nothing is written: the next
            # commit file is named by the first seq after the last one found (`committed` + 1),
            # so the skip lies inside a file, where no reader takes it for a lost file
            # (docs/journal.md, Seq marks).
            self.gaps.append((self.seq + 1, self.mark, "reserved"))
            self.seq = self.mark
        return self

    def _raise_mark(self):
        """Before a commit passes the mark: raise it to the end of the next block of
        mark_every seqs, its three copies on flash first (docs/journal.md, Seq marks)."""
        n = self.mark_every
        self.mark = (self.seq // n + 1) * n
        layout.save_marks(self.path, self.mark)
        self._save_state(*self._cp)

    # ---- reading and delivery -------------------------------------------------
    def read_after(self, after_seq, visit):
        """Call visit(seq, type, payload_mv) for records after after_seq, in order,
        until it returns False. payload_mv is only valid during the call."""
        if after_seq >= self.committed:
            return  # the uplink asks up to seq while periodic values are held: nothing to read
        rd = self._rd
        segs = self._list()
        i = len(segs) - 1
        while i > 0 and segs[i] > after_seq + 1:
            i -= 1
        lo = max(after_seq, self.delivered) + 1
        if segs and lo < segs[0] and segs[0] not in self._thin_done:
            # Undelivered seqs before the oldest segment: only a lost file takes those
            # (delivered history is what trimming deletes).
            rd.note_gap(lo, segs[0] - 1)
        while i < len(segs):
            first = segs[i]
            hseg, hoff, hseq = self._hint
            with open(self._file(first), "rb") as f:
                off = 0
                last = first - 1
                if hseg == first and hseq <= after_seq:
                    off = hoff
                    last = hseq
                for rtype, seq, n in rd.frames(f, off, last):
                    last = seq
                    if seq > after_seq:
                        if not visit(seq, rtype, rd.payload(n)):
                            return
                    else:
                        self._hint = (first, f.tell(), seq)
            i += 1
            nxt = segs[i] if i < len(segs) else self._seg_last + 1
            seen = max(last, after_seq)
            if seen < nxt - 1 and first not in self._thin_done:
                # The segment's last frames were unreadable: report their seqs.
                rd.note_gap(seen + 1, nxt - 1)
        for path in self._commits.after(after_seq):
            with open(path, "rb") as f:
                for rtype, seq, n in rd.frames(f, 0, last):
                    last = seq
                    if seq > after_seq and not visit(seq, rtype, rd.payload(n)):
                        return

    def pending(self):
        """Records on flash not delivered yet (held ones are not readable yet)."""
        return self.committed - self.delivered

    def set_delivered(self, seq):
        if seq <= self.delivered:
            return
        self.delivered = seq
        # The cursor goes to flash every CURSOR_EVERY records, not at every batch: after
        # a reset at most that many delivered records go out again (at-least-once, and
        # the backend drops repeats by seq), and a live uplink costs far fewer writes.
        if seq - self._saved_delivered >= self.cursor_every:
            self._checkpoint()

    # ---- the state file (layout.py) --------------------------------------------
    def _checkpoint(self):
        self._save_state(self._newest, self._size, self._seg_last)

    def _save_state(self, seg, off, seq):
        layout.save(self.path, self.delivered, seg, off, seq, self.used, self.mark)
        self._saved_delivered = self.delivered
        self._cp = (seg, off, seq)

    def close(self):
        if self._f:
            self.commit()
            if self.mark > self.seq:
                # Nothing held, every seq handed out is on flash: the mark comes down to the
                # last, so a clean close and reopen skips none (copies first, a cut between
                # them leaves a higher one: a skip, never a reuse).
                self.mark = self.seq
                layout.save_marks(self.path, self.mark)
                self._checkpoint()
            elif self.delivered != self._saved_delivered:
                self._checkpoint()
            self._f.close()
            self._f = None
