"""The watchdog's boot path on the unix agent (real mosquitto, the agent under micropython):
started with `--reset-cause watchdog`, as a supervisor that restarted a hung agent does, it
publishes InternalError "watchdog reset" after its boot record and clears it once it has run
watchdog_clear_s of (virtual) uptime; a plain start publishes no InternalError. Every payload
is checked against docs/schemas."""
import json
import subprocess

from host_tools.sim import agent as sim
from tests.integration.mqtt_capture import Capture, validate

QUICK = dict(sim.SCENARIO, sync_after_s=0, tick_ms=1000, end_s=120, visits=[
    {"arrive_s": 10, "leave_s": 100, "need_wh": 5000, "max_w": 11000, "phases": 3}])


def _run(mosquitto, tmp_path, name, extra_argv):
    cap = Capture(mosquitto.port)
    data = str(tmp_path / name)
    sim.prepare_device(data, mosquitto.port, QUICK, config={"watchdog_clear_s": 60})
    cmd, env = sim.agent_command(data)
    p = subprocess.run(cmd + extra_argv, env=env, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    summary = sim.parse_summary(p.stdout)
    assert cap.wait(lambda: any(r["seq"] == summary["journal_seq"] for r in _recs(cap)), 10)
    cap.stop()
    for topic, payload, _ in cap.msgs:
        validate(topic, payload)
    return _recs(cap)


def _recs(cap):
    out = []
    for _, p in cap.on("/recs"):
        out += json.loads(p)["recs"]
    return out


def test_watchdog_reset_is_published_then_cleared(mosquitto, tmp_path):
    recs = _run(mosquitto, tmp_path, "wd", ["--reset-cause", "watchdog"])
    faults = [r for r in recs if r["type"] == "fault" and r["code"] == "InternalError"]
    assert [(f["active"], f["info"]) for f in faults] == [(True, "watchdog reset"), (False, None)]
    boot = next(r for r in recs if r["type"] == "boot")
    raised, cleared = faults
    assert boot["seq"] < raised["seq"] and raised["up"] == 0
    assert cleared["up"] == 60000  # watchdog_clear_s of stable uptime, to the tick
    # The reset fault pauses, never stops (docs/control.md): the visit charged after it cleared.
    (end,) = [r for r in recs if r["type"] == "session_end"]
    assert end["stop_reason"] == "EVDisconnected"


def test_plain_start_raises_nothing(mosquitto, tmp_path):
    recs = _run(mosquitto, tmp_path, "plain", [])
    assert not [r for r in recs if r["type"] == "fault"]
    assert any(r["type"] == "session_end" for r in recs)
