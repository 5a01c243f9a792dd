"""A simulated month of a small fleet: 10 vehicles (ID tags) charging at 3 stations.

Each station is one agent under micropython with its own device id and scenario, all three
at once against one broker and the reference backend; the report then reads the backend's
database. `python -m host_tools.sim.fleet_month --out build/fleet` runs it and writes the report.
"""
import argparse
import json
import os
import random
import subprocess
import sys
import time

from host_tools.repo import BUILD
from host_tools.sim import agent

MONTH_START = 1793491200  # 2026-11-01 00:00 UTC
DAYS = 30
STATIONS = ["station-1", "station-2", "station-3"]
VEHICLES = ["EV%02d" % i for i in range(1, 11)]
# Customers are groups of ID tags, invoiced per month.
CUSTOMERS = {"Acme Logistics AB": VEHICLES[:4], "Bergström Bygg": VEHICLES[4:7],
             "Private": VEHICLES[7:]}
TARIFF = {"id": "fleet", "version": 1, "currency": "SEK", "minor_unit": 2, "energy": 1800000,
          "tz_min": 60, "dst": "eu",
          "tou": [{"days": [0, 1, 2, 3, 4], "from": 360, "to": 1260, "price": 3200000}],
          "holidays": ["2026-12-24", "2026-12-25"],
          "time_fee": 2000, "idle_fee": 50000, "idle_grace_s": 1800, "start_fee": 500000,
          "vat_bp": 2500, "max": 100000}


def scenarios(seed=6, days=DAYS):
    """{station: scenario}: non-overlapping visits; each vehicle mostly uses its home station."""
    rnd = random.Random(seed)
    home = {v: STATIONS[i * len(STATIONS) // len(VEHICLES)] for i, v in enumerate(VEHICLES)}
    visits = {s: [] for s in STATIONS}
    free_at = {s: 0 for s in STATIONS}
    for day in range(days):
        for v in rnd.sample(VEHICLES, len(VEHICLES)):
            if rnd.random() < 0.45:
                continue  # this vehicle does not charge today
            st = home[v] if rnd.random() < 0.8 else rnd.choice(STATIONS)
            arrive = max(free_at[st] + 300, day * 86400 + rnd.choice([7, 8, 9, 12, 16, 17, 18, 21]) * 3600
                         + rnd.randrange(0, 3600, 60))
            if arrive >= (day + 1) * 86400 or arrive + 11 * 3600 >= days * 86400:
                continue  # every visit ends within the month, so every session is billed
            stay = rnd.randrange(3600, 11 * 3600, 600)
            visits[st].append({"arrive_s": arrive, "leave_s": arrive + stay,
                               "need_wh": rnd.randrange(4000, 45000, 500),
                               "max_w": rnd.choice([3680, 7360, 11000]), "id_tag": v})
            free_at[st] = arrive + stay
    out = {}
    for st in STATIONS:
        vs = sorted(visits[st], key=lambda x: x["arrive_s"])
        out[st] = {"start_epoch": MONTH_START, "sync_after_s": 60, "tick_ms": 300000,
                   "end_s": days * 86400, "meter_start_wh": 500000 * (1 + STATIONS.index(st)),
                   "visits": vs}
    return out


def run_fleet(workdir, broker=None, days=DAYS, seed=6, timeout=600):
    """Run the three stations; returns {"db", "sessions", "summaries", "visits"}."""
    if broker is None:
        from host_tools.testing.broker import Broker

        with Broker("auto") as b:
            return run_fleet(workdir, b, days, seed, timeout)
    from host_tools.backend.service import Backend, wait_for

    os.makedirs(workdir, exist_ok=True)
    db = os.path.join(workdir, "fleet.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db + suffix):
            os.remove(db + suffix)
    backend = Backend(db, "127.0.0.1", broker.port, on_receipt=lambda t: None)
    backend.start()
    procs = {}
    try:
        scen = scenarios(seed, days)
        for st, sc in scen.items():
            data = os.path.join(workdir, st)
            agent.prepare_device(data, broker.port, sc, device_id=st,
                               config={"meter_value_interval_s": 900, "journal_max_bytes": 1048576},
                               tariff=TARIFF, ack=None)
            cmd, env = agent.agent_command(data)
            procs[st] = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                         text=True)
        summaries = {}
        for st, p in procs.items():
            out, err = p.communicate(timeout=timeout)
            if p.returncode != 0:
                raise RuntimeError("%s failed (%s):\n%s%s" % (st, p.returncode, out[-2000:], err[-2000:]))
            summaries[st] = agent.parse_summary(out)
        want = sum(s["sessions"] for s in summaries.values())
        wait_for(lambda: len(backend.store.sessions()) >= want, 30)
        wait_for(lambda: not backend.store.query("SELECT sid FROM checks WHERE status = 'pending'"), 30)
        sessions = backend.store.sessions()
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
        backend.stop()
    return {"db": db, "sessions": sessions, "summaries": summaries,
            "visits": sum(len(s["visits"]) for s in scen.values())}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m host_tools.sim.fleet_month", description=__doc__)
    ap.add_argument("--out", default=os.path.join(BUILD, "fleet"))
    ap.add_argument("--days", type=int, default=DAYS)
    args = ap.parse_args(argv)
    t0 = time.monotonic()
    r = run_fleet(args.out, days=args.days)
    with open(os.path.join(args.out, "customers.json"), "w") as f:
        json.dump(CUSTOMERS, f, indent=1)
    print("fleet: %d sessions from %d visits in %.1f s; db %s" % (
        len(r["sessions"]), r["visits"], time.monotonic() - t0, r["db"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
