# Session tracker: pilot state and meter energy in, session start and end out.
# Pure: the caller passes uptime, wall time and readings, so the same code runs
# on a board, on the unix port and in virtual time.
#
# A session opens when an EV is connected (IEC 61851 state B, C or D) and closes
# when it leaves (A), on an error state (E, F), or on an explicit stop.
# Free vend: no authorization step yet, so the transaction starts at plug-in.
from laddvakt.core.clock import age_ms


_CONNECTED = "BCD"
_ERROR = "EF"


class Session:
    __slots__ = (
        "sid", "start_up", "start_t", "start_tq", "meter_start_wh", "meter_last_wh",
        "id_tag", "end_up", "end_t", "meter_stop_wh", "stop_reason", "vehicle_id",
    )

    def __init__(self, sid, up_ms, wall_t, tq, energy_wh, id_tag):
        self.sid = sid
        self.start_up = up_ms
        self.start_t = wall_t
        self.start_tq = tq
        self.meter_start_wh = energy_wh
        self.meter_last_wh = energy_wh
        self.id_tag = id_tag
        self.end_up = None
        self.end_t = None
        self.meter_stop_wh = None
        self.stop_reason = None
        self.vehicle_id = None  # set by charging control (remote start, fleet, the EV)

    @property
    def energy_wh(self):
        # A meter that steps back is reported by the meter layer; it never makes
        # a session's energy negative.
        stop = self.meter_last_wh if self.meter_stop_wh is None else self.meter_stop_wh
        d = stop - self.meter_start_wh
        return d if d > 0 else 0

    def duration_s(self):
        return age_ms(self.end_up, self.start_up) // 1000


class SessionTracker:
    """Feed on_sample(); it returns ("start", s), ("end", s) or None."""

    def __init__(self, new_sid):
        self._new_sid = new_sid  # callable giving a fresh, unique session id
        self.session = None
        self.pilot = "A"

    def on_sample(self, up_ms, wall_t, tq, pilot, energy_wh, id_tag=None):
        self.pilot = pilot
        s = self.session
        if s is None:
            if pilot in _CONNECTED:
                s = Session(self._new_sid(), up_ms, wall_t, tq, energy_wh, id_tag)
                self.session = s
                return ("start", s)
            return None
        s.meter_last_wh = energy_wh
        if pilot == "A":
            return self.stop(up_ms, wall_t, energy_wh, "EVDisconnected")
        if pilot in _ERROR:
            return self.stop(up_ms, wall_t, energy_wh, "Other")
        return None

    def stop(self, up_ms, wall_t, energy_wh, reason):
        """End the open session (OCPP 1.6 Reason vocabulary); None if there is none."""
        s = self.session
        if s is None:
            return None
        s.end_up = up_ms
        s.end_t = wall_t
        s.meter_stop_wh = energy_wh
        s.stop_reason = reason
        self.session = None
        return ("end", s)
