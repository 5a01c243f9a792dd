# The connector as a backend sees it: its OCPP 1.6 ChargePointStatus from the control state, and
# the retained status payload (docs/mqtt.md), rebuilt only when something in it changed.
import json

from laddvakt.control import fault_table as fr
from laddvakt.control.pilot import MIN_DA


def connector_status(pilot, faulted, unavailable, in_session, finishing, offer_da, closed):
    """OCPP 1.6 ChargePointStatus of the connector."""
    if faulted:
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


class StatusPayload:
    """The retained connector status, with the error code of the faults in force."""

    def __init__(self, faults):
        self.faults = faults
        self._json = None
        self._key = [None, None, None, None]
        self.uptime = None  # fn(loop time) -> uptime ms that never wraps (the agent's clock.up)

    def get(self, status, pilot, pilot_da, up_ms):
        # Called by the uplink every round: compare without building anything.
        stop = fr.reported(self.faults.active)
        k = self._key
        if (self._json is None or k[0] != status or k[1] != stop
                or k[2] != pilot_da or k[3] != pilot):
            k[0] = status
            k[1] = stop
            k[2] = pilot_da
            k[3] = pilot
            # offer_a: what the pilot offers (0 while the PWM is off), not the limit behind it.
            d = {"v": 1, "status": status, "error_code": stop,
                 "pilot": pilot, "offer_a": pilot_da / 10,
                 "up": self.uptime(up_ms) if self.uptime else up_ms}
            self._json = json.dumps(d)
        return self._json
