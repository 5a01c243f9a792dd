# What each fault does to charging, in OCPP 1.6 ErrorCode vocabulary: the action (stop or
# derate), the stop reason an open session ends with, and how the fault clears. docs/control.md
# has the same table with the detection rules.
from micropython import const

STOP = const(1)
DERATE = const(2)

# How a fault clears:
UNPLUG = const(1)  # its detector no longer sees it and the EV has been unplugged (pilot A)
RESET = const(2)  # its detector no longer sees it and a `clear_fault` command asks (service)
SELF = const(3)  # as soon as its detector no longer sees it (with hysteresis)
OWNER = const(4)  # raised and cleared by another part of the agent (meter, journal)

# code: (action, stop reason, clearing)
RULES = {
    "GroundFailure": (STOP, "EmergencyStop", UNPLUG),
    "EVCommunicationError": (STOP, "Other", UNPLUG),
    "PowerSwitchFailure": (STOP, "EmergencyStop", RESET),
    "OverCurrentFailure": (STOP, "EmergencyStop", UNPLUG),
    "HighTemperature": (DERATE, None, SELF),
    # Paused, not stopped: no energy flows unmetered, and the session stays open to end when
    # the EV leaves, at the last booked reading (the meter layer flags it, docs/meters.md).
    "PowerMeterFailure": (DERATE, None, OWNER),
    # The journal raises it when full and its on_journal_full policy decides whether charging
    # goes on: control pauses while Controller.suspend_check() says so (no check wired: pause).
    "InternalError": (DERATE, None, OWNER),
}


def reported(active):
    """The error code to show with the connector status: a stopping fault first, then any
    other fault of the table, else NoError."""
    s = stopping(active)
    if s is not None:
        return s
    found = None
    for code in active:
        if code in RULES and (found is None or code < found):
            found = code
    return found or "NoError"


def stopping(active):
    """The first active fault (by code) whose action is stop, or None. `active` is
    Faults.active; codes not in RULES (e.g. ReaderFailure) are reported but do not stop."""
    found = None
    for code in active:
        r = RULES.get(code)
        if r is not None and r[0] == STOP and (found is None or code < found):
            found = code
    return found
