# When the uplink probes the broker with PINGREQ, and when silence after one means a half-open
# link (docs/mqtt.md, Connection). Time is passed in; the uplink sends the ping.
import time


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
