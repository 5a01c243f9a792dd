# What the uplink sends and what comes back. A batch: one `recs` message, the journal's records
# in a seq range (of one session, for a session replay) spliced in place into the link's write
# buffer, as {"seq":N, <payload fields>}, without parsing them again (Batch, at the end).
# End-to-end acknowledgement (docs/mqtt.md, Acknowledgements, uplink_ack "backend"): a window of
# main-stream batches beyond the backend's ack floor, and the ack_timeout condition when the
# broker takes batches that the backend never acknowledges; and when the uplink probes the
# broker with PINGREQ and when silence after one means a half-open link (docs/mqtt.md,
# Connection). Pure: time is passed in; the uplink sends the ping.
import io
import json
import time

from micropython import const

from laddvakt.billing import sign
from laddvakt.journal import frame as jf

ACK_TIMEOUT = "ack_timeout"  # the condition's name, in the status and the fault record


class BackendAcks:
    def __init__(self, window, timeout_ms):
        self.window = window
        self.timeout_ms = timeout_ms
        # Last seq of each main-stream batch sent and not yet covered by a backend ack, oldest
        # first, in a ring allocated once (at most `window` of them).
        self._ends = [0] * window
        self._head = 0
        self._n = 0
        self.limit = window
        self.since_ms = 0  # when the floor last moved (or the window was last refilled)
        self.condition = None  # ACK_TIMEOUT while raised
        self.timeouts = 0  # times the condition was raised
        self.set_fault = None

    def reset(self, now):
        """A reconnect, or a resend from the floor: nothing counts as sent past the floor."""
        self._n = 0
        self.since_ms = now
        # One batch until the backend answers: its ack may show it holds far more than the
        # floor we know (acks lost with the broker), and each batch more would be a repeat.
        self.limit = 1

    def may_send(self):
        return self._n < self.limit

    def sent(self, last):
        self._ends[(self._head + self._n) % self.window] = last
        self._n += 1

    def on_ack(self, now, seq, moved):
        """The backend's ack for floor seq (moved: it raised the device's floor). Returns True
        when batches past the floor are owed and this ack did not cover any: the backend is
        there without them (it was away, or one went missing). If the broker has taken them
        all, the uplink resends from the floor, a window at most: repeats stay bounded."""
        self.limit = self.window
        while self._n and self._ends[self._head] <= seq:
            self._head = (self._head + 1) % self.window
            self._n -= 1
        if moved:
            self.since_ms = now
            return False
        return self._n > 0

    def expired(self, now, owed):
        """True when batches past the floor (owed) have waited timeout_ms for the backend's
        ack: raise the condition (the caller journals it once) and resend from the floor."""
        if not owed or time.ticks_diff(now, self.since_ms) <= self.timeout_ms:
            return False
        self.since_ms = now
        return True

    def hold(self, on):
        """Raise or clear the condition; True on an edge (the status goes out again). The fault
        record goes through set_fault (fn(code, on, info, src), wired by the app)."""
        if (self.condition is not None) == on:
            return False
        self.condition = ACK_TIMEOUT if on else None
        self.timeouts += on
        if on:  # e.g. an ACL that denies the recs topic: mosquitto PUBACKs and drops them
            print("uplink: %s: the broker took records the backend never acked" % ACK_TIMEOUT)
        if self.set_fault:
            self.set_fault("OtherError", on, ACK_TIMEOUT, "uplink")
        return True

    def status(self, online):
        """The online status payload, naming the condition while it holds (status.json)."""
        return online[:-1] + ',"cond":["%s"]}' % ACK_TIMEOUT if self.condition else online


class Keepalive:
    def __init__(self, keepalive_ms, timeout_ms):
        self.keepalive_ms = keepalive_ms
        self.timeout_ms = timeout_ms
        self.ping_ms = None  # when the outstanding PINGREQ went out

    def reset(self):
        self.ping_ms = None

    def ping_due(self, now, last_rx_ms, owed):
        """True when a PINGREQ should go out now (then it counts as sent); owed: acks are
        awaited. Raises OSError when the broker stayed silent too long after one."""
        quiet = time.ticks_diff(now, last_rx_ms)
        if self.ping_ms is not None:
            if quiet < time.ticks_diff(now, self.ping_ms):
                self.ping_ms = None  # heard from the broker since the ping
            elif time.ticks_diff(now, self.ping_ms) > self.timeout_ms:
                # A half-open link: TCP thinks it is up, the broker is gone.
                raise OSError("no PINGRESP within %d ms" % self.timeout_ms)
            return False
        # Probe sooner while acks are owed: a dead link must not hold the window.
        after = self.timeout_ms // 2 if owed else self.keepalive_ms // 2
        if after and quiet > after:
            self.ping_ms = now
            return True
        return False


_MAX_SKIP = const(64)  # records a session replay may pass over in one round


class Batch(io.IOBase):
    # Also json.dump's stream straight into the batch, a token at a time (write): for a record
    # whose text finds no block of its size in a fragmented heap (a session's end renders to
    # 1.5 KB), and for every session's end, whose signed text is never made whole here. Slower
    # than json.dumps by half or more, so only for those. With esc, what is written is the
    # inside of a JSON string (a session's signed OCMF text, sign.write): " and \ escaped, as
    # json.dumps escapes them (the text, itself JSON, holds no control characters).
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
        self.over = self._drop = self.esc = False
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

    def visit(self, seq, rtype, payload):
        if seq > self.upto:
            return False
        if self.sid is None:
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
        """visit's splice of rec, with json.dump into the batch (write) for want of a block."""
        n0 = self._n
        prefix = (b',{"seq":%d,' if self.last else b'{"seq":%d,') % seq
        if self.last and n0 + len(prefix) + 3 > len(self.room):
            return False
        self._put(prefix)
        self.end, self._drop, self.over = len(self.room) - 2, True, False
        o = rec.get("ocmf")
        if type(o) is tuple:
            # The signed text, last, straight from its template and the record (sign.write).
            del rec["ocmf"]
            json.dump(rec, self)
            self._n -= 1  # the record's closing "}", written again after the text
            self.write(b', "ocmf": "')
            self.esc = True
            sign.write(self, *o)
            self.esc = False
            self.write(b'"}')
        else:
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
        if self.esc:
            k, room = self._n, self.room
            for b in data:
                if k + 2 > self.end:
                    self.over = True
                    return n
                if b == 0x22 or b == 0x5C:
                    room[k] = 0x5C
                    k += 1
                room[k] = b
                k += 1
            if not self.over:
                self._n = k
            return n
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
        self.journal.read_after(after, self.visit)
        if not self.last:
            return 0
        self._put(b"]}")
        return self.last

    def size(self):
        """Bytes built (they sit in the link's write buffer: publish them before it is used)."""
        return self._n
