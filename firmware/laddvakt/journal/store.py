# Append-only journal of records in bounded segment files, plus a small state file
# (delivery cursor and checkpoint). Segments are named by the first sequence number
# they hold, so finding where a reader must start needs only a directory listing,
# and recovery reads the checkpoint and the frames after it, never the backlog.
# A commit writes its records into small commit files (inline in littlefs' metadata:
# no block copied, no erase), merged into a new segment in one write once they add up
# to merge_bytes. Format, commit, merge, recovery and thinning: docs/journal.md.
import os

from laddvakt.journal import frame as jf

_STATE = "cursor"
_SUFFIX = ".jl"
_THIN = ".jt"  # a segment already thinned: never thinned twice, even across boots
_SLOT = ".jc"  # a commit file: records committed since the last merge
# littlefs keeps a file of at most this many bytes inline in its directory's metadata
# (VfsLfs2's cache size): writing one programs about its size plus 70 bytes, no erase.
_INLINE = 128
_PERIODIC = b"Sample.Periodic"
_ENOSPC = 28
_CP_EVERY = 4096  # bytes appended between checkpoints: the most recovery scans
_PACK = 16300  # thinned segments are packed into files of up to this many bytes (4 blocks:
# after the first, each block of a littlefs file starts with 4 or 8 bytes of pointers)


_BLOCK = 4096  # littlefs block on the ESP32 vfs partition


_META = 256  # littlefs metadata per file in a big directory: measured ~1 block per 16 files


def _blocks(n):
    """Flash a closed file of n bytes takes: whole blocks (after the first, each block of a
    littlefs file starts with ctz(i) + 1 pointers of 4 bytes) plus its metadata."""
    b = 0
    room = 0
    while room < n:
        z = 0
        while b and not (b >> z) & 1:
            z += 1
        room += _BLOCK - (4 * (z + 1) if b else 0)
        b += 1
    return b * _BLOCK + _META


def _seg_name(first_seq):
    return "%010d%s" % (first_seq, _SUFFIX)


