# A fleet's night in virtual time: one agent per charger (real controller, tracker and
# journal), each on its simulated station with one vehicle. Commands (prices, the fleet
# schedule, a demand response event) go through the command handler as JSON, as they would
# arrive over MQTT. Prints one JSON line of results. Driven by host_tools/sim/fleet_night.py.
import json
import os

from laddvakt.core import config
from laddvakt.app.agent import Agent
from laddvakt.uplink.commands import CommandHandler
from laddvakt.control.commands import control_commands
from laddvakt.core.ident import Identity
from laddvakt.journal.store import Journal
from laddvakt_unix.sim.ev import SimStation
from laddvakt_unix.sim.plant import SimTimeSource


class _Hal:
    bench = False

    def __init__(self, data_dir):
        self.data_dir = data_dir
        try:
            os.mkdir(data_dir)
        except OSError:
            pass


def _price(prices, wall):
    i = (wall - prices["start"]) // prices["step_s"]
    return prices["prices"][i] if 0 <= i < len(prices["prices"]) else 0


def _plans(agent):
    out = []

    def visit(seq, t, mv):
        d = agent.codec.decode(t, mv, seq)
        if d["type"] in ("plan", "session_end"):
            out.append(d)
        return True

    agent.journal.read_after(0, visit)
    return out


def run(sc, workdir):
    try:
        os.mkdir(workdir)
    except OSError:
        pass
    epoch = sc["start_epoch"]
    chargers = []
    for i, v in enumerate(sc["vehicles"]):
        st = SimStation({"visits": [v], "start_epoch": epoch})
        cfg = config.merged(sc["config"])
        j = Journal("%s/j%02d" % (workdir, i), 16384, 262144).open()
        a = Agent(_Hal("%s/d%02d" % (workdir, i)), cfg, {"name": "unix-sim"}, Identity("%012x" % (i + 1), 1), j,
                  meter=st, pilot=st, time_source=SimTimeSource({"start_epoch": epoch}), plant=st)
        h = CommandHandler(control_commands(a.control, a.uptime_ms, a.wall_s, a.faults.codes))
        chargers.append({"agent": a, "st": st, "h": h, "v": v, "by_deadline_mwh": 0,
                         "cost": 0, "dr_max_w": 0})
    cmds = sorted(sc["commands"], key=lambda c: c["at_s"])
    dr = sc.get("dr_window_s", (0, 0))
    prices = sc["prices"]
    tick = sc["tick_ms"]
    up = 0
    ci = 0
    errors = []
    while up < sc["end_s"] * 1000:
        up += tick
        while ci < len(cmds) and cmds[ci]["at_s"] * 1000 <= up:
            c = cmds[ci]
            ci += 1
            for ch in chargers:
                ch["agent"].up_ms = up  # the command arrives between two ticks
                r = json.loads(ch["h"].handle(json.dumps(c["cmd"])))
                if not r["ok"]:
                    errors.append(r["error"])
        wall = epoch + up // 1000
        for ch in chargers:
            st = ch["st"]
            e0 = st.register_mwh
            ch["agent"].step(up)
            de = st.register_mwh - e0
            ch["cost"] += de * _price(prices, wall)
            if wall <= ch["v"]["by"]:
                ch["by_deadline_mwh"] += de
            if dr[0] <= up // 1000 < dr[1] and st.power_w > ch["dr_max_w"]:
                ch["dr_max_w"] = st.power_w
    out = []
    for ch in chargers:
        recs = _plans(ch["agent"])
        plans = [d for d in recs if d["type"] == "plan"]
        ends = [d for d in recs if d["type"] == "session_end"]
        v = ch["v"]
        out.append({
            "vehicle_id": v["vehicle_id"], "need_wh": v["need_wh"], "by": v["by"],
            "arrive_s": v["arrive_s"], "max_w": v["max_w"],
            "by_deadline_wh": ch["by_deadline_mwh"] // 1000,
            "energy_wh": ends[0]["energy_wh"] if ends else None,
            "cost_minor": (ch["cost"] + 500000) // 1000000,
            "first_plan_feasible": plans[0]["feasible"] if plans else None,
            "short_reported_t": ([d["t"] for d in plans if not d["feasible"]] or [None])[0],
            "plan_reports": len(plans),
            "dr_max_w": ch["dr_max_w"],
            "stop_reason": ends[0]["stop_reason"] if ends else None,
        })
        ch["agent"].journal.close()
    return {"vehicles": out, "errors": errors}


def main(scenario_path, workdir):
    with open(scenario_path) as f:
        sc = json.loads(f.read())
    print("fleet-night " + json.dumps(run(sc, workdir)))
