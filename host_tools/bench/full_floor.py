"""The heap floor scenario of issue 15: in one run of the agent, the three-session simulation
with its MQTT link over TLS (verified server, client certificate), a backlog journaled before
the run and drained during it, a serial console session over a socat pty, and the command fuzz
corpus (near-limit and oversized payloads included). `completes()` says whether every part
happened; host_tools/bench/tight_heap.py bisects the heap in which it does.

The run is driven from here: the scenario's ticker slows down from `GATE_S` (mid first session)
until the device directory holds a file `go` (laddvakt_unix/ticker.py), so the console session
and the fuzz corpus land while a session is open, however fast the rest of the day runs.

`tls_gc_bytes()` measures what a TLS connect takes from the GC heap on the unix port, whose
mbedTLS allocates there (MicroPython's mbedTLS config points its calloc at m_tracked_calloc); on
an ESP32 mbedTLS uses the IDF heap outside the MicroPython heap (docs/bench.md, heap).
"""
import contextlib
import json
import os
import re
import shutil
import subprocess
import time

from host_tools.sim import agent as sim, backlog
from host_tools.testing import cmd_fuzz
from host_tools.toolchain.unix_port import MICROPYTHON, arena, micropython_env

GATE_S = 2400  # the first EV arrives at 1800 s and stays to 12600 s
SCENARIO = dict(sim.SCENARIO, gate={"at_s": GATE_S, "tick_real_ms": 20}, drain_timeout_ms=20000)
BACKLOG = 300  # meter records on flash, undelivered, when the agent starts
FUZZ_N = 300  # fuzz messages per run (tests/integration/test_tight_heap.py runs 2000 on its own)
FUZZ_SEED = 29
# Console commands of a technician's visit, each with a line its answer must hold.
CONSOLE = [("status", "device"), ("sessions 5", "active "), ("meter", "energy_wh"),
           ("journal", "pending"), ("tariff", "SEK/kWh"), ("config get mqtt_port", "mqtt_port = "),
           ("faults", "no active faults"), ("limit", "offer "), ("help", "  replay ")]


def tls_config(data):
    return {"mqtt_tls": 1, "mqtt_host": "127.0.0.1", "mqtt_tls_host": "localhost",
            "mqtt_ca_file": os.path.join(data, "ca.pem"), "mqtt_cert": os.path.join(data, "client.pem"),
            "mqtt_key": os.path.join(data, "client.key")}


def prepare(data, broker, cache_dir, tls=True):
    """The device directory: sim config with TLS to broker.tls_port (plain TCP to broker.port
    without tls), the backend's acks, the sim's own journal geometry, and BACKLOG records
    already journaled."""
    backlog.prepare(data, broker.tls_port if tls else broker.port, BACKLOG, scenario=SCENARIO,
                    cache_dir=cache_dir, journal_segment_bytes=16384, journal_max_bytes=262144,
                    mqtt_timeout_ms=5000, mqtt_keepalive_s=60, **(tls_config(data) if tls else {}))
    for name in ("ca.pem", "client.pem", "client.key"):
        with open(os.path.join(data, name), "w") as f:
            f.write(broker.certs[name])


