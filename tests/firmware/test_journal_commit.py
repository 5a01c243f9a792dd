# The journal's commit path on littlefs in RAM: commit files, merges into segments,
# recovery of commit files a merge already copied, held (commit=False) records, thinning
# by frame type with packing, and a power cut at every block write of all of it.
import os
import vfs

from fwtest import run
from ramblock import RAMBlockDev, mount_fresh, reborn, umount
from laddvakt.journal import frame as jf
from laddvakt.journal.store import Journal

D = "/jc/j"


def ram(fn):
    def wrapped():
        mount_fresh(64, "/jc")
        try:
            fn()
        finally:
            umount("/jc")
    return wrapped


def pay(seq):
    # 24 bytes: one frame is 36, as a compact meter value.
    return b"p%023d" % seq


def read_all(j, after=0):
    got = []
    j.read_after(after, lambda seq, t, p: got.append((seq, t, bytes(p))) or True)
    return got


def slots():
    return sorted(os.listdir(D + "/c"))


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _write(path, data):
    with open(path, "wb") as f:
        f.write(data)


@ram
def test_commit_files_grow_inline_then_merge():
    j = Journal(D, 16384, 1 << 20).open()
    j.merge_bytes = 300
    for s in range(1, 4):
        assert j.append(jf.TYPE_METER, pay(s)) == s
    # Three 36-byte frames share one commit file, rewritten in place (<= 128 bytes inline).
    assert slots() == ["0000000001.jc"] and len(_read(D + "/c/0000000001.jc")) == 108
    assert j.append(jf.TYPE_METER, pay(4)) == 4
    assert slots() == ["0000000001.jc", "0000000004.jc"]
    assert os.stat(D + "/0000000001.jl")[6] == 0  # nothing merged yet
    assert [g[0] for g in read_all(j)] == [1, 2, 3, 4] and j.pending() == 4
    for s in range(5, 10):
        j.append(jf.TYPE_METER, pay(s))
    # 9 frames = 324 bytes >= merge_bytes: all in the (empty) newest segment, one write.
    assert slots() == [] and os.stat(D + "/0000000001.jl")[6] == 9 * 36
    for s in range(10, 19):
        j.append(jf.TYPE_METER, pay(s))
    # The next merge starts a new segment instead of appending to a synced one.
    assert "0000000010.jl" in os.listdir(D) and "0000000001.jl" in os.listdir(D + "/old")
    assert read_all(j) == [(s, jf.TYPE_METER, pay(s)) for s in range(1, 19)]
    assert read_all(j, 16) == [(s, jf.TYPE_METER, pay(s)) for s in (17, 18)]
    j.close()
    j = Journal(D, 16384, 1 << 20).open()
    assert j.seq == 18 and j.committed == 18
    assert read_all(j) == [(s, jf.TYPE_METER, pay(s)) for s in range(1, 19)]
    j.close()


@ram
def test_recovery_drops_commit_files_already_merged():
    j = Journal(D, 16384, 1 << 20).open()
    for s in range(1, 6):
        j.append(jf.TYPE_METER, pay(s))
    kept = {n: _read(D + "/c/" + n) for n in slots()}
    j.merge()
    j.close()
    # A cut after the merge's flush, before the commit files were removed; and one more
    # commit file, created but cut before its first close (empty).
    for n, data in kept.items():
        _write(D + "/c/" + n, data)
    _write(D + "/c/0000000006.jc", b"")
    j = Journal(D, 16384, 1 << 20).open()
    assert slots() == [], slots()
    assert j.seq == 5 and j.skipped == 0 and j.gaps == []
    assert [g[0] for g in read_all(j)] == [1, 2, 3, 4, 5]
    assert j.append(jf.TYPE_METER, pay(6)) == 6
    assert [g[0] for g in read_all(j)] == [1, 2, 3, 4, 5, 6]
    j.close()


