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
