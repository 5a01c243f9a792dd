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


PRICE_SCALE = 10000  # device prices are in 1/10000 of the minor unit (docs/tariffs.md)


def format_price(units, minor_unit, currency):
    """A device price (1/10000 minor unit) as an amount with 4 more decimals: 2.5000 öre."""
    return format_money(units, minor_unit + 4, currency)


def _half_up(num, den):
    return (2 * num + den) // (2 * den)


def receipt_lines(receipt, minor_unit, currency):
    """(label, text) pairs for a device receipt: energy per price period, fees, VAT, total.

    Line amounts are rounded for reading; the total is the device's, rounded once from the
    exact sum, so the lines may differ from it by rounding (docs/tariffs.md)."""
    out = []
    money = lambda m: format_money(m, minor_unit, currency)  # noqa: E731
    if receipt["segs"] is None:
        out.append(("Detail", "not carried (record size); totals only"))
    for seg in receipt["segs"] or []:
        out.append(("Tariff", "%s v%d from %s" % (seg["tariff"], seg["ver"], format_utc(seg["from"]))))
        for t, wh, price in seg["lines"] or []:
            if price is None:
                out.append(("  Energy", "%s kWh at several prices" % format_kwh(wh)))
                continue
            amount = _half_up(wh * price, 1000 * PRICE_SCALE) if wh * price >= 0 else -_half_up(-wh * price, 1000 * PRICE_SCALE)
            out.append(("  Energy", "%s kWh x %s/kWh from %s = %s" % (
                format_kwh(wh), format_price(price, minor_unit, currency), format_utc(t), money(amount))))
        for what, ms, fee in (("Charging time", seg["chg_ms"], seg["time_fee"]),
                              ("Idle time", seg["idle_ms"], seg["idle_fee"])):
            if ms and fee:
                out.append(("  " + what, "%s x %s/min = %s" % (
                    format_duration(ms // 1000), format_price(fee, minor_unit, currency),
                    money(_half_up(ms * fee, 60000 * PRICE_SCALE)))))
    if receipt["start_fee"]:
        out.append(("Start fee", money(_half_up(receipt["start_fee"], PRICE_SCALE))))
    if receipt["adj"]:
        out.append(("Adjusted to", "%s price" % ("minimum" if receipt["adj"] == "min" else "maximum")))
    out.append(("Net", money(receipt["net"])))
    out.append(("VAT %d.%02d %%" % divmod(receipt["vat_bp"], 100), money(receipt["vat"])))
    return out


def format_receipt(session, receipt=None):
    """A receipt for one ended session, as stored by Store (a row of `sessions`), with the
    device's line items when its receipt (the session_end's `receipt`) is given."""
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
    if receipt:
        at = [k for k, _ in lines].index("Total")
        lines[at:at] = receipt_lines(receipt, unit, cur)
    if s.get("id_tag"):
        lines.insert(2, ("Id tag", s["id_tag"]))
    width = max(len(k) for k, _ in lines) + 2
    body = "\n".join("%s%s" % ((k + ":").ljust(width), v) for k, v in lines)
    return "laddvakt receipt\n" + body + "\n"
