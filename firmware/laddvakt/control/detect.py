# The fault detectors of a control tick: the RCD, the pilot (state E or F, the diode check), the
# contactor's watch (welded, does not close, overcurrent) and the temperature. Each reports its
# condition to set_fault every tick; a latched fault clears as faults.py's table says (unplugged,
# or a service reset). The rules are in docs/control.md, Faults.
from micropython import const

from laddvakt.control import faults as fr

_COOL_C = const(10)  # HighTemperature clears this far under the derate threshold

_EVC = "EVCommunicationError"


class Detectors:
    def __init__(self, hw, faults, set_fault, pilot, watch, temp_derate_c):
        self.hw = hw  # rcd_tripped(), contactor_feedback(), temp_c()
        self.faults = faults
        self.set_fault = set_fault
        self.pilot = pilot  # the PilotDecoder, for its diode check
        self.watch = watch  # the ContactorWatch
        self.temp_derate_c = temp_derate_c

    def run(self, now_ms, st, reading, current_da, pilot_da, drop_ms):
        """st: the pilot state in force; reading: whether the pilot was read at this tick;
        pilot_da: what the pilot offers now; drop_ms: when that offer last went down."""
        sf = self.set_fault
        faults = self.faults  # (not faults.is_active: a bound method would be allocated)
        hw = self.hw
        rcd = hw.rcd_tripped()
        if rcd:
            sf("GroundFailure", True, "RCD tripped")
        elif faults.is_active("GroundFailure") and reading and st == "A":
            sf("GroundFailure", False)
        if reading and (st in "EF" or not self.pilot.diode_ok):
            sf(_EVC, True, "diode check failed" if st not in "EF" else "pilot state " + st)
        elif faults.is_active(_EVC) and reading and st == "A":
            sf(_EVC, False)
        w = self.watch
        # Against what the pilot offers, 0 with the PWM off (IEC 61851-1: no PWM, no current).
        w.check(now_ms, hw.contactor_feedback(), current_da, pilot_da, drop_ms)
        if w.welded:
            sf("PowerSwitchFailure", True, "contactor welded")
        elif w.stuck_open:
            sf("PowerSwitchFailure", True, "contactor does not close")
        if w.overcurrent:
            sf("OverCurrentFailure", True, "%d dA over a %d dA offer" % (current_da, pilot_da))
        elif faults.is_active("OverCurrentFailure") and reading and st == "A":
            sf("OverCurrentFailure", False)
        t = hw.temp_c()
        if t is not None:
            if t >= self.temp_derate_c:
                sf("HighTemperature", True, "%d C" % t)
            elif t < self.temp_derate_c - _COOL_C:
                sf("HighTemperature", False)

    def reset(self, code):
        """Service reset of a fault that clears only on command (a welded contactor)."""
        if not self.faults.is_active(code):
            raise ValueError("%s is not active" % code)
        rule = fr.RULES.get(code)
        if rule is None or rule[2] != fr.RESET:
            raise ValueError("%s clears by itself; it cannot be reset by command" % code)
        if self.watch.welded:
            raise ValueError("%s: the contactor feedback still reads closed" % code)
        self.set_fault(code, False)
