# One `recs` message: the journal's records in a seq range (of one session, for a session
# replay) spliced into a buffer allocated once, as {"seq":N, <payload fields>}, without
# parsing them again.
from laddvakt.journal import frame as jf

_MAX_SKIP = 64  # records a session replay may pass over in one round


class Batch:
    def __init__(self, journal, codec, head, size):
        self.journal = journal
        self.codec = codec  # journal payloads to the contract's JSON (journal/codec.py)
        self._head = head  # the message's opening, up to its "recs":[
        self._batch = bytearray(size)
        self._bmv = memoryview(self._batch)
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
        payload = self.codec.render(rtype, payload, seq)
        if self._sid is not None:
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
        if self.last and self._n + need > len(self._batch):
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

    def data(self):
        return self._bmv[:self._n]
