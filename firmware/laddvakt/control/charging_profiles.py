# OCPP 1.6 charging profiles (§3.13, SetChargingProfile), the wire side, pure: a
# csChargingProfiles object parsed into the small tuple that is kept, and back to OCPP JSON for
# get_profiles; times as Unix seconds or ISO 8601. profile_limits.py keeps and evaluates them.
# Every conversion rounds down (A to whole dA, W to whole W): never more than was allowed (see
# _limit for the float noise of decimal text).
from micropython import const

from laddvakt.control.profile_limits import (DUR, FROM, ID, KIND, MIN, PERIOD, PERIODS, PURPOSE,
                                              STACK, START, TO, TXID, WATTS)
from laddvakt.core.clock import iso_seconds

PURPOSES = ("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile")
KINDS = ("Absolute", "Recurring", "Relative")
_RECUR = {"Daily": 86400, "Weekly": 604800}
MAX_PERIODS = const(48)


def parse_time(v, what):
    """Unix seconds from an int or an ISO 8601 UTC date-time (OCPP's dateTime)."""
    if v is None:
        return None
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    try:
        t = iso_seconds(v)
    except ValueError:
        raise ValueError("%s: cannot read date-time %r" % (what, v))
    if t is None:
        raise ValueError("%s must be Unix seconds or an ISO 8601 date-time" % what)
    return t


def _int(d, key, lo, hi, default=None):
    v = d.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise ValueError("'%s' must be an integer %d..%d" % (key, lo, hi))
    return v


def _limit(v, watts, key="limit"):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or v > 1000000:
        raise ValueError("'%s' must be a number 0..1000000" % key)
    # A limits keep one decimal (dA), W limits whole watts; int() of v >= 0 rounds down, so
    # 5.96 A is 5.9 A (a pause), never 6 A. Ten times a float is nudged up by one part in a
    # million first: a one-decimal limit such as 6.2 A has no exact float, and on an ESP32's
    # single-precision floats it may read as 61.99999 dA.
    if watts:
        return int(v)
    v *= 10
    return int(v + v * 1e-6) if isinstance(v, float) else v


def parse(d):
    """A stored profile tuple (fields ID .. MIN of profile_limits) from an OCPP
    csChargingProfiles object; ValueError says why not."""
    if not isinstance(d, dict):
        raise ValueError("'csChargingProfiles' must be an object")
    pid = _int(d, "chargingProfileId", 0, 2147483647)
    stack = _int(d, "stackLevel", 0, 1000)
    purpose = d.get("chargingProfilePurpose")
    if purpose not in PURPOSES:
        raise ValueError("'chargingProfilePurpose' must be one of " + ", ".join(PURPOSES))
    kind = d.get("chargingProfileKind")
    if kind not in KINDS:
        raise ValueError("'chargingProfileKind' must be one of " + ", ".join(KINDS))
    kind = KINDS.index(kind)
    period = 0
    if kind == 1:
        period = _RECUR.get(d.get("recurrencyKind"), 0)
        if not period:
            raise ValueError("a Recurring profile needs 'recurrencyKind' Daily or Weekly")
    sch = d.get("chargingSchedule")
    if not isinstance(sch, dict):
        raise ValueError("'chargingSchedule' must be an object")
    unit = sch.get("chargingRateUnit")
    if unit not in ("A", "W"):
        raise ValueError("'chargingRateUnit' must be A or W")
    watts = unit == "W"
    start = parse_time(sch.get("startSchedule"), "startSchedule")
    if kind != 2 and start is None:
        raise ValueError("an Absolute or Recurring profile needs 'startSchedule'")
    dur = sch.get("duration")
    if dur is not None:
        dur = _int(sch, "duration", 1, 31536000)
    lo = sch.get("minChargingRate")
    if lo is not None:
        lo = _limit(lo, watts, "minChargingRate")
    ps = sch.get("chargingSchedulePeriod")
    if not isinstance(ps, list) or not 0 < len(ps) <= MAX_PERIODS:
        raise ValueError("'chargingSchedulePeriod' must list 1..%d periods" % MAX_PERIODS)
    periods = []
    last = -1
    for p in ps:
        if not isinstance(p, dict):
            raise ValueError("each period must be an object")
        sp = _int(p, "startPeriod", 0, 31536000)
        if (last < 0 and sp != 0) or sp <= last:
            raise ValueError("startPeriod must begin at 0 and increase")
        last = sp
        ph = _int(p, "numberPhases", 1, 3, 3)
        periods.append((sp, _limit(p.get("limit"), watts), ph))
    vf = parse_time(d.get("validFrom"), "validFrom")
    vt = parse_time(d.get("validTo"), "validTo")
    return (pid, PURPOSES.index(purpose), stack, kind, period, vf, vt, start, dur, watts,
            tuple(periods), d.get("transactionId"), lo)


def to_json(p):
    """The OCPP object for a stored profile (times as Unix seconds)."""
    sch = {"chargingRateUnit": "W" if p[WATTS] else "A",
           "chargingSchedulePeriod": [
               {"startPeriod": sp, "limit": lim if p[WATTS] else lim / 10, "numberPhases": ph}
               for sp, lim, ph in p[PERIODS]]}
    if p[START] is not None:
        sch["startSchedule"] = p[START]
    if p[DUR] is not None:
        sch["duration"] = p[DUR]
    if p[MIN] is not None:
        sch["minChargingRate"] = p[MIN] if p[WATTS] else p[MIN] / 10
    d = {"chargingProfileId": p[ID], "stackLevel": p[STACK],
         "chargingProfilePurpose": PURPOSES[p[PURPOSE]],
         "chargingProfileKind": KINDS[p[KIND]], "chargingSchedule": sch}
    if p[PERIOD]:
        d["recurrencyKind"] = "Daily" if p[PERIOD] == 86400 else "Weekly"
    if p[FROM] is not None:
        d["validFrom"] = p[FROM]
    if p[TO] is not None:
        d["validTo"] = p[TO]
    if p[TXID] is not None:
        d["transactionId"] = p[TXID]
    return d
