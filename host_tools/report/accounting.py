"""Sessions as an accountant reads them: in the site's IANA time zone (UTC stays in storage),
one export row per session with its receipt's parts, per-day figures that include empty days,
and invoices for a local month that mark or leave out sessions whose checks failed.

Money stays in integer minor units throughout; only the formatting adds a decimal point.
"""
import csv
import json
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from host_tools.backend.billing import FLAG_SIGNATURE, FLAG_STATUS
from host_tools.backend.receipt import PRICE_SCALE, format_kwh, format_minor

CSV_COLUMNS = (
    "session", "id_tag", "vehicle", "station", "start_local", "end_local", "start_utc", "end_utc",
    "energy_kwh", "charging_s", "idle_s", "energy_part", "time_part", "idle_part", "start_fee",
    "net", "vat_rate_pct", "vat", "total", "currency", "tariff_id", "tariff_version",
    "cost_check", "signature", "flagged")


def zone(name):
    """ZoneInfo for an IANA name; a clear error for a name that is not one."""
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError) as e:
        raise ValueError("unknown time zone %r (an IANA name such as Europe/Stockholm)" % name) from e


def local(t, tz):
    return None if t is None else datetime.fromtimestamp(t, timezone.utc).astimezone(tz)


def fmt_local(t, tz):
    d = local(t, tz)
    return "" if d is None else d.strftime("%Y-%m-%d %H:%M:%S %Z")


def fmt_utc(t):
    return "" if t is None else datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_month(t, tz):
    """The site's month "YYYY-MM" of Unix time t ("unsynced" without a time)."""
    return "unsynced" if t is None else local(t, tz).strftime("%Y-%m")


