"""Report: the session table and CSV, in-process and through the CLI on a real database."""
import csv
import io
import subprocess
import sys
from pathlib import Path

import pytest

from host_tools.backend.store import Store
from host_tools.report.tables import HEADER, render_table, write_csv

ROOT = Path(__file__).resolve().parents[2]
INSTALL = "5f0c2a9e81d3"
T0 = 1763704800  # 2025-11-21T06:00:00Z


def session_end(seq, sid, energy_wh, cost_minor, currency="SEK", minor_unit=2, **over):
    r = {"seq": seq, "type": "session_end", "t": T0 + seq, "tq": "synced", "boot": 1, "up": seq,
         "sid": sid, "start_t": T0 + 600 * seq, "start_tq": "synced", "end_t": T0 + 600 * seq + 60,
         "meter_start_wh": 0, "meter_stop_wh": energy_wh, "energy_wh": energy_wh,
         "duration_s": 60, "stop_reason": "EVDisconnected", "id_tag": None,
         "currency": currency, "minor_unit": minor_unit, "price_minor_per_kwh": 250,
         "cost_minor": cost_minor}
    r.update(over)
    return r


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "backend.db"
    store = Store(path)
    store.ingest_batch({"v": 1, "dev": "sim-1", "install": INSTALL, "recs": [
        session_end(1, INSTALL + "-00000001", 7400, 1850),
        session_end(2, INSTALL + "-00000002", 1, 5, currency="JPY", minor_unit=0,
                    stop_reason="Remote"),
        session_end(3, INSTALL + "-00000003", 12345, 3086, currency="KWD", minor_unit=3,
                    start_t=None, start_tq="unsynced", end_t=None),
    ]})
    store.close()
    return path


def _sessions(path):
    store = Store(path)
    try:
        return store.sessions()
    finally:
        store.close()


def test_render_table(db):
    lines = render_table(_sessions(db)).splitlines()
    assert lines[0].split("  ")[0].strip() == "session" and set(lines[1]) <= {"-", " "}
    first, second, third = lines[2:]
    assert first.split() == [INSTALL + "-00000001", "sim-1", "2025-11-21T06:10:00Z",
                             "2025-11-21T06:11:00Z", "7.400", "18.50", "SEK", "EVDisconnected"]
    assert second.split()[4:] == ["0.001", "5", "JPY", "Remote"]
    assert third.split()[2:7] == ["unsynced", "unsynced", "12.345", "3.086", "KWD"]
    # Money is right-aligned under its header, so decimal points line up.
    end = lines[0].index("cost") + len("cost")
    assert first.index("18.50") + 5 == end and third.index("3.086") + 5 == end


def test_render_table_empty():
    assert render_table([]) == "no sessions\n"


def test_csv(db):
    out = io.StringIO()
    write_csv(_sessions(db), out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == HEADER
    assert rows[1][4:7] == ["7.400", "18.50", "SEK"]
    assert len(rows) == 4


def _run(*args):
    return subprocess.run([sys.executable, "-m", "host_tools.report", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)


def test_cli_table_and_csv(db):
    table = _run("--db", db)
    assert table.returncode == 0, table.stderr
    assert INSTALL + "-00000003" in table.stdout and "18.50" in table.stdout
    as_csv = _run("--db", db, "--csv")
    assert as_csv.returncode == 0, as_csv.stderr
    assert as_csv.stdout.splitlines()[2].endswith(",0.001,5,JPY,Remote")


def test_cli_no_sessions_and_missing_db(tmp_path):
    Store(tmp_path / "empty.db").close()
    assert _run("--db", tmp_path / "empty.db").stdout == "no sessions\n"
    missing = _run("--db", tmp_path / "nope.db")
    assert missing.returncode == 2 and "no database" in missing.stderr
    assert not (tmp_path / "nope.db").exists()
