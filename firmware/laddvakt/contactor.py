# Contactor rules, pure: when it may close, when it must open, and the two checks that watch
# it (a welded contact; an EV drawing more than it is offered). Time is passed in.
from micropython import const

WELD_MS = const(1000)  # feedback still closed this long after opening: welded
OVERCURRENT_MS = const(6000)  # IEC 61851-1: the EV has 5 s to follow a lower PWM; 6 s is the trip


def may_close(pilot, offer_da, stop_fault):
    """Closes only in C or D, with a valid limit (>= 6 A) offered and no stopping fault."""
    return pilot in "CD" and offer_da >= 60 and not stop_fault


class ContactorWatch:
    """Feed every tick. weld() is True while the feedback shows closed though the coil has
    been off for WELD_MS; over() is True once the measured current has stayed above
    limit + margin for OVERCURRENT_MS (the clock restarts whenever it drops back under, so a
    lowered limit gives the EV the full 6 s from the change)."""

    def __init__(self, margin_da):
        self.margin_da = margin_da
        self.closed = False  # commanded state
        self._opened_ms = None
        self._over_since = None
        self._pause_since = None
        self.welded = False
        self.overcurrent = False

    def decide(self, now_ms, pilot, offer_da, stop_fault):
        """The state the coil should have now. When the offer drops under 6 A (a pause) the
        EV gets up to 6 s to ramp down and go to B before the contactor opens under load; a
        stopping fault or a pilot outside C/D opens it at once."""
        want = may_close(pilot, offer_da, stop_fault)
        if want or not self.closed or stop_fault or pilot not in "CD":
            self._pause_since = None
            return want
        if self._pause_since is None:
            self._pause_since = now_ms
        return now_ms - self._pause_since < OVERCURRENT_MS

    def command(self, now_ms, close):
        if close == self.closed:
            return False
        self.closed = close
        self._opened_ms = None if close else now_ms
        self._over_since = None
        return True

    def check(self, now_ms, feedback, current_da, limit_da):
        # feedback: True closed, False open, None when the board has no feedback input.
        self.welded = bool(
            feedback and not self.closed and self._opened_ms is not None
            and now_ms - self._opened_ms >= WELD_MS)
        if self.closed and current_da > limit_da + self.margin_da:
            if self._over_since is None:
                self._over_since = now_ms
            self.overcurrent = now_ms - self._over_since >= OVERCURRENT_MS
        else:
            self._over_since = None
            self.overcurrent = False
