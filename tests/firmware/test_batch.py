# The uplink's batch (laddvakt/uplink/acks.py, Batch), built in place in a write buffer: a record whose
# JSON text finds no block of its size (MemoryError from json.dumps) is streamed into the batch
# instead, and the batches are byte for byte the same, split at the same records.
import json
import os

from fwtest import raises, run
from ramblock import mount_fresh, umount
from laddvakt.core import ident as identity
from laddvakt.core.clock import Clock
from laddvakt.journal import frame as jf
from laddvakt.journal import records
from laddvakt.journal.codec import Codec
from laddvakt.journal.store import Journal
from laddvakt.uplink import acks as bm

D = "/bt"
HEAD = b'{"v":1,"recs":['


def _journal(n):
    mount_fresh(64, D)
    idn = identity.load_and_count_boot(D + "/ident.json", os.urandom)
    j = Journal(D + "/j", 16384, 262144).open()
    clock = Clock()
    clock.sync(0, 1795154400)
    codec = Codec(idn.install)
    for i in range(n):
        if i % 7 == 3:  # a record journaled as JSON: spliced from the reader's buffer
            j.append(jf.TYPE_FAULT, ('{"type":"fault","code":"X%d","note":"caf\u00e9"}' % i).encode())
        else:
            rec = records.meter(clock, i * 10000, idn, None, 1254300 + i, 7360)
            j.append(jf.TYPE_METER, codec.encode(jf.TYPE_METER, rec, j.seq + 1))
    return j, codec


class _NoBlock:
    # json as a heap with no block for a record's whole text sees it
    @staticmethod
    def dumps(obj):
        raise MemoryError("memory allocation failed")

    dump = staticmethod(json.dump)


def _batches(j, codec, size, starved):
    room = memoryview(bytearray(size + 9))
    b = bm.Batch(j, codec, HEAD, room, size)
    out = []
    after = 0
    saved = bm.json
    if starved:
        bm.json = _NoBlock
    try:
        while after < j.seq:
            after = b.build(after, j.seq, None)
            assert after
            out.append(bytes(room[:b.size()]))
    finally:
        bm.json = saved
    return out


def test_a_record_without_a_block_is_streamed_into_the_batch_byte_for_byte():
    j, codec = _journal(40)
    try:
        want = _batches(j, codec, 1024, False)
        got = _batches(j, codec, 1024, True)
    finally:
        j.close()
        umount(D)
    assert len(want) > 3, len(want)
    assert got == want
    seqs = []
    for m in want:
        assert len(m) <= 1024
        seqs += [r["seq"] for r in json.loads(m)["recs"]]
    assert seqs == list(range(1, 41))


def test_the_batch_must_fit_its_room():
    raises(ValueError, bm.Batch, None, None, HEAD, memoryview(bytearray(100)), 200)


if __name__ == "__main__":
    run(globals())
