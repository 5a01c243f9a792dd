"""Bench area `target`: what a board's loop sees from its network task and its clock. Sampling
lateness (p99 of the 100 ms ticks) while SNTP queries a black hole, against the same run with a
healthy SNTP peer. See docs/bench.md."""
import os
import shutil
import tempfile

from host_tools.sim import agent, backlog
from host_tools.testing.broker import Broker
from host_tools.testing.sntp_peer import SntpPeer

# 200 ticks of 100 ms real time; with ntp_retry_s=1 and the 2 s timeout the black hole takes
# about six queries, each polled for its whole timeout inside the loop.
_SCEN = dict(backlog.DRAIN, tick_real_ms=100, end_s=2000, drain_timeout_ms=200, jitter=True)


def _jitter(work, port, answer):
    with SntpPeer(answer=answer) as peer:
        d = os.path.join(work, "sntp-%s" % ("ok" if answer else "blackhole"))
        backlog.prepare(d, port, 50, scenario=_SCEN, cache_dir=work,
                        ntp_host="127.0.0.1:%d" % peer.port, ntp_retry_s=1)
        rc, out, err = agent.run_agent(d, timeout=120)
        s = agent.parse_summary(out)
        if not s or s.get("jitter_p99_ms") is None or peer.requests < (1 if answer else 4):
            raise RuntimeError("sntp jitter run failed (%d requests seen):\n%s%s"
                               % (peer.requests, out[-2000:], err[-2000:]))
        if "Traceback" in err:
            raise RuntimeError(err[-2000:])
    return s["jitter_p99_ms"], s["jitter_samples"], peer.requests


def measure():
    work = tempfile.mkdtemp(prefix="laddvakt-bench-target-")
    try:
        with Broker("mosquitto") as b:
            ok, _, ok_req = _jitter(work, b.port, True)
            bh, samples, bh_req = _jitter(work, b.port, False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {
        "sampling_jitter_ms_p99_sntp_blackhole": bh,
        "sampling_jitter_ms_p99_sntp_healthy": ok,
        "sampling_jitter_samples_sntp": samples,
        "sntp_requests_blackhole": bh_req,
    }


def check(fig):
    if fig["sampling_jitter_ms_p99_sntp_blackhole"] > 50:
        yield "sampling_jitter_ms_p99_sntp_blackhole is %d ms, goal 50" % fig["sampling_jitter_ms_p99_sntp_blackhole"]