@ram
def test_held_records_wait_for_the_next_commit():
    j = Journal(D, 16384, 1 << 20).open()
    j.hold_bytes = 100
    assert j.append(jf.TYPE_SESSION_START, pay(1)) == 1
    assert j.append(jf.TYPE_METER_PERIODIC, pay(2), False) == 2
    assert j.append(jf.TYPE_METER_PERIODIC, pay(3), False) == 3
    # Held in RAM: not readable, not pending for the uplink, not on flash.
    assert j.committed == 1 and j.pending() == 1 and [g[0] for g in read_all(j)] == [1]
    # A third held frame passes hold_bytes (3 x 36 > 100): committed at once.
    j.append(jf.TYPE_METER_PERIODIC, pay(4), False)
    assert j.committed == 4 and [g[0] for g in read_all(j)] == [1, 2, 3, 4]
    j.append(jf.TYPE_METER_PERIODIC, pay(5), False)
    j.append(jf.TYPE_SESSION_END, pay(6))  # a commit takes the held one with it
    assert j.committed == 6 and [g[:2] for g in read_all(j, 4)] == [(5, jf.TYPE_METER_PERIODIC),
                                                                    (6, jf.TYPE_SESSION_END)]
    j.append(jf.TYPE_METER_PERIODIC, pay(7), False)
    j.close()  # a clean close commits
    j = Journal(D, 16384, 1 << 20).open()
    assert j.seq == 7 and [g[0] for g in read_all(j)] == list(range(1, 8))
    j.close()


def test_held_record_lost_at_a_cut_leaves_its_seq_in_a_reported_skip():
    bdev = mount_fresh(64, "/jc")
    try:
        j = Journal(D, 16384, 1 << 20).open()
        j.append(jf.TYPE_SESSION_START, pay(1))
        j.append(jf.TYPE_METER_PERIODIC, pay(2), False)
        bdev.fail_after = bdev.writes  # power lost with record 2 in RAM
        try:
            j._f.close()  # now, while every write fails: no finaliser writes later
        except OSError:
            pass
        umount("/jc")
        vfs.mount(vfs.VfsLfs2(reborn(bdev)), "/jc")
        j2 = Journal(D, 16384, 1 << 20).open()
        # Seq 2 may have been handed out (the journal cannot tell a held record from one
        # whose file was lost): boot goes on above the seq mark and reports the skip.
        assert [g[0] for g in read_all(j2)] == [1]
        assert j2.seq == j2.mark_every and j2.gaps == [(2, j2.mark_every, "reserved")], (j2.seq, j2.gaps)
        assert j2.append(jf.TYPE_SESSION_END, b"end") == j2.mark_every + 1
        assert read_all(j2)[-1] == (j2.mark_every + 1, jf.TYPE_SESSION_END, b"end")
        j2.close()
    finally:
        umount("/jc")


def _kind(s):
    # Periodic values by their frame type (the payload says nothing of it), a legacy
    # periodic value as a type-3 meter record, and readings and records that stay.
    if s % 4 == 1:
        return jf.TYPE_METER_PERIODIC, pay(s)
    if s % 4 == 2:
        return jf.TYPE_METER, b'{"ctx":"Sample.Periodic","n":%d}' % s
    if s % 4 == 3:
        return jf.TYPE_METER, b'{"ctx":"Trigger","n":%d}' % s
    return jf.TYPE_SESSION_END, pay(s)


@ram
def test_thinning_by_frame_type_packs_segments():
    j = Journal(D, 16384, 1 << 20).open()
    j.merge_bytes = 200
    for s in range(1, 41):
        j.append(*_kind(s))
    segs = list(j._list())
    assert len(segs) >= 5, segs
    j.max_bytes = 0  # over budget: every closed segment is a candidate
    # All closed segments in a row (their bytes are far under _PACK): one range, one gap.
    assert j.thin_candidate() == (segs[0], segs[-1] - 1)
    assert j.thin(segs[0], segs[1] - 1) == len([s for s in range(1, segs[1]) if s % 4 in (1, 2)])
    assert j.thin_candidate() == (segs[1], segs[-1] - 1)
    j.thin(segs[1], segs[3] - 1)
    # Segments 2 and 3 went behind the first thinned one: one file, one block.
    assert os.listdir(D + "/thin") == ["%010d.jt" % segs[0]]
    assert sorted(os.listdir(D + "/old")) == ["%010d.jl" % s for s in segs[3:-1]]
    assert j._list() == [segs[0]] + segs[3:], j._list()
    assert j.bytes_used() == (4096 + 256) * (1 + len(segs) - 4) + os.stat(D + "/%010d.jl" % segs[-1])[6]
    got = read_all(j)
    kept = [g[0] for g in got if g[0] < segs[3]]
    assert kept == [s for s in range(1, segs[3]) if s % 4 in (3, 0)], kept
    assert [g[0] for g in got if g[0] >= segs[3]] == list(range(segs[3], 41))
    assert j.gaps == []  # dropped records are no corruption
    j.close()
    j = Journal(D, 16384, 1 << 20).open()
    assert j.seq == 40 and [g[0] for g in read_all(j)] == [g[0] for g in got]
    j.close()


