# Authorization, pure: free vend, a local allow-list of ID tags, and remote start. A tag comes
# from any reader (the board's RFID reader, the console, an MQTT `authorize`); an accepted tag
# waits `timeout_ms` for an EV to plug in (OCPP 1.6 ConnectionTimeOut).
from laddvakt.core.clock import tadd, tdiff


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

    def accepts(self, tag):
        return self.mode == "free" or tag in self.allow

    def present(self, now_ms, tag, vehicle=None, remote=False):
        """A tag at the reader (or a remote start, which the backend has already authorized).
        Returns "Accepted" or "Invalid" (OCPP AuthorizationStatus)."""
        if not remote and not self.accepts(tag):
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
