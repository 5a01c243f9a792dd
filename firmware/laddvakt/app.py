# The agent: builds everything once from the HAL, board and config, then runs the
# sampling loop and the uplink as two asyncio tasks. Sampling never waits on the
# network; the journal sits between them.
import asyncio
import json

from . import VERSION, board as boards, config, ident as identity, records
from . import journal_format as jf
from .clock import Clock
from .commands import CommandHandler
from .faults import Faults
from .journal import Journal
from .journal_guard import JournalGuard
from .journal_records import time_sync
from .memstat import MemStat
from .session_store import Continuity, SessionStore
from .tariff import FlatTariff
from .tracker import SessionTracker


class Agent:
    def __init__(self, hal, cfg, board, ident, journal, meter, pilot, time_source, ticker, plant=None):
        self.hal = hal
        self.cfg = cfg
        self.board = board
        self.ident = ident
        self.journal = journal
        self.meter = meter
        self.pilot = pilot
        self.time_source = time_source
        self.ticker = ticker
        self.plant = plant  # the simulated EV and meter, on the unix-sim board
        self.clock = Clock()
        self.tariff = FlatTariff.from_config(cfg)
        self.tracker = SessionTracker(self._new_sid)
        self.faults = Faults()
        self.mem = MemStat(hal.bench)
        self.sessions = 0
        self.meter_errors = 0
        self.up_ms = 0
        self._next_mv_ms = 0
        # Journal area: the open session on flash, and the journal's capacity policy.
        self.keeper = Continuity(SessionStore(hal.data_dir + "/session", ident.install), self)
        self.guard = JournalGuard(self)

    def _new_sid(self):
        # The install id plus the seq of the session's start record: unique for
        # the install's lifetime, and 21 characters (OCPP 2.0.1 allows 36).
        return "%s-%08x" % (self.ident.install, self.journal.seq + 1)

    def _log(self, rtype, payload):
        return self.journal.append(rtype, payload.encode())

    def set_fault(self, code, on, info=None):
        """Detectors call this every tick; an edge (raised or cleared) is journaled, and so
        published. Returns True on an edge."""
        if not self.faults.update(code, on, info):
            return False
        s = self.tracker.session
        self._log(jf.TYPE_FAULT, records.fault(self.clock, self.up_ms, self.ident, code, on,
                                               info, s.sid if s else None))
        return True

    def start(self):
        self.keeper.on_boot()
        self._log(jf.TYPE_BOOT, records.boot(self.clock, 0, self.ident, VERSION, self.board["name"]))

    def step(self, up_ms):
        """One sample: clock sync, readings, session tracking, periodic values."""
        self.up_ms = up_ms
        clock = self.clock
        if not clock.synced:
            ts = self.time_source.unix_s(up_ms)
            if ts is not None and clock.sync(up_ms, ts):
                self._log(jf.TYPE_TIME_SYNC, time_sync(clock, up_ms, self.ident))
        if self.plant:
            self.plant.step(up_ms)
        try:
            energy, power = self.meter.read()
        except OSError:
            # Meter health and faults come with the Modbus layer; never book a guess.
            self.meter_errors += 1
            return
        tag = self.plant.id_tag() if self.plant else None
        pilot = self.pilot.read()
        keeper = self.keeper
        if keeper.saved:
            keeper.resume(up_ms, pilot, energy)
        ev = self.tracker.on_sample(up_ms, clock.wall_s(up_ms), clock.quality(), pilot, energy, tag)
        if ev:
            kind, s = ev
            if kind == "start":
                rec = records.session_start(clock, self.ident, s, self.tariff)
                keeper.opened(s, rec, self.tariff)
                self._log(jf.TYPE_SESSION_START, rec)
                self._next_mv_ms = up_ms + self.cfg["meter_value_interval_s"] * 1000
            else:
                tariff = keeper.tariff_for(self.tariff)
                rec = records.session_end(clock, self.ident, s, tariff, tariff.session_cost(s))
                keeper.ending(rec)
                self._log(jf.TYPE_SESSION_END, rec)
                keeper.ended()
                self.sessions += 1
        s = self.tracker.session
        iv = self.cfg["meter_value_interval_s"]
        if s is not None and iv and up_ms >= self._next_mv_ms:
            # OCPP MeterValueSampleInterval: counted from the session's start.
            self._next_mv_ms += iv * 1000
            keeper.progress(s, energy, up_ms)
            if self.guard.keep_periodic():
                self._log(jf.TYPE_METER, records.meter(clock, up_ms, self.ident, s.sid, energy, power))
        self.guard.step(up_ms)
        self.mem.note()

    async def sample_loop(self, until_ms=None):
        while until_ms is None or self.up_ms < until_ms:
            self.step(await self.ticker.next())

    def status(self, args):
        s = self.tracker.session
        return {
            "session": s.sid if s else None,
            "journal_seq": self.journal.seq,
            "delivered_seq": self.journal.delivered,
            "uptime_ms": self.up_ms,
            "faults": self.faults.codes(),
            "journal_bytes": self.journal.bytes_used(),
            "journal_skipped": self.journal.skipped,
            "journal_full": self.guard.full,
        }


