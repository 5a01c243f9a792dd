"""Billing end to end: a signed device with a time-of-use tariff, a tariff update over MQTT in
the middle of a session, and the backend that recomputes, verifies and flags."""
import copy
import json
import subprocess

import pytest

from host_tools.sim import agent as sim
from host_tools.backend import billing
from host_tools.backend.service import Backend, wait_for
from host_tools.backend.store import Store
from tests.integration.mqtt_capture import Capture, validate

KEY = "8f3a" * 16  # 32 bytes, hex
TARIFF = {"id": "site-a", "version": 1, "currency": "SEK", "minor_unit": 2, "energy": 2000000,
          "tz_min": 60, "dst": "eu",
          "tou": [{"days": [0, 1, 2, 3, 4], "from": 420, "to": 1200, "price": 3500000}],
          "time_fee": 5000, "idle_fee": 50000, "idle_grace_s": 600, "start_fee": 1000000,
          "vat_bp": 2500}
# Two visits; the second idles after its charge. Slow enough to send a command mid-session.
SCENARIO = dict(sim.SCENARIO, tick_real_ms=2, end_s=30000, visits=[
    {"arrive_s": 1800, "leave_s": 12600, "need_wh": 20000, "max_w": 7360, "id_tag": "04A2B3C4"},
    {"arrive_s": 14400, "leave_s": 25200, "need_wh": 9000, "max_w": 11000}])


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    from host_tools.testing.broker import Broker

    work = tmp_path_factory.mktemp("bill")
    with Broker("mosquitto") as b:
        cap = Capture(b.port, keys={"sim-1": bytes.fromhex(KEY)})  # the device checks the command's MAC
        data = str(work / "dev")
        sim.prepare_device(data, b.port, SCENARIO, config={"device_key": KEY, "meter_serial": "LGZ-0042"},
                           tariff=TARIFF, ack=None)
        backend = Backend(str(work / "b.db"), "127.0.0.1", b.port, on_receipt=lambda t: None,
                          keys={"sim-1": bytes.fromhex(KEY)})
        backend.start()
        cmd, env = sim.agent_command(data)
        agent = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert wait_for(lambda: any(r["type"] == "session_start" for r in backend.store.records()), 30)
            v2 = dict(TARIFF, version=2, energy=4000000, tou=[])
            cap.publish("laddvakt/v1/sim-1/cmd", json.dumps({"id": "t2", "cmd": "tariff_set", "tariff": v2}))
            out, err = agent.communicate(timeout=120)
            assert agent.returncode == 0, out + err
            assert wait_for(lambda: len(backend.store.sessions()) == 2, 10)
            wait_for(lambda: not backend.store.query("SELECT sid FROM checks WHERE status = 'pending'"), 10)
            result = {"records": backend.store.records(), "checks": billing.checks(backend.store),
                      "flagged": list(backend.flagged), "msgs": list(cap.msgs), "db": str(work / "b.db")}
        finally:
            if agent.poll() is None:
                agent.kill()
            backend.stop()
            cap.stop()
    return result


def test_every_payload_matches_the_schemas(run):
    seen = set()
    for topic, payload, _ in run["msgs"]:
        if not topic.endswith("/cmd"):
            validate(topic, payload)
            seen.add(topic.rsplit("/", 1)[1])
    # The capture saw the agent's traffic: its status, record batches and the command's reply.
    assert {"status", "recs", "reply"} <= seen, seen


def test_the_command_is_accepted(run):
    replies = [json.loads(p) for t, p, _ in run["msgs"] if t.endswith("/reply")]
    assert [r for r in replies if r["id"] == "t2"] == [
        {"v": 1, "id": "t2", "ok": True, "result": {"id": "site-a", "version": 2, "applies": "next sample"}}]


def test_mid_session_change_is_billed_in_two_parts(run):
    first = [r for r in run["records"] if r["type"] == "session_end"][0]
    assert first["tariffs"] == [["site-a", 1], ["site-a", 2]]
    a, b = first["receipt"]["segs"]
    assert (a["ver"], b["ver"]) == (1, 2) and b["from"] > a["from"]
    change = [r for r in run["records"] if r["type"] == "tariff_change" and r["sid"] == first["sid"]]
    assert len(change) == 1 and change[0]["t"] == b["from"]
    assert b["lines"] and all(ln[2] == 4000000 for ln in b["lines"])
    second = [r for r in run["records"] if r["type"] == "session_end"][1]
    assert second["tariffs"] == [["site-a", 2]]


