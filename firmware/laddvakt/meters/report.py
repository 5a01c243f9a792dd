# The meter's state as the `status` command (MeterService.status), the console's `meter` view
# (app/console_view.py) and Home Assistant (app/ha_link.py) show it, read from the service's public
# state: loaded only with them.
from micropython import const

from laddvakt.meters import integrity as en

_I1 = const(3)  # registers.py's I1, folded (tests/host/test_measurands.py)


def serial_check(m):
    """on, pending (not read yet) or off with the reason, for the MeterService m."""
    if m.meter.serial_spec is None:
        return "off: the meter map has no serial register"
    if m.serial_off is not None:
        return "off: " + m.serial_off
    return "on" if m.serial is not None else "pending"


def status(m):
    """The status command's `meter` object (docs/mqtt.md) for the MeterService m."""
    g = m.guard
    h = m.health
    d = {"profile": m.profile, "polls": h.polls, "failed_polls": h.failed_polls,
         "failed_in_a_row": h.in_a_row, "rejected_nan": g.rejected[en.NAN],
         "rejected_backwards": g.rejected[en.BACKWARDS], "rejected_jump": g.rejected[en.JUMP],
         "resyncs": g.resyncs, "replaced": m.replaced, "energy_wh": m.energy_wh,
         "power_w": m.power_w, "serial": None if m.serial is None else "%x" % m.serial,
         "serial_check": serial_check(m),
         "last_error": None if h.last_error is None else str(h.last_error)}
    d.update(m.meter.counters())
    return d


def currents_a(m, phases):
    """Current per phase in A (None where the meter gives none or the station has no such
    phase), from the MeterService m's last good poll; zero while the meter is failing."""
    v = m.meter.values
    out = [None, None, None]
    for k in range(phases):
        ma = v[_I1 + k]
        if ma is not None:
            out[k] = 0 if m.failing else ma / 1000
    return out
