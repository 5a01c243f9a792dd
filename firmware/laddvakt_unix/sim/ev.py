# A simulated charging station and the EVs that visit it, in virtual time: the CP signal the
# ADC would see (from the EV's pilot resistance, its diode and our PWM), the PWM output, the
# contactor with its feedback, the RCD, a temperature sensor, an RFID reader, and a meter.
# An EV follows the PWM limit after `react_ms` (IEC 61851-1 allows 3 s), tapers above 80 %
# state of charge, may pause, and can be told to misbehave for the safety tests: ignore a
# lowered limit (`ignore_limit`), go to and stay in C whatever the pilot offers, drawing its
# full power with no PWM (`ignore_pwm`), draw on one phase (`phases: 1`), a shorted diode,
# state E. A scenario event {"at_s", "ev": {...}} changes those flags during a visit; a test
# may call SimStation.script(). Energy is integrated in integer mWh with the remainder kept.
import time

from micropython import const

from laddvakt.control.pilot import DUTY_F, DUTY_OFF, current_for_duty

_R = {"B": 2740, "C": 882, "D": 246}  # ohm, the EV's pilot resistance per state (IEC 61851-1)
_MWH_PER_WH = const(1000)


def cp_high_mv(state):
    """The CP high level for an EV state, through the EVSE's 1 kOhm and the EV's diode."""
    if state == "A":
        return 12000
    if state == "E":
        return 0
    r = _R[state]
    return 700 + 11300 * r // (r + 1000)


class SimEV:
    def __init__(self, v, volts):
        self.v = v
        self.arrive_ms = v["arrive_s"] * 1000
        self.leave_ms = v["leave_s"] * 1000
        self.need_mwh = v.get("need_wh", 1 << 40) * _MWH_PER_WH
        self.max_w = v["max_w"]
        self.phases = v.get("phases", 1 if self.max_w <= 7400 else 3)
        self.volts = volts
        self.cap_wh = v.get("capacity_wh", 0)
        self.soc0_wh = v.get("soc_start_wh", 0)
        self.pauses = v.get("pauses", ())
        self.react_ms = v.get("react_ms", 1500)
        self.got_mwh = 0
        self.state = "B"

    def paused(self, up_ms):
        t = up_ms // 1000
        for a, b in self.pauses:
            if a <= t < b:
                return True
        return False

    def max_power(self):
        """The EV's own ceiling now: its charger, tapering linearly above 80 % SoC."""
        if not self.cap_wh:
            return self.max_w
        soc = self.soc0_wh + self.got_mwh // _MWH_PER_WH
        if soc * 5 <= self.cap_wh * 4:
            return self.max_w
        p = self.max_w * (self.cap_wh - soc) * 5 // self.cap_wh
        return p if p > self.max_w // 10 else self.max_w // 10

    def wants(self, up_ms):
        return self.got_mwh < self.need_mwh and not self.paused(up_ms)

    def target_w(self, duty, closed):
        """What the EV would draw with this duty and contactor, once it has reacted."""
        if not closed or self.state not in "CD":
            return 0
        p = self.max_power()
        if self.v.get("ignore_limit"):
            return p
        a = current_for_duty(duty)
        if not a:
            # No PWM: a well-behaved EV draws nothing (it went to B); one that ignores the pilot
            # takes what its charger can.
            return p if self.v.get("ignore_pwm") else 0
        lim = a * self.volts * self.phases // 10
        return lim if lim < p else p