def month_bounds(month, tz):
    """[start, end) Unix seconds of the local month "YYYY-MM" (DST-aware)."""
    try:
        y, m = (int(x) for x in month.split("-"))
        first = datetime(y, m, 1, tzinfo=tz)
    except ValueError as e:
        raise ValueError("month must be YYYY-MM, got %r" % month) from e
    nxt = datetime(y + m // 12, m % 12 + 1, 1, tzinfo=tz)
    return int(first.timestamp()), int(nxt.timestamp())


def day_bounds(day, tz):
    """[start, end) Unix seconds of local date "YYYY-MM-DD" (23 or 25 h across a DST change)."""
    d = date.fromisoformat(day)
    start = datetime(d.year, d.month, d.day, tzinfo=tz)
    n = d + timedelta(days=1)
    return int(start.timestamp()), int(datetime(n.year, n.month, n.day, tzinfo=tz).timestamp())


def _half_up(num, den):
    return (2 * num + den) // (2 * den)


def receipt_parts(receipt):
    """{"energy", "time", "idle", "start_fee"} in minor units (each rounded half up, so they may
    differ from net by rounding, docs/tariffs.md), plus the first tariff id and version and the
    charging and idle seconds. None parts where the receipt carried no detail."""
    out = {"energy": None, "time": None, "idle": None, "start_fee": None, "tariff_id": "",
           "tariff_version": "", "charging_s": None, "idle_s": None}
    if not receipt:
        return out
    out["start_fee"] = _half_up(receipt["start_fee"], PRICE_SCALE)
    segs = receipt.get("segs")
    if segs:
        out["tariff_id"], out["tariff_version"] = segs[0]["tariff"], segs[0]["ver"]
        e = t = i = 0
        detail = True
        for s in segs:
            if s["lines"] is None or any(p is None for _, _, p in s["lines"]):
                detail = False
            else:
                e += sum(wh * p for _, wh, p in s["lines"])
            t += s["chg_ms"] * s["time_fee"]
            i += s["idle_ms"] * s["idle_fee"]
        out["energy"] = _half_up(e, 1000 * PRICE_SCALE) if detail else None
        out["time"] = _half_up(t, 60000 * PRICE_SCALE)
        out["idle"] = _half_up(i, 60000 * PRICE_SCALE)
        out["charging_s"] = sum(s["chg_ms"] for s in segs) // 1000
        out["idle_s"] = sum(s["idle_ms"] for s in segs) // 1000
    return out


def is_flagged(check):
    return bool(check) and (check["status"] in FLAG_STATUS or check["signature"] in FLAG_SIGNATURE)


def verification_line(checks):
    """The report's one-line summary of the checks: every session counted once, by outcome
    (a session is flagged when its cost or its signature failed; error and pending are named
    apart, so a check that could not run is never counted as passed)."""
    n = len(checks)
    flagged = sum(1 for c in checks if is_flagged(c))
    error = sum(1 for c in checks if c["status"] == "error")
    pending = sum(1 for c in checks if c["status"] == "pending")
    unverifiable = sum(1 for c in checks if c["status"] == "unverifiable")
    ok = sum(1 for c in checks if c["status"] == "ok" and not is_flagged(c))
    return ("%d sessions: %d verified, %d flagged (of which %d error), %d pending, %d unverifiable"
            % (n, ok, flagged, error, pending, unverifiable))


def session_rows(store, where="", args=()):
    """Every ended session (optionally filtered by a WHERE on `sessions s`) joined with its
    receipt, check and vehicle: the one source of the CSV, the invoices and the web pages."""
    rows = store.query(
        "SELECT s.*, r.receipt AS receipt_json, c.status AS check_status, c.signature AS check_signature,"
        " c.backend_minor AS check_backend_minor, c.detail AS check_detail"
        " FROM sessions s LEFT JOIN receipts r ON r.sid = s.sid LEFT JOIN checks c ON c.sid = s.sid"
        " %s ORDER BY CASE WHEN s.start_t IS NULL THEN 1 ELSE 0 END, s.start_t, s.sid" % where, args)
    vehicles = _vehicles(store, rows)
    for r in rows:
        r["receipt"] = json.loads(r.pop("receipt_json")) if r.get("receipt_json") else None
        r["vehicle_id"] = vehicles.get((r["install"], r["end_seq"]))
        chk = {"status": r.get("check_status") or "pending", "signature": r.get("check_signature") or "pending"}
        r["flagged"] = is_flagged(chk)
    return rows


def _vehicles(store, rows):
    out = {}
    by_install = defaultdict(list)
    for r in rows:
        by_install[r["install"]].append(r["end_seq"])
    for install, seqs in by_install.items():
        for rec in store.records_by_seq(install, seqs):
            out[(install, rec["seq"])] = rec.get("vehicle_id")
    return out


def export_row(s, tz):
    """One CSV row (CSV_COLUMNS) of a session row from session_rows()."""
    unit = s["minor_unit"]
    rc = s["receipt"] or {}
    parts = receipt_parts(s["receipt"])
    money = lambda m: "" if m is None else format_minor(m, unit)  # noqa: E731
    total = s["cost_minor"]
    vat = rc.get("vat")
    net = rc.get("net", total if vat is None else total - vat)
    vat_bp = rc.get("vat_bp")
    return (s["sid"], s["id_tag"] or "", s.get("vehicle_id") or "", s["dev"],
            fmt_local(s["start_t"], tz), fmt_local(s["end_t"], tz), fmt_utc(s["start_t"]), fmt_utc(s["end_t"]),
            format_kwh(s["energy_wh"]),
            "" if parts["charging_s"] is None else str(parts["charging_s"]),
            "" if parts["idle_s"] is None else str(parts["idle_s"]),
            money(parts["energy"]), money(parts["time"]), money(parts["idle"]), money(parts["start_fee"]),
            money(net), "" if vat_bp is None else "%d.%02d" % divmod(vat_bp, 100), money(vat or 0),
            money(total), s["currency"], parts["tariff_id"], str(parts["tariff_version"]),
            s.get("check_status") or "pending", s.get("check_signature") or "pending",
            "yes" if s["flagged"] else "no")


def write_export_csv(sessions, tz, stream):
    w = csv.writer(stream, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for s in sessions:
        w.writerow(export_row(s, tz))


def per_day(store, sessions, tz, first=None, last=None):
    """[{day, sessions, energy_wh, cost_minor, currency, minor_unit}] for every local day from
    first to last (defaults: the span of the sessions), empty days included. Energy is put on
    the day it was metered (from the session's readings, each interval on the day its reading
    closes); a session's cost and count on its local start day."""
    synced = [s for s in sessions if s["start_t"] is not None]
    if not synced and (first is None or last is None):
        return []
    first = first or min(local(s["start_t"], tz).date() for s in synced)
    last = last or max(local(s["end_t"] or s["start_t"], tz).date() for s in synced)
    days = {}
    d = first
    while d <= last:
        days[d.isoformat()] = {"day": d.isoformat(), "sessions": 0, "energy_wh": 0, "cost_minor": 0}
        d += timedelta(days=1)
    for s in synced:
        g = days.get(local(s["start_t"], tz).date().isoformat())
        if g is not None:
            g["sessions"] += 1
            g["cost_minor"] += s["cost_minor"]
        for day, wh in _energy_by_day(store, s, tz).items():
            if day in days:
                days[day]["energy_wh"] += wh
    return list(days.values())


def _energy_by_day(store, s, tz):
    rows = store.query("SELECT t, energy_wh FROM readings WHERE install = ? AND sid = ? AND energy_wh IS NOT NULL"
                       " ORDER BY seq", (s["install"], s["sid"]))
    out = defaultdict(int)
    prev = s["meter_start_wh"]
    for r in rows:
        t = r["t"] if r["t"] is not None else s["start_t"]
        out[local(t, tz).date().isoformat()] += r["energy_wh"] - prev
        prev = r["energy_wh"]
    missing = s["energy_wh"] - sum(out.values())
    if missing:  # readings not all stored (or none): the rest on the end day
        out[local(s["end_t"] or s["start_t"], tz).date().isoformat()] += missing
    return out


def peak_demand(store, tz, start=None, end=None):
    """(kW, local time text) of the highest fleet power in any local hour: the maximum of each
    station within the hour, summed over stations."""
    where, args = "", []
    if start is not None:
        where, args = " AND t >= ? AND t < ?", [start, end]
    per = defaultdict(int)
    for r in store.query("SELECT install, t, power_w FROM readings WHERE type = 'meter'"
                         " AND t IS NOT NULL AND power_w IS NOT NULL" + where, args):
        k = (r["install"], r["t"] // 3600)
        per[k] = max(per[k], r["power_w"])
    fleet = defaultdict(int)
    for (_, hour), w in per.items():
        fleet[hour] += w
    if not fleet:
        return 0, ""
    hour = max(fleet, key=lambda h: fleet[h])
    return fleet[hour] / 1000, fmt_local(hour * 3600, tz)


def cost_breakdown(sessions):
    """{(currency, minor_unit): {energy, time, idle, start_fee, net, vat, total}} summed."""
    out = {}
    for s in sessions:
        k = (s["currency"], s["minor_unit"])
        acc = out.setdefault(k, dict.fromkeys(("energy", "time", "idle", "start_fee", "net", "vat", "total"), 0))
        p = receipt_parts(s["receipt"])
        for name in ("energy", "time", "idle", "start_fee"):
            acc[name] += p[name] or 0
        rc = s["receipt"] or {}
        acc["vat"] += rc.get("vat", 0)
        acc["net"] += rc.get("net", s["cost_minor"] - rc.get("vat", 0))
        acc["total"] += s["cost_minor"]
    return out


FLAGGED_POLICIES = ("mark", "omit")


def invoices(sessions, customers, month, tz, flagged="mark"):
    """One invoice per customer ({name: {"tags": [...], ...details}} or {name: [tags]}) for the
    local month: its sessions that started in that month in the site's zone. flagged: "mark"
    keeps sessions whose checks failed, marked, "omit" leaves them out and lists them."""
    if flagged not in FLAGGED_POLICIES:
        raise ValueError("flagged must be one of %s" % ", ".join(FLAGGED_POLICIES))
    lo, hi = month_bounds(month, tz)
    out = []
    for n, (name, c) in enumerate(customers.items(), 1):
        c = {"tags": c} if isinstance(c, list) else c
        inv = {"customer": name, "buyer": c, "month": month, "tags": list(c["tags"]), "lines": [],
               "omitted": [], "flagged_policy": flagged, "totals": {},
               "number": "%s-%03d" % (month.replace("-", ""), n)}
        for s in sessions:
            if s["id_tag"] not in c["tags"] or s["start_t"] is None or not lo <= s["start_t"] < hi:
                continue
            if s["flagged"] and flagged == "omit":
                inv["omitted"].append(s)
                continue
            inv["lines"].append(s)
            rc = s["receipt"] or {}
            t = inv["totals"].setdefault((s["currency"], s["minor_unit"]),
                                         {"energy_wh": 0, "net_minor": 0, "vat_minor": 0, "cost_minor": 0})
            t["energy_wh"] += s["energy_wh"]
            t["vat_minor"] += rc.get("vat", 0)
            t["net_minor"] += rc.get("net", s["cost_minor"] - rc.get("vat", 0))
            t["cost_minor"] += s["cost_minor"]
        out.append(inv)
    return out
