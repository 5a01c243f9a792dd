"""Charging control over MQTT against a live agent (real mosquitto): the retained connector
status, profiles and the composite schedule, demand response, remote stop, and argument
errors; every payload checked against docs/schemas."""
import json
import os
import subprocess
import time

import paho.mqtt.client as mqtt

from host_tools.sim import agent as sim
from tests.integration.mqtt_capture import Capture, validate

SLOW = dict(sim.SCENARIO, sync_after_s=0, tick_real_ms=50, tick_ms=1000, end_s=200, visits=[
    {"arrive_s": 5, "leave_s": 190, "need_wh": 50000, "max_w": 11000, "phases": 3,
     "id_tag": "CARD-1", "vehicle_id": "VAN-9"}],
    events=[{"at_s": 120, "rcd": True}, {"at_s": 140, "rcd": False}])
T = "laddvakt/v1/sim-1/cmd"


def late_retained(port):
    got = []
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="late-%d" % os.getpid())
    c.on_message = lambda c_, u, m: got.append(m)
    c.connect("127.0.0.1", port)
    c.subscribe("laddvakt/v1/sim-1/connector", qos=1)
    c.loop_start()
    deadline = time.monotonic() + 5
    while not got and time.monotonic() < deadline:
        time.sleep(0.02)
    c.loop_stop()
    c.disconnect()
    assert got and got[0].retain
    return got[0].payload


def connector(cap):
    return [json.loads(p) for _, p in cap.on("/connector")]


def reply(cap, cid):
    for _, p in cap.on("/reply"):
        d = json.loads(p)
        if d["id"] == cid:
            return d
    return None


def test_control_over_mqtt(mosquitto, tmp_path):
    cap = Capture(mosquitto.port)
    data = str(tmp_path / "dev")
    sim.prepare_device(data, mosquitto.port, SLOW)
    cmd, env = sim.agent_command(data)
    agent = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert cap.wait(lambda: any(c["status"] == "Charging" for c in connector(cap)), 20)
        # Retained: a subscriber that comes later is handed the current status at once.
        assert json.loads(late_retained(mosquitto.port))["status"] == "Charging"

        def ask(cid, body):
            cap.publish(T, json.dumps(dict(body, id=cid)))
            assert cap.wait(lambda: reply(cap, cid) is not None, 10), cid
            return reply(cap, cid)

        def ask_on(name, cid, body):
            # The per-topic transport: .../cmd/<name>, checked against cmd-<name>.json.
            cap.publish(T + "/" + name, json.dumps(dict(body, id=cid)))
            assert cap.wait(lambda: reply(cap, cid) is not None, 10), cid
            return reply(cap, cid)

        prof = {"chargingProfileId": 3, "stackLevel": 1, "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": "Relative",
                "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [
                    {"startPeriod": 0, "limit": 6900, "numberPhases": 3}]}}
        r = ask("sp", {"cmd": "set_profile", "profile": prof})
        assert r["ok"] and r["result"]["offer_a"] == 10
        r = ask_on("get_composite_schedule", "gc", {"duration": 600})
        sch = r["result"]["chargingSchedule"]
        assert sch["chargingSchedulePeriod"][0]["limit"] == 10
        r = ask("lim", {"cmd": "limit", "current_a": 8, "duration_s": 60})
        assert r["ok"] and r["result"]["offer_a"] == 8 and r["result"]["duty_pm"] == 133
        assert cap.wait(lambda: connector(cap)[-1]["offer_a"] == 8, 10)
        bad = ask("bad", {"cmd": "limit", "current_a": 500, "duration_s": 60})
        assert not bad["ok"] and "current_a" in bad["error"]
        bad = ask_on("availability", "bad2", {"available": "yes"})
        assert not bad["ok"] and bad["error"] == "'available' must be boolean", bad
        r = ask_on("tariff_get", "tg", {})
        assert r["ok"] and r["result"]["tariff"]["currency"] == "SEK", r
        r = ask_on("clear_profile", "cp", {"profile_id": 3})
        assert r["ok"] and r["result"] == {"status": "Accepted", "cleared": 1}, r
        r = ask("cp2", {"cmd": "clear_profile", "profile_id": 3})
        assert r["ok"] and r["result"]["status"] == "Unknown", r
        r = ask("stop", {"cmd": "remote_stop"})
        assert r["ok"]
        assert cap.wait(lambda: connector(cap)[-1]["status"] == "Finishing", 10)
        # The RCD trips while the EV is still plugged in: Faulted, until it is clear and the
        # EV has left.
        assert cap.wait(lambda: connector(cap)[-1]["status"] == "Faulted", 20)
        assert connector(cap)[-1]["error_code"] == "GroundFailure"
        out, err = agent.communicate(timeout=60)
        assert agent.returncode == 0, out + err
    finally:
        if agent.poll() is None:
            agent.kill()
        cap.stop()
    for t, p, _ in cap.msgs:
        if not t.endswith("/cmd/availability"):  # "bad2" breaks its schema on purpose
            validate(t, p)
    ends = [r for t, p, _ in cap.msgs if t.endswith("/recs")
            for r in json.loads(p)["recs"] if r["type"] == "session_end"]
    assert len(ends) == 1
    e = ends[0]
    assert e["stop_reason"] == "Remote" and e["id_tag"] == "CARD-1" and e["vehicle_id"] == "VAN-9"
    faults = [(r["code"], r["active"], r["sid"]) for t, p, _ in cap.msgs if t.endswith("/recs")
              for r in json.loads(p)["recs"] if r["type"] == "fault"]
    assert faults == [("GroundFailure", True, None), ("GroundFailure", False, None)]
    statuses = [c["status"] for c in connector(cap)]
    assert statuses[-1] == "Available"
