# The contactor rule (first), and the fault detectors of a control tick with the contactor's
# watch: the RCD, the pilot (state E or F, the diode check), the contactor (welded, does not
# close, overcurrent) and the temperature. Each reports its condition to set_fault every tick; a
# latched fault clears as faults.py's table says (unplugged, or a service reset). The rules are
# in docs/control.md, Faults.
from micropython import const

from laddvakt.control.faults import RESET, RULES
from laddvakt.control.pilot import MIN_DA
from laddvakt.core.clock import tdiff

# Contactor rules, pure: the one rule that lets it be closed, and the watches on it (a welded
# contact, a contact that does not close, an EV drawing more than the pilot offers). Time is
# passed in. docs/control.md, Contactor.
_SWITCH_MS = const(1000)  # feedback still disagreeing with the coil this long: PowerSwitchFailure
FOLLOW_MS = const(3000)  # IEC 61851-1: the EV has 3 s to follow a lower PWM offer
_OPEN_BY_MS = const(6000)  # ... and the contactor opens if it still draws more 6 s after the change
# The overcurrent trip fires at the last tick that still comes this far before _OPEN_BY_MS, so a
# tick that runs a little late still opens within 6 s.
_SLACK_MS = const(250)
_COOL_C = const(10)  # HighTemperature clears this far under the derate threshold


def may_close(pilot, pilot_da, in_session, available, stopping):
    """The contactor rule (IEC 61851-1 with OCPP's authorization): closed only while an
    authorized session is open, the connector is available, no stopping fault holds, the PWM
    offers at least 6 A, and the pilot is C or D. Anything else opens it at this tick."""
    return (in_session and available and not stopping and pilot_da >= MIN_DA
            and pilot in "CD")


class Detectors:
    """The fault detectors of a control tick, run() every tick, and the contactor's watch:
    command() drives the coil. `welded` is True while the feedback reads closed though the coil
    has been off for _SWITCH_MS, `stuck_open` while it reads open though the coil has been on
    that long; `overcurrent` once the measured current has stayed above the pilot's offer plus
    the margin long enough that the next tick would come too late for the 6 s rule."""

    def __init__(self, hw, faults, set_fault, pilot, margin_da, temp_derate_c):
        self.hw = hw  # rcd_tripped(), contactor_feedback(), temp_c()
        self.faults = faults
        self.set_fault = set_fault
        self.pilot = pilot  # the PilotDecoder, for its diode check
        self.temp_derate_c = temp_derate_c
        self.margin_da = margin_da
        self.closed = False  # commanded state
        self._change_ms = None  # when the coil last changed
        self._ok_ms = 0  # the last tick at which the EV drew no more than offered
        self._last_ms = None  # the previous run, for the tick interval
        self.welded = False
        self.stuck_open = False
        self.overcurrent = False

    def command(self, now_ms, close):
        """Drive the coil; True if that changed it."""
        if close == self.closed:
            return False
        self.closed = close
        self._change_ms = now_ms
        self._ok_ms = now_ms
        return True

    def run(self, now_ms, st, reading, current_da, pilot_da, drop_ms):
        """st: the pilot state in force; reading: whether the pilot was read at this tick;
        pilot_da: what the pilot offers now (0 with the PWM off); drop_ms: when that offer last
        went down."""
        sf = self.set_fault
        faults = self.faults  # (not faults.is_active: a bound method would be allocated)
        hw = self.hw
        rcd = hw.rcd_tripped()
        if rcd:
            sf("GroundFailure", True, "RCD tripped")
        elif faults.is_active("GroundFailure") and reading and st == "A":
            sf("GroundFailure", False)
        if reading and (st in "EF" or not self.pilot.diode_ok):
            sf("EVCommunicationError", True, "diode check failed" if st not in "EF" else "pilot state " + st)
        elif faults.is_active("EVCommunicationError") and reading and st == "A":
            sf("EVCommunicationError", False)
        # The contactor's watch. Feedback: True closed, False open, None without a feedback input.
        feedback = hw.contactor_feedback()
        late = (feedback is not None and self._change_ms is not None
                and tdiff(now_ms, self._change_ms) >= _SWITCH_MS)
        self.welded = bool(late and feedback and not self.closed)
        self.stuck_open = bool(late and not feedback and self.closed)
        dt = 0 if self._last_ms is None else tdiff(now_ms, self._last_ms)
        self._last_ms = now_ms
        # Against what the pilot offers, 0 with the PWM off (IEC 61851-1: no PWM, no current).
        if not self.closed or current_da <= pilot_da + self.margin_da:
            self._ok_ms = now_ms
            self.overcurrent = False
        else:
            # The excess began after the last compliant tick, or with the drop if that came later
            # (the EV then owes its reaction to the change, and the 6 s run from it).
            start = self._ok_ms if drop_ms is None or tdiff(drop_ms, self._ok_ms) < 0 else drop_ms
            e = tdiff(now_ms, start)
            self.overcurrent = e >= FOLLOW_MS + dt and e + dt + _SLACK_MS >= _OPEN_BY_MS
        if self.welded:
            sf("PowerSwitchFailure", True, "contactor welded")
        elif self.stuck_open:
            sf("PowerSwitchFailure", True, "contactor does not close")
        if self.overcurrent:
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
        rule = RULES.get(code)
        if rule is None or rule[2] != RESET:
            raise ValueError("%s clears by itself; it cannot be reset by command" % code)
        if self.welded:
            raise ValueError("%s: the contactor feedback still reads closed" % code)
        self.set_fault(code, False)
