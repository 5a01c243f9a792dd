# A scripted EV and the energy meter it draws through, in virtual time.
# The scenario is data (see host_tools/sim.py): visits with arrival, departure,
# energy wanted and maximum power. Energy is integrated in integer mWh.
from micropython import const

_MWH_PER_WH = const(1000)


class SimPlant:
    def __init__(self, scenario):
        self.visits = scenario["visits"]
        self.register_mwh = scenario.get("meter_start_wh", 0) * _MWH_PER_WH
        self.power_w = 0
        self.state = "A"
        self._visit = None
        self._got_mwh = 0
        self._up_ms = 0
        self._rem = 0  # W*ms not yet a whole mWh

    def _visit_at(self, t_s):
        for v in self.visits:
            if v["arrive_s"] <= t_s < v["leave_s"]:
                return v
        return None

    def step(self, up_ms):
        """Advance to up_ms: integrate the last interval's power, then update the EV."""
        dt = up_ms - self._up_ms
        self._up_ms = up_ms
        if dt > 0 and self.power_w:
            # W x ms / 3600 = mWh; the remainder carries over so no energy is lost.
            mwh, self._rem = divmod(self.power_w * dt + self._rem, 3600)
            self.register_mwh += mwh
            self._got_mwh += mwh
        v = self._visit_at(up_ms // 1000)
        if v is not self._visit:
            self._visit = v
            self._got_mwh = 0
        if v is None:
            self.state = "A"
            self.power_w = 0
        elif self._got_mwh < v["need_wh"] * _MWH_PER_WH:
            self.state = "C"
            self.power_w = v["max_w"]
        else:
            # Battery full: the EV stays plugged in, not drawing (idle time).
            self.state = "B"
            self.power_w = 0

    def id_tag(self):
        return self._visit.get("id_tag") if self._visit else None


class SimPilot:
    def __init__(self, plant):
        self._plant = plant

    def read(self):
        return self._plant.state


class SimMeter:
    def __init__(self, plant):
        self._plant = plant

    def read(self):
        """(import energy in Wh, active power in W)."""
        return self._plant.register_mwh // _MWH_PER_WH, self._plant.power_w


class SimTimeSource:
    """Wall time as an NTP server would give it, available after sync_after_s."""

    def __init__(self, scenario):
        self._epoch = scenario["start_epoch"]
        self._after_ms = scenario.get("sync_after_s", 0) * 1000

    def unix_s(self, up_ms):
        if up_ms < self._after_ms:
            return None
        return self._epoch + up_ms // 1000
