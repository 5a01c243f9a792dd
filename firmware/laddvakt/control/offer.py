# What bounds the offer besides the profiles and the station (Controller.refresh works out the
# current to offer): demand response and the fail-safe; and whom to offer current at all
# (Authorizer, at the end). Pure; time is passed in.
from laddvakt.core.clock import tadd, tdiff


# Demand response and the fail-safe, pure. A `limit` command caps the current for a while;
# every control message from the backend (limit, profiles, prices, fleet schedule) proves it is
# alive. When none has come for `failsafe_timeout_ms`, the fail-safe current caps the offer
# until one does (the backend may be unable to lower us in an overload: assume the worst).


class DemandResponse:
    def __init__(self, failsafe_da, timeout_ms):
        self.failsafe_da = failsafe_da
        self.timeout_ms = timeout_ms  # 0: no fail-safe
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


# Authorization, pure: free vend, a local allow-list of ID tags, and remote start. A tag comes
# from any reader (the board's RFID reader, the console, an MQTT `authorize`); an accepted tag
# waits `timeout_ms` for an EV to plug in (OCPP 1.6 ConnectionTimeOut).


class Authorizer:
    def __init__(self, mode, allow, timeout_ms):
        if mode not in ("free", "list"):
            raise ValueError("auth_mode must be free or list")
        self.mode = mode
        self.allow = allow  # a set of ID tags accepted offline (OCPP Local Authorization List)
        self.timeout_ms = timeout_ms
        self.tag = None  # the accepted tag waiting for a plug-in, or the session's
        self.vehicle = None
        self.granted = False
        self._until = 0

    def present(self, now_ms, tag, vehicle=None, remote=False):
        """A tag at the reader (or a remote start, which the backend has already authorized).
        Returns "Accepted" or "Invalid" (OCPP AuthorizationStatus)."""
        if not remote and self.mode != "free" and tag not in self.allow:
            return "Invalid"
        self.tag = tag
        self.vehicle = vehicle
        self.granted = True
        self._until = tadd(now_ms, self.timeout_ms)
        return "Accepted"

    def on_plugged(self, now_ms):
        """True if the EV now plugged in may start a session: free vend starts at once."""
        if self.granted and tdiff(now_ms, self._until) <= 0:
            return True
        if self.mode == "free":
            self.granted = True
            return True
        self.granted = False
        return False

    def expire(self, now_ms):
        # A tag shown with no EV plugged in lapses, so it cannot start someone else's session.
        if self.granted and tdiff(now_ms, self._until) > 0:
            self.revoke()

    def revoke(self):
        self.granted = False
        self.tag = None
        self.vehicle = None
