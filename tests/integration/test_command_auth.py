"""Commands and acks authenticated end to end against a live agent on an anonymous broker:
forged, replayed, tampered, wrong-key, wrong-topic, old-counter and retained commands and acks
are refused (each with an error reply and counted in status), while the signed ones act.
The same probe against an agent without a key counts what it acts on, so it can fail."""
import json

import pytest

from host_tools.testing import forge_probe
from host_tools.testing.broker import find_mosquitto
from tests.integration.mqtt_capture import Capture, validate

pytestmark = pytest.mark.skipif(not find_mosquitto(), reason="needs mosquitto")


def test_forged_commands_and_acks_are_never_acted_on(tmp_path):
    r = forge_probe.run(str(tmp_path))
    assert r["control_command_ok"] and r["control_ack_moved"] and r["control_availability_ok"], r
    assert r["forged_acted_on"] == 0, r
    assert r["refused_counted"] == r["refused_expected_after_control"], r
    assert r["retained_refused_at_connect"] == 3, r
    assert r["refusal_replies"] == r["refused_counted"] + r["retained_refused_at_connect"], r
    assert not r["agent_traceback"]


def test_an_agent_without_a_key_is_counted_as_acting(tmp_path):
    r = forge_probe.run(str(tmp_path), device_key=None)
    assert r["forged_acted_on"] >= 5, r  # the unsigned and wrong-key ones, and the forged acks


def test_signed_payloads_match_the_schemas():
    from host_tools.backend.signer import Signer
    s = Signer({"sim-1": bytes(32)})
    cmd = s.payload("sim-1", "laddvakt/v1/sim-1/cmd", {"id": "a", "cmd": "ping"})
    ack = s.payload("sim-1", "laddvakt/v1/sim-1/ack", {"v": 1, "seq": 3, "install": "abc"})
    validate("laddvakt/v1/sim-1/cmd", cmd)
    validate("laddvakt/v1/sim-1/ack", ack)
    d = json.loads(ack)
    assert list(d)[-2:] == ["ctr", "mac"] and len(d["mac"]) == 64


def test_the_command_tool_signs(tmp_path):
    import os
    import subprocess
    import sys

    from host_tools.repo import ROOT
    from host_tools.sim import agent as sim
    from host_tools.testing.broker import Broker

    key = bytes(range(5, 37))
    (tmp_path / "keys.json").write_text(json.dumps({"sim-1": key.hex()}))
    with Broker("mosquitto") as br:
        data = str(tmp_path / "dev")
        sim.prepare_device(data, br.port, forge_probe.LONG, config={"device_key": key.hex()})
        cmd, env = sim.agent_command(data)
        agent = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        cap = Capture(br.port)
        try:
            assert cap.wait(lambda: any(b"online" in p for _, p in cap.on("/status")), 20)

            def send(*extra):
                return subprocess.run([sys.executable, "-m", "host_tools.backend.command", "--broker",
                                       "127.0.0.1:%d" % br.port, *extra, "sim-1", "ping", '{"id": "t1"}'],
                                      cwd=ROOT, capture_output=True, text=True, timeout=60, env=dict(os.environ))
            ok = send("--keys", str(tmp_path / "keys.json"), "--timeout", "20")
            assert ok.returncode == 0, ok.stdout + ok.stderr
            assert json.loads(ok.stdout) == {"v": 1, "id": "t1", "ok": True, "result": {"pong": True}}
            bad = send()  # no key: unsigned, refused
            assert bad.returncode == 1 and "not signed" in json.loads(bad.stdout)["error"], bad.stdout + bad.stderr
        finally:
            agent.kill()
            agent.communicate()
            cap.stop()
