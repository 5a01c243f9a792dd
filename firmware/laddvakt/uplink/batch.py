# One `recs` message: the journal's records in a seq range (of one session, for a session
# replay) spliced in place into the link's write buffer, as {"seq":N, <payload fields>},
# without parsing them again.
import io
import json

from micropython import const

from laddvakt.journal import frame as jf

_MAX_SKIP = const(64)  # records a session replay may pass over in one round


class Batch(io.IOBase):
    # Also json.dump's stream straight into the batch, a token at a time (write): for a record
    # whose text finds no block of its size in a fragmented heap (a session's end renders to
    # 1.5 KB). Slower than json.dumps by half or more, so only the fallback.
    def __init__(self, journal, codec, head, room, size):
        """room: where the batch is built, a memoryview of at least size bytes: the link's write
        buffer past a PUBLISH header's room (MQTTLink.room), so it leaves without a copy."""
        if len(room) < size:
            raise ValueError("batch of %d bytes: the link's write buffer has room for %d" % (size, len(room)))
        self.journal = journal
        self.codec = codec  # journal payloads to the contract's JSON (journal/codec.py)
        self._head = head  # the message's opening, up to its "recs":[
        self.room = room[:size]
        self._n = 0
        self.end = 0  # json.dump's stream: where it must stop; over: it did not fit
        self.over = self._drop = False
        self.first = 0  # first seq in the batch
        self.last = 0  # last seq in it, 0 if none
        self.scan = 0  # last seq looked at
        self.upto = 0  # last seq wanted (a session replay's end, once found)
        self.sid = None
        self.skipped = 0

    def _put(self, data):
        n = len(data)
        self.room[self._n:self._n + n] = data
        self._n += n

    def _visit(self, seq, rtype, payload):
        if seq > self.upto:
            return False
        if self.sid is None:
            # The main stream: the record's JSON text is copied straight into the batch, with
            # no bytes copy of it (codec.render's) first: a record is up to a kilobyte and a half,
            # and in a tight heap that second block was the one that found no room. A record
            # journaled as JSON is the reader's buffer itself, valid during this call.
            if payload[0] != 0x7B:
                rec = self.codec.decode(rtype, payload, seq)
                try:
                    # MicroPython's str has the buffer protocol: a view of its UTF-8 bytes, not
                    # a copy.
                    payload = memoryview(json.dumps(rec))  # type: ignore[arg-type]
                except MemoryError:
                    return self._stream(seq, rec)
        else:
            payload = self.codec.render(rtype, payload, seq)
            if payload.find(self.sid) < 0:
                self.scan = seq
                # Bound the work per round: the loop must not stall on a long journal.
                self.skipped += 1
                return self.skipped < _MAX_SKIP
            if rtype == jf.TYPE_SESSION_END:
                self.upto = seq  # the session's last record
        # Each record goes out as {"seq":N, <payload fields>}: splice, don't re-parse.
        prefix = b'{"seq":%d,' % seq
        need = len(prefix) + len(payload) - 1 + 3
        if self.last and self._n + need > len(self.room):
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
        """_visit's splice of rec, with json.dump into the batch (write) for want of a block."""
        n0 = self._n
        prefix = (b',{"seq":%d,' if self.last else b'{"seq":%d,') % seq
        if self.last and n0 + len(prefix) + 3 > len(self.room):
            return False
        self._put(prefix)
        self.end, self._drop, self.over = len(self.room) - 2, True, False
        json.dump(rec, self)
        if self.over:
            self._n = n0
            if not self.last:
                raise ValueError("record %d does not fit an empty batch" % seq)
            return False
        if not self.last:
            self.first = seq
        self.last = self.scan = seq
        return True

    def write(self, data):
        # json.dump's stream (_stream). Its first byte ("{") is dropped: the record's
        # {"seq":N, prefix is already in the batch.
        n = len(data)
        if self._drop:
            self._drop = False
            data = memoryview(data)[1:]
        m = len(data)
        if self._n + m > self.end:
            self.over = True
        elif not self.over:
            self.room[self._n:self._n + m] = data
            self._n += m
        return n

    def build(self, after, upto, sid):
        """The records in (after, upto] (those carrying sid, if given); returns the last seq
        in the batch, 0 if none. self.scan: the last seq looked at."""
        self._n = 0
        self.first = self.last = 0
        self.scan = after
        self.upto = upto
        self.sid = sid
        self.skipped = 0
        self._put(self._head)
        self.journal.read_after(after, self._visit)
        if not self.last:
            return 0
        self._put(b"]}")
        return self.last

    def size(self):
        """Bytes built (they sit in the link's write buffer: publish them before it is used)."""
        return self._n
