"""Scale-out storage: the same store on PostgreSQL (a real server from Debian's package), and
three backend workers on one mosquitto splitting a fleet by a shared subscription."""
import copy
import json

import paho.mqtt.client as mqtt
import pytest

from host_tools.backend import billing
from host_tools.backend.service import Backend, wait_for
from host_tools.backend.store import Store
from tests.host.test_backend_store import INSTALL, batch, journal

T0 = 1795154400


def fleet_batches(devices=6, batches=30, per=10):
    """{dev: [batch, ...]}: boot and meter records, seq 1.. per device."""
    out = {}
    for d in range(devices):
        install = "%012x" % (0xABC000 + d)
        seq = 0
        bs = []
        for _ in range(batches):
            recs = []
            for _ in range(per):
                seq += 1
                recs.append({"seq": seq, "type": "meter", "t": T0 + seq, "tq": "synced", "boot": 1,
                             "up": seq * 1000, "sid": None, "energy_wh": seq, "power_w": 0,
                             "ctx": "Sample.Periodic"})
            bs.append({"v": 1, "dev": "ev-%d" % d, "install": install, "recs": recs})
        out["ev-%d" % d] = bs
    return out


def test_postgres_store_matches_sqlite(pg_url, tmp_path):
    pg, lite = Store(pg_url), Store(tmp_path / "b.db")
    try:
        for store in (pg, lite):
            assert len(store.ingest_batch(batch(*journal()))) == 9
            assert store.ingest_batch(copy.deepcopy(batch(*journal()))) == []  # idempotent
        assert pg.records() == lite.records()
        assert pg.sessions() == lite.sessions()
        assert pg.count_records() == 9 and pg.last_seq(INSTALL) == 9
        q = "SELECT install, seq, sid, type, energy_wh FROM readings ORDER BY install, seq"
        assert pg.query(q) == lite.query(q)
        assert [c["status"] for c in billing.check_pending(pg)] == [
            c["status"] for c in billing.check_pending(lite)] == ["unverifiable"] * 2
    finally:
        pg.close()
        lite.close()


def _publish_all(port, fleet, repeat_every=7):
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="fleet-pub")
    c.max_inflight_messages_set(100)
    c.connect("127.0.0.1", port)
    c.loop_start()
    infos = []
    n = 0
    for dev, bs in fleet.items():
        for b in bs:
            infos.append(c.publish("laddvakt/v1/%s/recs" % dev, json.dumps(b), qos=1))
            n += 1
            if n % repeat_every == 0:  # at-least-once: some batches arrive twice
                infos.append(c.publish("laddvakt/v1/%s/recs" % dev, json.dumps(b), qos=1))
    for i in infos:
        i.wait_for_publish(10)
    c.loop_stop()
    c.disconnect()


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_three_workers_store_every_record_once(engine, mosquitto, tmp_path, request):
    db = str(tmp_path / "fleet.db") if engine == "sqlite" else request.getfixturevalue("pg_url")
    workers = [Backend(db, "127.0.0.1", mosquitto.port, client_id="w%d" % i,
                       on_receipt=lambda t: None, share="fleet") for i in range(3)]
    for w in workers:
        w.start()
    try:
        fleet = fleet_batches()
        _publish_all(mosquitto.port, fleet)
        want = sum(len(b["recs"]) for bs in fleet.values() for b in bs)
        store = workers[0].store
        assert wait_for(lambda: store.count_records() == want, 30), store.count_records()
        got = store.query("SELECT install, seq FROM records ORDER BY install, seq")
        expect = sorted((b["install"], r["seq"]) for bs in fleet.values() for b in bs for r in b["recs"])
        assert [(g["install"], g["seq"]) for g in got] == expect
        # The broker really split the work: every worker stored some of it.
        assert all(w.batches > 0 for w in workers), [w.batches for w in workers]
        assert sum(w.batches for w in workers) >= len(expect) // 10
        assert all(w.errors == 0 and w.rejected == 0 for w in workers)
    finally:
        for w in workers:
            w.stop()
