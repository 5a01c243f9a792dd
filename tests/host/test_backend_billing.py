"""Backend billing storage and checks on records the firmware's own pricing produced:
readings, tariffs, receipts and faults are stored; a session stays pending while any of its
records is missing (batches out of order, as with several workers) and is verified once all
have arrived; a doctored cost is a mismatch."""
import json
import os
import subprocess

import pytest

from host_tools.backend import billing
from host_tools.backend.store import Store
from host_tools.repo import FIRMWARE
from host_tools.toolchain.unix_port import MICROPYTHON, micropython_env

HERE = os.path.dirname(os.path.abspath(__file__))
INSTALL = "5f0c2a9e81d3"
SID = INSTALL + "-00000009"
KEY = "00112233445566778899aabbccddeeff"
CASE = {"t0": 1795154400, "wh0": 5000, "st0": "charging", "sync_at": 0, "key": KEY,
        "steps": [[600000, 1200, "charging"]] * 6 + [[600000, 0, "idle"]] * 4 + [[600000, 800, "charging"]] * 3,
        "tariff": {"id": "t", "version": 1, "currency": "SEK", "minor_unit": 2, "energy": 2000000,
                   "tz_min": 60, "dynamic": True, "time_fee": 1000, "idle_fee": 40000,
                   "idle_grace_s": 900, "start_fee": 300000, "vat_bp": 2500},
        "sched": {"id": "spot", "start": 1795154400, "step_s": 900, "prices": [1000000 + 50000 * i for i in range(60)]},
        "change_at": 8, "tariff2": {"id": "t", "version": 2, "currency": "SEK", "minor_unit": 2,
                                    "energy": 3000000, "time_fee": 2000}}


@pytest.fixture(scope="module")
def device_records(tmp_path_factory):
    d = tmp_path_factory.mktemp("mp")
    p = subprocess.run([MICROPYTHON, os.path.join(HERE, "mp_cost_driver.py"), str(d)],
                       input=json.dumps(CASE) + "\n\n", capture_output=True, text=True, cwd=str(d),
                       env=micropython_env(FIRMWARE), timeout=60)
    out = json.loads(p.stdout.splitlines()[0])
    assert "error" not in out, out
    recs = out["recs"]
    fault = {"seq": len(recs) + 1, "type": "fault", "t": recs[-1]["t"], "tq": "synced", "boot": 1,
             "up": recs[-1]["up"], "code": "GroundFailure", "active": True, "info": "RCD trip", "sid": None}
    return recs + [fault]


def batch(recs):
    return {"v": 1, "dev": "dev-1", "install": INSTALL, "recs": recs}


def test_billing_tables_are_filled(device_records, tmp_path):
    store = Store(tmp_path / "b.db")
    store.ingest_batch(batch(device_records))
    types = [r["type"] for r in store.query("SELECT type FROM readings ORDER BY seq")]
    assert types[0] == "tariff_change" and types[1] == "session_start" and types[-1] == "session_end"
    assert "meter" in types and types.count("tariff_change") == 2
    assert [(r["tariff_id"], r["version"], r["sched_id"]) for r in store.query(
        "SELECT tariff_id, version, sched_id FROM tariffs ORDER BY seq")] == [("t", 1, "spot"), ("t", 2, "spot")]
    assert store.receipt(SID)["total"] == store.session(SID)["cost_minor"]
    [f] = store.query("SELECT code, active, info FROM faults")
    assert (f["code"], f["active"], f["info"]) == ("GroundFailure", 1, "RCD trip")
    [v] = billing.check_pending(store, keys={"dev-1": bytes.fromhex(KEY)})
    assert (v["status"], v["signature"], v["flagged"]) == ("ok", "valid", False)
    store.close()


def test_pending_until_every_record_is_there(device_records, tmp_path):
    store = Store(tmp_path / "b.db")
    n = len(device_records)
    late = device_records[n // 2]  # a batch in the middle of the session comes last
    store.ingest_batch(batch([r for r in device_records if r is not late]))
    [v] = billing.check_pending(store)
    assert v["status"] == "pending" and "missing" in v["detail"]
    store.ingest_batch(batch([late]))
    [v] = billing.check_pending(store)
    assert v["status"] == "ok" and v["backend_minor"] == store.session(SID)["cost_minor"]
    assert billing.check_pending(store) == []  # nothing pending any more
    store.close()


def test_a_changed_cost_is_a_mismatch(device_records, tmp_path):
    store = Store(tmp_path / "b.db")
    recs = [dict(r) for r in device_records]
    end = [r for r in recs if r["type"] == "session_end"][0]
    end["cost_minor"] += 1
    store.ingest_batch(batch(recs))
    [v] = billing.check_pending(store, keys={"dev-1": bytes.fromhex(KEY)})
    assert v["status"] == "mismatch" and v["signature"] == "tampered" and v["flagged"]
    assert "device" in v["detail"]
    store.close()


def test_a_check_that_fails_is_flagged_not_fatal(device_records, tmp_path, monkeypatch):
    # A bug (or data the recomputation cannot price) must not stop ingest or the ack.
    def broken(recs, sid):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(billing, "recompute", broken)
    store = Store(tmp_path / "b.db")
    store.ingest_batch(batch(device_records))
    [v] = billing.check_pending(store)
    assert v["status"] == "error" and v["flagged"] and "boom" in v["detail"]
    assert billing.check_pending(store) == []  # not retried on every batch
    store.close()
