# The journal on littlefs in RAM: order, segments, cursor, trimming, torn tails, power cuts.
import os
import vfs

from fwtest import run
from ramblock import RAMBlockDev, mount_fresh, umount
from laddvakt.journal import frame as jf
from laddvakt.journal.store import Journal

D = "/jt/j"


def ram(fn):
    # Each test gets a fresh littlefs at /jt, unmounted afterwards.
    def wrapped():
        mount_fresh(64, "/jt")
        try:
            fn()
        finally:
            umount("/jt")
    return wrapped


def pay(seq):
    # 88 bytes, so one frame is exactly 100 bytes and segment arithmetic is exact.
    return ('{"n":%06d,"p":"%s"}' % (seq, "x" * 69)).encode()


def rtype(seq):
    return (jf.TYPE_BOOT, jf.TYPE_SESSION_START, jf.TYPE_METER, jf.TYPE_SESSION_END)[seq % 4]


def fill(j, n):
    out = []
    for _ in range(n):
        s = j.seq + 1
        assert j.append(rtype(s), pay(s)) == s
        out.append(s)
    return out


def read_all(j, after=0):
    got = []
    j.read_after(after, lambda seq, t, p: got.append((seq, t, bytes(p))) or True)
    for seq, t, p in got:
        assert t == rtype(seq) and p == pay(seq), seq  # exact type and payload
    return got


def seqs(j, after=0):
    return [g[0] for g in read_all(j, after)]


def _rewrite(path, data):
    with open(path, "wb") as f:
        f.write(data)


def _read(path):
    with open(path, "rb") as f:
        return f.read()


@ram
def test_append_and_read_in_order():
    j = Journal(D, 16384, 262144).open()
    assert j.seq == 0 and j.pending() == 0
    assert fill(j, 10) == list(range(1, 11))
    assert seqs(j) == list(range(1, 11))
    assert seqs(j, 4) == list(range(5, 11))
    assert seqs(j, 10) == []
    assert j.pending() == 10
    visited = []
    j.read_after(2, lambda seq, t, p: visited.append(seq) or len(visited) < 3)
    assert visited == [3, 4, 5]  # stopped when visit returned False
    j.close()


def merged(j):
    # Segments as large as segment_bytes allows: the commit files merge only when full.
    j.merge_bytes = 1 << 20
    return j


@ram
def test_segments_rotate_by_size():
    j = merged(Journal(D, 512, 1 << 20)).open()
    fill(j, 12)  # 5 frames of 100 bytes fit 512
    names = sorted(n for n in os.listdir(D + "/old") if n.endswith(".jl"))
    assert names == ["0000000001.jl"], names  # closed ones
    assert [n for n in os.listdir(D) if n.endswith(".jl")] == ["0000000006.jl"]  # the newest
    assert [os.stat(D + "/old/" + n)[6] for n in names] == [500]
    assert os.stat(D + "/0000000006.jl")[6] == 500
    # 11 and 12 wait in one commit file each (100-byte frames: two exceed the inline 128).
    assert sorted(os.listdir(D + "/c")) == ["0000000011.jc", "0000000012.jc"]
    for k in (0, 5, 6, 7, 10, 11):
        assert seqs(j, k) == list(range(k + 1, 13)), k
    j.close()


@ram
def test_reopen_recovers_seq_and_cursor():
    j = Journal(D, 512, 1 << 20).open()
    fill(j, 12)
    j.set_delivered(7)
    j.set_delivered(3)  # the cursor never moves back
    assert j.delivered == 7
    j.close()
    j = Journal(D, 512, 1 << 20).open()
    assert j.seq == 12 and j.delivered == 7 and j.pending() == 5 and j.corrupt == []
    assert seqs(j, j.delivered) == [8, 9, 10, 11, 12]
    assert j.append(rtype(13), pay(13)) == 13
    j.set_delivered(13)
    j.close()
    j = Journal(D, 512, 1 << 20).open()
    assert j.seq == 13 and j.delivered == 13 and j.pending() == 0
    assert seqs(j, 12) == [13]
    j.close()


