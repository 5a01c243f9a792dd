# The current to offer, in dA per phase, before the fleet plan: the lowest of the charging
# profiles' composite (the station's own maximum included), the console's cap and demand
# response or the fail-safe; half of it while the station is hot, and nothing above its stop
# temperature, while the meter is down, or while an InternalError pauses charging.
# Pure; time is passed in, the temperature read only while HighTemperature holds.


class Offer:
    def __init__(self, station_da, profiles, dr, faults, temp_c, temp_stop_c, suspended):
        self.station_da = station_da
        self.profiles = profiles
        self.dr = dr
        self.faults = faults
        self.temp_c = temp_c  # fn() -> the station's temperature in C, or None
        self.temp_stop_c = temp_stop_c
        # fn() -> True while the journal's InternalError must pause charging (its
        # on_journal_full policy, Controller.suspend_check)
        self.suspended = suspended
        self.local_cap_da = station_da  # the console's `limit`

    def limit(self, now_ms, wall, tx_start):
        """wall: Unix seconds or None (unsynced); tx_start: the session's start, or None."""
        lim = self.profiles.limit_at(wall, tx_start)
        if self.local_cap_da < lim:
            lim = self.local_cap_da
        cap = self.dr.limit(now_ms)
        if cap is not None and cap < lim:
            lim = cap
        if self.faults.is_active("HighTemperature"):
            t = self.temp_c()
            lim = 0 if t is not None and t >= self.temp_stop_c else lim // 2
        if self.faults.is_active("PowerMeterFailure") or self.paused():
            lim = 0
        return lim

    def paused(self):
        # InternalError has two owners (control/faults.py): after a watchdog reset charging
        # pauses until the agent has run stably (app/watchdog.py); the journal's hold follows its
        # own policy (journal/guard.py).
        f = self.faults
        if not f.is_active("InternalError"):
            return False
        if f.held_by("InternalError", "watchdog"):
            return True
        return self.suspended()

    def describe(self, now_ms):
        """What limits the offer now, for the serial console's `limit`."""
        dr = self.dr.limit(now_ms)
        return "station %d A, console cap %d A, demand response %s%s" % (
            self.station_da // 10, self.local_cap_da // 10,
            "-" if dr is None else "%d.%d A" % (dr // 10, dr % 10),
            ", fail-safe" if self.dr.stale else "")
