# A whole agent (real journal, tracker, controller) on the simulated station, stepped in
# virtual time: the rig the control tests drive. Runs on the unix port and on a board.
import os

from fwtest import rmtree

from laddvakt.control.commands import control_commands
from laddvakt.core import config
from laddvakt.app.agent import Agent
from laddvakt.core.ident import Identity
from laddvakt.journal.store import Journal
from laddvakt_unix.sim.ev import SimStation
from laddvakt_unix.sim.plant import SimTimeSource

T0 = 1795154400
_n = [0]


class DataHal:
    """The HAL part an agent needs off the board: a fresh data directory."""
    bench = False

    def __init__(self, data_dir):
        # Pricing keeps its tariff files here.
        rmtree(data_dir)
        os.mkdir(data_dir)
        self.data_dir = data_dir


class Rig:
    def __init__(self, visits, events=(), **cfg):
        _n[0] += 1
        path = "ctlrig-j%d" % _n[0]
        rmtree(path)
        over = {"pilot_debounce": 1}
        over.update(cfg)
        self.cfg = config.merged(over)
        sc = {"visits": visits, "events": list(events), "start_epoch": T0, "meter_start_wh": 1000}
        sc.update(cfg.get("_scenario", {}))
        self.st = SimStation(sc)
        self.st.duty_log = []
        j = Journal(path, 16384, 262144).open()
        self.agent = Agent(DataHal(path + "-d"), self.cfg, {"name": "unix-sim"}, Identity("5f0c2a9e81d3", 1), j,
                           meter=self.st, pilot=self.st, time_source=SimTimeSource(sc), plant=self.st)
        self.ctl = self.agent.control
        self.up = 0
        self.statuses = []

    def commands(self):
        """The control commands, wired as the agent's uplink wires them."""
        a = self.agent
        return control_commands(a.control, a.uptime_ms, a.wall_s, a.faults.codes)

    def run_to(self, t_ms, tick_ms=1000):
        while self.up < t_ms:
            self.up += tick_ms
            self.agent.step(self.up)
            s = self.ctl.status
            if not self.statuses or self.statuses[-1] != s:
                self.statuses.append(s)

    def records(self, rtype=None):
        out = []

        def visit(seq, t, mv):
            d = self.agent.codec.decode(t, mv, seq)
            if rtype is None or d["type"] == rtype:
                out.append(d)
            return True

        self.agent.journal.read_after(0, visit)
        return out

    def faults(self):
        return [(d["code"], d["active"]) for d in self.records("fault")]

    def ends(self):
        return self.records("session_end")