@ram
def test_trim_only_delivered_segments():
    # 40 frames of 100 bytes per segment; a closed segment costs whole 4096-byte blocks.
    j = merged(Journal(D, 4000, 3 * (4096 + 256))).open()
    fill(j, 400)  # 10 segments, over budget, nothing delivered: nothing dropped
    assert j._list() == list(range(1, 400, 40))
    assert seqs(j) == list(range(1, 401))
    j.set_delivered(200)
    fill(j, 40)  # the rotation at 401 trims delivered segments, oldest first
    assert j._list() == [201, 241, 281, 321, 361, 401], j._list()
    assert sorted(os.listdir(D + "/old")) == ["%010d.jl" % s for s in j._list()[:-1]]
    assert seqs(j, 200) == list(range(201, 441))
    assert seqs(j) == list(range(201, 441))
    j.set_delivered(440)
    fill(j, 40)  # merged at 480 into segment 441, after trimming to the limit
    assert j._list() == [321, 361, 401, 441], j._list()
    assert j.bytes_used() == 3 * (4096 + 256) + 4000  # blocks and metadata of the closed ones
    j.close()
    j = merged(Journal(D, 4000, 3 * (4096 + 256))).open()
    assert j.seq == 480 and seqs(j) == list(range(321, 481))
    assert j.bytes_used() == 3 * (4096 + 256) + 4000  # from the checkpoint, no listing
    j.close()


@ram
def test_segment_count_after_a_boot_from_the_checkpoint():
    # Boot from the checkpoint lists no segment; the count lists them when asked (a status
    # asked before any read found no list to count).
    j = merged(Journal(D, 512, 1 << 20)).open()
    fill(j, 22)
    assert j.segment_count == 4
    j.close()
    j = merged(Journal(D, 512, 1 << 20)).open()
    assert j.segment_count == 4 and seqs(j) == list(range(1, 23))
    j.close()


@ram
def test_chopped_tail_detected():
    j = Journal(D, 16384, 1 << 20).open()
    fill(j, 5)
    j.merge()
    j.close()
    seg = D + "/0000000001.jl"
    _rewrite(seg, _read(seg)[:-3])  # frame 5 loses part of its CRC
    j = Journal(D, 16384, 1 << 20).open()
    assert j.corrupt == [("0000000001.jl", 400)], j.corrupt
    # The 97 unreadable bytes could have held 8 frames: seqs 5..12 are reported lost and
    # never handed out again (issue 17: no seq reused).
    assert j.gaps == [(5, 12)] and j.skipped == 1, (j.gaps, j.skipped)
    assert j.seq == 12 and seqs(j) == [1, 2, 3, 4]
    assert fill(j, 2) == [13, 14]
    assert "0000000013.jl" in os.listdir(D)
    assert len(_read(D + "/old/0000000001.jl")) == 497  # the torn data is kept, not appended to
    assert seqs(j) == [1, 2, 3, 4, 13, 14]
    j.close()


@ram
def test_garbage_tail_detected():
    j = Journal(D, 16384, 1 << 20).open()
    fill(j, 3)
    j.merge()
    j.close()
    seg = D + "/0000000001.jl"
    _rewrite(seg, _read(seg) + b"\xd7\x03\x20\x00\x04\x00\x00\x00garbage")
    j = Journal(D, 16384, 1 << 20).open()
    assert j.corrupt == [("0000000001.jl", 300)]
    assert j.gaps == [(4, 4)]  # 19 bytes: at most one frame
    assert j.seq == 4 and fill(j, 1) == [5]
    assert seqs(j) == [1, 2, 3, 5]
    j.close()


@ram
def test_torn_first_frame_of_newest_segment():
    # The newest segment holds only a torn frame: appends must still be readable
    # and a sequence number must never be handed out twice.
    j = merged(Journal(D, 512, 1 << 20)).open()
    fill(j, 6)
    j.merge()  # segment 6 holds one frame
    j.close()
    seg = D + "/0000000006.jl"
    _rewrite(seg, _read(seg)[:50])
    j = Journal(D, 512, 1 << 20).open()
    assert j.corrupt and j.gaps == [(6, 9)] and j.seq == 9  # 50 bytes: at most 4 frames
    assert "0000000006.bad" in os.listdir(D)  # set aside, not deleted
    assert fill(j, 1) == [10]
    assert seqs(j, 5) == [10], "record 10, appended after the torn frame, is unreadable"
    j.close()
    j = Journal(D, 512, 1 << 20).open()
    assert j.seq == 10, "seq %d reused after reopen" % j.seq
    j.close()


