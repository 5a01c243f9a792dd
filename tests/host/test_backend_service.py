"""Backend service against a real mosquitto: ingest, duplicates, receipts, bad payloads, status."""
import json
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from host_tools.backend.service import Backend, wait_for
from host_tools.backend.store import Store
from host_tools.testing.broker import Broker, find_mosquitto, free_port

pytestmark = pytest.mark.skipif(not find_mosquitto(), reason="mosquitto not installed")

ROOT = Path(__file__).resolve().parents[2]
INSTALL = "5f0c2a9e81d3"
T0 = 1763704800
TIMEOUT = 5.0


def rec(seq, type_, **fields):
    base = {"seq": seq, "type": type_, "t": T0 + seq, "tq": "synced", "boot": 1, "up": 1000 * seq}
    base.update(fields)
    return base


def session_end(seq, sid, energy_wh=7400, cost_minor=1850):
    return rec(seq, "session_end", sid=sid, start_t=T0, start_tq="synced", end_t=T0 + 3600,
               meter_start_wh=1200, meter_stop_wh=1200 + energy_wh, energy_wh=energy_wh,
               duration_s=3600, stop_reason="EVDisconnected", id_tag=None, currency="SEK",
               minor_unit=2, price_minor_per_kwh=250, cost_minor=cost_minor)


def batch(*recs, dev="sim-1"):
    return json.dumps({"v": 1, "dev": dev, "install": INSTALL, "recs": list(recs)})


class Publisher:
    """A plain paho client standing in for the agent; publish() returns once PUBACK arrives."""

    def __init__(self, port):
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-agent")
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def publish(self, topic, payload, retain=False):
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(TIMEOUT)
        assert info.is_published()

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def broker():
    with Broker("mosquitto") as b:
        yield b


@pytest.fixture
def agent(broker):
    p = Publisher(broker.port)
    yield p
    p.close()


@pytest.fixture
def receipts():
    return []


@pytest.fixture
def backend(broker, tmp_path, receipts):
    lock = threading.Lock()

    def on_receipt(text):
        with lock:
            receipts.append(text)

    with Backend(tmp_path / "b.db", "127.0.0.1", broker.port, on_receipt=on_receipt) as b:
        yield b


def test_batches_duplicates_and_garbage(backend, agent, receipts):
    topic = "laddvakt/v1/sim-1/recs"
    sid = INSTALL + "-00000002"
    first = batch(rec(1, "boot", fw="0.1.0", board="sim"),
                  rec(2, "session_start", sid=sid, meter_start_wh=1200, id_tag=None,
                      currency="SEK", price_minor_per_kwh=250))
    agent.publish(topic, first)
    agent.publish(topic, b"\xff not json {")
    agent.publish(topic, batch(session_end(3, sid)))
    agent.publish(topic, first)                          # redelivery after a reconnect
    agent.publish(topic, batch(session_end(3, sid)))     # the session_end again: no 2nd receipt
    agent.publish(topic, batch(rec(4, "boot", fw="0.1.0", board="sim")))
    assert backend.wait_for(lambda: backend.store.count_records() == 4, TIMEOUT)
    assert backend.wait_for(lambda: backend.rejected == 1, TIMEOUT)
    assert backend.store.last_seq(INSTALL) == 4
    assert len(receipts) == 1
    assert sid in receipts[0] and "18.50 SEK" in receipts[0] and "7.400 kWh" in receipts[0]
    [s] = backend.store.sessions()
    assert (s["sid"], s["dev"], s["cost_minor"], s["end_seq"]) == (sid, "sim-1", 1850, 3)
    assert backend.errors == 0


def test_schema_violations_are_rejected_and_service_keeps_running(backend, agent, receipts):
    agent.publish("laddvakt/v1/sim-1/recs", batch(session_end(1, "x" * 37)))
    agent.publish("laddvakt/v1/sim-1/recs", json.dumps([1, 2]))
    agent.publish("laddvakt/v1/other/recs", batch(rec(1, "boot", fw="1", board="x")))  # wrong dev
    assert backend.wait_for(lambda: backend.rejected == 3, TIMEOUT)
    agent.publish("laddvakt/v1/sim-1/recs", batch(session_end(1, "ok-1")))
    assert backend.wait_for(lambda: len(receipts) == 1, TIMEOUT)
    assert backend.store.count_records() == 1 and backend.rejected == 3


def test_status_is_kept_per_device(backend, agent):
    online = {"v": 1, "state": "online", "install": INSTALL, "fw": "0.1.0", "boot": 3}
    agent.publish("laddvakt/v1/sim-1/status", json.dumps(online), retain=True)
    agent.publish("laddvakt/v1/sim-2/status", json.dumps({"v": 1, "state": "weird"}))
    assert backend.wait_for(lambda: backend.status.get("sim-1") == online, TIMEOUT)
    assert backend.wait_for(lambda: backend.rejected == 1, TIMEOUT)
    assert "sim-2" not in backend.status
    agent.publish("laddvakt/v1/sim-1/status", b"", retain=True)  # clearing the retained status
    assert backend.wait_for(lambda: "sim-1" not in backend.status, TIMEOUT)


def test_batches_sent_while_backend_is_down_arrive_later(broker, agent, tmp_path):
    # clean_session=False: the broker queues QoS 1 batches for a known backend that is offline.
    db = tmp_path / "b.db"
    got = []
    with Backend(db, "127.0.0.1", broker.port, on_receipt=got.append):
        pass
    agent.publish("laddvakt/v1/sim-1/recs", batch(session_end(1, "late-1")))
    with Backend(db, "127.0.0.1", broker.port, on_receipt=got.append) as b:
        assert b.wait_for(lambda: len(got) == 1, TIMEOUT)
    store = Store(db)
    assert [s["sid"] for s in store.sessions()] == ["late-1"]
    store.close()


