# Meter health: poll outcomes in, "is the meter failing" out. A fault is raised after a
# grace (so one noisy frame on the RS485 line does not trip the charger) and cleared by
# the first good poll.
from laddvakt.core.clock import tdiff


class MeterHealth:
    def __init__(self, grace_polls=3, grace_ms=10000):
        self.grace_polls = grace_polls
        self.grace_ms = grace_ms
        self.polls = 0
        self.failed_polls = 0
        self.in_a_row = 0
        self.last_ok_ms = None
        self._first_fail_ms = 0
        self.last_error = None

    def note(self, now_ms, ok, error=None):
        """Record one poll; returns True while the meter counts as failed."""
        self.polls += 1
        if ok:
            self.in_a_row = 0
            self.last_ok_ms = now_ms
            return False
        self.failed_polls += 1
        if not self.in_a_row:
            self._first_fail_ms = now_ms
        self.in_a_row += 1
        self.last_error = error
        since = self.last_ok_ms if self.last_ok_ms is not None else self._first_fail_ms
        return self.in_a_row >= self.grace_polls or tdiff(now_ms, since) >= self.grace_ms
