"""Bench area `delivery` (issue 16): the broker kill test at full size, 10,000 records and 20
`kill -9` restarts of a real mosquitto on the same port, in the default config (ack mode
`backend`) with and without broker persistence, and the same runs in ack mode `broker` as
the baseline. See docs/bench.md and host_tools/testing/broker_kill.py."""
import shutil
import tempfile

from host_tools.testing import broker_kill

N, KILLS = 10000, 20
SETTLE_S = 60.0  # how long after the last restart a gap-free backend is awaited
BASELINE_SETTLE_S = 15.0  # broker mode: the agent has gone, holes past its end stay open


def measure():
    work = tempfile.mkdtemp(prefix="laddvakt-bench-delivery-")
    try:
        runs = {}
        for name, persistent, ack, settle in (("", False, None, SETTLE_S),
                                              ("_persistence", True, None, SETTLE_S),
                                              ("_ack_broker", False, "broker", BASELINE_SETTLE_S),
                                              ("_ack_broker_persistence", True, "broker", BASELINE_SETTLE_S)):
            runs[name] = broker_kill.run("%s/run%s" % (work, name), N, KILLS, persistent=persistent,
                                         ack=ack, cache=work + "/cache", settle_s=settle)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    default = (runs[""], runs["_persistence"])
    repair = [r["gap_repair_s"] for r in default]
    fig = {
        "broker_kill_missing": max(r["missing"] for r in default),
        "broker_kill_gap_repair_s": None if None in repair else max(repair),
        "broker_kill_duplicate_ratio": max(r["duplicate_ratio"] for r in default),
    }
    for name, r in runs.items():
        fig["broker_kill_missing_no_persistence" if not name else "broker_kill_missing" + name] = r["missing"]
        fig["broker_kill_duplicates" + (name or "_no_persistence")] = r["duplicates"]
        fig["broker_kill_kills_mid_drain" + (name or "_no_persistence")] = r["kills_mid_drain"]
    for name in ("", "_persistence"):
        fig["broker_kill_gap_repair_s" + (name or "_no_persistence")] = runs[name]["gap_repair_s"]
    return fig


def check(fig):
    if fig["broker_kill_missing"] != 0:
        yield "broker_kill_missing is %d, goal 0" % fig["broker_kill_missing"]
    if fig["broker_kill_gap_repair_s"] is None or fig["broker_kill_gap_repair_s"] > 30:
        yield "broker_kill_gap_repair_s is %s, goal 30" % fig["broker_kill_gap_repair_s"]
    if fig["broker_kill_duplicate_ratio"] > 0.5:
        yield "broker_kill_duplicate_ratio is %.3f, goal 0.5" % fig["broker_kill_duplicate_ratio"]
    for name in ("_no_persistence", "_persistence"):
        if fig["broker_kill_kills_mid_drain" + name] != 20:
            yield "only %d of 20 kills landed mid-drain%s" % (fig["broker_kill_kills_mid_drain" + name], name)
