# Demand response and the fail-safe, pure. A `limit` command caps the current for a while;
# every control message from the backend (limit, profiles, prices, fleet schedule) proves it is
# alive. When none has come for `failsafe_timeout_ms`, the fail-safe current caps the offer
# until one does (the backend may be unable to lower us in an overload: assume the worst).
from laddvakt.core.clock import tadd, tdiff


class DemandResponse:
    def __init__(self, failsafe_da, failsafe_timeout_ms):
        self.failsafe_da = failsafe_da
        self.timeout_ms = failsafe_timeout_ms  # 0: no fail-safe
        self.limit_da = None
        self.set_ms = 0  # when for_ms was last counted down
        self.for_ms = 0  # what is left of the cap: up to 7 days, past tdiff's signed range
        self.last_msg_ms = 0
        self.stale = False

    def heard(self, now_ms):
        self.last_msg_ms = now_ms

    def set(self, now_ms, limit_da, duration_s):
        """Cap at limit_da for duration_s (None: clear the cap)."""
        self.heard(now_ms)
        self.limit_da = limit_da
        self.set_ms = now_ms
        self.for_ms = duration_s * 1000 if limit_da is not None else 0

    def limit(self, now_ms):
        """The cap in dA now, or None."""
        lim = None
        if self.limit_da is not None:
            d = tdiff(now_ms, self.set_ms)  # < 0: set between two ticks, after this one
            if d > 0:
                self.for_ms -= d
                self.set_ms = now_ms
            if self.for_ms > 0:
                lim = self.limit_da
            else:
                self.limit_da = None
        self.stale = bool(self.timeout_ms) and tdiff(now_ms, self.last_msg_ms) > self.timeout_ms
        if self.stale:  # keep the silence just past the timeout: a week on, tdiff would wrap
            self.last_msg_ms = tadd(now_ms, -self.timeout_ms - 1)
        if self.stale and (lim is None or self.failsafe_da < lim):
            lim = self.failsafe_da
        return lim
