"""Bench area `target`: what a board's loop sees from its network task, its clock and its meter
line. Sampling lateness while SNTP, or the DNS lookup of the broker's name, queries a black hole
(against healthy SNTP and DNS peers), control
tick lateness while an SDM630 is polled at real 9600-baud timing (against the meter-free loop),
and RCD trip to contactor open while the meter is silent (against a healthy meter), each pair
in the same run. See docs/bench.md."""
import json
import os
import shutil
import subprocess
import tempfile

from host_tools.bench import side_by_side
from host_tools.repo import FIRMWARE, ROOT
from host_tools.sim import agent, backlog
from host_tools.testing.broker import Broker
from host_tools.testing.dns_peer import DnsPeer
from host_tools.testing.meter_sim import Load, MeterModel, MeterSim, PtyPair
from host_tools.testing.sntp_peer import SntpPeer
from host_tools.toolchain.unix_port import MICROPYTHON, micropython_env

_LOOP = os.path.join(ROOT, "host_tools", "bench", "mp", "target_loop.py")
_DEAD_TRIALS = 3

# 200 ticks of 100 ms real time; with ntp_retry_s=1 and the 2 s timeout the black hole takes
# about six queries, each polled for its whole timeout inside the loop.
_SCEN = dict(backlog.DRAIN, tick_real_ms=100, end_s=2000, drain_timeout_ms=200, jitter=True)


def _jitter(work, port, answer, dns_answer=True):
    """Prepares the device and returns a call that runs it (the runs go side by side). The
    broker is named (broker.test), so every connect attempt first asks the DNS peer: a black
    hole there costs each attempt the resolver's 2 x 2 s, inside the network task."""
    names = {"broker.test": "127.0.0.1"} if dns_answer else None
    peer = SntpPeer(answer=answer).__enter__()
    dns = DnsPeer(names).__enter__()

    def close():
        dns.__exit__(None, None, None)
        peer.__exit__(None, None, None)

    try:
        d = os.path.join(work, "sntp-%s-dns-%s" % ("ok" if answer else "blackhole", "ok" if dns_answer else "blackhole"))
        backlog.prepare(d, port, 50, scenario=_SCEN, cache_dir=work,
                        ntp_host="127.0.0.1:%d" % peer.port, ntp_retry_s=1,
                        mqtt_host="broker.test", dns_server="127.0.0.1:%d" % dns.port)
    except BaseException:
        close()
        raise

    def run():
        try:
            rc, out, err = agent.run_agent(d, timeout=120)
        finally:
            close()
        s = agent.parse_summary(out)
        if (not s or s.get("jitter_p99_ms") is None or peer.requests < (1 if answer else 4)
                or dns.requests < (1 if dns_answer else 4)):
            raise RuntimeError("sntp/dns jitter run failed (%d SNTP, %d DNS requests seen):\n%s%s"
                               % (peer.requests, dns.requests, out[-2000:], err[-2000:]))
        if "Traceback" in err:
            raise RuntimeError(err[-2000:])
        return s["jitter_p99_ms"], s["jitter_samples"], peer.requests, dns.requests

    return run


def _loop(work, meter, run_ms):
    """target_loop.py's figures: meter is "none" (the simulated station's meter), "ok" (an
    SDM630 paced at 9600 baud) or "dead" (the same, silent after 10 replies)."""
    args = [MICROPYTHON, _LOOP]
    if meter == "none":
        p = subprocess.run(args + ["none", str(run_ms), "1"], env=micropython_env(FIRMWARE), cwd=work,
                           capture_output=True, text=True, timeout=120)
    else:
        with PtyPair() as pair, MeterSim(pair.sim_path, [MeterModel("sdm630", 1, load=Load(7000))],
                                         baud=9600) as sim:
            if meter == "dead":
                sim.inject(*([None] * 10 + ["none"] * 1000))
            p = subprocess.run(args + [pair.agent_path, str(run_ms), "1"] + (["dead"] if meter == "dead" else []),
                               env=micropython_env(FIRMWARE), cwd=work, capture_output=True, text=True,
                               timeout=120)
    lines = p.stdout.strip().splitlines()
    fig = json.loads(lines[-1]) if p.returncode == 0 and lines else {}
    if "error" in fig or len(fig.get("trip_ms", ())) != 1 or (meter == "dead" and fig["requests"] <= 10):
        raise RuntimeError("target loop (%s meter) failed:\n%s%s" % (meter, p.stdout[-2000:], p.stderr[-2000:]))
    return fig


def measure():
    work = tempfile.mkdtemp(prefix="laddvakt-bench-target-")
    try:
        # Healthy SNTP and DNS, black-holed SNTP, and black-holed DNS side by side (each ticks
        # in real time for 20 s, mostly asleep), each with its own broker: the same device on
        # one broker would take over the other's session.
        with Broker("mosquitto") as b1, Broker("mosquitto") as b2, Broker("mosquitto") as b3:
            (ok, _, ok_req, _), (bh, samples, bh_req, _), (dns_bh, _, _, dns_req) = side_by_side(
                _jitter(work, b1.port, True), _jitter(work, b2.port, False),
                _jitter(work, b3.port, True, dns_answer=False))
        # The loops run in real time and mostly wait (on their tick, or on the 9600-baud
        # line): the meter-free and the paced loop side by side, then the dead-meter trials.
        free, paced = side_by_side(lambda: _loop(work, "none", 6000), lambda: _loop(work, "ok", 6000))
        dead = [f["trip_ms"][0] for f in side_by_side(*[lambda: _loop(work, "dead", 3000)] * _DEAD_TRIALS)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "sampling_jitter_ms_p99_sntp_blackhole": bh,
        "sampling_jitter_ms_p99_sntp_healthy": ok,
        "sampling_jitter_samples_sntp": samples,
        "sntp_requests_blackhole": bh_req,
        "sampling_jitter_ms_p99_dns_blackhole": dns_bh,
        "dns_queries_blackhole": dns_req,
        "sampling_jitter_ms_p99_modbus_9600": paced["jitter_p99_ms"],
        "sampling_jitter_ms_p99_meter_free": free["jitter_p99_ms"],
        "sampling_jitter_ticks_modbus_9600": paced["ticks"],
        "control_delay_ms_dead_meter": max(dead),
        "control_delay_ms_healthy_meter": paced["trip_ms"][0],
        "control_delay_ms_meter_free": free["trip_ms"][0],
    }


def check(fig):
    for key, goal in (("sampling_jitter_ms_p99_sntp_blackhole", 50), ("sampling_jitter_ms_p99_dns_blackhole", 50),
                      ("sampling_jitter_ms_p99_modbus_9600", 50),
                      ("control_delay_ms_dead_meter", 100)):
        if fig[key] > goal:
            yield "%s is %d ms, goal %d" % (key, fig[key], goal)
