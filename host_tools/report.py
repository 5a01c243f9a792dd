"""Reports from a backend database: python -m host_tools.report --db PATH|URL [options].

  (no option)            the ended sessions as a table (also --group session); --csv for CSV
  --group tag|station|day|month
                         sessions, energy, cost and hours per ID tag (vehicle), station,
                         day or month (UTC dates); --csv for CSV
  --invoices FILE --month YYYY-MM
                         an invoice per customer (FILE: {"customer": ["tag", ...]})
  --html OUT             one self-contained HTML file with charts (and the invoices, with
                         --invoices/--month)
"""
import argparse
import csv
import json
import os
import sys
from collections import defaultdict
from datetime import datetime, timezone

from host_tools.backend.db import is_postgres
from host_tools.backend.receipt import format_kwh, format_minor, format_utc
from host_tools.backend.store import Store

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


def day_of(t):
    return "unsynced" if t is None else datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d")


def group_key(s, by):
    if by == "tag":
        return s["id_tag"] or "(no tag)"
    if by == "station":
        return s["dev"]
    if by == "day":
        return day_of(s["start_t"])
    if by == "month":
        return day_of(s["start_t"])[:7]
    raise ValueError("unknown grouping %r (one of %s)" % (by, ", ".join(GROUPS)))


def grouped(sessions, by):
    """[{key, currency, minor_unit, sessions, energy_wh, cost_minor, seconds}] sorted by key;
    money is summed per currency, never across currencies."""
    acc = {}
    for s in sessions:
        k = (group_key(s, by), s["currency"])
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


def invoices(sessions, receipts, customers, month):
    """One invoice per customer (a group of ID tags) for month "YYYY-MM": its sessions that
    started in that month (UTC), with totals and the VAT of the device receipts."""
    owner = {tag: name for name, tags in customers.items() for tag in tags}
    out = {name: {"customer": name, "month": month, "tags": list(tags), "lines": [],
                  "totals": defaultdict(lambda: {"energy_wh": 0, "cost_minor": 0, "vat_minor": 0})}
           for name, tags in customers.items()}
    for s in sessions:
        name = owner.get(s["id_tag"])
        if name is None or day_of(s["start_t"])[:7] != month:
            continue
        inv = out[name]
        r = receipts.get(s["sid"]) or {}
        inv["lines"].append(s)
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
        lines.append("%s  %-10s  %-8s  %9s kWh  %10s %s" % (
            format_utc(s["start_t"]), s["dev"], s["id_tag"], format_kwh(s["energy_wh"]),
            format_minor(s["cost_minor"], s["minor_unit"]), s["currency"]))
    if not inv["lines"]:
        lines.append("no sessions this month")
    for (cur, unit), t in sorted(inv["totals"].items()):
        lines.append("Total %s kWh: %s %s, of which VAT %s %s" % (
            format_kwh(t["energy_wh"]), format_minor(t["cost_minor"], unit), cur,
            format_minor(t["vat_minor"], unit), cur))
    return "\n".join(lines) + "\n"


def load_receipts(store):
    return {r["sid"]: json.loads(r["receipt"]) for r in
            store.query("SELECT sid, receipt FROM receipts WHERE receipt IS NOT NULL")}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m host_tools.report", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="the backend's SQLite file or postgresql:// URL")
    ap.add_argument("--csv", action="store_true", help="CSV instead of a table")
    ap.add_argument("--group", choices=("session",) + GROUPS,
                    help="one row per session (the default), or per ID tag, station, day or month")
    ap.add_argument("--invoices", metavar="FILE", help="customers: JSON {name: [ID tags]}")
    ap.add_argument("--month", metavar="YYYY-MM", help="the month to invoice")
    ap.add_argument("--html", metavar="OUT", help="write a self-contained HTML report with charts")
    args = ap.parse_args(argv)
    # Store() would create an empty database; a mistyped path should fail instead.
    if not is_postgres(args.db) and not os.path.exists(args.db):
        print("report: no database at %s" % args.db, file=sys.stderr)
        return 2
    if bool(args.invoices) != bool(args.month):
        print("report: --invoices and --month go together", file=sys.stderr)
        return 2
    customers = None
    if args.invoices:
        with open(args.invoices) as f:
            customers = json.load(f)
    store = Store(args.db)
    try:
        sessions = store.sessions()
        if args.html:
            from host_tools.report_html import build

            with open(args.html, "w") as f:
                f.write(build(store, customers, args.month))
            print("report: wrote %s" % args.html, file=sys.stderr)
            return 0
        receipts = load_receipts(store) if customers else {}
    finally:
        store.close()
    if customers:
        for inv in invoices(sessions, receipts, customers, args.month):
            sys.stdout.write(render_invoice(inv) + "\n")
    elif args.group and args.group != "session":
        groups = grouped(sessions, args.group)
        if args.csv:
            w = csv.writer(sys.stdout, lineterminator="\n")
            w.writerow((args.group,) + GROUP_HEADER)
            w.writerows(group_rows(groups))
        else:
            sys.stdout.write(render_groups(groups, args.group))
    elif args.csv:
        write_csv(sessions, sys.stdout)
    else:
        sys.stdout.write(render_table(sessions))
    return 0


if __name__ == "__main__":
    sys.exit(main())
