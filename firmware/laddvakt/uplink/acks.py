# End-to-end acknowledgement (docs/mqtt.md, Acknowledgements, uplink_ack "backend"): a window of
# main-stream batches beyond the backend's ack floor, and the ack_timeout condition when the
# broker takes batches that the backend never acknowledges; and, at the end, when the uplink
# probes the broker with PINGREQ and when silence after one means a half-open link (docs/mqtt.md,
# Connection). Pure: time is passed in; the uplink sends the ping.
import time

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
