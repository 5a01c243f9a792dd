"""10,000 random command payloads against the running agent: it never crashes, every
reply keeps the contract, and it still answers afterwards."""
import json
import time

from host_tools.testing import cmd_fuzz
from tests.integration.mqtt_capture import Capture, validate
from tests.integration.test_commands_and_will import start_agent

LONG = cmd_fuzz.LONG


def test_fuzzed_commands_never_crash_the_agent(mosquitto, tmp_path):
    cap = Capture(mosquitto.port)
    agent = start_agent(tmp_path, mosquitto.port, LONG)
    try:
        assert cap.wait(lambda: cap.on("/status"), 10)
        base = cmd_fuzz.BASE
        msgs = cmd_fuzz.corpus(5, 10000)
        infos = []
        t0 = time.monotonic()
        for i, (topic, payload) in enumerate(msgs):
            infos.append(cap.c.publish(topic, payload, qos=1))
            if i % 200 == 199:
                infos[-1].wait_for_publish(10)
                # Let the agent keep up; a full command queue is answered, not a crash.
                time.sleep(0.05)
                assert agent.poll() is None, agent.communicate()
        for info in infos[-50:]:
            info.wait_for_publish(10)
        t_sent = time.monotonic()
        # mosquitto drops what exceeds its queue for a busy client (1000 messages), so ask
        # again until the agent has worked through the flood.
        ok = False
        for _ in range(15):
            cap.publish(base + "/ping", b'{"id":"alive"}')
            ok = cap.wait(lambda: any(b'"alive"' in p for _, p in cap.on("/reply")), 3)
            if ok:
                break
        if not ok:
            agent.kill()
            out, err = agent.communicate()
            raise AssertionError("agent stopped answering: %d replies, status %s\n%s%s" % (
                len(cap.on("/reply")), cap.on("/status")[-3:], out[-3000:], err[-3000:]))
        print("fuzz: sent in %.1f s, alive after %.1f s, %d replies"
              % (t_sent - t0, time.monotonic() - t_sent, len(cap.on("/reply"))))
        bad = []
        for _, p in cap.on("/reply"):
            try:
                json.loads(p)
            except ValueError:
                bad.append(p)
        assert not bad, bad[:5]
        assert agent.poll() is None
        # Not one payload cost the agent its link (a dropped link would show as a
        # Will "offline" and a second "online").
        assert [json.loads(p)["state"] for t, p in cap.on("/status") if t == "laddvakt/v1/sim-1/status"] == ["online"]
        replies = [validate(t, p) for t, p in cap.on("/reply")]
        assert len(replies) > 1000
        assert sum(1 for r in replies if not r["ok"]) > 500
        assert any("exceeds the 4096-byte limit" in r.get("error", "") for r in replies)
    finally:
        if agent.poll() is None:
            agent.kill()
        out, err = agent.communicate()
        cap.stop()
    assert "Traceback" not in err, err[-3000:]