@contextlib.contextmanager
def _pty_pair(workdir):
    a, b = os.path.join(workdir, "dev-tty"), os.path.join(workdir, "host-tty")
    for p in (a, b):
        if os.path.lexists(p):
            os.remove(p)
    p = subprocess.Popen(["socat", "pty,raw,echo=0,link=" + a, "pty,raw,echo=0,link=" + b],
                         stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while not (os.path.exists(a) and os.path.exists(b)):
            if time.monotonic() > deadline:
                raise RuntimeError("socat made no pty pair")
            time.sleep(0.02)
        yield a, b
    finally:
        p.terminate()
        p.wait(5)


def _uptime_s(status):
    m = re.search(r"^uptime_s\s+(\d+)", status, re.M)
    return int(m.group(1)) if m else 0


def _console(path, alive):
    """The technician's session: every command answered with what it must hold; alive() says
    whether the agent still runs (a run that died is not waited on, command after command)."""
    from host_tools.device.console import ConsoleError, DeviceConsole

    answered = 0
    bad = []
    try:
        dev = DeviceConsole(path, timeout_s=10)
    except ConsoleError as e:
        return 0, [str(e)]
    try:
        if not alive():
            return 0, ["the agent stopped"]
        dev.sync()
        # The technician comes while a session is open: wait until the run is at the gate.
        deadline = time.monotonic() + 20
        while alive() and _uptime_s(dev.command("status")) < GATE_S and time.monotonic() < deadline:
            time.sleep(0.05)
        for line, want in CONSOLE:
            if not alive():
                bad.append("the agent stopped")
                break
            out = dev.command(line)
            if want in out and not out.startswith("error"):
                answered += 1
            else:
                bad.append("%s: %s" % (line, out[-200:]))
    except ConsoleError as e:
        bad.append(str(e))
    finally:
        dev.close()
    return answered, bad


def _statuses(cap):
    """The states this run's agent published: not the retained one an earlier run left."""
    return [json.loads(p)["state"] for t, p, retained in list(cap.msgs)
            if t.endswith("sim-1/status") and not retained]


def _said(f, text):
    with open(f.name) as g:
        return text in g.read()


def drop_session(port, data):
    """Drop the broker's session of the agent whose device directory is data: its client id
    connects once with a clean session. The runs of a bisection share a broker and an install
    id, and the agent keeps its session (clean_session off), so commands a failed run left
    queued would otherwise reach the next run: each run must start alike."""
    import paho.mqtt.client as mqtt

    with open(os.path.join(data, "ident.json")) as f:
        cid = "laddvakt-" + json.load(f)["install"]
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cid, clean_session=True,
                    protocol=mqtt.MQTTv311)
    c.connect("127.0.0.1", port, keepalive=10)
    c.loop_start()
    try:
        deadline = time.monotonic() + 10
        while not c.is_connected():
            if time.monotonic() > deadline:
                raise RuntimeError("no CONNACK from the broker for " + cid)
            time.sleep(0.01)
    finally:
        c.disconnect()
        c.loop_stop()


def run(broker, cap_factory, code_dir, entry, heapsize, workdir, tls=True):
    """One run of the scenario with `micropython -X heapsize=heapsize code_dir/entry`; without
    tls, its link is plain TCP (heap_floor_bytes_plain, docs/bench.md)."""
    from host_tools.backend.service import Backend

    os.makedirs(workdir, exist_ok=True)
    data = os.path.join(workdir, "device")
    prepare(data, broker, os.path.join(os.path.dirname(os.path.abspath(workdir)), "backlog-cache"), tls)
    drop_session(broker.port, data)
    db = os.path.join(workdir, "backend.db")
    if os.path.exists(db):
        os.remove(db)
    backend = Backend(db, "127.0.0.1", broker.port, on_receipt=lambda text: None)
    backend.start()
    r = {"heapsize": heapsize}
    try:
        with _pty_pair(workdir) as (dev_tty, host_tty):
            cmd, env = sim.agent_command(data, code_dir, heapsize, bench=True, entry=entry)
            cmd += ["--console", dev_tty]
            cap = cap_factory(broker.port)
            out_f = open(os.path.join(workdir, "agent.out"), "w+")
            agent = subprocess.Popen(cmd, env=env, stdout=out_f, stderr=subprocess.STDOUT, text=True)
            try:
                # A run that fails fails fast: the agent gone, or in safe mode (it says so).
                cap.wait(lambda: _statuses(cap) or agent.poll() is not None or _said(out_f, "cannot start"), 30)
                r["online"] = "online" in _statuses(cap)
                r["console_answered"], r["console_bad"] = _console(host_tty, lambda: agent.poll() is None) if r["online"] else (0, [])
                r["fuzz_alive"] = (r["console_answered"] == len(CONSOLE) and agent.poll() is None
                                   and cmd_fuzz.feed(cap, agent, cmd_fuzz.corpus(FUZZ_SEED, FUZZ_N, near=True),
                                                 failed=lambda: _said(out_f, "memory allocation failed")))
                with open(os.path.join(data, "go"), "w"):
                    pass
                try:
                    agent.wait(120 if r["fuzz_alive"] else 1)
                except subprocess.TimeoutExpired:
                    agent.kill()
                    agent.wait()
                replies = [json.loads(p) for _, p in cap.on("/reply")]
                statuses = _statuses(cap)
            finally:
                if agent.poll() is None:
                    agent.kill()
                    agent.wait()
                cap.stop()
                out_f.seek(0)
                out = out_f.read()
                out_f.close()
        summary = sim.parse_summary(out)
        want = summary["sessions"] if summary else 0
        deadline = time.monotonic() + 10
        while len(backend.store.sessions()) < want and time.monotonic() < deadline:
            time.sleep(0.05)
        r["sessions"] = backend.store.sessions()
    finally:
        backend.stop()
    r.update(rc=agent.returncode, stdout=out, summary=summary, replies=len(replies),
             memory_errors=sum(1 for x in replies if "MemoryError" in str(x.get("error"))),
             # the agent says "offline" as it stops; a drop shows as a second "online"
             link_drops=max(0, statuses.count("online") - 1))
    return r