@ram
def test_thinning_drops_trigger_readings_keeps_interruptions():
    # Billing's Trigger readings (type 7) go with the periodic values; a type-3 reading
    # (Interruption.Begin/End of a power loss) and the session records stay.
    j = Journal(D, 16384, 1 << 20).open()
    j.merge_bytes = 200
    kinds = (jf.TYPE_SESSION_START, jf.TYPE_METER_EDGE, jf.TYPE_METER_PERIODIC, jf.TYPE_METER,
             jf.TYPE_SESSION_END)
    for s in range(1, 41):
        j.append(kinds[s % 5], pay(s))
    segs = list(j._list())
    j.max_bytes = 0
    c = j.thin_candidate()
    dropped = j.thin(c[0], c[1])
    gone = [s for s in range(c[0], c[1] + 1) if kinds[s % 5] in (jf.TYPE_METER_EDGE, jf.TYPE_METER_PERIODIC)]
    assert dropped == len(gone) and gone, (dropped, gone)
    got = read_all(j)
    assert [g[0] for g in got] == [s for s in range(1, 41) if s not in gone]
    assert all(g[1] != jf.TYPE_METER_EDGE for g in got if g[0] <= c[1])
    assert segs[-1] > c[1]
    j.close()


@ram
def test_thinned_files_hold_short_frames_and_resync_past_damage():
    # Thinned files take frames 3 bytes shorter (seq rebuilt from the frame before, the CRC
    # over the full header); a damaged one is skipped, counted, and the rest still read.
    j = Journal(D, 16384, 1 << 20).open()
    j.merge_bytes = 200
    for s in range(1, 61):
        j.append(jf.TYPE_METER_PERIODIC if s % 3 else jf.TYPE_SESSION_END, pay(s))
    j.max_bytes = 0
    c = j.thin_candidate()
    j.thin(c[0], c[1])
    kept = [s for s in range(c[0], c[1] + 1) if s % 3 == 0]
    name = D + "/thin/%010d.jt" % c[0]
    data = _read(name)
    # The first frame of a pass is whole, the rest short.
    assert len(data) == 12 + 24 + (len(kept) - 1) * (9 + 24), (len(data), kept)
    assert data[0] == jf.MAGIC and data[36] == jf.SHORT_MAGIC
    want = [(s, jf.TYPE_SESSION_END, pay(s)) for s in kept]
    assert read_all(j)[:len(kept)] == want
    j.close()
    bad = bytearray(data)
    bad[36 + 33 + 7] ^= 0x40  # inside the third frame's payload
    with open(name, "wb") as f:
        f.write(bad)
    j = Journal(D, 16384, 1 << 20).open()
    got = read_all(j)[:len(kept) - 1]
    assert got == want[:2] + want[3:], [g[0] for g in got]
    # Reported from the last good seq: the thinned seqs next to it are inside the range too.
    assert j.skipped == 1 and j.gaps == [(kept[1] + 1, kept[3] - 1)], (j.skipped, j.gaps)
    j.close()


@ram
def test_thinning_on_a_full_filesystem_reports_full_and_loses_nothing():
    # A limit that leaves littlefs too little room: thinning meets ENOSPC. The agent must
    # not stop: the journal counts as full until delivery frees space, every record stays.
    j = Journal(D, 16384, 1 << 20).open()
    j.merge_bytes = 200
    for s in range(1, 41):
        j.append(jf.TYPE_METER_PERIODIC if s % 2 else jf.TYPE_SESSION_END, pay(s))
    before = read_all(j)
    n = 0
    try:
        while True:  # whole blocks, each committed, until littlefs has none left
            with open("/jc/filler%d" % n, "wb") as f:
                f.write(b"x" * 4000)
            n += 1
    except OSError as e:
        assert e.args[0] == 28, e
    j.max_bytes = 0
    c = j.thin_candidate()
    assert j.thin(c[0], c[1]) == 0 and j.no_room and j.full
    assert j.thin_candidate() is None
    assert "thin.tmp" not in os.listdir(D) and read_all(j) == before
    for k in range(n + 1):
        try:
            os.remove("/jc/filler%d" % k)
        except OSError:
            pass
    j.set_delivered(j.seq)
    j.make_room()  # delivery frees space: thinning may run again
    assert not j.no_room
    j.close()