class SimStation:
    def __init__(self, scenario):
        self.volts = scenario.get("voltage_v", 230)
        self.visits = scenario["visits"]
        self.events = scenario.get("events", ())
        self.register_mwh = scenario.get("meter_start_wh", 0) * _MWH_PER_WH
        self.ev = None
        self._vi = -1
        self.duty = DUTY_OFF
        self.closed = False
        self.welded = False
        self.stuck_open = False  # the coil is driven but the contact does not close
        self.rcd = False
        self.temp = scenario.get("temp_c")
        self.meter_down = False  # the meter stops answering (PowerMeterFailure tests)
        self.power_w = 0
        self._pending = None  # (effective at ms, power)
        self._up = 0
        self._in = 0  # the last loop time stepped to, and the wraps seen before it
        self._wrapped = 0
        self._rem = 0
        self._tag = None
        self._ei = 0
        self.duty_log = None  # (up_ms, duty) changes, when a test wants them
        # Bench (limit_to_pwm_ms): each PWM change printed with the host's wall clock in ns.
        self._print_pwm = scenario.get("log_pwm", False)

    # ---- physics -------------------------------------------------------------------
    def _integrate(self, a, b):
        if b > a and self.power_w:
            mwh, self._rem = divmod(self.power_w * (b - a) + self._rem, 3600)
            self.register_mwh += mwh
            if self.ev is not None:
                self.ev.got_mwh += mwh

    def _retarget(self, now):
        ev = self.ev
        closed = self.closed and not self.stuck_open or self.welded
        t = ev.target_w(self.duty, closed) if ev is not None else 0
        if t == 0 and (ev is None or not closed or ev.state not in "CD"):
            # Contact open or EV gone: the current stops at once.
            self.power_w = 0
            self._pending = None
            return
        p = self._pending
        if p is not None:
            # Already reacting: a target that keeps moving (a taper) must not postpone it.
            if t != p[1]:
                self._pending = (p[0], t)
        elif t != self.power_w:
            self._pending = (now + (ev.react_ms if ev else 0), t)

    def step(self, up_ms):
        """Advance to up_ms: integrate, apply the EV's reaction, then move the scenario on.
        The agent's loop time wraps at 2**30 (core/clock.py); the physics run on without."""
        if up_ms < self._in - (1 << 29):
            self._wrapped += 1 << 30
        self._in = up_ms
        up_ms += self._wrapped
        a = self._up
        p = self._pending
        if p is not None and p[0] <= up_ms:
            self._integrate(a, p[0])
            a = p[0]
            self.power_w = p[1]
            self._pending = None
        self._integrate(a, up_ms)
        self._up = up_ms
        while self._ei < len(self.events) and self.events[self._ei]["at_s"] * 1000 <= up_ms:
            e = self.events[self._ei]
            self._ei += 1
            self.rcd = e.get("rcd", self.rcd)
            self.temp = e.get("temp_c", self.temp)
            self.meter_down = e.get("meter_down", self.meter_down)
            if e.get("weld") and self.closed:
                self.welded = True  # a second weld event does not undo the first
            self.stuck_open = e.get("stuck_open", self.stuck_open)
            if "ev" in e and self.ev is not None:
                self.script(**e["ev"])
        i = -1
        for k, v in enumerate(self.visits):
            if v["arrive_s"] * 1000 <= up_ms < v["leave_s"] * 1000:
                i = k
                break
        if i != self._vi:
            self._vi = i
            self.ev = SimEV(self.visits[i], self.volts) if i >= 0 else None
            self._tag = self.ev.v.get("id_tag") if self.ev else None
        ev = self.ev
        if ev is not None:
            e_at = ev.v.get("state_e_at_s")
            if e_at is not None and up_ms >= e_at * 1000:
                ev.state = "E"
            elif ev.wants(up_ms) and (ev.v.get("ignore_pwm") or DUTY_F < self.duty < DUTY_OFF
                                      and current_for_duty(self.duty)):
                ev.state = "D" if ev.v.get("ventilation") else "C"
            else:
                ev.state = "B"
        self._retarget(up_ms)

    def script(self, **flags):
        """Change how the EV plugged in now behaves (ignore_pwm, ignore_limit, phases, ...)."""
        self.ev.v = dict(self.ev.v)
        self.ev.v.update(flags)
        if "phases" in flags:
            self.ev.phases = flags["phases"]
        self._retarget(self._up)

    # ---- the station's hardware, as the controller sees it ---------------------------
    def cp_read(self):
        if self.duty == DUTY_F:
            return -12000, -12000
        st = self.ev.state if self.ev else "A"
        high = cp_high_mv(st)
        if self.duty == DUTY_OFF:
            return high, high
        if st == "E":
            return 0, 0
        if st != "A" and self.ev.v.get("diode_fault"):
            r = _R[st]
            return high, -12000 * r // (r + 1000)
        return high, -12000

    def set_duty(self, duty):
        if duty != self.duty:
            self.duty = duty
            if self.duty_log is not None:
                self.duty_log.append((self._up, duty))
            if self._print_pwm:
                print("pwm-change %d %d" % (time.time_ns(), duty))
            self._retarget(self._up)

    def set_contactor(self, on):
        self.closed = on
        self._retarget(self._up)

    def contactor_feedback(self):
        return self.closed and not self.stuck_open or self.welded

    def rcd_tripped(self):
        return self.rcd

    def temp_c(self):
        return self.temp

    def read_tag(self):
        # A card is shown once per visit, as a tap.
        t = self._tag
        self._tag = None
        return t

    def vehicle_id(self):
        return self.ev.v.get("vehicle_id") if self.ev else None

    # ---- the meter -------------------------------------------------------------------
    def read(self):
        """(import energy in Wh, active power in W)."""
        if self.meter_down:
            raise OSError(110, "simulated meter does not answer")
        return self.register_mwh // _MWH_PER_WH, self.power_w

    def current_da(self):
        ev = self.ev
        if ev is None or not self.power_w:
            return 0
        return self.power_w * 10 // (self.volts * ev.phases)