def test_flipped_bytes_in_tail_skipped_and_counted():
    # Random bytes flipped inside one frame of the tail: that record is skipped and
    # counted, its seq reported as a gap, and every later record is still read.
    import random

    random.seed(4)
    for trial in range(30):
        mount_fresh(64, "/jt")
        try:
            _flip_trial(trial, random)
        finally:
            umount("/jt")


def _flip_trial(trial, random):
    j = merged(Journal(D, 16384, 1 << 20)).open()
    fill(j, 20)
    j.merge()
    j.close()
    seg = D + "/0000000001.jl"
    data = bytearray(_read(seg))
    victim = 14 + random.getrandbits(8) % 4  # one of records 15..18
    for _ in range(1 + random.getrandbits(2)):
        data[victim * 100 + random.getrandbits(7) % 100] ^= 1 + random.getrandbits(7)
    _rewrite(seg, data)
    j = Journal(D, 16384, 1 << 20).open()
    assert j.seq == 20 and j.corrupt == [], (trial, j.seq, j.corrupt)
    got = [g[0] for g in read_all(j)]
    assert got == [s for s in range(1, 21) if s != victim + 1], (trial, victim, got)
    assert j.skipped >= 1 and (victim + 1, victim + 1) in j.gaps, (trial, j.skipped, j.gaps)
    assert fill(j, 1) == [21] and seqs(j, 20) == [21]
    j.close()


# ---- power cut after every block write -------------------------------------
_BLOCKS = 24


def _scenario(j, done, cursor):
    # Segments of 4 frames; delivered up to 8, so the rotation at 13 trims segment 1.
    for s in range(1, 15):
        assert j.append(rtype(s), pay(s)) == s
        done.append(s)
        if s == 9:
            cursor[1] = 8
            j.set_delivered(8)
            cursor[0] = 8


def _cut_at(k):
    """Cut power at the k-th block write, remount a copy of the flash, check; True if cut."""
    bdev = RAMBlockDev(_BLOCKS)
    vfs.VfsLfs2.mkfs(bdev)
    vfs.mount(vfs.VfsLfs2(bdev), "/pc")
    bdev.fail_after = bdev.writes + k
    done = []  # seqs whose append() returned
    cursor = [0, 0]  # last set_delivered that returned, the one in progress
    cut = False
    try:
        j = Journal("/pc/j", 400, 800)
        j.cursor_every = 1  # this sweep checks the cursor itself
        _scenario(j.open(), done, cursor)
    except OSError:
        # The PowerCut, or what it leads to (mkdir's error is swallowed, listdir's is not).
        cut = bdev.writes >= bdev.fail_after
        assert cut, "an OSError before the power cut"
    bdev.fail_after = None
    umount("/pc")
    copy = RAMBlockDev(_BLOCKS)
    copy.data[:] = bdev.data
    vfs.mount(vfs.VfsLfs2(copy), "/pc")
    try:
        j = Journal("/pc/j", 400, 800).open()
        if not cut:
            assert done[-1] == 14 and j._list()[0] == 5, j._list()  # delivered ones trimmed
        assert cursor[0] <= j.delivered <= max(cursor), (k, j.delivered, cursor)
        have = seqs(j)
        assert have == sorted(set(have)), (k, have)
        for s in done:
            assert s in have or s <= j.delivered, (k, s, have)
        last = max(have + done + [j.delivered])
        assert j.seq >= last, (k, j.seq, last)
        more = fill(j, 3)
        assert more[0] > last, (k, more)
        # These appends may rotate and trim delivered records, never others.
        have2 = seqs(j)
        assert have2 == [s for s in have + more if s in have2], (k, have2)
        assert [s for s in have + more if s > j.delivered] == [s for s in have2 if s > j.delivered]
        j.close()
        return cut
    finally:
        umount("/pc")


def test_power_cut_sweep():
    k = 0
    while _cut_at(k):
        k += 1
    assert k > 20, k  # the scenario took k block writes, each one cut in turn
    print("power cut at each of", k, "block writes")


run(globals())