@ram
def test_cut_while_thinning_leaves_no_record_twice():
    j = Journal(D, 16384, 1 << 20).open()
    j.merge_bytes = 200
    for s in range(1, 41):
        j.append(jf.TYPE_METER_PERIODIC if s % 2 else jf.TYPE_SESSION_END, pay(s))
    segs = list(j._list())
    j.max_bytes = 0
    j.thin(segs[0])
    srcs = ["/old/%010d.jl" % s for s in segs[1:3]]
    data = [_read(D + n) for n in srcs]
    j.thin(segs[1], segs[3] - 1)
    j.close()
    for n, d in zip(srcs, data):
        _write(D + n, d)  # as if the cut came right after the thinned file's rename
    j = Journal(D, 16384, 1 << 20).open()
    got = [g[0] for g in read_all(j)]
    assert got == sorted(set(got)) and j.skipped == 0, (got, j.skipped)
    assert [s for s in got if s < segs[3]] == list(range(2, segs[3], 2))
    assert not [n for n in srcs if n[5:] in os.listdir(D + "/old")]
    j.close()


@ram
def test_thinned_files_of_older_firmware_move_to_their_directory():
    j = Journal(D, 16384, 1 << 20).open()
    j.merge_bytes = 200
    for s in range(1, 21):
        j.append(*_kind(s))
    segs = list(j._list())
    j.max_bytes = 0
    j.thin(segs[0])
    want = read_all(j)
    j.close()
    n = "%010d.jt" % segs[0]
    os.rename(D + "/thin/" + n, D + "/old/" + n)  # where older firmware kept it
    j = Journal(D, 16384, 1 << 20).open()
    assert read_all(j) == want and os.listdir(D + "/thin") == [n]
    j.close()


# ---- power cut after every block write, with commit files, merges and held records --
_BLOCKS = 24


def _scenario(j, log):
    j.merge_bytes = 200
    for s in range(1, 41):
        held = s % 3 == 0
        assert j.append(jf.TYPE_METER_PERIODIC if held else jf.TYPE_METER, pay(s), not held) == s
        log["committed"] = j.committed
        if s == 20:
            j.set_delivered(12)
            log["delivered"] = 12
    # Thin the oldest segments, then pack the next ones behind them.
    segs = list(j._list())
    log["thin"] = segs[3]
    j.max_bytes = 0
    j.thin(segs[0], segs[1] - 1)
    j.thin(segs[1], segs[3] - 1)


def _cut_at(k):
    bdev = RAMBlockDev(_BLOCKS)
    vfs.VfsLfs2.mkfs(bdev)
    vfs.mount(vfs.VfsLfs2(bdev), "/pc")
    bdev.fail_after = bdev.writes + k
    log = {"committed": 0, "delivered": 0, "thin": 0}
    cut = False
    try:
        j = Journal("/pc/j", 16384, 1 << 20)
        j.cursor_every = 1
        _scenario(j.open(), log)
        j.close()
        log["committed"] = 40
        log["done"] = True
    except OSError:
        cut = bdev.writes >= bdev.fail_after
        assert cut, "an OSError before the power cut"
    bdev.fail_after = None
    umount("/pc")
    copy = RAMBlockDev(_BLOCKS)
    copy.data[:] = bdev.data
    vfs.mount(vfs.VfsLfs2(copy), "/pc")
    try:
        j = Journal("/pc/j", 16384, 1 << 20).open()
        have = read_all(j)
        seqs = [g[0] for g in have]
        # Every record committed before the cut, exactly once and unchanged, in order;
        # periodic values (type 6) may be gone only where thinning reached.
        top = max(seqs) if seqs else 0
        assert seqs == sorted(set(seqs)), (k, seqs)
        assert top >= log["committed"], (k, seqs, log)
        for s in range(1, top + 1):
            assert s in seqs or (s % 3 == 0 and s < log["thin"]), (k, s, seqs)
        for s, t, p in have:
            assert p == pay(s) and t == (jf.TYPE_METER_PERIODIC if s % 3 == 0 else jf.TYPE_METER), (k, s)
        if "done" in log:
            assert [s for s in seqs if s < log["thin"] and s % 3 == 0] == [], (k, seqs)
        # Above the last record found, boot skips up to the seq mark and reports the skip.
        assert j.seq == top or (top + 1, j.seq, "reserved") in j.gaps, (k, top, j.seq, j.gaps)
        assert j.delivered in (0, 12) and j.delivered >= log["delivered"]
        nxt = j.seq + 1
        assert j.append(jf.TYPE_METER, b"after") == nxt
        assert read_all(j, top) == [(nxt, jf.TYPE_METER, b"after")]
        j.close()
        return cut
    finally:
        umount("/pc")


def test_power_cut_sweep_with_commit_files():
    k = 0
    while _cut_at(k):
        k += 1
    assert k > 40, k
    print("power cut at each of", k, "block writes")


run(globals())
