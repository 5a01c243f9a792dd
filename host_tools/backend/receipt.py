"""Plain-text receipts and the value formats shared with the report.

Money and energy are formatted with integer arithmetic: a float would print 0.1 + 0.2 öre wrong.
"""
from datetime import datetime, timezone


def format_utc(t):
    """Unix seconds as ISO 8601 UTC, or "unsynced" when the device had no wall time."""
    if t is None:
        return "unsynced"
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_minor(minor, minor_unit):
    """Integer minor units as a decimal amount: (250, 2) -> "2.50", (250, 0) -> "250"."""
    sign = "-" if minor < 0 else ""
    whole, frac = divmod(abs(minor), 10 ** minor_unit)
    if minor_unit == 0:
        return "%s%d" % (sign, whole)
    return "%s%d.%0*d" % (sign, whole, minor_unit, frac)


def format_money(minor, minor_unit, currency):
    return "%s %s" % (format_minor(minor, minor_unit), currency)


def format_kwh(wh):
    """Integer Wh as kWh with 3 decimals, which is exact."""
    return "%d.%03d" % divmod(wh, 1000)


def format_duration(seconds):
    hours, rest = divmod(seconds, 3600)
    return "%d:%02d:%02d" % (hours, rest // 60, rest % 60)


def format_receipt(session):
    """A receipt for one ended session, as stored by Store (a row of `sessions`)."""
    s = session
    unit, cur = s["minor_unit"], s["currency"]
    lines = [
        ("Session", s["sid"]),
        ("Device", s["dev"]),
        ("Start", format_utc(s["start_t"])),
        ("End", format_utc(s["end_t"])),
        ("Duration", format_duration(s["duration_s"])),
        ("Meter start", "%d Wh" % s["meter_start_wh"]),
        ("Meter stop", "%d Wh" % s["meter_stop_wh"]),
        ("Energy", "%s kWh" % format_kwh(s["energy_wh"])),
        ("Unit price", "%s/kWh" % format_money(s["price_minor_per_kwh"], unit, cur)),
        ("Total", format_money(s["cost_minor"], unit, cur)),
        ("Stop reason", s["stop_reason"]),
    ]
    if s.get("id_tag"):
        lines.insert(2, ("Id tag", s["id_tag"]))
    width = max(len(k) for k, _ in lines) + 2
    body = "\n".join("%s%s" % ((k + ":").ljust(width), v) for k, v in lines)
    return "laddvakt receipt\n" + body + "\n"
