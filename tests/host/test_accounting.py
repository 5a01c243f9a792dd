"""Reports in the site's time zone: local invoicing months across DST, per-day figures with
empty days, the accountant's CSV and the PDF invoice agreeing with the stored receipts to the
minor unit, and the verification line / invoices naming failed checks (issue 16 item 8)."""
import csv
import io
from datetime import date, datetime, timezone

import pytest
from pypdf import PdfReader

from host_tools.backend.store import Store
from host_tools.report import invoice_pdf
from host_tools.report.accounting import (CSV_COLUMNS, cost_breakdown, day_bounds, invoices, local_month,
                                          month_bounds, per_day, session_rows, verification_line,
                                          write_export_csv, zone)
from host_tools.report.html_page import build

INSTALL = "5f0c2a9e81d3"
TZ = zone("Europe/Stockholm")


def utc(*a):
    return int(datetime(*a, tzinfo=timezone.utc).timestamp())


# (start UTC, local month it belongs to): the edges of October and November 2026 in Stockholm
# (summer time ends on 25 October), and of March/April 2026 (summer time starts on 29 March).
EDGES = [
    (utc(2026, 3, 31, 21, 59), "2026-03"),   # 23:59 CEST
    (utc(2026, 3, 31, 22, 0), "2026-04"),    # 00:00 CEST
    (utc(2026, 9, 30, 21, 59), "2026-09"),
    (utc(2026, 9, 30, 22, 0), "2026-10"),
    (utc(2026, 10, 25, 0, 30), "2026-10"),   # in the repeated hour of the DST change
    (utc(2026, 10, 31, 22, 59), "2026-10"),  # 23:59 CET
    (utc(2026, 10, 31, 23, 30), "2026-11"),  # 00:30 CET on 1 November: a November charge
]


def receipt(wh, price, vat_bp=2500, start_fee=0, chg_ms=3600000, time_fee=0, idle_ms=0, idle_fee=0):
    exact = wh * price * 60000 + chg_ms * time_fee * 1000 + idle_ms * idle_fee * 1000 + start_fee * 60000000
    den = 1000 * 10000 * 60000
    net_f = exact  # in 1/den minor
    gross_num = net_f * (10000 + vat_bp)
    gross_den = den * 10000
    total = (2 * gross_num + gross_den) // (2 * gross_den)
    vat = (2 * gross_num * vat_bp + gross_den * (10000 + vat_bp)) // (2 * gross_den * (10000 + vat_bp))
    return {"segs": [{"tariff": "home", "ver": 3, "sched": None, "from": None, "lines": [[None, wh, price]],
                      "chg_ms": chg_ms, "time_fee": time_fee, "idle_ms": idle_ms, "idle_fee": idle_fee}],
            "start_fee": start_fee, "vat_bp": vat_bp, "min": 0, "max": 0, "adj": None,
            "net": total - vat, "vat": vat, "total": total}


def end_rec(seq, start_t, wh, tag, price=25331, **rc):
    r = receipt(wh, price, **rc)
    return {"seq": seq, "type": "session_end", "t": start_t + 3600, "tq": "synced", "boot": 1, "up": seq,
            "sid": "%s-%08d" % (INSTALL, seq), "start_t": start_t, "start_tq": "synced",
            "end_t": start_t + 3600, "meter_start_wh": 1000, "meter_stop_wh": 1000 + wh, "energy_wh": wh,
            "duration_s": 3600, "stop_reason": "EVDisconnected", "id_tag": tag, "vehicle_id": "car-" + tag,
            "currency": "SEK", "minor_unit": 2, "price_minor_per_kwh": 253, "cost_minor": r["total"],
            "receipt": r}


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "b.db")
    recs = [end_rec(i + 1, t, 7391 + 1013 * i, "TAG%d" % (i % 2), start_fee=i * 3333, idle_ms=i * 61000,
                    idle_fee=5000) for i, (t, _) in enumerate(EDGES)]
    s.ingest_batch({"v": 1, "dev": "st-1", "install": INSTALL, "recs": recs})
    yield s
    s.close()


