"""Bench area `uplink`: the agent's backlog drain against paho-mqtt publishing the agent's own
batches with the same window on the same broker, on loopback and through 100 ms of round trip;
and sampling jitter while the broker is blackholed. See docs/bench.md."""
import json
import os
import shutil
import tempfile
import threading
import time

from host_tools.bench import side_by_side
from host_tools.sim import agent, backlog
from host_tools.testing import tlscerts
from host_tools.testing.broker import Broker
from host_tools.testing.tcpproxy import TcpProxy

# The in-flight window: the agent's (config mqtt_window, set so) and paho's.
WINDOW = 8

N = 10000
RTT_MS = 100
TOPIC = "laddvakt/v1/sim-1/recs"


def _drain(data_dir, port, work, **cfg):
    """The agent's drain of the N-record backlog: (records/s from its first batch until the
    cursor passed the last record, its window)."""
    cfg.setdefault("uplink_ack", "broker")  # no backend here: the broker's PUBACK delivers
    backlog.prepare(data_dir, port, N, cache_dir=work, mqtt_window=WINDOW, **cfg)
    rc, out, err = agent.run_agent(data_dir, timeout=300)
    s = agent.parse_summary(out)
    if rc != 0 or not s or s["delivered_seq"] < N or s["drain_ms"] is None:
        raise RuntimeError("drain failed (rc %s):\n%s%s" % (rc, out[-2000:], err[-2000:]))
    # Connecting is left out, as it is for paho: from the first batch to the last ack.
    ms = s["drain_ms"] - s["uplink"]["first_batch_ms"]
    return round(s["delivered_seq"] / (max(ms, 1) / 1000.0))


def capture_batches(port, work):
    """Every recs payload the agent sends while it drains the backlog, as the broker passed
    them on: the agent's own batches, all of them. Checked to hold seqs 1..N once each."""
    import paho.mqtt.client as mqtt

    got = []
    ready = threading.Event()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-capture")
    c.on_subscribe = lambda *a: ready.set()
    c.on_message = lambda cl, u, m: got.append(m.payload)
    c.connect("127.0.0.1", port)
    c.subscribe(TOPIC, qos=1)
    c.loop_start()
    try:
        if not ready.wait(10):
            raise RuntimeError("capture: not subscribed")
        _drain(os.path.join(work, "dev-capture"), port, work)
        time.sleep(0.5)  # the last batches' copies are on their way
    finally:
        c.loop_stop()
        c.disconnect()
    # The backlog and the few records the agent's own boot adds after it.
    seqs = sorted(r["seq"] for p in got for r in json.loads(p)["recs"])
    if seqs != list(range(1, len(seqs) + 1)) or len(seqs) < N:
        raise RuntimeError("capture: %d batches with %d records, not seqs 1..%d+ once each"
                           % (len(got), len(seqs), N))
    return got, len(seqs)


def singles(batches):
    """The same records, one per message: each batch's head with a one-record list."""
    out = []
    for p in batches:
        b = json.loads(p)
        head = '{"v":1,"dev":%s,"install":%s,"recs":[' % (json.dumps(b["dev"]), json.dumps(b["install"]))
        out += [(head + json.dumps(r, separators=(",", ":")) + "]}").encode() for r in b["recs"]]
    return out


def paho_rate(port, msgs, records, window):
    """paho-mqtt (CPython) publishing msgs at QoS 1 with window in flight, from the first
    publish until the last PUBACK (connected before the clock starts): records/s."""
    import paho.mqtt.client as mqtt

    done = threading.Event()
    acked = [0]

    def on_publish(c, u, mid, rc, props):
        acked[0] += 1
        if acked[0] == len(msgs):
            done.set()

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-paho")
    c.max_inflight_messages_set(window)
    c.max_queued_messages_set(0)
    c.on_publish = on_publish
    c.connect("127.0.0.1", port)
    c.loop_start()
    t0 = time.monotonic()
    for m in msgs:
        c.publish(TOPIC, m, qos=1)
    if not done.wait(300):
        raise RuntimeError("paho: only %d of %d acked" % (acked[0], len(msgs)))
    dt = time.monotonic() - t0
    c.loop_stop()
    c.disconnect()
    return round(records / dt)


