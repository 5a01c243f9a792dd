"""A fleet night in simulation: ten chargers, each with one vehicle that needs E kWh by a
deadline, an hourly spot-price schedule and one demand-response event, all in virtual time
under the unix-port micropython (firmware/laddvakt_unix/sim/fleet_night.py runs the agents).

    python -m host_tools.sim --scenario fleet-night
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from host_tools.repo import BUILD, FIRMWARE
from host_tools.toolchain.unix_port import MICROPYTHON, micropython_env

# 2026-11-20 16:00 UTC; the night runs 16 hours, to 08:00.
START = 1795190400
H = 3600
# Öre per kWh, hourly from 16:00: the evening peak, a cheap night, the morning ramp.
PRICES = [180, 260, 310, 290, 220, 150, 110, 80, 60, 45, 40, 42, 55, 90, 170, 240]
DR = (10 * H, 11 * H + 1800)  # 02:00-03:30: the grid operator caps every charger at 6 A


def vehicles():
    # (arrive h after 16:00, deadline h, need kWh, max W, phases); van 10 cannot make it.
    # On these 16 A chargers a one-phase van draws at most 16 A x 230 V = 3680 W.
    rows = [
        (0.5, 14.0, 40, 11000, 3), (0.75, 14.5, 55, 11000, 3), (1.0, 13.0, 22, 3680, 1),
        (1.5, 15.0, 60, 11000, 3), (2.0, 14.0, 18, 3680, 1), (2.5, 15.5, 45, 11000, 3),
        (3.0, 14.0, 25, 3680, 1), (3.0, 15.0, 50, 11000, 3), (4.0, 14.5, 20, 11000, 3),
        (6.0, 13.0, 50, 3680, 1),
    ]
    out = []
    for i, (arr, by, kwh, w, ph) in enumerate(rows):
        out.append({
            "vehicle_id": "VAN-%02d" % (i + 1), "arrive_s": int(arr * H), "leave_s": int(15.9 * H),
            "by": START + int(by * H), "need_wh": kwh * 1000 + 10000, "max_w": w, "phases": ph,
            # 100 kWh batteries that end the night at 90 %: the last part tapers above 80 %,
            # and the battery would take 10 kWh more than the fleet asks for.
            "capacity_wh": 100000, "soc_start_wh": 100000 - kwh * 1000 - 10000,
            "want_wh": kwh * 1000,
        })
    return out


def scenario(tick_ms=30000):
    vs = vehicles()
    sched = [{"vehicle_id": v["vehicle_id"], "need_wh": v["want_wh"], "by": v["by"],
              "max_w": v["max_w"]} for v in vs]
    cmds = [
        {"at_s": 60, "cmd": {"id": "p1", "cmd": "prices", "start": START, "step_s": H, "prices": PRICES}},
        {"at_s": 60, "cmd": {"id": "f1", "cmd": "fleet_schedule", "vehicles": sched}},
        {"at_s": DR[0], "cmd": {"id": "dr1", "cmd": "limit", "current_a": 6,
                                "duration_s": DR[1] - DR[0]}},
    ]
    return {"start_epoch": START, "end_s": 16 * H, "tick_ms": tick_ms, "prices":
            {"start": START, "step_s": H, "prices": PRICES}, "vehicles": vs, "commands": cmds,
            "dr_window_s": list(DR),
            "config": {"max_current_a": 16, "phases": 3, "pilot_debounce": 1}}


def naive_cost(v):
    """Öre if the vehicle charged at full power from arrival (no schedule): the baseline."""
    left = v["want_wh"] * 3600  # Ws
    t = v["arrive_s"]
    cost = 0
    while left > 0:
        h = t // H
        dt = min((h + 1) * H - t, -(-left // v["max_w"]))
        e = v["max_w"] * dt
        cost += e * PRICES[min(h, len(PRICES) - 1)]
        left -= e
        t += dt
    return round(cost / 3600 / 1000)


def _night(sc, work):
    path = os.path.join(work, "scenario.json")
    with open(path, "w") as f:
        json.dump(sc, f)
    code = "from laddvakt_unix.sim import fleet_night; fleet_night.main(%r, %r)" % (path, work + "/j")
    return subprocess.run([MICROPYTHON, "-c", code], capture_output=True, text=True, timeout=600,
                          env=micropython_env(FIRMWARE))


def run(tick_ms=30000):
    sc = scenario(tick_ms)
    work = tempfile.mkdtemp(prefix="fleet-night-", dir=BUILD if os.path.isdir(BUILD) else None)
    try:
        p = _night(sc, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # each run's journal is scratch
    for line in p.stdout.splitlines():
        if line.startswith("fleet-night "):
            res = json.loads(line.split(" ", 1)[1])
            for r, v in zip(res["vehicles"], sc["vehicles"]):
                r["want_wh"] = v["want_wh"]
                r["naive_cost_minor"] = naive_cost(v)
            return res
    raise RuntimeError("fleet night failed:\n" + p.stdout + p.stderr)


def _hm(t):
    return time.strftime("%H:%M", time.gmtime(t))


def main():
    res = run()
    print("%-7s %6s %6s %7s %7s %5s %-17s %8s %8s" % (
        "vehicle", "need", "by", "at by", "total", "met", "shortfall report", "cost", "ASAP"))
    for r in res["vehicles"]:
        short = r["short_reported_t"]
        print("%-7s %5.1fk %6s %6.1fk %6.1fk %5s %-17s %8d %8d" % (
            r["vehicle_id"], r["want_wh"] / 1000, _hm(r["by"]), r["by_deadline_wh"] / 1000,
            (r["energy_wh"] or 0) / 1000, "yes" if r["by_deadline_wh"] >= r["want_wh"] else "no",
            ("at %s" % _hm(short)) if short else "-", r["cost_minor"], r["naive_cost_minor"]))
    tot = sum(r["cost_minor"] for r in res["vehicles"])
    naive = sum(r["naive_cost_minor"] for r in res["vehicles"])
    print("costs in öre (UTC times); total %d öre scheduled against %d öre charging on arrival "
          "(ASAP); demand response 02:00-03:30 held every charger at <= %d W"
          % (tot, naive, max(r["dr_max_w"] for r in res["vehicles"])))
    if res["errors"]:
        print("command errors: %s" % res["errors"], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