def completes(r):
    """Every part of the scenario happened, in the heap it was given."""
    return not failures(r)


def failures(r):
    s = r.get("summary") or {}
    up = s.get("uplink") or {}
    why = []
    if r.get("rc") != 0 or not s:
        why.append("the agent exited %s without its summary" % r.get("rc"))
    if "MemoryError" in r.get("stdout", "") or "memory allocation failed" in r.get("stdout", ""):
        why.append("MemoryError")
    if len(r.get("sessions", ())) != 3:
        why.append("%d sessions stored, not 3" % len(r.get("sessions", ())))
    if not r.get("online"):
        why.append("no TLS connect (no status online)")
    if not s or s.get("delivered_seq") != s.get("journal_seq") or s.get("journal_seq", 0) <= BACKLOG:
        why.append("backlog not fully acked: %s of %s" % (s.get("delivered_seq"), s.get("journal_seq")))
    if r.get("console_answered") != len(CONSOLE):
        why.append("console: %s" % r.get("console_bad"))
    if not r.get("fuzz_alive") or r.get("memory_errors") or r.get("replies", 0) < FUZZ_N // 2:
        why.append("fuzz: alive %s, %s replies, %s MemoryError" % (
            r.get("fuzz_alive"), r.get("replies"), r.get("memory_errors")))
    if r.get("link_drops") or up.get("connects") != 1 or up.get("failures"):
        why.append("link drops %s, connects %s, failures %s" % (
            r.get("link_drops"), up.get("connects"), up.get("failures")))
    return why


_TLS_PROBE = """import gc, socket
from laddvakt.uplink import tls
cfg = {"mqtt_tls": %(tls)d, "mqtt_ca_file": %(ca)r, "mqtt_cert": %(cert)r, "mqtt_key": %(key)r}
ctx = tls.context(cfg)
gc.collect()
s = socket.socket()
s.connect(socket.getaddrinfo("127.0.0.1", %(port)d)[0][-1])
if ctx:
    s = ctx.wrap_socket(s, server_hostname="localhost")
s.write(b"\\x10\\x0d\\x00\\x04MQTT\\x04\\x02\\x00\\x3c\\x00\\x01p")
print("connack", s.read(4) == b"\\x20\\x02\\x00\\x00")
s.close()
"""


def _connect_ok(broker, data, code_dir, heap, tls):
    script = _TLS_PROBE % {"tls": tls, "ca": os.path.join(data, "ca.pem"), "cert": os.path.join(data, "client.pem"),
                           "key": os.path.join(data, "client.key"),
                           "port": broker.tls_port if tls else broker.port}
    p = subprocess.run([MICROPYTHON, "-X", "heapsize=%d" % arena(heap), "-c", script], env=micropython_env(code_dir),
                       capture_output=True, text=True, timeout=30)
    return p.returncode == 0 and "connack True" in p.stdout


def _smallest(ok, lo, hi, step):
    if not ok(hi):
        raise RuntimeError("does not complete in %d bytes" % hi)
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def tls_gc_bytes(broker, code_dir, workdir, step=256):
    """(GC heap a TLS connect needs, the same plain): the smallest heap in which a fresh
    micropython loads the link's certificates, connects to `broker` with TLS (client
    certificate, verified server) and gets its MQTT CONNACK, against the same over plain TCP;
    each size must work twice. The difference is TLS's share of the GC heap on this port."""
    data = os.path.join(workdir, "tls-probe")
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(data)
    for name in ("ca.pem", "client.pem", "client.key"):
        with open(os.path.join(data, name), "w") as f:
            f.write(broker.certs[name])

    def floor(tls):
        return _smallest(lambda n: all(_connect_ok(broker, data, code_dir, n, tls) for _ in range(2)),
                         4096, 256 * 1024, step)

    return floor(1), floor(0)
