# The agent: builds everything once from the HAL, board and config, then runs the
# sampling loop and the uplink as two asyncio tasks. Sampling never waits on the
# network; the journal sits between them.
import asyncio
import gc
import json

from laddvakt import VERSION
from laddvakt.core import board as boards
from laddvakt.core import config
from laddvakt.core import ident as identity
from laddvakt.journal import records
from laddvakt.journal import frame as jf
from laddvakt.core.clock import Clock
from laddvakt.uplink.commands import CommandHandler
from laddvakt.control.controller import Controller
from laddvakt.control.faults import Faults
from laddvakt.journal.store import Journal
from laddvakt.journal.guard import JournalGuard
from laddvakt.journal.own_records import time_sync
from laddvakt.core.memstat import MemStat
from laddvakt.meters.service import MeterService
from laddvakt.billing.service import Pricing, charge_state
from laddvakt.journal.codec import Codec
from laddvakt.session.store import Continuity, SessionStore
from laddvakt.session.tracker import SessionTracker
from laddvakt.app.watchdog import Watchdog
from laddvakt.core.ids import session_id


class Agent:
    def __init__(self, hal, cfg, board, ident, journal, meter, pilot, time_source, ticker, plant=None,
                 meter_profile=None):
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
        self.pricing = Pricing(cfg, hal.data_dir, self._log, self.clock, ident)
        self.tracker = SessionTracker(self._new_sid)
        self.faults = Faults()
        # `pilot` is the control hardware: CP ADC and PWM, contactor, RCD (sim/ev.py, cp_hw.py).
        self.control = Controller(cfg, pilot, self.faults, self.set_fault)
        self.control.on_plan = self._log_plan
        self.limits = self.control  # the console's `limit [amps]` (console.py)
        # One dynamic price schedule: the one billing prices sessions with also steers fleet
        # charging into the cheapest periods (docs/control.md, docs/tariffs.md).
        self.pricing.on_schedule = self._plan_prices
        if self.pricing.sched is not None:
            self._plan_prices(self.pricing.sched)
        self.mem = MemStat(hal.bench)
        self.watchdog = Watchdog(cfg, self.set_fault)
        self.sessions = 0
        self.metering = MeterService(meter, cfg, self.set_fault, self._meter_event, meter_profile)
        self.uplink = None
        self.up_ms = 0
        self._next_mv_ms = 0
        self._next_sample_ms = 0
        self._edge = "A"  # control's session pilot at the last sample
        self._current = 0  # the last measured current (dA per phase), for control
        # Journal area: the open session on flash, and the journal's capacity policy, which
        # decides whether control pauses on the journal's InternalError (docs/journal.md).
        self.keeper = Continuity(SessionStore(journal.path + "/session", ident.install), self)
        self.guard = JournalGuard(self)
        self.control.suspend_check = self.guard.suspended
        self.pricing.on_change = self._cost_split
        # Records are journaled compact and rendered to JSON when read (docs/journal.md, Record
        # encoding); the signed OCMF text names this device, firmware and meter serial.
        self.codec = Codec(ident.install, self.pricing._key, cfg["device_id"], VERSION, self._meter_serial)

    def _new_sid(self):
        # The install id plus the seq of the session's start record: unique for
        # the install's lifetime, and 21 characters (OCPP 2.0.1 allows 36).
        return session_id(self.ident.install, self.journal.seq + 1)

    def _log(self, rtype, rec, commit=True):
        """Journal a record (a dict, or a payload already encoded for it); returns its seq.
        commit=False: held in RAM until the next commit (docs/journal.md, Commits)."""
        if type(rec) is dict:
            rec = self.encode(rtype, rec)
        return self.journal.append(rtype, rec, commit)

    def encode(self, rtype, d):
        # The seq is the one the journal gives next: session ids and the signed pagination
        # name it, so the compact form leaves it out.
        return self.codec.encode(rtype, d, self.journal.seq + 1)

    def _meter_serial(self):
        serial = self.metering.serial
        return self.cfg["meter_serial"] if serial is None else "%x" % serial

    def set_fault(self, code, on, info=None, src=None):
        """Detectors call this every tick; an edge (raised or cleared) is journaled, and so
        published. Returns True on an edge. `src` names the owner where a code has several
        (faults.py): the code clears when its last owner clears it."""
        if not self.faults.update(code, on, info, src):
            return False
        s = self.tracker.session
        self._log(jf.TYPE_FAULT, records.fault(self.clock, self.up_ms, self.ident, code, on,
                                               info, s.sid if s else None))
        return True

    def _meter_event(self, event, reason, value_dwh):
        s = self.tracker.session
        self._log(jf.TYPE_METER_EVENT, records.meter_event(self.clock, self.up_ms, self.ident, event, reason,
                                                           value_dwh, s.sid if s else None))

    def start(self):
        # A quiet point: building the agent left garbage behind (parsed JSON files, loaded
        # modules) that the sampling loop should not start with.
        gc.collect()
        self.keeper.on_boot()
        self._log(jf.TYPE_BOOT, records.boot(self.clock, 0, self.ident, VERSION, self.board["name"]))
        self.pricing.start(0)
        # A quiet point: start-up leaves import and config garbage behind; collect it before
        # the loop, so the heap then holds live data plus one step's garbage.
        gc.collect()

    def step(self, up_ms):
        """One control tick, and a sample (clock sync, readings, session tracking, periodic
        values) when one is due or a session edge wants a reading now."""
        self.up_ms = up_ms
        due = up_ms >= self._next_sample_ms
        clock = self.clock
        if due and not clock.synced:
            ts = self.time_source.unix_s(up_ms)
            if ts is not None and clock.sync(up_ms, ts):
                self._log(jf.TYPE_TIME_SYNC, time_sync(clock, up_ms, self.ident))
        if self.plant:
            self.plant.step(up_ms)
        # Control first, every tick, reading or not: safety never waits for the meter. It
        # judges the current last measured.
        ctl = self.control
        reason = ctl.tick(up_ms, clock.wall_s(up_ms), self._current, self.tracker.session)
        # A session that ends (the contactor opened above) or starts is read now, so its meter
        # stop or start is the register at this tick: no energy flows outside a session.
        if due or reason or ctl.session_pilot() != self._edge:
            self._sample(up_ms, reason)

    def _sample(self, up_ms, reason):
        self._next_sample_ms = up_ms + self.cfg["sample_interval_ms"]
        clock = self.clock
        ctl = self.control
        mt = self.metering
        fresh = mt.sample(up_ms)
        wall = clock.wall_s(up_ms)
        if fresh:
            self._current = self._current_da(mt.power_w)
            ctl.observe(mt.power_w)
        self._edge = ctl.session_pilot()
        if self.keeper.saved and fresh and ctl.pilot.settled:
            # The session open at the last reset goes on or ends (PowerLoss), once the pilot
            # reading has settled (docs/journal.md, Session continuity).
            s = self.keeper.resume(up_ms, ctl.state, mt.energy_wh)
            if s is not None:
                mt.mark()
                ctl.session_started(s, wall)
        if reason:
            s = self.tracker.session
            self._on_event(self.tracker.stop(up_ms, wall, s.meter_last_wh if mt.energy_wh is None
                                             else mt.energy_wh, reason), up_ms, None)
        if not fresh and (self.tracker.session is None or mt.energy_wh is None):
            return  # no reading: counted, faulted after the grace; no session opens on a stale one
        # Without a fresh reading an open session can still end (the EV leaves), at the last
        # booked reading, flagged unverified_end (docs/meters.md); nothing is guessed.
        energy, power = mt.energy_wh, mt.power_w
        pilot = ctl.session_pilot()
        pr = self.pricing
        # A silent meter says nothing about charging: the state holds until it answers again.
        # An EV held back by the EVSE (a pause, a limit under 6 A) owes no idle fee.
        st = charge_state(pilot, power, ctl.status == "SuspendedEVSE") if fresh else pr.held_state()
        reading = None
        split = mt.split(self.tracker, up_ms, wall)
        if split:
            self._on_event(split, up_ms, st, True)
        else:
            ev = self.tracker.on_sample(up_ms, wall, clock.quality(), pilot, energy, ctl.auth.tag)
            if ev:
                self._on_event(ev, up_ms, st)
            elif self.tracker.session is not None:
                reading = pr.sample(up_ms, wall, self.tracker.session.sid, energy, st)
        s = self.tracker.session
        if s is None:
            pr.idle_step(up_ms, wall, energy)
        iv = self.cfg["meter_value_interval_s"]
        if s is not None and iv and up_ms >= self._next_mv_ms:
            # OCPP MeterValueSampleInterval: counted from the session's start.
            self._next_mv_ms += iv * 1000
            if fresh:
                self.keeper.progress(s, energy, up_ms)
                if self.guard.keep_periodic():
                    # Held for the next commit (the store above has this value on flash
                    # already): docs/journal.md, Commits.
                    self._log(jf.TYPE_METER_PERIODIC, records.meter(clock, up_ms, self.ident, s.sid, energy,
                                                                    power, extra=pr.reading_fields()), False)
                reading = None
        if reading is not None and s is not None:
            # The price or the charge state changed here: the backend's recomputation needs
            # the register at this point, fresh or last booked (docs/tariffs.md). The session
            # store keeps the cost booked up to it, so a resumed session prices alike.
            self.keeper.progress(s, energy, up_ms)
            self._log(jf.TYPE_METER_EDGE, records.meter(clock, up_ms, self.ident, s.sid, energy, power,
                                                        reading.pop("ctx"), pr.reading_fields()))
        self.guard.step(up_ms)
        self.mem.note()

    def _plan_prices(self, sched):
        from laddvakt.control.fleet import Prices

        # The planner ranks periods in whole minor units per kWh, >= 0: a negative spot price
        # plans as free, which it is for ranking against any positive one.
        self.control.set_prices(Prices(sched.start, sched.step_s,
                                       [self.pricing.price_minor(p) for p in sched.prices]))

    def _log_plan(self, p, vehicle, need_wh, by_t):
        s = self.tracker.session
        self._log(jf.TYPE_PLAN, records.plan(self.clock, self.up_ms, self.ident, s.sid if s else None,
                                             vehicle, need_wh, by_t, p))

    def _current_da(self, power_w):
        # Per-phase current: from the meter if it measures it, else from power at nominal voltage.
        f = getattr(self.meter, "current_da", None)
        if f is not None:
            return f()
        if not power_w:
            return 0
        return power_w * 10 // (self.cfg["voltage_v"] * self.cfg["phases"])

    def _on_event(self, ev, up_ms, st, split=False):
        # split: a meter replacement ended the session; the next one starts on the new meter
        # for the same EV and authorization (docs/meters.md), so control does not finish.
        if not ev:
            return
        clock = self.clock
        kind, s = ev
        if kind == "start":
            self.metering.mark()
            s.vehicle_id = self.control.auth.vehicle or self.pilot.vehicle_id()
            self.control.session_started(s, clock.wall_s(up_ms))
            pr = self.pricing
            rec = self.encode(jf.TYPE_SESSION_START, records.session_start(
                clock, self.ident, s, pr.tariff, pr.open(s, s.start_t, up_ms, s.meter_start_wh, st)))
            self.keeper.opened(s, rec)  # on flash before the record: docs/journal.md
            self._log(jf.TYPE_SESSION_START, rec)
            self._next_mv_ms = up_ms + self.cfg["meter_value_interval_s"] * 1000
        else:
            self.control.session_ended(split)
            self.end_session(s)

    def _cost_split(self, wh, up, n):
        # A tariff or schedule update split the open session's cost at register wh: on flash,
        # with the seq of the tariff_change record that follows n records from now.
        s = self.tracker.session
        if s is not None:
            self.keeper.progress(s, wh, up, [self.journal.seq + n, self.pricing.tariff.to_dict()])

    @property
    def tariff(self):
        """The tariff in force (the console's `tariff` command reads it)."""
        return self.pricing.tariff

    def end_session(self, s):
        """Journal the end of session s (already closed by the tracker): priced, signed."""
        rec = self.encode(jf.TYPE_SESSION_END, self.session_end_record(s))
        self.keeper.ending(rec)  # on flash with its seq before the record: docs/journal.md
        self._log(jf.TYPE_SESSION_END, rec)
        self.keeper.ended()
        self.sessions += 1

    def session_end_record(self, s):
        pr = self.pricing
        up = s.end_up
        bill = pr.close(s, s.end_t, up, s.meter_stop_wh, self.cfg["device_id"], VERSION,
                        self._meter_serial(), "T%d" % (self.journal.seq + 1))
        flags = self.metering.session_flags()
        return pr.fit(lambda b: records.session_end(self.clock, self.ident, s, pr.tariff, b["cost_minor"],
                                                    flags, b), bill, jf.MAX_PAYLOAD)

    async def sample_loop(self, until_ms=None):
        wd = self.watchdog
        while until_ms is None or self.up_ms < until_ms:
            self.step(await self.ticker.next())
            wd.feed(self.up_ms)  # only after a whole step: a stuck step resets the board

    # ---- accessors for the serial console (console.py) ---------------------------
    def meter_status(self):
        m = self.metering
        return (("type", self.board["meter"]["type"]), ("profile", m.profile or "-"),
                ("energy_wh", "-" if m.energy_wh is None else m.energy_wh), ("power_w", m.power_w),
                ("read_errors", m.health.failed_polls), ("failed_in_a_row", m.health.in_a_row),
                ("rejected", sum(m.guard.rejected)))

    def journal_status(self):
        j = self.journal
        used = j.bytes_used()
        return (("seq", j.seq), ("delivered", j.delivered), ("pending", j.pending()),
                ("bytes_used", used), ("capacity", j.max_bytes),
                ("fill_pct", used * 100 // j.max_bytes), ("segment_bytes", j.segment_bytes),
                ("segments", len(j._segs)), ("corrupt_tails", len(j.corrupt)))

    def status(self, args):
        s = self.tracker.session
        return {
            "session": s.sid if s else None,
            "journal_seq": self.journal.seq,
            "delivered_seq": self.journal.delivered,
            "uptime_ms": self.up_ms,
            "faults": self.faults.codes(),
            "connector": self.control.status,
            "meter": self.metering.status(),
            "journal_bytes": self.journal.bytes_used(),
            "journal_skipped": self.journal.skipped,
            "journal_full": self.guard.full,
            "cost_minor": self.pricing.cost.running_minor() if self.pricing.cost else None,
        }


def build(hal):
    cfg = config.load(hal.data_dir + "/config.json")
    board = boards.load(hal.boards_dir, cfg["board"])
    ident = identity.load_and_count_boot(hal.data_dir + "/ident.json", hal.urandom)
    journal = Journal(hal.data_dir + "/journal", cfg["journal_segment_bytes"], cfg["journal_max_bytes"]).open()
    # The HAL builds the platform's hardware: the board's meter and CP front end, or (unix-sim)
    # the simulated station, which is then the plant the loop steps.
    meter, pilot, tsrc, plant, profile = hal.station(board, cfg)
    ticker = hal.ticker(cfg["control_tick_ms"])
    return Agent(hal, cfg, board, ident, journal, meter, pilot, tsrc, ticker, plant, profile)


def make_uplink(agent):
    from laddvakt.control.commands import control_commands
    from laddvakt.uplink.mqtt import MQTTLink
    from laddvakt.uplink.tls import context
    from laddvakt.uplink.uplink import Uplink

    cfg = agent.cfg
    link = MQTTLink(
        "laddvakt-" + agent.ident.install, cfg["mqtt_host"], cfg["mqtt_port"],
        cfg["mqtt_timeout_ms"], cfg["batch_max_bytes"] + 1024, cfg["cmd_max_bytes"] + 320,
        tls=context(cfg), tls_host=cfg["mqtt_tls_host"] or None,
        user=cfg["mqtt_user"] or None, password=cfg["mqtt_password"] or None,
        keepalive=cfg["mqtt_keepalive_s"],
    )
    handlers = {"ping": lambda a: {"pong": True}, "status": agent.status}
    handlers.update(control_commands(agent))
    pr = agent.pricing
    handlers.update({"tariff_set": pr.cmd_tariff_set, "prices_set": pr.cmd_prices_set,
                     "tariff_get": pr.cmd_tariff_get})
    cmds = CommandHandler(handlers, cfg["cmd_max_bytes"])
    rnd = agent.hal.urandom

    def rand(n):
        return int.from_bytes(rnd(2), "little") % n

    extra = None
    if cfg["ha_discovery"]:
        from laddvakt.uplink.ha import Discovery

        extra = Discovery(agent, cfg)
    up = Uplink(link, agent.journal, cfg, agent.ident, VERSION, cmds, rand, extra, agent.codec)
    up.retained.append(("connector", agent.control.status_json))
    return up


async def _run(agent, uplink, console=None):
    agent.start()
    agent.watchdog.start(agent.hal.wdt, agent.hal.reset_cause())
    up_task = asyncio.create_task(uplink.run())
    if console:
        from laddvakt.console.shell import Console

        asyncio.create_task(Console(agent.hal, agent, console[0], console[1]).run())
    limit = agent.hal.run_limit()  # None on a board: run for ever
    if limit is None:
        await agent.sample_loop()
        return
    end_ms, drain_ms = limit
    await agent.sample_loop(end_ms)
    # Simulation over: let the uplink drain the journal, then go offline cleanly.
    for _ in range(drain_ms // 20):
        if uplink.drained():
            break
        await asyncio.sleep_ms(20)
    up_task.cancel()
    uplink.shutdown()
    agent.mem.note()


def main(hal):
    """Run the agent on `hal` (main.py passes the board's, unix_main.py the unix port's)."""
    try:
        agent = build(hal)
    except (config.ConfigError, boards.BoardError) as e:
        # A site's config or board file is wrong: say which key, and do not start. The console
        # still answers, so a technician can see why and fix the config.
        print("laddvakt: cannot start: %s" % e)
        console = hal.console()
        if console:
            from laddvakt.console.shell import Console

            asyncio.run(Console(hal, None, console[0], console[1], str(e)).run())
        return 2
    # A quiet point: build's garbage (config text, parsed JSON) collected before the uplink's
    # buffers are allocated, so they find contiguous room instead of a fragmented heap.
    gc.collect()
    hal.net_up(agent.cfg)
    # Building left garbage between the modules it loaded: collect before the uplink asks for
    # its large buffers, so they find room in a tight heap.
    gc.collect()
    try:
        uplink = make_uplink(agent)
    except (OSError, ValueError) as e:
        # A TLS file named in config is missing, unreadable or not a certificate/key.
        print("laddvakt: cannot start: tls files: %s" % e)
        return 2
    agent.uplink = uplink
    asyncio.run(_run(agent, uplink, hal.console()))
    summary = {
        "sessions": agent.sessions,
        "journal_seq": agent.journal.seq,
        "delivered_seq": agent.journal.delivered,
        "heap_peak_bytes": agent.mem.peak,
        "meter_errors": agent.metering.health.failed_polls,
        "uplink_failures": uplink.failures,
        "uplink": uplink.stats(),
        "drain_ms": uplink.drain_ms,
    }
    if hasattr(agent.ticker, "p99_ms"):
        summary["jitter_p99_ms"] = agent.ticker.p99_ms()
        summary["jitter_samples"] = agent.ticker.n
    agent.metering.close()
    agent.journal.close()
    print("laddvakt-summary " + json.dumps(summary))
    return 0 if not agent.journal.pending() else 1
