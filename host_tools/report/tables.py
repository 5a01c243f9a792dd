"""The sessions of a backend database as a table, CSV, groups (per ID tag, station, day or
month) and invoices per customer; `python -m host_tools.report` prints them."""
import csv
import json
from collections import defaultdict
from datetime import datetime, timezone

from host_tools.backend.receipt import format_kwh, format_minor, format_utc

HEADER = ("session", "device", "start (UTC)", "end (UTC)", "kWh", "cost", "currency", "stop reason")
_RIGHT = {4, 5}  # numeric columns line up on the decimal point when right-aligned


def rows(sessions):
    """One tuple of display strings per session, in HEADER's order."""
    return [(s["sid"], s["dev"], format_utc(s["start_t"]), format_utc(s["end_t"]),
             format_kwh(s["energy_wh"]), format_minor(s["cost_minor"], s["minor_unit"]),
             s["currency"], s["stop_reason"]) for s in sessions]


def render_table(sessions):
    body = rows(sessions)
    if not body:
        return "no sessions\n"
    widths = [max(len(r[i]) for r in [HEADER] + body) for i in range(len(HEADER))]

    def line(cells):
        return "  ".join(c.rjust(w) if i in _RIGHT else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [line(HEADER), line(["-" * w for w in widths])] + [line(r) for r in body]
    return "\n".join(out) + "\n"


def write_csv(sessions, stream):
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows(sessions))


GROUPS = ("tag", "station", "day", "month")
GROUP_HEADER = ("sessions", "kWh", "cost", "currency", "hours")


def day_of(t, tz=None):
    """The date of Unix time t in zone tz (a ZoneInfo; None: UTC), "unsynced" without a time."""
    if t is None:
        return "unsynced"
    return datetime.fromtimestamp(t, timezone.utc).astimezone(tz or timezone.utc).strftime("%Y-%m-%d")


def group_key(s, by, tz=None):
    if by == "tag":
        return s["id_tag"] or "(no tag)"
    if by == "station":
        return s["dev"]
    if by == "day":
        return day_of(s["start_t"], tz)
    if by == "month":
        return day_of(s["start_t"], tz)[:7]
    raise ValueError("unknown grouping %r (one of %s)" % (by, ", ".join(GROUPS)))


def grouped(sessions, by, tz=None):
    """[{key, currency, minor_unit, sessions, energy_wh, cost_minor, seconds}] sorted by key;
    money is summed per currency, never across currencies."""
    acc = {}
    for s in sessions:
        k = (group_key(s, by, tz), s["currency"])
        g = acc.setdefault(k, {"key": k[0], "currency": s["currency"], "minor_unit": s["minor_unit"],
                               "sessions": 0, "energy_wh": 0, "cost_minor": 0, "seconds": 0})
        g["sessions"] += 1
        g["energy_wh"] += s["energy_wh"]
        g["cost_minor"] += s["cost_minor"]
        g["seconds"] += s["duration_s"]
    return [acc[k] for k in sorted(acc)]


def group_rows(groups):
    return [(g["key"], str(g["sessions"]), format_kwh(g["energy_wh"]),
             format_minor(g["cost_minor"], g["minor_unit"]), g["currency"],
             "%d.%d" % divmod(g["seconds"] // 360, 10)) for g in groups]


def render_groups(groups, by):
    header = (by,) + GROUP_HEADER
    body = group_rows(groups)
    if not body:
        return "no sessions\n"
    widths = [max(len(r[i]) for r in [header] + body) for i in range(len(header))]
    right = {1, 2, 3, 5}

    def line(cells):
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in body]) + "\n"


def invoices(sessions, receipts, customers, month, flagged=(), tz=None):
    """One invoice per customer (a group of ID tags) for month "YYYY-MM": its sessions that
    started in that month (in zone tz; None: UTC), with totals and the VAT of the device receipts. Sessions in
    `flagged` (sids whose checks failed) are kept and marked: the invoice's "flagged" lists them."""
    owner = {tag: name for name, tags in customers.items() for tag in tags}
    out = {name: {"customer": name, "month": month, "tags": list(tags), "lines": [], "flagged": [],
                  "totals": defaultdict(lambda: {"energy_wh": 0, "cost_minor": 0, "vat_minor": 0})}
           for name, tags in customers.items()}
    for s in sessions:
        name = owner.get(s["id_tag"])
        if name is None or day_of(s["start_t"], tz)[:7] != month:
            continue
        inv = out[name]
        r = receipts.get(s["sid"]) or {}
        inv["lines"].append(s)
        if s["sid"] in flagged:
            inv["flagged"].append(s["sid"])
        tot = inv["totals"][(s["currency"], s["minor_unit"])]
        tot["energy_wh"] += s["energy_wh"]
        tot["cost_minor"] += s["cost_minor"]
        tot["vat_minor"] += r.get("vat", 0)
    for inv in out.values():
        inv["totals"] = dict(inv["totals"])
    return [out[name] for name in customers]


def render_invoice(inv):
    lines = ["INVOICE  %s  %s" % (inv["customer"], inv["month"]),
             "ID tags: %s" % ", ".join(inv["tags"]), ""]
    for s in inv["lines"]:
        lines.append("%s  %-10s  %-8s  %9s kWh  %10s %s%s" % (
            format_utc(s["start_t"]), s["dev"], s["id_tag"], format_kwh(s["energy_wh"]),
            format_minor(s["cost_minor"], s["minor_unit"]), s["currency"],
            "  FLAGGED" if s["sid"] in inv["flagged"] else ""))
    if not inv["lines"]:
        lines.append("no sessions this month")
    for (cur, unit), t in sorted(inv["totals"].items()):
        lines.append("Total %s kWh: %s %s, of which VAT %s %s" % (
            format_kwh(t["energy_wh"]), format_minor(t["cost_minor"], unit), cur,
            format_minor(t["vat_minor"], unit), cur))
    if inv["flagged"]:
        lines.append("FLAGGED (a cost or signature check failed; included, marked): %s"
                     % ", ".join(inv["flagged"]))
    return "\n".join(lines) + "\n"


def load_receipts(store):
    return {r["sid"]: json.loads(r["receipt"]) for r in
            store.query("SELECT sid, receipt FROM receipts WHERE receipt IS NOT NULL")}
