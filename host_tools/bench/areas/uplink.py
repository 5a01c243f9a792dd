"""Bench area `uplink`: backlog drain speed against paho-mqtt, through 50 ms latency, and
sampling jitter while the broker is blackholed. See docs/bench.md."""
import glob
import os
import shutil
import struct
import tempfile
import threading
import time

from host_tools.repo import FIRMWARE
from host_tools.sim import agent, backlog
from host_tools.testing import tlscerts
from host_tools.testing.broker import Broker
from host_tools.testing.tcpproxy import TcpProxy
from host_tools.toolchain.unix_port import MICROPYTHON, micropython_env

N = 10000
_HDR = struct.Struct("<BBHI")


def journal_records(data_dir):
    """(seq, JSON payload bytes) of every frame in the device's journal, in order: the
    frames' payloads rendered by the firmware's own codec (record_codec.py), as the
    uplink sends them."""
    out = []
    for path in sorted(glob.glob(os.path.join(data_dir, "journal", "*.jl"))):
        with open(path, "rb") as f:
            data = f.read()
        off = 0
        while off + _HDR.size <= len(data):
            _, rtype, n, seq = _HDR.unpack_from(data, off)
            out.append((seq, rtype, data[off + _HDR.size:off + _HDR.size + n]))
            off += _HDR.size + n + 4
    return _render(backlog.install_id(data_dir), out)


_RENDER = """
import sys
from binascii import unhexlify
from laddvakt.journal.codec import Codec
c = Codec(sys.argv[1])
for line in sys.stdin:
    seq, rtype, p = line.split()
    sys.stdout.write(c.render(int(rtype), unhexlify(p), int(seq)).decode() + "\\n")
"""


def _render(install, frames):
    import subprocess

    cmd, env = MICROPYTHON, micropython_env(FIRMWARE)
    inp = "".join("%d %d %s\n" % (seq, t, p.hex()) for seq, t, p in frames)
    r = subprocess.run([cmd, "-c", _RENDER, install], input=inp, capture_output=True, text=True,
                       env=env, timeout=300, check=True)
    return [(f[0], line.encode()) for f, line in zip(frames, r.stdout.splitlines())]


def _drain(data_dir, port, work, **cfg):
    cfg.setdefault("uplink_ack", "broker")  # no backend here: the broker's PUBACK delivers
    backlog.prepare(data_dir, port, N, cache_dir=work, **cfg)
    rc, out, err = agent.run_agent(data_dir, timeout=300)
    s = agent.parse_summary(out)
    if rc != 0 or not s or s["delivered_seq"] < N or s["drain_ms"] is None:
        raise RuntimeError("drain failed (rc %s):\n%s%s" % (rc, out[-2000:], err[-2000:]))
    # The cursor passed the last record drain_ms after the uplink started.
    return round(s["delivered_seq"] / (s["drain_ms"] / 1000.0))


def _paho(port, data_dir):
    import paho.mqtt.client as mqtt

    inst = backlog.install_id(data_dir)
    head = '{"v":1,"dev":"sim-1","install":"%s","recs":[' % inst
    msgs = [(head + '{"seq":%d,' % seq + p[1:].decode() + "]}").encode()
            for seq, p in journal_records(data_dir)[:N]]
    done = threading.Event()
    acked = [0]

    def on_publish(c, u, mid, rc, props):
        acked[0] += 1
        if acked[0] == len(msgs):
            done.set()

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-paho")
    c.max_inflight_messages_set(20)
    c.max_queued_messages_set(0)
    c.on_publish = on_publish
    c.connect("127.0.0.1", port)
    c.loop_start()
    t0 = time.monotonic()
    for m in msgs:
        c.publish("laddvakt/v1/bench-paho/recs", m, qos=1)
    if not done.wait(120):
        raise RuntimeError("paho: only %d of %d acked" % (acked[0], len(msgs)))
    dt = time.monotonic() - t0
    c.loop_stop()
    c.disconnect()
    return round(len(msgs) / dt)


def _jitter(port, work, tls=False):
    """Sampling lateness while the proxy swallows everything: the TCP connect succeeds, then
    CONNACK (or, with TLS, the handshake) never comes."""
    scen = dict(backlog.DRAIN, tick_real_ms=100, end_s=1500, drain_timeout_ms=200, jitter=True)
    with TcpProxy(port) as proxy:
        proxy.set_mode("blackhole")
        d = os.path.join(work, "jitter-tls" if tls else "jitter")
        cfg = {}
        if tls:
            ca = os.path.join(work, "ca.pem")
            with open(ca, "w") as f:
                f.write(tlscerts.make()["ca.pem"])
            cfg = {"mqtt_tls": 1, "mqtt_ca_file": ca}
        backlog.prepare(d, proxy.port, 200, scenario=scen, cache_dir=work, uplink_ack="broker", **cfg)
        rc, out, err = agent.run_agent(d, timeout=120)
        s = agent.parse_summary(out)
        if not s or s.get("jitter_p99_ms") is None or proxy.accepted < 2:
            raise RuntimeError("jitter run failed (%d connects seen):\n%s%s"
                               % (proxy.accepted, out[-2000:], err[-2000:]))
    return s["jitter_p99_ms"], s["jitter_samples"], proxy.accepted


def measure():
    work = tempfile.mkdtemp(prefix="laddvakt-bench-uplink-")
    try:
        with Broker("mosquitto") as b:
            d = os.path.join(work, "dev")
            drain = _drain(d, b.port, work)
            paho = _paho(b.port, d)
            with TcpProxy(b.port, latency_ms=50) as proxy:
                rtt = _drain(os.path.join(work, "dev-rtt"), proxy.port, work)
            jit, samples, attempts = _jitter(b.port, work)
            jit_tls, _, attempts_tls = _jitter(b.port, work, tls=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "drain_records_per_s": drain,
        "paho_records_per_s": paho,
        "drain_ratio_vs_paho": round(drain / paho, 2),
        "drain_rtt50_records_per_s": rtt,
        "sampling_jitter_ms_p99_offline": jit,
        "sampling_jitter_samples_offline": samples,
        "sampling_jitter_connect_attempts_offline": attempts,
        "sampling_jitter_ms_p99_tls_stall": jit_tls,
        "sampling_jitter_connect_attempts_tls_stall": attempts_tls,
    }


def check(fig):
    if fig["drain_ratio_vs_paho"] < 0.5:
        yield "drain is %.2f of paho's rate, goal 0.5" % fig["drain_ratio_vs_paho"]
    if fig["drain_rtt50_records_per_s"] < 500:
        yield "drain through 50 ms latency is %d records/s, goal 500" % fig["drain_rtt50_records_per_s"]
    for key in ("sampling_jitter_ms_p99_offline", "sampling_jitter_ms_p99_tls_stall"):
        if fig[key] > 250:
            yield "%s is %d ms, goal 250" % (key, fig[key])
