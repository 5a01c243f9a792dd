"""A small, obviously correct reference for OCPP 1.6 composite schedules: it reads the OCPP
JSON itself and evaluates the limit minute by minute, straight from the rules in
docs/control.md. Slow on purpose; the firmware's breakpoint algorithm is checked against it.
A limit here is (dA per phase, numberPhases) on a station of `phases` supply phases."""
import math
from fractions import Fraction

RECUR = {"Daily": 86400, "Weekly": 604800}
ORDER = ("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile")


def per_phase(x, unit, volts, phases):
    """A limit or minChargingRate as whole dA per phase, rounded down: an A figure as given
    (the decimal the JSON wrote, 13.37 is 1337/100, not the float nearest it), a W figure in
    whole watts shared by all the station's phases (the EV may draw on every one of them)."""
    exact = Fraction(str(x))
    if unit == "W":
        return math.floor(exact) * 10 // (volts * phases)
    return math.floor(exact * 10)


def _one(p, t, tx_start, volts, phases):
    """(dA per phase, numberPhases) that profile p sets at t, or None."""
    if p.get("validFrom") is not None and t < p["validFrom"]:
        return None
    if p.get("validTo") is not None and t >= p["validTo"]:
        return None
    s = p["chargingSchedule"]
    kind = p["chargingProfileKind"]
    length = s.get("duration")
    if kind == "Absolute":
        start = s["startSchedule"]
    elif kind == "Relative":
        if tx_start is None:
            return None
        start = tx_start
    else:
        per = RECUR[p["recurrencyKind"]]
        start = s["startSchedule"]
        if t < start:
            return None  # no instance before startSchedule
        while start + per <= t:
            start += per
        length = per if length is None else min(length, per)
    if t < start or (length is not None and t >= start + length):
        return None
    active = [q for q in s["chargingSchedulePeriod"] if q["startPeriod"] <= t - start]
    q = active[-1]
    n = min(q.get("numberPhases", 3), phases)
    return per_phase(q["limit"], s["chargingRateUnit"], volts, phases), n


def limit_at(profiles, t, tx_start, station_da, volts, phases):
    """(dA per phase, numberPhases) of the composite at t."""
    in_force = {}
    for purpose in ORDER:
        if purpose == "TxProfile" and tx_start is None:
            continue
        found = [p for p in profiles if p["chargingProfilePurpose"] == purpose
                 and _one(p, t, tx_start, volts, phases) is not None]
        if found:
            in_force[purpose] = max(found, key=lambda p: p["stackLevel"])
    tx = in_force.get("TxProfile") or in_force.get("TxDefaultProfile")
    limits = [(station_da, phases)]
    for p in (in_force.get("ChargePointMaxProfile"), tx):
        if p is not None:
            limits.append(_one(p, t, tx_start, volts, phases))
    lim, n = min(limits)  # the smallest dA; on a tie, the smaller numberPhases
    if tx is not None:
        s = tx["chargingSchedule"]
        low = s.get("minChargingRate")
        if low is not None and lim < per_phase(low, s["chargingRateUnit"], volts, phases):
            lim = 0  # below the EV's minimum rate: pause
    return lim, n


def composite(profiles, t0, duration, tx_start, station_da, volts, phases, step=60):
    out = []
    for t in range(t0, t0 + duration, step):
        lim, n = limit_at(profiles, t, tx_start, station_da, volts, phases)
        if not out or out[-1][1:] != (lim, n):
            out.append((t - t0, lim, n))
    return out
