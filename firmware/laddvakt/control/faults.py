# Faults, in OCPP 1.6 ErrorCode vocabulary (FACTS.md), and the connector status they show (at
# the end). The set of active faults: detectors report a condition every tick; only the edges
# (raised, cleared) become journal records, so a fault that persists for hours costs two
# records, not thousands.
# One code can have several owners (InternalError: the journal when full, and the watchdog
# after a reset): each holds it under its own `src`, and the code stays active while any
# source holds it, so one owner's clear never hides another's fault.
# RULES says what each fault does to charging: the action (stop or derate), the stop reason an
# open session ends with, and how the fault clears; docs/control.md has the same table with the
# detection rules.
import json

from micropython import const

from laddvakt.control.pilot import MIN_DA
from laddvakt.core.clock import tdiff

_STOP = const(1)
_DERATE = const(2)

# How a fault clears:
_UNPLUG = const(1)  # its detector no longer sees it and the EV has been unplugged (pilot A)
RESET = const(2)  # its detector no longer sees it and a `clear_fault` command asks (service)
_SELF = const(3)  # as soon as its detector no longer sees it (with hysteresis)
_OWNER = const(4)  # raised and cleared by another part of the agent (meter, journal)

# code: (action, stop reason, clearing)
RULES = {
    "GroundFailure": (_STOP, "EmergencyStop", _UNPLUG),
    "EVCommunicationError": (_STOP, "Other", _UNPLUG),
    "PowerSwitchFailure": (_STOP, "EmergencyStop", RESET),
    "OverCurrentFailure": (_STOP, "EmergencyStop", _UNPLUG),
    "HighTemperature": (_DERATE, None, _SELF),
    # Paused, not stopped: no energy flows unmetered, and the session stays open to end when
    # the EV leaves, at the last booked reading (the meter layer flags it, docs/meters.md).
    "PowerMeterFailure": (_DERATE, None, _OWNER),
    # The journal raises it when full and its on_journal_full policy decides whether charging
    # goes on: control pauses while Controller.suspend_check() says so (no check wired: pause).
    "InternalError": (_DERATE, None, _OWNER),
}


def stopping(active):
    """The first active fault (by code) whose action is stop, or None. `active` is
    Faults.active; codes not in RULES (e.g. ReaderFailure) are reported but do not stop."""
    found = None
    for code in active:
        r = RULES.get(code)
        if r is not None and r[0] == _STOP and (found is None or code < found):
            found = code
    return found


class Faults:
    def __init__(self):
        self.active = {}  # code -> info text given when it was raised
        self._held = {}  # code -> {src: info}, the sources holding an active code

    def update(self, code, on, info=None, src=None):
        """Note whether `code` holds now for source `src`. Returns True on an edge of the code
        as a whole (first source raises it, last one clears it): the caller journals it."""
        held = self._held.get(code)
        if on:
            if held is None:
                self._held[code] = {src: info}
                self.active[code] = info
                return True
            if src not in held:
                held[src] = info
            return False
        if held is None or src not in held:
            return False
        del held[src]
        if held:
            # Still held: the info shown is now that of a source still holding it.
            for v in held.values():
                self.active[code] = v
                break
            return False
        del self._held[code]
        del self.active[code]
        return True

    def is_active(self, code):
        return code in self.active

    def held_by(self, code, src):
        held = self._held.get(code)
        return held is not None and src in held

    def sources(self, code):
        """The sources holding `code` now (sorted; None for the unnamed default source)."""
        held = self._held.get(code)
        return sorted(held, key=lambda s: "" if s is None else s) if held else []

    def codes(self):
        return sorted(self.active)


# The connector as a backend sees it: its OCPP 1.6 ChargePointStatus from the control state, and
# the retained status payload (docs/mqtt.md), rebuilt only when something in it changed.

def connector_status(pilot, stopping, unavailable, in_session, finishing, offer_da, closed):
    """OCPP 1.6 ChargePointStatus of the connector; stopping: a stopping fault holds."""
    if stopping:
        return "Faulted"
    if pilot == "A":
        return "Unavailable" if unavailable else "Available"
    if finishing:
        return "Finishing"
    if not in_session:
        return "Unavailable" if unavailable else "Preparing"
    if offer_da < MIN_DA:
        return "SuspendedEVSE"
    if closed and pilot in "CD":
        return "Charging"
    return "SuspendedEV"


def status_payload(key, active, status, pilot, pilot_da, up_ms, uptime=None):
    """The retained connector status, with the error code of the faults in force (active: their
    codes); key: the controller's list of 5, [status, stop, pilot_da, pilot, the last JSON];
    uptime: fn(loop time) -> uptime ms that never wraps (the agent's clock.up), or None."""
    # Called by the uplink every round: compare without building anything. The error code shown:
    # a stopping fault first, then any other fault of the table (the least code), else NoError.
    stop = stopping(active)
    if stop is None:
        for code in active:
            if code in RULES and (stop is None or code < stop):
                stop = code
        stop = stop or "NoError"
    if (key[4] is None or key[0] != status or key[1] != stop
            or key[2] != pilot_da or key[3] != pilot):
        key[0] = status
        key[1] = stop
        key[2] = pilot_da
        key[3] = pilot
        # offer_a: what the pilot offers (0 while the PWM is off), not the limit behind it.
        d = {"v": 1, "status": status, "error_code": stop,
             "pilot": pilot, "offer_a": pilot_da / 10,
             "up": uptime(up_ms) if uptime else up_ms}
        key[4] = json.dumps(d)
    return key[4]


# The contactor rule, and the fault detectors of a control tick with the contactor's watch (at the
# end): the RCD, the pilot (state E or F, the diode check), the contactor (welded, does not
# close, overcurrent) and the temperature. Each reports its condition to set_fault every tick; a
# latched fault clears as RULES says (unplugged, or a service reset). The rules are in
# docs/control.md, Faults.
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
