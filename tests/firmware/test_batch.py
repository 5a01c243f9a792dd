# The uplink's batch (laddvakt/uplink/acks.py, Batch), built in place in a write buffer: a record whose
# JSON text finds no block of its size (MemoryError from json.dumps) is streamed into the batch
# instead, and the batches are byte for byte the same, split at the same records. A session's
# end goes in with its signed OCMF text written straight into the batch, never made whole.
import json
import os

from endrec import session_end
from fwtest import raises, run
from ramblock import mount_fresh, umount
from laddvakt.core import ident as identity
from laddvakt.core.clock import Clock
from laddvakt.journal import frame as jf
from laddvakt.billing import sign
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


def test_a_session_end_is_written_with_its_signed_text_byte_for_byte():
    mount_fresh(64, D)
    j = Journal(D + "/j", 16384, 262144).open()
    codec = Codec("5f0c2a9e81d3", b"device-key-1", "laddvakt-1", "0.1.0", lambda: "1a2b")
    # an id tag that JSON escapes twice inside the record (a quote and a backslash), and non-ASCII
    ends = [session_end(codec, 1, None, "RFID-1", 0),
            session_end(codec, 2, [sign.reading(None, "B", 1200), sign.reading(1763707000, "T", 5000),
                                   sign.reading(1763710800, "E", 15259)], 'T"\\\u00c5G', 1)]
    for d in ends:
        j.append(jf.TYPE_SESSION_END, codec.encode(jf.TYPE_SESSION_END, d, j.seq + 1))
    made = sign.payload

    def unmade(*a):
        raise AssertionError("the batch made the signed text whole")

    sign.payload = unmade
    try:
        got = _batches(j, codec, 4096, False)
        starved = _batches(j, codec, 4096, True)
    finally:
        sign.payload = made
        j.close()
        umount(D)
    assert codec.lazy is False
    assert starved == got
    recs = json.loads(got[0])["recs"]
    assert [r.pop("seq") for r in recs] == [1, 2]
    assert recs == ends
    assert recs[1]["id_tag"] == 'T"\\\u00c5G'


def test_the_batch_must_fit_its_room():
    raises(ValueError, bm.Batch, None, None, HEAD, memoryview(bytearray(100)), 200)


if __name__ == "__main__":
    run(globals())
