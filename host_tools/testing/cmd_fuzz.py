"""The command fuzz corpus (random, truncated, nested, near-limit and oversized payloads on every
command topic), shared by tests/integration/test_command_fuzz.py and the tight-heap fuzz phase
(`fuzz_tight`): the agent from its .mpy build, in a heap of its loaded code plus 64 KiB, takes
the corpus while it samples; every MemoryError reply and every link drop is counted."""
import json
import random
import subprocess
import time

from host_tools.sim import agent as sim

NAMES = ["ping", "status", "replay", "reboot", "", "x" * 40, "r\u00e9play"]
LONG = dict(sim.SCENARIO, tick_real_ms=5, end_s=200000, visits=[
    {"arrive_s": 600, "leave_s": 2400, "need_wh": 5000, "max_w": 7360}])
BASE = "laddvakt/v1/sim-1/cmd"
# What the first command and the first replay load (uplink/inbox.py, uplink/uplink.py).
COMMAND_MODULES = ["laddvakt.uplink.commands", "laddvakt.uplink.schema", "laddvakt.control.commands",
                   "laddvakt.uplink.replay"]


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


def payload(rnd, near=False):
    """One fuzz payload. near: a share of them sits just under and over the 4096-byte limit."""
    k = rnd.randrange(12 if near else 10)
    if k == 0:
        return bytes(rnd.randrange(256) for _ in range(rnd.randrange(40)))
    if k == 1:
        return b"{" * rnd.randrange(1, 200)
    if k == 2:
        return b'{"id":"big","pad":"' + b"x" * rnd.randrange(4000, 9000) + b'"}'
    if k >= 10:  # near the limit: a long id-bearing object, or a deep list, of 3.9-4.2 KB
        n = rnd.randrange(3900, 4200)
        if k == 10:
            return (b'{"id":"n%d","pad":"' % rnd.randrange(10 ** 6) + b"y" * n)[:n] + b'"}'
        return (b"[" * (n // 2) + b"]" * (n // 2))[:n]
    doc = _value(rnd)
    if isinstance(doc, dict) and rnd.random() < 0.7:
        doc["id"] = "f%d" % rnd.randrange(10 ** 6)
    text = json.dumps(doc)
    if k == 3 and len(text) > 2:
        cut = rnd.randrange(1, len(text))
        text = text[:cut]
    return text.encode()


def corpus(seed, n, near=False):
    rnd = random.Random(seed)
    msgs = []
    for _ in range(n):
        name = rnd.choice(NAMES)
        topic = BASE if rnd.random() < 0.15 else BASE + "/" + name
        if topic.endswith("/"):
            topic = BASE
        msgs.append((topic, payload(rnd, near)))
    return msgs


def feed(cap, agent, msgs, pace=200, failed=None):
    """Publish msgs, letting the agent keep up every `pace`; then wait until it answers a ping.
    failed(): whether the run has failed already (the ping is then not waited for)."""
    infos = []
    for i, (topic, p) in enumerate(msgs):
        infos.append(cap.c.publish(topic, p, qos=1))
        if i % pace == pace - 1:
            infos[-1].wait_for_publish(10)
            time.sleep(0.05)
            if agent.poll() is not None:
                return False
    for info in infos[-50:]:
        info.wait_for_publish(10)
    # mosquitto drops what exceeds its queue for a busy client (1000 messages), so ask
    # again until the agent has worked through the flood.
    for k in range(15):
        if agent.poll() is not None or failed and failed():
            return False
        tag = b'"alive-%d"' % k
        cap.c.publish(BASE + "/ping", b'{"id":' + tag + b"}", qos=1).wait_for_publish(10)
        if cap.wait(lambda t=tag: any(t in p for _, p in cap.on("/reply")), 3):
            return True
    return False


def fuzz_tight(cap_factory, broker, workdir, n=2000, seed=17):
    """The corpus (near-limit share included) against the agent from .mpy with code + 64 KiB of heap.
    cap_factory(port) -> a capture (tests/integration/mqtt_capture.Capture or alike)."""
    from host_tools.bench import tight_heap
    from host_tools.toolchain.unix_port import arena

    tight_heap.build()
    mods = tight_heap.loaded_modules(broker.kind, workdir + "/probe")
    # The probe sends no command; the command code loads at the first one (uplink/inbox.py) and
    # is code, not runtime data: the heap holds it beside the probe's.
    mods += [m for m in COMMAND_MODULES if m not in mods]
    code = tight_heap.code_heap_bytes(mods, rebuild=False)
    data = workdir + "/fuzzdev"
    sim.prepare_device(data, broker.port, LONG)
    cmd, env = sim.agent_command(data, tight_heap.MPY_DIR, arena(code + tight_heap.RUNTIME_BUDGET), bench=True)
    cap = cap_factory(broker.port)
    agent = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if not cap.wait(lambda: cap.on("/status"), 20):
            raise RuntimeError("the agent did not come online")
        alive = feed(cap, agent, corpus(seed, n, near=True))
        replies = [json.loads(p) for _, p in cap.on("/reply")]
        statuses = [json.loads(p)["state"] for t, p in cap.on("/status") if t.endswith("sim-1/status")]
    finally:
        if agent.poll() is None:
            agent.kill()
        out, err = agent.communicate()
        cap.stop()
    return {
        "alive": alive,
        "replies": len(replies),
        "memory_errors": sum(1 for r in replies if "MemoryError" in str(r.get("error"))),
        "link_drops": max(0, statuses.count("online") - 1) + statuses.count("offline"),
        "uplink_memory_lines": out.count("memory allocation failed") + err.count("memory allocation failed"),
        "traceback": int("Traceback" in err),
        "oversized_answered": sum(1 for r in replies if "exceeds the" in str(r.get("error"))),
        "heap_code_bytes": code,
        "stderr_tail": err[-2000:],
        # why the link dropped, as the agent printed it (uplink: <reason>), for a failure to say
        "uplink_lines": [ln for ln in out.splitlines() if ln.startswith("uplink:")][-5:],
    }
