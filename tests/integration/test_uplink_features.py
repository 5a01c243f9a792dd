"""Replay by session id and Home Assistant discovery against a live agent."""
import json
import os

from host_tools.sim import agent as sim
from tests.integration.mqtt_capture import Capture, validate
from tests.integration.test_command_fuzz import LONG




def _with_config(tmp_path, port, scenario=LONG, **cfg):
    data = str(tmp_path / "dev")
    sim.prepare_device(data, port, scenario)
    path = os.path.join(data, "config.json")
    with open(path) as f:
        conf = json.load(f)
    conf.update(cfg)
    with open(path, "w") as f:
        json.dump(conf, f)
    cmd, env = sim.agent_command(data)
    import subprocess

    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _recs(cap):
    out = []
    for t, p in cap.on("/recs"):
        out += validate(t, p)["recs"]
    return out


def _reply(cap, rid):
    for t, p in cap.on("/reply"):
        r = validate(t, p)
        if r["id"] == rid:
            return r
    return None


def test_replay_a_session_and_from_a_seq(mosquitto, tmp_path):
    cap = Capture(mosquitto.port)
    agent = _with_config(tmp_path, mosquitto.port)
    try:
        assert cap.wait(lambda: any(r["type"] == "session_end" for r in _recs(cap)), 20)
        end = [r for r in _recs(cap) if r["type"] == "session_end"][0]
        sid = end["sid"]
        first = [r["seq"] for r in _recs(cap) if r.get("sid") == sid]
        before = len(_recs(cap))
        cap.publish("laddvakt/v1/sim-1/cmd/replay", json.dumps({"id": "r1", "sid": sid}).encode())
        assert cap.wait(lambda: _reply(cap, "r1"), 10)
        assert _reply(cap, "r1")["result"]["from_seq"] == int(sid[-8:], 16)
        assert cap.wait(lambda: [r["seq"] for r in _recs(cap)[before:] if r.get("sid") == sid] == first, 10)
        # Nothing but that session's records was replayed.
        again = [r for r in _recs(cap)[before:] if r["seq"] <= end["seq"]]
        assert all(r.get("sid") == sid for r in again), again
        before = len(_recs(cap))
        cap.publish("laddvakt/v1/sim-1/cmd/replay", b'{"id": "r2", "from_seq": 1, "to_seq": 3}')
        assert cap.wait(lambda: _reply(cap, "r2"), 10)
        assert _reply(cap, "r2")["result"] == {"from_seq": 1, "to_seq": 3}
        assert cap.wait(lambda: [1, 2, 3] == [r["seq"] for r in _recs(cap)[before:] if r["seq"] <= 3], 10)
        for rid, body, err in (("r3", {"sid": "000000000000-00000001"}, "unknown session"),
                               ("r4", {"from_seq": 10 ** 6}, "nothing to replay"),
                               ("r5", {"from_seq": "1"}, "'from_seq' must be integer"),
                               ("r6", {}, "'from_seq' is required")):
            body["id"] = rid
            cap.publish("laddvakt/v1/sim-1/cmd/replay", json.dumps(body).encode())
            assert cap.wait(lambda rid=rid: _reply(cap, rid), 10)
            r = _reply(cap, rid)
            assert not r["ok"] and err in r["error"], r
        assert agent.poll() is None
    finally:
        agent.kill()
        agent.communicate()
        cap.stop()