def test_local_month_across_dst_edges():
    for t, month in EDGES:
        assert local_month(t, TZ) == month, datetime.fromtimestamp(t, timezone.utc)
    lo, hi = month_bounds("2026-10", TZ)
    assert (lo, hi) == (utc(2026, 9, 30, 22), utc(2026, 10, 31, 23))  # 31 days and one hour
    assert day_bounds("2026-10-25", TZ)[1] - day_bounds("2026-10-25", TZ)[0] == 25 * 3600
    assert day_bounds("2026-03-29", TZ)[1] - day_bounds("2026-03-29", TZ)[0] == 23 * 3600
    with pytest.raises(ValueError, match="IANA"):
        zone("Europe/Stockholmm")
    with pytest.raises(ValueError, match="YYYY-MM"):
        month_bounds("October", TZ)


def test_every_session_on_its_local_month_invoice(store):
    rows = session_rows(store)
    customers = {"Acme": {"tags": ["TAG0", "TAG1"], "address": "Box 1, Lund"}}
    seen = {}
    for month in sorted({m for _, m in EDGES}):
        [inv] = invoices(rows, customers, month, TZ)
        for s in inv["lines"]:
            seen[s["start_t"]] = month
    assert seen == dict(EDGES)
    # In UTC, the 23:30 session of 31 October would be an October charge: here it is not.
    [oct_inv] = invoices(rows, customers, "2026-10", TZ)
    assert utc(2026, 10, 31, 23, 30) not in {s["start_t"] for s in oct_inv["lines"]}


def test_csv_and_invoice_totals_equal_stored_receipts(store):
    rows = session_rows(store)
    buf = io.StringIO()
    write_export_csv(rows, TZ, buf)
    table = list(csv.DictReader(io.StringIO(buf.getvalue())))
    assert tuple(table[0].keys()) == CSV_COLUMNS
    stored = {r["sid"]: r for r in store.query("SELECT sid, cost_minor FROM sessions")}
    receipts = {s["sid"]: s["receipt"] for s in rows}
    assert len(table) == len(stored) == len(EDGES)

    def minor(text):
        whole, frac = text.split(".")
        return int(whole) * 100 + int(frac)

    for r in table:
        rc = receipts[r["session"]]
        assert minor(r["total"]) == stored[r["session"]]["cost_minor"] == rc["total"]
        assert minor(r["net"]) == rc["net"] and minor(r["vat"]) == rc["vat"]
        assert minor(r["net"]) + minor(r["vat"]) == minor(r["total"])
        assert r["vat_rate_pct"] == "25.00" and r["tariff_id"] == "home" and r["tariff_version"] == "3"
        assert r["vehicle"] == "car-" + r["id_tag"] and r["station"] == "st-1"
        assert r["start_utc"].endswith("Z") and r["start_local"][-4:] in (" CET", "CEST")
    edge = next(r for r in table if r["start_utc"] == "2026-10-31T23:30:00Z")
    assert edge["start_local"] == "2026-11-01 00:30:00 CET"
    # Invoices: the sum of every month's totals is the sum of the stored costs.
    customers = {"Acme": {"tags": ["TAG0", "TAG1"]}}
    total = net = vat = 0
    for month in sorted({m for _, m in EDGES}):
        [inv] = invoices(rows, customers, month, TZ)
        for t in inv["totals"].values():
            total, net, vat = total + t["cost_minor"], net + t["net_minor"], vat + t["vat_minor"]
    assert total == sum(s["cost_minor"] for s in stored.values())
    assert (net, vat) == (sum(rc["net"] for rc in receipts.values()), sum(rc["vat"] for rc in receipts.values()))
    [bd] = cost_breakdown(rows).values()
    assert bd["total"] == total and bd["net"] + bd["vat"] == total


def test_invoice_pdf_content(store):
    rows = session_rows(store)
    customers = {"Acme Fleet AB": {"tags": ["TAG0", "TAG1"], "address": "Box 1, Lund", "vat_id": "SE556677889901"}}
    [inv] = invoices(rows, customers, "2026-10", TZ)
    pdf = invoice_pdf.render(inv, TZ)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Invoice 202610-001" in text and "Acme Fleet AB" in text and "SE556677889901" in text
    assert invoice_pdf.DEFAULT_SELLER["name"] in text
    assert "25.00 %" in text
    [(cur, unit)] = inv["totals"]
    t = inv["totals"][(cur, unit)]
    assert "total %d.%02d SEK" % divmod(t["cost_minor"], 100) in text
    for s in inv["lines"]:
        assert s["sid"] in text


