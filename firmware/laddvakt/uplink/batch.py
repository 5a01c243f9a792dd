# One `recs` message: the journal's records in a seq range (of one session, for a session
# replay) spliced in place into the link's write buffer, as {"seq":N, <payload fields>},
# without parsing them again.
import io
import json

from laddvakt.billing import sign
from laddvakt.journal import frame as jf

_MAX_SKIP = 64  # records a session replay may pass over in one round


def _utf8(text):
    # MicroPython's str has the buffer protocol: a view of its UTF-8 bytes, not a copy.
    return memoryview(text)  # type: ignore[arg-type]


class _Into(io.IOBase):
    # json.dump's stream straight into the batch, a token at a time: for a record whose text
    # finds no block of its size in a fragmented heap (a session's end renders to 1.5 KB), and
    # for every session's end, whose signed text is never made whole here. Slower than json.dumps
    # by half or more, so only for those. Its first byte ("{") is dropped:
    # the record's {"seq":N, prefix is already in the batch. With esc, what is written is the
    # inside of a JSON string (a session's signed OCMF text, sign.write): " and \ escaped, as
    # json.dumps escapes them (the text, itself JSON, holds no control characters).
    def __init__(self, mv):
        self.mv = mv
        self.n = self.end = 0
        self.first = self.over = self.esc = False

    def write(self, data):
        n = len(data)
        if self.esc:
            k, mv = self.n, self.mv
            for b in data:
                if k + 2 > self.end:
                    self.over = True
                    return n
                if b == 0x22 or b == 0x5C:
                    mv[k] = 0x5C
                    k += 1
                mv[k] = b
                k += 1
            if not self.over:
                self.n = k
            return n
        if self.first:
            self.first = False
            data = memoryview(data)[1:]
        m = len(data)
        if self.n + m > self.end:
            self.over = True
        elif not self.over:
            self.mv[self.n:self.n + m] = data
            self.n += m
        return n


class Batch:
    def __init__(self, journal, codec, head, room, size):
        """room: where the batch is built, a memoryview of at least size bytes: the link's write
        buffer past a PUBLISH header's room (MQTTLink.room), so it leaves without a copy."""
        if len(room) < size:
            raise ValueError("batch of %d bytes: the link's write buffer has room for %d" % (size, len(room)))
        self.journal = journal
        self.codec = codec  # journal payloads to the contract's JSON (journal/codec.py)
        self._head = head  # the message's opening, up to its "recs":[
        self._bmv = room[:size]
        self._into = _Into(self._bmv)
        self._n = 0
        self.first = 0  # first seq in the batch
        self.last = 0  # last seq in it, 0 if none
        self.scan = 0  # last seq looked at
        self.upto = 0  # last seq wanted (a session replay's end, once found)
        self._sid = None
        self._skipped = 0

    def _put(self, data):
        n = len(data)
        self._bmv[self._n:self._n + n] = data
        self._n += n

    def _visit(self, seq, rtype, payload):
        if seq > self.upto:
            return False
        if self._sid is None:
            # The main stream: the record's JSON text is copied straight into the batch, with
            # no bytes copy of it (codec.render's) first: a record is up to a kilobyte and a half,
            # and in a tight heap that second block was the one that found no room. A record
            # journaled as JSON is the reader's buffer itself, valid during this call.
            if payload[0] != 0x7B:
                c = self.codec
                c.lazy = True  # a session's signed text is not made: _stream writes it
                try:
                    rec = c.decode(rtype, payload, seq)
                finally:
                    c.lazy = False
                if type(rec.get("ocmf")) is tuple:
                    return self._stream(seq, rec)
                try:
                    payload = _utf8(json.dumps(rec))
                except MemoryError:
                    return self._stream(seq, rec)
        else:
            payload = self.codec.render(rtype, payload, seq)
            if payload.find(self._sid) < 0:
                self.scan = seq
                # Bound the work per round: the loop must not stall on a long journal.
                self._skipped += 1
                return self._skipped < _MAX_SKIP
            if rtype == jf.TYPE_SESSION_END:
                self.upto = seq  # the session's last record
        # Each record goes out as {"seq":N, <payload fields>}: splice, don't re-parse.
        prefix = b'{"seq":%d,' % seq
        need = len(prefix) + len(payload) - 1 + 3
        if self.last and self._n + need > len(self._bmv):
            return False
        # config bounds batch_max_bytes above the largest frame payload, so a
        # single record always fits an empty batch.
        if self.last:
            self._put(b",")
        else:
            self.first = seq
        self._put(prefix)
        self._put(payload[1:])
        self.last = seq
        self.scan = seq
        return True

    def _stream(self, seq, rec):
        """_visit's splice of rec, with json.dump into the batch (_Into) for want of a block."""
        n0 = self._n
        prefix = (b',{"seq":%d,' if self.last else b'{"seq":%d,') % seq
        if self.last and n0 + len(prefix) + 3 > len(self._bmv):
            return False
        self._put(prefix)
        w = self._into
        w.n, w.end, w.first, w.over = self._n, len(self._bmv) - 2, True, False
        o = rec.get("ocmf")
        if type(o) is tuple:
            # The signed text, last, straight from its template and the record (sign.write).
            del rec["ocmf"]
            json.dump(rec, w)
            w.n -= 1  # the record's closing "}", written again after the text
            w.write(b', "ocmf": "')
            w.esc = True
            sign.write(w, *o)
            w.esc = False
            w.write(b'"}')
        else:
            json.dump(rec, w)
        if w.over:
            self._n = n0
            if not self.last:
                raise ValueError("record %d does not fit an empty batch" % seq)
            return False
        self._n = w.n
        if not self.last:
            self.first = seq
        self.last = self.scan = seq
        return True

    def build(self, after, upto, sid):
        """The records in (after, upto] (those carrying sid, if given); returns the last seq
        in the batch, 0 if none. self.scan: the last seq looked at."""
        self._n = 0
        self.first = self.last = 0
        self.scan = after
        self.upto = upto
        self._sid = sid
        self._skipped = 0
        self._put(self._head)
        self.journal.read_after(after, self._visit)
        if not self.last:
            return 0
        self._put(b"]}")
        return self.last

    def size(self):
        """Bytes built (they sit in the link's write buffer: publish them before it is used)."""
        return self._n
