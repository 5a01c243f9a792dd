"""Reports from a backend database: python -m host_tools.report --db PATH|URL [options].

  (no option)            the ended sessions as a table (also --group session); --csv for CSV
  --group tag|station|day|month
                         sessions, energy, cost and hours per ID tag (vehicle), station,
                         day or month (UTC dates, or --tz's); --csv for CSV
  --invoices FILE --month YYYY-MM
                         an invoice per customer (FILE: {"customer": ["tag", ...]})
  --html OUT             one self-contained HTML file with charts (and the invoices, with
                         --invoices/--month)
  --tz ZONE              the site's IANA time zone for day and month groups and the invoicing
                         month (default UTC); --export-csv OUT writes the accountant's CSV
                         (docs/web.md) in that zone
"""
import argparse
import csv
import json
import os
import sys

from host_tools.backend.db import is_postgres
from host_tools.backend.store import Store
from host_tools.report.accounting import is_flagged
from host_tools.report.tables import (GROUP_HEADER, GROUPS, group_rows, grouped, invoices, load_receipts,
                                      render_groups, render_invoice, render_table, write_csv)


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
    ap.add_argument("--tz", help="the site's IANA time zone (default UTC)")
    ap.add_argument("--export-csv", metavar="OUT", help="the accountant's CSV, one row per session")
    args = ap.parse_args(argv)
    tz = None
    if args.tz:
        from host_tools.report.accounting import zone

        try:
            tz = zone(args.tz)
        except ValueError as e:
            print("report: %s" % e, file=sys.stderr)
            return 2
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
        if args.export_csv:
            from host_tools.report.accounting import session_rows, write_export_csv, zone

            with open(args.export_csv, "w", newline="") as f:
                write_export_csv(session_rows(store), tz or zone("UTC"), f)
            print("report: wrote %s" % args.export_csv, file=sys.stderr)
            return 0
        if args.html:
            from host_tools.report.html_page import build

            with open(args.html, "w") as f:
                f.write(build(store, customers, args.month, tz))
            print("report: wrote %s" % args.html, file=sys.stderr)
            return 0
        receipts = load_receipts(store) if customers else {}
        marked = {c["sid"] for c in store.query("SELECT * FROM checks") if is_flagged(c)}
    finally:
        store.close()
    if customers:
        for inv in invoices(sessions, receipts, customers, args.month, marked, tz):
            sys.stdout.write(render_invoice(inv) + "\n")
    elif args.group and args.group != "session":
        groups = grouped(sessions, args.group, tz)
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