def test_start_fails_cleanly_without_broker(tmp_path):
    with pytest.raises(OSError):
        Backend(tmp_path / "b.db", "127.0.0.1", free_port()).start(timeout=1.0)


def test_cli_prints_receipts_and_stops_on_sigterm(broker, agent, tmp_path):
    db = tmp_path / "sub" / "cli.db"
    proc = subprocess.Popen([sys.executable, "-m", "host_tools.backend", "--broker",
                             "127.0.0.1:%d" % broker.port, "--db", str(db)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Publish only once subscribed, or the broker would have nowhere to queue the batch.
        deadline = time.monotonic() + TIMEOUT
        line = ""
        while "listening" not in line and time.monotonic() < deadline:
            if select.select([proc.stderr], [], [], 0.1)[0]:
                line = proc.stderr.readline()
        assert "listening" in line
        agent.publish("laddvakt/v1/sim-1/recs", batch(session_end(1, "cli-1")))
        store = Store(db)
        try:
            ok = wait_for(lambda: store.session("cli-1") is not None, TIMEOUT)
        finally:
            store.close()
        assert ok
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "cli-1" in out and "18.50 SEK" in out


class Listener:
    """Records what the backend publishes on a device's ack and replay topics, with times."""

    def __init__(self, port, dev="sim-1"):
        self.msgs = []
        self._ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-listener")
        self.client.on_message = lambda c, u, m: self.msgs.append((time.monotonic(), m.topic, json.loads(m.payload)))
        self.client.on_subscribe = lambda *a: self._ready.set()
        self.client.connect("127.0.0.1", port)
        self.client.subscribe([("laddvakt/v1/%s/ack" % dev, 1), ("laddvakt/v1/%s/cmd/replay" % dev, 1)])
        self.client.loop_start()
        assert self._ready.wait(TIMEOUT)

    def of(self, suffix):
        return [(t, p) for t, topic, p in self.msgs if topic.endswith(suffix)]

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def test_gap_is_asked_for_on_a_timer_with_backoff_and_alerted(broker, agent, tmp_path):
    listen = Listener(broker.port)
    b = Backend(tmp_path / "b.db", "127.0.0.1", broker.port, on_receipt=lambda t: None, gap_alert_s=1.0)
    try:
        b.start()
        agent.publish("laddvakt/v1/sim-1/recs", batch(rec(1, "boot", fw="1", board="x"), rec(2, "boot", fw="1", board="x")))
        agent.publish("laddvakt/v1/sim-1/recs", batch(rec(5, "boot", fw="1", board="x"), rec(6, "boot", fw="1", board="x")))
        # No more traffic: the first ask comes with the batch, the next ones from the timer,
        # 2 s and then 4 s apart.
        assert wait_for(lambda: len(listen.of("/cmd/replay")) >= 3, 10)
        asks = listen.of("/cmd/replay")
        assert all(p == {"id": "gap-%s-3" % INSTALL, "from_seq": 3, "to_seq": 4} for _, p in asks), asks
        assert 1.8 <= asks[1][0] - asks[0][0] < 3.5, asks
        assert 3.8 <= asks[2][0] - asks[1][0] < 5.5, asks
        # Open over gap_alert_s: an alert in the status and in the store for reports.
        [alert] = b.health()["gap_alerts"]
        assert (alert["install"], alert["dev"], alert["first"], alert["last"]) == (INSTALL, "sim-1", 3, 4)
        assert alert["age_s"] >= 1.0
        [gap] = b.store.open_gaps(older_than_s=1.0)
        assert (gap["first"], gap["last"]) == (3, 4)
        assert b.store.open_gaps(older_than_s=3600) == []
        # The replay arrives: the floor jumps to 6 and the alert goes.
        agent.publish("laddvakt/v1/sim-1/recs", batch(rec(3, "boot", fw="1", board="x"), rec(4, "boot", fw="1", board="x")))
        assert wait_for(lambda: listen.of("/ack") and listen.of("/ack")[-1][1] == {"v": 1, "seq": 6, "install": INSTALL}, TIMEOUT)
        assert wait_for(lambda: b.health()["gap_alerts"] == [], TIMEOUT)
        assert b.store.open_gaps() == []
    finally:
        b.stop()
        listen.close()


def test_retained_online_status_gets_the_floor_after_a_backend_restart(broker, agent, tmp_path):
    db = tmp_path / "b.db"
    with Backend(db, "127.0.0.1", broker.port, on_receipt=lambda t: None) as b:
        agent.publish("laddvakt/v1/sim-1/recs", batch(rec(1, "boot", fw="1", board="x"), rec(2, "boot", fw="1", board="x")))
        assert b.wait_for(lambda: b.store.acked(INSTALL) == 2, TIMEOUT)
    online = {"v": 1, "state": "online", "install": INSTALL, "fw": "0.1.0", "boot": 3}
    agent.publish("laddvakt/v1/sim-1/status", json.dumps(online), retain=True)
    listen = Listener(broker.port)
    try:
        # A device that sent while we were away waits on this to resend from the floor.
        with Backend(db, "127.0.0.1", broker.port, on_receipt=lambda t: None):
            assert wait_for(lambda: listen.of("/ack"), TIMEOUT)
        assert [p for _, p in listen.of("/ack")] == [{"v": 1, "seq": 2, "install": INSTALL}]
    finally:
        listen.close()
