# The simulated NTP time source: wall time that becomes available after a delay, in
# virtual time. (The simulated EV, station and meter are laddvakt_unix/sim/ev.py's SimStation.)


class SimTimeSource:
    """Wall time as an NTP server would give it, available after sync_after_s."""

    def __init__(self, scenario):
        self._epoch = scenario["start_epoch"]
        self._after_ms = scenario.get("sync_after_s", 0) * 1000

    def unix_s(self, up_ms):
        if up_ms < self._after_ms:
            return None
        return self._epoch + up_ms // 1000
