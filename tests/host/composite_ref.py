"""A small, obviously correct reference for OCPP 1.6 composite schedules: it reads the OCPP
JSON itself and evaluates the limit minute by minute, straight from the rules in
docs/control.md. Slow on purpose; the firmware's breakpoint algorithm is checked against it."""

RECUR = {"Daily": 86400, "Weekly": 604800}
ORDER = ("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile")


def _one(p, t, tx_start, volts):
    """The limit (dA per phase) profile p sets at t, or None."""
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
        while start > t:
            start -= per
        while start + per <= t:
            start += per
        length = per if length is None else min(length, per)
    if t < start or (length is not None and t >= start + length):
        return None
    active = [q for q in s["chargingSchedulePeriod"] if q["startPeriod"] <= t - start]
    q = active[-1]
    n = q.get("numberPhases", 3)
    if s["chargingRateUnit"] == "W":
        return int(q["limit"]) * 10 // (volts * n)
    return int(q["limit"] * 10 + 0.5)


def limit_at(profiles, t, tx_start, station_da, volts):
    by_purpose = {}
    for purpose in ORDER:
        if purpose == "TxProfile" and tx_start is None:
            continue
        found = [(p["stackLevel"], _one(p, t, tx_start, volts)) for p in profiles
                 if p["chargingProfilePurpose"] == purpose]
        found = [f for f in found if f[1] is not None]
        if found:
            by_purpose[purpose] = max(found)[1]
    lims = [station_da]
    if "ChargePointMaxProfile" in by_purpose:
        lims.append(by_purpose["ChargePointMaxProfile"])
    if "TxProfile" in by_purpose:
        lims.append(by_purpose["TxProfile"])
    elif "TxDefaultProfile" in by_purpose:
        lims.append(by_purpose["TxDefaultProfile"])
    return min(lims)


def composite(profiles, t0, duration, tx_start, station_da, volts, step=60):
    out = []
    for t in range(t0, t0 + duration, step):
        v = limit_at(profiles, t, tx_start, station_da, volts)
        if not out or out[-1][1] != v:
            out.append((t - t0, v))
    return out