class Journal:
    def __init__(self, path, segment_bytes=16384, max_bytes=262144):
        self.path = path
        self._cdir = path + "/c"  # the commit files: their own directory (docs/journal.md)
        self.segment_bytes = segment_bytes
        self.max_bytes = max_bytes
        self.seq = 0  # last sequence number written
        self.delivered = 0  # last sequence number the uplink has had acknowledged
        self.corrupt = []  # (segment, offset) of each bad tail found at recovery
        self.skipped = 0  # corrupt frames stepped over (reported in status)
        self.gaps = []  # (first, last) seq ranges lost to corruption, not yet reported
        self.thinned = 0  # periodic meter records dropped by thinning
        self.recovered_from = 0  # offset recovery started scanning at (the checkpoint)
        self._segs = None  # first seq of each segment, ascending (None: not listed yet)
        self._newest = 0  # first seq of the newest segment
        self._thin_done = []  # segments already thinned (first seq)
        # Flash taken by segments: closed ones in whole littlefs blocks (a file's last
        # block is its own), the newest in bytes.
        self._used = 0
        self._f = None  # open append handle of the newest segment
        self._size = 0  # its size
        self._hdr = bytearray(jf.HEADER_SIZE)
        self._trl = bytearray(jf.TRAILER_SIZE)
        self._buf = bytearray(jf.MAX_PAYLOAD)
        self._hint = (0, 0, 0)  # (segment first seq, offset, seq before offset)
        self._prev_out = None  # seq of the frame thinning wrote last (short frames: _thin_into)
        self.no_room = False  # thinning met a full filesystem (ENOSPC): full until space frees
        self._saved_delivered = 0
        self._cp_off = 0  # segment offset of the last checkpoint
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
        self._slots = []  # [first seq, size] of each commit file, ascending
        self._slot_bytes = 0
        self._tail = None  # content of the last commit file while it may grow in place

    # ---- recovery -------------------------------------------------------------
    def open(self):
        for d in (self.path, self.path + "/old", self.path + "/thin", self._cdir):
            try:
                os.mkdir(d)
            except OSError:
                pass
        cp_seg, cp_off, cp_seq, cp_used = self._read_state()
        self.seq = self.delivered
        first = 0
        if cp_seg and cp_used >= cp_off:
            try:
                os.stat(self.path + "/" + _seg_name(cp_seg))
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
            self.recovered_from = cp_off
            last_seq, end, size = self._scan(first, cp_off, cp_seq)
            if cp_used < 0:
                self._stat_used()
            else:
                # The checkpoint knows the size of all but the newest segment's tail,
                # so boot never visits every segment.
                self._used = cp_used - cp_off + size
            self.seq = max(self.seq, last_seq, first - 1)
            self._seg_last = max(last_seq, first - 1)
            self._size = size
            if end < size:
                # A torn or corrupt tail: keep it for forensics, append elsewhere.
                self.corrupt.append((_seg_name(first), end))
                self.skipped += 1
                if last_seq < first:
                    # Nothing valid in it: set it aside under a name the listing
                    # ignores, or the new segment would reuse its name and seq.
                    self._list().pop()
                    self._used -= size
                    os.rename(self._file(first), self.path + "/%010d.bad" % first)
                    self._newest = 0
                self._start_segment()
            else:
                self._f = open(self._file(first), "ab")
                self._size = size
                self._save_state(first, end, self._seg_last)
        else:
            self._seg_last = self.seq
            self._start_segment()
        self._open_slots()
        self.committed = self.seq
        return self

    def _open_slots(self):
        """Recover the commit files: their directory holds only a few. Those
        a merge already copied into the segment (a cut before their removal) and empty
        ones (a cut before their first close) are removed."""
        names = [n for n in os.listdir(self._cdir) if n.endswith(_SLOT)]
        names.sort()
        last = self._seg_last
        for n in names:
            path = self._cdir + "/" + n
            with open(path, "rb") as f:
                size = f.seek(0, 2)
                off = 0
                top = last
                while True:
                    r = self._next_frame(f, off, top)
                    if r is None:
                        break
                    top = r[1]
                    off = f.tell()
            if top <= last:
                os.remove(path)
                continue
            self._slots.append([int(n[:-3]), size])
            self._slot_bytes += size
            last = top
        self.seq = max(self.seq, last)

    def _list(self):
        """First seqs of all segments, ascending; listed once, on first need."""
        if self._segs is not None:
            return self._segs
        old = self.path + "/old/"
        top = []
        segs = []
        thin = self._thin_done
        for n in os.listdir(self.path + "/old"):
            if n.endswith(_THIN):
                # Thinned by older firmware: thinned files have a directory of their own now.
                os.rename(old + n, self.path + "/thin/" + n)
                thin.append(int(n[:-3]))
            elif n.endswith(_SUFFIX):
                segs.append(int(n[:-3]))
        for n in os.listdir(self.path + "/thin"):
            if n.endswith(_THIN):
                thin.append(int(n[:-3]))
        for n in os.listdir(self.path):
            if n.endswith(_SUFFIX):
                top.append(int(n[:-3]))
        stale = False
        for first in thin:
            if first in segs:
                # A cut between thinning's rename and the removal of the original.
                os.remove(old + _seg_name(first))
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
                    os.remove(old + _seg_name(allsegs[i]))
                    segs.remove(allsegs.pop(i))
                    stale = True
                break
        # A cut in a rotation may leave the newest in old/ or an older one on top.
        newest = allsegs[-1] if allsegs else 0
        for first in top:
            if first != newest:
                os.rename(self.path + "/" + _seg_name(first), old + _seg_name(first))
        if newest and newest not in top:
            os.rename(old + _seg_name(newest), self.path + "/" + _seg_name(newest))
        self._newest = newest
        self._segs = allsegs
        if stale:
            self._stat_used()
        return self._segs

    def _stat_used(self):
        self._used = 0
        for first in self._list():
            n = os.stat(self._file(first))[6]
            self._used += n if first == self._newest else _blocks(n)

    def _scan(self, first, off, seq):
        """(last valid seq, end offset of valid data, file size) of one segment, from a
        known-good offset. Corrupt frames followed by valid ones are stepped over."""
        last = seq
        with open(self._file(first), "rb") as f:
            size = f.seek(0, 2)
            f.seek(off)
            while True:
                r = self._next_frame(f, off, last)
                if r is None:
                    break
                last = r[1]
                off = f.tell()
        return last, off, size

    def _read_frame(self, f, last):
        """(type, seq, length) of the next valid frame, payload in self._buf; None if the
        bytes at the file position are not one. `last`: the seq before it, from which a
        short frame's seq is rebuilt (its CRC then checks the whole seq)."""
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
        mv = memoryview(self._buf)[:n]
        if f.readinto(mv) != n or f.readinto(self._trl) != jf.TRAILER_SIZE:
            return None
        try:
            jf.check_crc(hdr, mv, self._trl)
        except jf.FrameError:
            return None
        return rtype, seq, n

    def _next_frame(self, f, off, last):
        """The frame at off, or, if that one is corrupt, the next valid frame after it
        with a higher seq than `last` (its skipped seqs are noted in self.gaps).
        None at the end of valid data; the file is left positioned after the frame."""
        f.seek(off)
        r = self._read_frame(f, last)
        if r is not None and r[1] > last:
            return r
        # Resynchronise: try each later magic byte. CRC32 makes a false frame unlikely.
        pos = off + 1
        buf = self._buf
        while True:
            f.seek(pos)
            got = f.readinto(buf)
            if not got:
                return None
            i = 0
            while i < got:
                if buf[i] == jf.MAGIC or buf[i] == jf.SHORT_MAGIC:
                    f.seek(pos + i)
                    r = self._read_frame(f, last)
                    if r is not None and r[1] > last:
                        self.skipped += 1
                        if r[1] > last + 1:
                            self._note_gap(last + 1, r[1] - 1)
                        return r
                    f.seek(pos)
                    got = f.readinto(buf)  # _read_frame reused the buffer
                i += 1
            pos += got

    def _note_gap(self, a, b):
        if (a, b) not in self.gaps:
            self.gaps.append((a, b))

    # ---- writing --------------------------------------------------------------
    def _file(self, first):
        # The newest segment lives beside the state file; closed ones in old/. Boot
        # touches only the small top directory, however long the backlog.
        if first == self._newest:
            return self.path + "/" + _seg_name(first)
        if first in self._thin_done:
            return self.path + "/thin/%010d%s" % (first, _THIN)
        return self.path + "/old/" + _seg_name(first)

    def _start_segment(self):
        if self._f:
            self._f.close()
        first = self._seg_last + 1
        segs = self._list()
        prev = self._newest
        if prev and prev != first:
            self._used += _blocks(self._size) - self._size  # it is closed now
        # Checkpoint first: at boot, the segment it names is the newest there is.
        self._save_state(first, 0, self._seg_last)
        if prev and prev != first:
            os.rename(self.path + "/" + _seg_name(prev), self.path + "/old/" + _seg_name(prev))
        if first not in segs:
            segs.append(first)
        self._newest = first
        self._f = open(self._file(first), "ab")
        self._size = self._f.seek(0, 2)

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
        if self._slots and self._slot_bytes + self._held_n > self.segment_bytes:
            self._merge((), 0)  # the commit files alone: a segment stays within segment_bytes
        if self._slot_bytes + self._held_n >= min(self.merge_bytes, self.segment_bytes):
            self._merge(held, self._held_n)
        else:
            self._write_slots(held)
        self._held = []
        self._held_n = 0
        self.committed = self.seq

    def _write_slots(self, frames):
        seq = self.committed + 1
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
                slot = self._slots[-1]
                self._write(self._cdir + "/%010d%s" % (slot[0], _SLOT), new)
                self._slot_bytes += len(new) - slot[1]
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
            first = seq + i
            self._write(self._cdir + "/%010d%s" % (first, _SLOT), data)
            self._slots.append([first, n])
            self._slot_bytes += n
            self._tail = data if n < _INLINE else None
            i = j

    def _write(self, path, data):
        with open(path, "wb") as f:
            f.write(data)

    def _merge(self, held, n_held):
        """Copy the commit files and the held frames into a new segment (the newest one if
        it is still empty) with one write and one flush (atomic in littlefs), then remove
        the commit files; a cut before their removal leaves copies that open() drops."""
        n = self._slot_bytes + n_held
        if self._size:
            # Each merge writes a new segment whole: appending to one already synced would
            # make littlefs copy its partly filled last block first (lfs_ctz_extend).
            self._trim()
            self._start_segment()
        f = self._f
        buf = self._buf
        for slot in self._slots:
            with open(self._cdir + "/%010d%s" % (slot[0], _SLOT), "rb") as s:
                while True:
                    k = s.readinto(buf)
                    if not k:
                        break
                    f.write(memoryview(buf)[:k])
        for frame in held:
            f.write(frame)
        # littlefs commits file data only on flush or close.
        f.flush()
        self._size += n
        self._used += n
        self._seg_last = self.seq if held else self.committed
        for slot in self._slots:
            os.remove(self._cdir + "/%010d%s" % (slot[0], _SLOT))
        self._slots = []
        self._slot_bytes = 0
        self._tail = None
        if self._size - self._cp_off >= _CP_EVERY:
            # Bounds what boot must scan, whatever the backlog.
            self._checkpoint()

    def merge(self):
        """Commit what is held and move every commit file into the segment now."""
        if self._held or self._slots:
            self._merge(self._held, self._held_n)
            self._held = []
            self._held_n = 0
            self.committed = self.seq

    def _trim(self):
        # Delete the oldest segments while over budget, but only fully delivered ones:
        # delivered records stay as history until their space is needed.
        segs = self._list()
        while len(segs) > 1 and self._used > self.max_bytes:
            if segs[1] - 1 > self.delivered:
                break
            first = segs.pop(0)
            self._used -= _blocks(os.stat(self._file(first))[6])
            os.remove(self._file(first))
            self.no_room = False

    def make_room(self):
        """Delete delivered history while over the size limit."""
        if self._used > self.max_bytes:
            n = len(self._list())
            self._trim()
            if len(self._segs) != n:
                self._checkpoint()

    @property
    def full(self):
        """Over the size limit with nothing left to delete or thin."""
        return self._used > self.max_bytes and (self.no_room or self._unthinned() is None)

    def bytes_used(self):
        return self._used

    # ---- thinning (docs/journal.md) ---------------------------------------------
    def _unthinned(self):
        """Index of the oldest closed segment not yet thinned, or None."""
        segs = self._list()
        for i in range(len(segs) - 1):
            if segs[i] not in self._thin_done:
                return i
        return None

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
        skipped = self.skipped
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
        self.skipped = skipped  # counted by the pass that writes
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
        skipped = self.skipped
        self._prev_out = None
        for s in srcs:
            size += self._thin_into(s, None)[1]  # what stays: a first pass only counts
        self.skipped = skipped  # a corrupt frame is counted once, by the pass that writes
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
                    with open(self._file(into), "rb") as p:
                        while True:
                            n = p.readinto(self._buf)
                            if not n:
                                break
                            out.write(memoryview(self._buf)[:n])
                for s in srcs:
                    dropped += self._thin_into(s, out)[0]
                    old += _blocks(os.stat(self._file(s))[6])
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
            old += _blocks(base)
        else:
            self._thin_done.append(first)
            os.rename(tmp, self._file(first))
        for s in srcs:
            os.remove(self.path + "/old/" + _seg_name(s))
        del segs[i + (0 if into else 1):k]
        self._used += _blocks(new) - old
        self.thinned += dropped
        self._hint = (0, 0, 0)
        self._checkpoint()
        return dropped

    def _thin_into(self, first, out):
        """(records dropped, bytes kept) of thinning one segment, written to out (None:
        only counted)."""
        dropped = kept = 0
        with open(self._file(first), "rb") as f:
            off = 0
            last = first - 1
            while True:
                r = self._next_frame(f, off, last)
                if r is None:
                    return dropped, kept
                rtype, seq, n = r
                off = f.tell()
                last = seq
                if rtype == jf.TYPE_METER_PERIODIC or rtype == jf.TYPE_METER_EDGE or (
                        rtype == jf.TYPE_METER and bytes(memoryview(self._buf)[:n]).find(_PERIODIC) >= 0):
                    dropped += 1
                    continue
                # Short frames (3 bytes less) where a reader can rebuild the seq from the
                # frame before; the first of a pass is whole (what precedes it is not known here).
                prev = self._prev_out
                short = prev is not None and n < 256 and seq - prev < 0x10000
                kept += (jf.SHORT_HEADER_SIZE if short else jf.HEADER_SIZE) + n + jf.TRAILER_SIZE
                self._prev_out = seq
                if out is not None:
                    p = memoryview(self._buf)[:n]
                    out.write(jf.encode_short(rtype, seq, p) if short else jf.encode(rtype, seq, p))

    # ---- reading and delivery -------------------------------------------------
    def read_after(self, after_seq, visit):
        """Call visit(seq, type, payload_mv) for records after after_seq, in order,
        until it returns False. payload_mv is only valid during the call."""
        if after_seq >= self.committed:
            return  # the uplink asks up to seq while periodic values are held: nothing to read
        segs = self._list()
        i = len(segs) - 1
        while i > 0 and segs[i] > after_seq + 1:
            i -= 1
        while i < len(segs):
            first = segs[i]
            hseg, hoff, hseq = self._hint
            with open(self._file(first), "rb") as f:
                off = 0
                last = first - 1
                if hseg == first and hseq <= after_seq:
                    off = hoff
                    last = hseq
                while True:
                    r = self._next_frame(f, off, last)
                    if r is None:
                        break
                    rtype, seq, n = r
                    last = seq
                    if seq > after_seq:
                        if not visit(seq, rtype, memoryview(self._buf)[:n]):
                            return
                    else:
                        self._hint = (first, f.tell(), seq)
                    off = f.tell()
            i += 1
            if i < len(segs) and last < segs[i] - 1 and last >= after_seq and first not in self._thin_done:
                # The segment's last frames were unreadable: report their seqs.
                self._note_gap(last + 1, segs[i] - 1)
        slots = self._slots
        for k in range(len(slots)):
            if k + 1 < len(slots) and slots[k + 1][0] <= after_seq + 1:
                continue  # all of it delivered
            with open(self._cdir + "/%010d%s" % (slots[k][0], _SLOT), "rb") as f:
                off = 0
                while True:
                    r = self._next_frame(f, off, last)
                    if r is None:
                        break
                    rtype, seq, n = r
                    last = seq
                    off = f.tell()
                    if seq > after_seq and not visit(seq, rtype, memoryview(self._buf)[:n]):
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

    def _checkpoint(self):
        self._save_state(self._newest, self._size, self._seg_last)

    def _save_state(self, seg, off, seq):
        # The delivery cursor and the checkpoint (newest segment, offset and seq of
        # its data known good) in one small file, rewritten in place: littlefs commits
        # the new content at close, atomically (old or new, never torn).
        with open(self.path + "/" + _STATE, "w") as f:
            f.write("%d %d %d %d %d" % (self.delivered, seg, off, seq, self._used))
        self._saved_delivered = self.delivered
        self._cp_off = off

    def _read_state(self):
        """(segment, offset, seq) of the checkpoint; sets self.delivered."""
        try:
            with open(self.path + "/" + _STATE) as f:
                v = [int(x) for x in f.read().split()]
        except (OSError, ValueError):
            v = []
        self.delivered = self._saved_delivered = v[0] if v else 0
        if len(v) == 5:
            return v[1], v[2], v[3], v[4]
        return 0, 0, 0, -1

    def close(self):
        if self._f:
            self.commit()
            if self.delivered != self._saved_delivered:
                self._checkpoint()
            self._f.close()
            self._f = None
