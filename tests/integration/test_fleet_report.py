"""Reports render for a simulated month of a fleet (10 vehicles, 3 stations, produced by the
agents under micropython), and the HTML renders in headless Chromium with its charts."""
import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from host_tools.sim import fleet_month as fleet
from host_tools.backend.store import Store
from host_tools.report.tables import grouped, invoices, load_receipts

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Headless flags for this machine's closed network (docs: .library env python.md).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def month(tmp_path_factory):
    from host_tools.testing.broker import Broker

    work = tmp_path_factory.mktemp("fleet")
    with Broker("mosquitto") as b:
        r = fleet.run_fleet(str(work), b)
    cust = work / "customers.json"
    cust.write_text(json.dumps(fleet.CUSTOMERS))
    r["customers"] = str(cust)
    r["work"] = work
    return r


def report(*args):
    p = subprocess.run([sys.executable, "-m", "host_tools.report", *map(str, args)], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_every_visit_became_a_verified_session(month):
    assert month["visits"] > 100
    assert len(month["sessions"]) == month["visits"]
    assert {s["dev"] for s in month["sessions"]} == set(fleet.STATIONS)
    assert {s["id_tag"] for s in month["sessions"]} == set(fleet.VEHICLES)
    store = Store(month["db"])
    try:
        checks = store.query("SELECT status, signature FROM checks")
    finally:
        store.close()
    assert len(checks) == len(month["sessions"])
    assert {c["status"] for c in checks} == {"ok"}


def test_groupings_add_up(month):
    sessions = month["sessions"]
    for by in ("tag", "station", "day", "month"):
        gs = grouped(sessions, by)
        assert sum(g["sessions"] for g in gs) == len(sessions)
        assert sum(g["cost_minor"] for g in gs) == sum(s["cost_minor"] for s in sessions)
        assert sum(g["energy_wh"] for g in gs) == sum(s["energy_wh"] for s in sessions)
    assert len(grouped(sessions, "tag")) == 10 and len(grouped(sessions, "station")) == 3
    assert [g["key"] for g in grouped(sessions, "month")] == ["2026-11"]
    rows = list(csv.reader(io.StringIO(report("--db", month["db"], "--group", "day", "--csv"))))
    assert rows[0][0] == "day" and len(rows) == 1 + 30


def test_invoices_per_customer(month):
    store = Store(month["db"])
    try:
        invs = invoices(month["sessions"], load_receipts(store), fleet.CUSTOMERS, "2026-11")
    finally:
        store.close()
    assert [i["customer"] for i in invs] == list(fleet.CUSTOMERS)
    assert sum(len(i["lines"]) for i in invs) == len(month["sessions"])
    for inv in invs:
        assert {s["id_tag"] for s in inv["lines"]} <= set(inv["tags"])
        [(key, tot)] = inv["totals"].items()
        assert key == ("SEK", 2)
        assert tot["cost_minor"] == sum(s["cost_minor"] for s in inv["lines"])
        assert 0 < tot["vat_minor"] < tot["cost_minor"]  # 25 % VAT is inside the total
    text = report("--db", month["db"], "--invoices", month["customers"], "--month", "2026-11")
    assert text.count("INVOICE") == 3 and "Acme Logistics AB" in text


@pytest.mark.skipif(not shutil.which("chromium"), reason="chromium not installed (.ci/run installs it)")
def test_html_report_renders_in_chromium_with_its_charts(month):
    out = month["work"] / "report.html"
    report("--db", month["db"], "--html", out, "--invoices", month["customers"], "--month", "2026-11")
    text = out.read_text()
    assert "http://" not in text and "https://" not in text  # self-contained
    assert text.count('src="data:image/png;base64,') == 4
    profile = month["work"] / "chromium"
    dom = subprocess.run(["chromium", *CHROMIUM_FLAGS, "--user-data-dir=%s" % profile,
                          "--virtual-time-budget=5000", "--dump-dom", out.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    m = re.search(r'<body data-charts-loaded="(\d+)"', dom.stdout)
    assert m, dom.stdout[:500]
    assert int(m.group(1)) == 4  # every chart decoded to a real image in the browser
    assert dom.stdout.count('<section class="invoice">') == 3
    for title in ("Energy and cost per day", "Cost per vehicle", "Session starts and peak demand by hour",
                  "Station use"):
        assert 'alt="%s"' % title in dom.stdout
    shot = month["work"] / "shot.png"
    subprocess.run(["chromium", *CHROMIUM_FLAGS, "--user-data-dir=%s" % profile, "--window-size=1200,2000",
                    "--screenshot=%s" % shot, out.as_uri()], capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20000