def _jitter(port, work, tls=False):
    """Sampling lateness while the proxy swallows everything: the TCP connect succeeds, then
    CONNACK (or, with TLS, the handshake) never comes. Prepares the device and returns a call
    that runs it (the plain and the TLS runs go side by side)."""
    scen = dict(backlog.DRAIN, tick_real_ms=100, end_s=1500, drain_timeout_ms=200, jitter=True)
    proxy = TcpProxy(port).__enter__()
    try:
        proxy.set_mode("blackhole")
        d = os.path.join(work, "jitter-tls" if tls else "jitter")
        cfg = {}
        if tls:
            ca = os.path.join(work, "ca.pem")
            with open(ca, "w") as f:
                f.write(tlscerts.make()["ca.pem"])
            cfg = {"mqtt_tls": 1, "mqtt_ca_file": ca}
        backlog.prepare(d, proxy.port, 200, scenario=scen, cache_dir=work, uplink_ack="broker", **cfg)
    except BaseException:
        proxy.__exit__(None, None, None)
        raise

    def run():
        try:
            rc, out, err = agent.run_agent(d, timeout=120)
        finally:
            proxy.__exit__(None, None, None)
        s = agent.parse_summary(out)
        if not s or s.get("jitter_p99_ms") is None or proxy.accepted < 2:
            raise RuntimeError("jitter run failed (%d connects seen):\n%s%s"
                               % (proxy.accepted, out[-2000:], err[-2000:]))
        return s["jitter_p99_ms"], s["jitter_samples"], proxy.accepted

    return run


def measure():
    work = tempfile.mkdtemp(prefix="laddvakt-bench-uplink-")
    fig = {}
    try:
        with Broker("mosquitto") as b:
            batches, total = capture_batches(b.port, work)
            one = singles(batches)
            fig["drain_batches"] = len(batches)
            # Loopback: agent, then paho with the agent's batches and window, then one record
            # per message; then all again through the latency proxy.
            fig["drain_records_per_s"] = _drain(os.path.join(work, "dev"), b.port, work)
            fig["paho_same_batches_records_per_s"] = paho_rate(b.port, batches, total, WINDOW)
            fig["paho_one_record_per_msg_records_per_s"] = paho_rate(b.port, one, total, WINDOW)
            with TcpProxy(b.port, latency_ms=RTT_MS // 2) as proxy:
                fig["drain_rtt100_records_per_s"] = _drain(os.path.join(work, "dev-rtt"), proxy.port, work)
                fig["paho_rtt100_same_batches_records_per_s"] = paho_rate(proxy.port, batches, total, WINDOW)
            # Both black-holed runs side by side: each ticks in real time for 15 s, mostly asleep.
            (jit, samples, attempts), (jit_tls, _, attempts_tls) = side_by_side(
                _jitter(b.port, work), _jitter(b.port, work, tls=True))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    fig["drain_ratio_vs_paho_same_batches"] = round(
        fig["drain_records_per_s"] / fig["paho_same_batches_records_per_s"], 2)
    fig["drain_ratio_vs_paho_one_record_per_msg"] = round(
        fig["drain_records_per_s"] / fig["paho_one_record_per_msg_records_per_s"], 2)
    fig["drain_rtt100_ratio_vs_paho_same_batches"] = round(
        fig["drain_rtt100_records_per_s"] / fig["paho_rtt100_same_batches_records_per_s"], 2)
    # What the window allows at all: WINDOW batches of the mean size per round trip.
    fig["drain_rtt100_window_bound_records_per_s"] = round(WINDOW * total / len(batches) / (RTT_MS / 1000.0))
    fig.update({
        "sampling_jitter_ms_p99_offline": jit,
        "sampling_jitter_samples_offline": samples,
        "sampling_jitter_connect_attempts_offline": attempts,
        "sampling_jitter_ms_p99_tls_stall": jit_tls,
        "sampling_jitter_connect_attempts_tls_stall": attempts_tls,
    })
    return fig


def check(fig):
    if fig["drain_rtt100_ratio_vs_paho_same_batches"] < 0.8:
        yield "drain over %d ms RTT is %.2f of paho's with the same batches, goal 0.8" % (
            RTT_MS, fig["drain_rtt100_ratio_vs_paho_same_batches"])
    for key in ("sampling_jitter_ms_p99_offline", "sampling_jitter_ms_p99_tls_stall"):
        if fig[key] > 250:
            yield "%s is %d ms, goal 250" % (key, fig[key])
