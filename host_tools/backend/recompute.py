"""Independent recomputation of a session's cost from its journaled readings (docs/tariffs.md).

Written apart from the firmware's incremental engine, on purpose: exact fractions instead of
integer cost units, datetime for local time and summer time, and a walk over the readings
instead of per-sample updates. The device and this code agreeing to the minor unit is what
the property test (tests/host/test_cost_agreement.py) checks.
"""
from datetime import datetime, timedelta, timezone
from fractions import Fraction

PRICE_SCALE = 10000  # price units per minor unit


def _last_sunday_1utc(year, month):
    last = (datetime(year, month + 1, 1, tzinfo=timezone.utc) - timedelta(days=1))
    return last - timedelta(days=(last.weekday() - 6) % 7) + timedelta(hours=1)


def utc_offset_s(tariff, t):
    off = tariff.get("tz_min", 0) * 60
    if tariff.get("dst", "none") == "eu":
        year = datetime.fromtimestamp(t, timezone.utc).year
        start, end = _last_sunday_1utc(year, 3), _last_sunday_1utc(year, 10)
        if start.timestamp() <= t < end.timestamp():
            off += 3600
    return off


def schedule_price(sched, t):
    if sched is None or t < sched["start"]:
        return None
    i = (t - sched["start"]) // sched["step_s"]
    return sched["prices"][i] if i < len(sched["prices"]) else None


def price_at(tariff, sched, t):
    """Energy price (1/10000 minor unit per kWh) at Unix time t; t None: the base price."""
    if t is None:
        return tariff["energy"]
    if tariff.get("dynamic") and sched is not None:
        p = schedule_price(sched, t)
        if p is not None:
            return p
    local = datetime.fromtimestamp(t + utc_offset_s(tariff, t), timezone.utc)
    day = 7 if local.date().isoformat() in tariff.get("holidays", []) else local.weekday()
    minute = local.hour * 60 + local.minute
    for w in tariff.get("tou", []):
        if day in w["days"] and w["from"] <= minute < w["to"]:
            return w["price"]
    return tariff["energy"]


def assemble_schedules(records):
    """{schedule id: schedule} from price_schedule records (each part is self-contained)."""
    parts = {}
    for r in records:
        if r["type"] == "price_schedule":
            parts.setdefault(r["id"], {})[r["start"]] = r
    out = {}
    for sid, chunks in parts.items():
        first = min(chunks)
        step = chunks[first]["step_s"]
        prices = []
        for start in sorted(chunks):
            if start != first + len(prices) * step:
                break  # a missing part: the schedule ends where the gap starts
            prices += chunks[start]["prices"]
        out[sid] = {"id": sid, "start": first, "step_s": step, "prices": prices}
    return out


class Incomplete(ValueError):
    """The records needed to recompute a session are not all stored yet."""


def recompute(records, sid):
    """{"total", "vat", "net", "adj", "energy_wh", "chg_ms", "idle_ms"} for session sid.

    records: the install's records in seq order, from the tariff_change in force at the
    session's start (or earlier) through its session_end."""
    schedules = assemble_schedules(records)
    tariff = sched = None
    session = None
    prev = None
    boot = None
    for r in records:
        typ = r["type"]
        if typ == "tariff_change":
            tariff = r["tariff"]
            sched = None
            if r.get("sched"):
                sched = schedules.get(r["sched"]["id"])
                if sched is None:
                    raise Incomplete("schedule %s not stored" % r["sched"]["id"])
        if typ == "session_start" and r["sid"] == sid:
            if tariff is None:
                raise Incomplete("no tariff_change before session %s" % sid)
            session = {"terms": tariff, "energy": Fraction(0), "time": Fraction(0),
                       "idle": Fraction(0), "chg_ms": 0, "idle_ms": 0, "wh": 0,
                       "charged": r.get("st") == "charging", "stretch": 0}
            prev = (r["t"], r["up"], r["meter_start_wh"], r.get("st", "idle"), tariff, sched)
            boot = r["boot"]
            continue
        if session is None or r.get("sid") != sid:
            continue
        if typ == "meter":
            wh, st = r["energy_wh"], r.get("st") or prev[3]
        elif typ == "tariff_change":
            wh, st = r["energy_wh"], r.get("st") or prev[3]
        elif typ == "session_end":
            wh, st = r["meter_stop_wh"], prev[3]
        else:
            continue
        # Across a reboot (a session that went on, docs/journal.md) uptime restarts and the
        # agent bills no time for the outage: the interval from Interruption.Begin to End
        # has its energy and no time.
        _interval(session, prev, r["up"] if r["boot"] == boot else prev[1], wh)
        boot = r["boot"]
        if st != prev[3] and st == "charging":
            session["charged"] = True
            session["stretch"] = 0
        prev = (r["t"], r["up"], wh, st, tariff, sched)
        if typ == "session_end":
            return _result(session)
    raise Incomplete("session %s not complete in the records given" % sid)


def _interval(s, prev, up, wh):
    t0, up0, wh0, st0, tariff, sched = prev
    dwh, dt = wh - wh0, up - up0
    s["wh"] += dwh
    s["energy"] += Fraction(dwh * price_at(tariff, sched if tariff.get("dynamic") else None, t0), 1000)
    if st0 == "charging":
        s["chg_ms"] += dt
        s["time"] += Fraction(dt * tariff.get("time_fee", 0), 60000)
    elif st0 == "idle" and s["charged"]:
        grace = tariff.get("idle_grace_s", 0) * 1000
        before = s["stretch"]
        s["stretch"] = after = before + dt
        billed = max(0, after - max(before, grace))
        s["idle_ms"] += billed
        s["idle"] += Fraction(billed * tariff.get("idle_fee", 0), 60000)


def _result(s):
    terms = s["terms"]
    net = (s["energy"] + s["time"] + s["idle"] + terms.get("start_fee", 0)) / PRICE_SCALE  # minor
    vat_bp = terms.get("vat_bp", 0)
    gross = max(net, 0) * (10000 + vat_bp) / 10000
    adj = None
    if terms.get("min") and gross < terms["min"]:
        gross, adj = Fraction(terms["min"]), "min"
    if terms.get("max") and gross > terms["max"]:
        gross, adj = Fraction(terms["max"]), "max"
    total = int(gross + Fraction(1, 2))  # half up (gross >= 0, so int() floors)
    vat = int(gross * vat_bp / (10000 + vat_bp) + Fraction(1, 2))
    return {"total": total, "vat": vat, "net": total - vat, "adj": adj, "energy_wh": s["wh"],
            "chg_ms": s["chg_ms"], "idle_ms": s["idle_ms"]}
