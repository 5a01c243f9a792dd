# Runs under the unix-port micropython (tests/host/test_journal_corruption.py drives it): one
# JSON case per line. Each case writes a journal on littlefs in RAM, damages its files as told
# (flip, truncate, zero, delete), reopens it, reads everything after the delivery cursor, then
# appends more; it answers with what was read, the gaps reported and the new seqs.
import json
import os
import sys

from ramblock import RAMBlockDev, umount
from laddvakt.journal.store import Journal

D = "/jc/j"


def pay(seq, size):
    # The payload names its seq, so a record read back can be checked intact, not renumbered.
    return ('{"s":%d,"p":"%s"}' % (seq, "x" * size)).encode()


def _files(path, out):
    for n in sorted(os.listdir(path)):
        p = path + "/" + n
        if os.stat(p)[0] & 0x4000:
            _files(p, out)
        else:
            out.append(p)
    return out


def _damage(path, kind, pos, n):
    if kind == "delete":
        os.remove(path)
        return
    with open(path, "rb") as f:
        data = bytearray(f.read())
    if not data:
        return
    pos %= len(data)
    if kind == "flip":
        data[pos] ^= 1 << (n % 8) or 1
    elif kind == "byte":
        data[pos] = n & 0xFF
    elif kind == "truncate":
        data = data[:pos]
    elif kind == "zero":
        for i in range(pos, min(len(data), pos + n)):
            data[i] = 0
    with open(path, "wb") as f:
        f.write(data)


# One 1 MiB buffer for every case (120 records, each in its own commit file, never merged, fit),
# formatted afresh each time: a new one per case fragments this long-lived process's heap.
_BLOCKS = 256
_DATA = bytearray(_BLOCKS * RAMBlockDev.ERASE_BLOCK_SIZE)


def _fresh():
    import vfs

    bdev = RAMBlockDev(_BLOCKS, data=_DATA)
    vfs.VfsLfs2.mkfs(bdev)
    vfs.mount(vfs.VfsLfs2(bdev), "/jc")


def case(c):
    _fresh()
    try:
        j = Journal(D, c["seg"], 1 << 22).open()
        j.merge_bytes = c["merge"]
        for k in range(c["n"]):
            seq = j.seq + 1
            j.append(3, pay(seq, c["sizes"][k % len(c["sizes"])]), commit=c["commit"][k % len(c["commit"])])
        j.set_delivered(c["delivered"])
        j.close()
        n = j.seq
        files = _files(D, [])
        slots = [p for p in files if p.endswith(".jc")]
        newest_commit = slots[-1][len(D) + 1:] if slots else None
        damaged = []
        for target, kind, pos, k in c["damage"]:
            files = _files(D, [])
            if not files:
                break
            path = files[target % len(files)]
            damaged.append([path[len(D) + 1:], kind])
            _damage(path, kind, pos, k)
        try:
            j = Journal(D, c["seg"], 1 << 22).open()
            recs = []

            def visit(seq, rtype, mv):
                # The seq the payload names (None if it is not the JSON written): a whole
                # text per record made answers too big for this process's heap (120 records).
                try:
                    named = json.loads(bytes(mv))["s"]
                except (ValueError, KeyError, TypeError):
                    named = None
                recs.append([seq, named])
                return True

            j.read_after(c["delivered"], visit)
            new = [j.append(3, pay(j.seq + 1, 5)) for _ in range(3)]
            after = []
            j.read_after(new[0] - 1, lambda s, t, mv: after.append(s) or True)
            gaps = [list(g[:2]) for g in j.gaps]  # corrupt and reserved alike
            out = {"n": n, "newest_commit": newest_commit, "recs": recs, "gaps": gaps, "new": new, "read_new": after,
                   "skipped": j.skipped, "damaged": damaged}
            j.close()
            return out
        except Exception as e:
            sys.print_exception(e, sys.stderr)  # stdout carries the answers
            return {"crash": "%s: %s" % (type(e).__name__, e), "damaged": damaged, "n": n,
                    "newest_commit": newest_commit}
    finally:
        umount("/jc")


for line in sys.stdin:
    try:
        out = case(json.loads(line))
    except Exception as e:  # writing the undamaged journal failed: not what is under test
        sys.print_exception(e, sys.stderr)
        out = {"setup": "%s: %s" % (type(e).__name__, e)}
    print(json.dumps(out))