def _build_meter_and_pilot(hal, board, data_dir):
    kind = board["meter"]["type"]
    if kind == "sim":
        from .sim.plant import SimMeter, SimPilot, SimPlant, SimTimeSource

        with open(data_dir + "/scenario.json") as f:
            scenario = json.loads(f.read())
        plant = SimPlant(scenario)
        return SimMeter(plant), SimPilot(plant), SimTimeSource(scenario), plant, scenario
    raise config.ConfigError("meter type '%s' is not supported on this build" % kind)


def build(hal):
    cfg = config.load(hal.data_dir + "/config.json")
    board = boards.load(hal.boards_dir, cfg["board"])
    ident = identity.load_and_count_boot(hal.data_dir + "/ident.json", hal.urandom)
    journal = Journal(hal.data_dir + "/journal", cfg["journal_segment_bytes"], cfg["journal_max_bytes"]).open()
    meter, pilot, tsrc, plant, scenario = _build_meter_and_pilot(hal, board, hal.data_dir)
    if scenario is not None:
        from .ticker import VirtualTicker

        ticker = VirtualTicker(scenario.get("tick_ms", cfg["sample_interval_ms"]),
                               scenario.get("tick_real_ms", 0))
    else:
        ticker = hal.ticker(cfg["sample_interval_ms"])
    agent = Agent(hal, cfg, board, ident, journal, meter, pilot, tsrc, ticker, plant)
    return agent, scenario


def make_uplink(agent):
    from .mqtt_client import MQTTLink
    from .uplink import Uplink

    cfg = agent.cfg
    link = MQTTLink(
        "laddvakt-" + agent.ident.install, cfg["mqtt_host"], cfg["mqtt_port"],
        cfg["mqtt_timeout_ms"], cfg["batch_max_bytes"] + 256,
        user=cfg["mqtt_user"] or None, password=cfg["mqtt_password"] or None,
        keepalive=cfg["mqtt_keepalive_s"],
    )
    cmds = CommandHandler({"ping": lambda a: {"pong": True}, "status": agent.status})
    rnd = agent.hal.urandom

    def rand(n):
        return int.from_bytes(rnd(2), "little") % n

    return Uplink(link, agent.journal, cfg, agent.ident, VERSION, cmds, rand)


async def _run(agent, uplink, scenario):
    agent.start()
    up_task = asyncio.create_task(uplink.run())
    if scenario is None:
        await agent.sample_loop()
        return
    await agent.sample_loop(scenario["end_s"] * 1000)
    # Simulation over: let the uplink drain the journal, then go offline cleanly.
    for _ in range(scenario.get("drain_timeout_ms", 30000) // 20):
        if uplink.drained():
            break
        await asyncio.sleep_ms(20)
    up_task.cancel()
    uplink.shutdown()
    agent.mem.note()


def main(argv=None):
    from . import hal as halmod

    hal = halmod.load(argv)
    try:
        agent, scenario = build(hal)
    except (config.ConfigError, boards.BoardError) as e:
        # A site's config or board file is wrong: say which key, and do not start.
        print("laddvakt: cannot start: %s" % e)
        return 2
    hal.net_up(agent.cfg)
    uplink = make_uplink(agent)
    asyncio.run(_run(agent, uplink, scenario))
    summary = {
        "sessions": agent.sessions,
        "journal_seq": agent.journal.seq,
        "delivered_seq": agent.journal.delivered,
        "heap_peak_bytes": agent.mem.peak,
        "meter_errors": agent.meter_errors,
        "uplink_failures": uplink.failures,
    }
    agent.journal.close()
    print("laddvakt-summary " + json.dumps(summary))
    return 0 if not agent.journal.pending() else 1
