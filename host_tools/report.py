"""Print the ended charging sessions of a backend database: python -m host_tools.report --db PATH."""
import argparse
import csv
import os
import sys

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


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m host_tools.report", description=__doc__)
    ap.add_argument("--db", required=True, help="the backend's SQLite file")
    ap.add_argument("--csv", action="store_true", help="CSV instead of a table")
    args = ap.parse_args(argv)
    # Store() would create an empty database; a mistyped path should fail instead.
    if not os.path.exists(args.db):
        print("report: no database at %s" % args.db, file=sys.stderr)
        return 2
    store = Store(args.db)
    try:
        sessions = store.sessions()
    finally:
        store.close()
    if args.csv:
        write_csv(sessions, sys.stdout)
    else:
        sys.stdout.write(render_table(sessions))
    return 0


if __name__ == "__main__":
    sys.exit(main())