def test_backend_recomputes_and_verifies_every_session(run):
    assert [(c["status"], c["signature"]) for c in run["checks"]] == [("ok", "valid")] * 2
    assert all(c["backend_minor"] == c["device_minor"] > 0 for c in run["checks"])
    assert run["flagged"] == []


def test_running_cost_is_published(run):
    ends = [r for r in run["records"] if r["type"] == "session_end"]
    assert len(ends) == 2
    for end in ends:
        costs = [r["cost_minor"] for r in run["records"] if r["type"] == "meter" and r["sid"] == end["sid"]]
        # Prices here are positive: the running cost only grows, up to the final cost.
        assert len(costs) > 5 and costs == sorted(costs) and costs[0] < costs[-1] <= end["cost_minor"]


def test_fees_appear_on_the_receipt(run):
    second = [r for r in run["records"] if r["type"] == "session_end"][1]
    seg = second["receipt"]["segs"][0]
    assert seg["chg_ms"] > 0 and seg["idle_ms"] > 0  # it idled for hours after its charge
    assert second["receipt"]["start_fee"] == 1000000 and second["receipt"]["vat"] > 0


def test_tampering_is_flagged(run, tmp_path):
    key = bytes.fromhex(KEY)
    end = [r for r in run["records"] if r["type"] == "session_end"][0]
    assert billing.verify_signature(end, key) == "valid"
    cheaper = dict(end, cost_minor=end["cost_minor"] - 100)
    assert billing.verify_signature(cheaper, key) == "tampered"
    forged = copy.deepcopy(end)
    forged["ocmf"] = forged["ocmf"].replace('"CT":%d' % end["cost_minor"], '"CT":1')
    assert forged["ocmf"] != end["ocmf"]
    assert billing.verify_signature(forged, key) == "invalid"
    assert billing.verify_signature(end, b"other key") == "invalid"
    assert billing.verify_signature(dict(end, sig=None), key) == "missing"
    # Through the store: a doctored record is stored, recomputed, and flagged on both counts.
    recs = [r for r in run["records"] if r["seq"] <= end["seq"]]
    recs[-1] = cheaper
    store = Store(tmp_path / "t.db")
    store.ingest_batch({"v": 1, "dev": "sim-1", "install": end["sid"][:12], "recs": recs})
    [v] = billing.check_pending(store, keys={"sim-1": key})
    assert v["status"] == "mismatch" and v["signature"] == "tampered" and v["flagged"]
    store.close()


def test_every_receipt_field_changed_alone_is_flagged(run):
    # Both sessions: the first has an ID tag and a tariff change, the second fees and idle time.
    from host_tools.testing import tamper

    key = bytes.fromhex(KEY)
    ends = [r for r in run["records"] if r["type"] == "session_end"]
    for end in ends:
        paths = tamper.field_paths(end)
        # The walk reaches the fields issue 16 names, nested receipt parts included.
        for want in (("energy_wh",), ("minor_unit",), ("start_t",), ("end_t",), ("duration_s",),
                     ("stop_reason",), ("price_minor_per_kwh",), ("receipt", "vat_bp"),
                     ("receipt", "vat"), ("receipt", "segs", 0, "time_fee"), ("currency",)):
            assert want in paths, want
        assert tamper.still_valid(end, key) == []
        for p in paths:
            assert billing.verify_signature(tamper.tampered(end, p), key) == "tampered", p


def test_an_unsigned_new_field_would_be_counted(run):
    # The count is over the record's real fields: a field the payload does not cover shows up.
    from host_tools.testing import tamper

    key = bytes.fromhex(KEY)
    end = dict([r for r in run["records"] if r["type"] == "session_end"][0], discount_minor=0)
    assert tamper.still_valid(end, key) == [("discount_minor",)]


def test_a_version_1_payload_still_reads_as_legacy(run):
    # Records signed before every billed field was (no LV.V) verify what they cover.
    import hashlib
    import hmac

    key = bytes.fromhex(KEY)
    end = copy.deepcopy([r for r in run["records"] if r["type"] == "session_end"][0])
    p = json.loads(end["ocmf"])
    p["LV"] = {"SID": end["sid"], "CT": end["cost_minor"], "CU": end["currency"], "TA": end["tariffs"]}
    end["ocmf"] = json.dumps(p)
    end["sig"] = {"alg": "HS256", "mac": hmac.new(key, end["ocmf"].encode(), hashlib.sha256).hexdigest()}
    assert billing.verify_signature(end, key) == "legacy"
    assert billing.verify_signature(dict(end, cost_minor=1), key) == "tampered"
