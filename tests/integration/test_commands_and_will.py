"""Commands over MQTT against a live agent, and the Last Will when it dies."""
import json
import os
import signal
import subprocess

from host_tools.sim import agent as sim
from tests.integration.mqtt_capture import Capture, validate

# A slow scenario (real sleep per tick) so the agent is alive while we talk to it.
SLOW = dict(sim.SCENARIO, tick_real_ms=5, end_s=3000, visits=[
    {"arrive_s": 600, "leave_s": 2400, "need_wh": 5000, "max_w": 7360}])


def start_agent(tmp_path, port, scenario=SLOW):
    data = str(tmp_path / "dev")
    sim.prepare_device(data, port, scenario)
    cmd, env = sim.agent_command(data)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def online(cap):
    return any(json.loads(p)["state"] == "online" for _, p in cap.on("/status"))


def test_malformed_commands_get_error_replies_and_agent_keeps_running(mosquitto, tmp_path):
    cap = Capture(mosquitto.port)
    agent = start_agent(tmp_path, mosquitto.port)
    try:
        assert cap.wait(lambda: online(cap), 10), agent.stderr.read() if agent.poll() is not None else ""
        t = "laddvakt/v1/sim-1/cmd"
        bad = [b"not json", b"[1,2]", b'{"cmd":"ping"}', b'{"id":"b4","cmd":"explode"}',
               b'{"id":"b5"}', b"\xff\xfe", b""]
        for p in bad:
            cap.publish(t, p)
        cap.publish(t, b'{"id":"p1","cmd":"ping"}')
        cap.publish(t, b'{"id":"s1","cmd":"status"}')
        assert cap.wait(lambda: len(cap.on("/reply")) == len(bad) + 2, 10), cap.on("/reply")
        replies = [validate(tp, p) for tp, p in cap.on("/reply")]
        errors = [r for r in replies if not r["ok"]]
        assert len(errors) == len(bad)
        assert all(r["error"] for r in errors)
        assert any(r["id"] == "b4" and "unknown command 'explode'" in r["error"] for r in errors)
        ok = {r["id"]: r["result"] for r in replies if r["ok"]}
        assert ok["p1"] == {"pong": True}
        assert ok["s1"]["journal_seq"] >= 1
        # Still running, and finishes its scenario normally.
        out, err = agent.communicate(timeout=60)
        assert agent.returncode == 0, out + err
        assert json.loads(out.split("laddvakt-summary ", 1)[1])["sessions"] == 1
    finally:
        if agent.poll() is None:
            agent.kill()
        cap.stop()


def test_last_will_marks_a_dead_agent_offline(mosquitto, tmp_path):
    cap = Capture(mosquitto.port)
    agent = start_agent(tmp_path, mosquitto.port)
    try:
        assert cap.wait(lambda: online(cap), 10)
        os.kill(agent.pid, signal.SIGKILL)
        agent.wait(5)
        assert cap.wait(lambda: json.loads(cap.on("/status")[-1][1])["state"] == "offline", 10)
        validate(*cap.on("/status")[-1])
    finally:
        if agent.poll() is None:
            agent.kill()
        cap.stop()
    # The offline status is retained: a late subscriber sees it.
    late = Capture(mosquitto.port, "laddvakt/v1/sim-1/status")
    try:
        assert late.wait(lambda: late.on("/status"), 5)
        assert json.loads(late.on("/status")[-1][1])["state"] == "offline"
    finally:
        late.stop()


def test_sim_falls_back_to_the_pure_python_broker(tmp_path):
    r = sim.run_sim("amqtt", workdir=str(tmp_path), quiet=True)
    assert r["rc"] == 0, r["stdout"] + r["stderr"]
    assert r["broker"] == "amqtt"
    assert len(r["sessions"]) == 3
