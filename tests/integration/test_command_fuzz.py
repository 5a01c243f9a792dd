"""10,000 random command payloads against the running agent: it never crashes, every
reply keeps the contract, and it still answers afterwards."""
import json
import random
import time

from host_tools.sim import agent as sim
from tests.integration.mqtt_capture import Capture, validate
from tests.integration.test_commands_and_will import start_agent

LONG = dict(sim.SCENARIO, tick_real_ms=5, end_s=200000, visits=[
    {"arrive_s": 600, "leave_s": 2400, "need_wh": 5000, "max_w": 7360}])
NAMES = ["ping", "status", "replay", "reboot", "", "x" * 40, "r\u00e9play"]


def _value(rnd, depth=0):
    k = rnd.randrange(9 if depth < 3 else 6)
    if k == 0:
        return rnd.randrange(-2 ** 40, 2 ** 40)
    if k == 1:
        return rnd.choice([0, 1, -1, 1.0, 2.5, 1e300, 4294967296, True, False, None])
    if k == 2:
        return "".join(chr(rnd.randrange(1, 0x2FF)) for _ in range(rnd.randrange(70)))
    if k == 3:
        return rnd.choice(["ping", "status", "replay", "", "abc"])
    if k == 4:
        return "%s-%08x" % ("".join(rnd.choice("0123456789abcdef") for _ in range(12)), rnd.randrange(2 ** 32))
    if k == 5:
        return rnd.randrange(1, 100)
    if k in (6, 7):
        keys = ["id", "from_seq", "to_seq", "sid", "cmd", "x"]
        return {rnd.choice(keys) if rnd.random() < 0.8 else str(rnd.random()): _value(rnd, depth + 1)
                for _ in range(rnd.randrange(5))}
    return [_value(rnd, depth + 1) for _ in range(rnd.randrange(4))]


def _payload(rnd):
    k = rnd.randrange(10)
    if k == 0:
        return bytes(rnd.randrange(256) for _ in range(rnd.randrange(40)))
    if k == 1:
        return b"{" * rnd.randrange(1, 200)
    if k == 2:
        return b'{"id":"big","pad":"' + b"x" * rnd.randrange(4000, 9000) + b'"}'
    doc = _value(rnd)
    if isinstance(doc, dict) and rnd.random() < 0.7:
        doc["id"] = "f%d" % rnd.randrange(10 ** 6)
    text = json.dumps(doc)
    if k == 3 and len(text) > 2:
        cut = rnd.randrange(1, len(text))
        text = text[:cut]
    return text.encode()


def test_fuzzed_commands_never_crash_the_agent(mosquitto, tmp_path):
    rnd = random.Random(5)
    cap = Capture(mosquitto.port)
    agent = start_agent(tmp_path, mosquitto.port, LONG)
    try:
        assert cap.wait(lambda: cap.on("/status"), 10)
        base = "laddvakt/v1/sim-1/cmd"
        msgs = []
        for _ in range(10000):
            name = rnd.choice(NAMES)
            topic = base if rnd.random() < 0.15 else base + "/" + name
            if topic.endswith("/"):
                topic = base
            msgs.append((topic, _payload(rnd)))
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