def test_per_day_includes_empty_days(store):
    rows = session_rows(store)
    oct_rows = [s for s in rows if local_month(s["start_t"], TZ) == "2026-10"]
    days = per_day(store, oct_rows, TZ, date(2026, 10, 1), date(2026, 10, 31))
    assert days[0]["day"] == "2026-10-01" and days[-1]["day"] == "2026-10-31"
    assert len(days) == 31 and sum(1 for d in days if d["sessions"] == 0) == 28
    # The 23:59 session of 31 October meters its energy on 1 November (no readings: end day).
    late = next(s for s in oct_rows if s["start_t"] == utc(2026, 10, 31, 22, 59))
    assert sum(d["energy_wh"] for d in days) == sum(s["energy_wh"] for s in oct_rows) - late["energy_wh"]
    spanned = per_day(store, oct_rows, TZ)
    assert spanned[-1]["day"] == "2026-11-01" and spanned[-1]["energy_wh"] == late["energy_wh"]
    assert sum(d["cost_minor"] for d in days) == sum(s["cost_minor"] for s in oct_rows)


def test_failed_checks_are_counted_and_marked(store):
    rows = store.query("SELECT sid FROM checks ORDER BY end_seq")
    store.db.execute("UPDATE checks SET status = 'error' WHERE sid = ?", (rows[4]["sid"],))
    store.db.execute("UPDATE checks SET status = 'ok', signature = 'valid' WHERE sid = ?", (rows[5]["sid"],))
    store.db.execute("UPDATE checks SET status = 'ok', signature = 'tampered' WHERE sid = ?", (rows[6]["sid"],))
    line = verification_line(store.query("SELECT * FROM checks"))
    assert line == "7 sessions: 1 verified, 2 flagged (of which 1 error), 4 pending, 0 unverifiable"
    assert line in build(store)
    customers = {"Acme": {"tags": ["TAG0", "TAG1"]}}
    srows = session_rows(store)
    [marked] = invoices(srows, customers, "2026-10", TZ, flagged="mark")
    [omitted] = invoices(srows, customers, "2026-10", TZ, flagged="omit")
    assert [s["sid"] for s in marked["lines"] if s["flagged"]] == [rows[4]["sid"]]
    assert [s["sid"] for s in omitted["omitted"]] == [rows[4]["sid"]]
    assert rows[4]["sid"] not in {s["sid"] for s in omitted["lines"]}
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(invoice_pdf.render(omitted, TZ))).pages)
    assert "Left out, checks failed: " + rows[4]["sid"] in text.replace("\n", " ")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(invoice_pdf.render(marked, TZ))).pages)
    assert rows[4]["sid"] + " *" in text and "check of this session failed" in text


def test_report_command_in_the_site_zone(store, tmp_path, capsys):
    from host_tools.report.__main__ import main

    db = str(tmp_path / "b.db")
    assert main(["--db", db, "--group", "month", "--csv", "--tz", "Europe/Stockholm"]) == 0
    months = {line.split(",")[0]: int(line.split(",")[1]) for line in capsys.readouterr().out.splitlines()[1:]}
    want = {}
    for _, m in EDGES:
        want[m] = want.get(m, 0) + 1
    assert months == want
    assert main(["--db", db, "--group", "month", "--csv"]) == 0  # UTC: 31 October 23:30 is October
    assert "2026-11" not in capsys.readouterr().out
    out = tmp_path / "x.csv"
    assert main(["--db", db, "--export-csv", str(out), "--tz", "Europe/Stockholm"]) == 0
    assert len(list(csv.DictReader(open(out)))) == len(EDGES)
    assert main(["--db", db, "--tz", "Mars/Olympus"]) == 2
    assert "IANA" in capsys.readouterr().err
