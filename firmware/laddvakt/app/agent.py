# The agent: its parts, made once from the hardware, board and config it is given, and the
# sampling step: every control tick, charging control; when a sample is due or a session edge
# wants a reading, the meter, the session tracker, the session's cost and its meter values.
# Sampling never touches the network; the journal sits between it and the uplink. The session
# flow is session/flow.py's; building and running it all is wiring.py's.
import gc
from laddvakt import VERSION
from laddvakt.journal import records
from laddvakt.journal import frame as jf
from laddvakt.core.clock import Clock, session_id, tadd, tdiff
from laddvakt.control.controller import Controller
from laddvakt.control.faults import Faults
from laddvakt.journal.layout import JournalGuard
from laddvakt.journal.records import time_sync
from laddvakt.meters.service import MeterService
from laddvakt.billing.service import Pricing, charge_state
from laddvakt.journal.codec import Codec
from laddvakt.session.continuity import Continuity
from laddvakt.session.flow import SessionFlow, SessionTracker
from laddvakt.session.store import SessionStore
from micropython import const

_STEP_S = const(2)  # a resync that moves the clock this far (s) is journaled


class Agent:
    """hal, cfg, board, ident, journal: the platform, the device config, the board file, the
    identity and the opened journal. By keyword, what the HAL's station() gives: the meter,
    the control hardware (`pilot`: CP ADC and PWM, contactor, RCD) and the time source; the
    ticker that paces the loop (None where the caller steps it); the simulated plant the loop
    steps (unix-sim) and the meter profile's name."""

    def __init__(self, hal, cfg, board, ident, journal, *, meter, pilot, time_source, ticker=None, plant=None,
                 meter_profile=None, up0=0):
        self.hal = hal
        self.cfg = cfg
        self.board = board
        self.ident = ident
        self.journal = journal
        self.meter = meter
        self.pilot = pilot
        self.time_source = time_source
        self.ticker = ticker
        self.plant = plant
        self.clock = Clock(up0)  # the loop's time starts at up0 (a ticks value: core/clock.py)
        # One bound method each, shared by the parts (each read of self.log makes a new one).
        log, set_fault, encode = self.log, self.set_fault, self.encode
        self.pricing = pr = Pricing(cfg, hal.data_dir, log, self.clock, ident)
        self.tracker = SessionTracker(self._new_sid)
        self.faults = Faults()
        self.control = ctl = Controller(cfg, pilot, self.faults, set_fault)
        ctl.on_plan = self._log_plan
        self.limits = ctl  # the console's `limit [amps]`
        # One dynamic price schedule: the one billing prices sessions with also steers fleet
        # charging into the cheapest periods (docs/control.md, docs/tariffs.md).
        pr.on_schedule = self._plan_prices
        if pr.sched is not None:
            self._plan_prices(pr.sched)
        self.watchdog = Watchdog(cfg, set_fault, hal.bench)
        self.metering = MeterService(meter, cfg, set_fault, self._meter_event, meter_profile)
        self.uplink = None  # wiring.py's, once built
        self.up_ms = up0
        self._next_sample_ms = up0
        self._edge = "A"  # control's session pilot at the last sample
        self.current_da = 0  # the last measured current (dA per phase), for control
        # Records are journaled compact and rendered to JSON when read (docs/journal.md, Record
        # encoding); the signed OCMF text names this device, firmware and meter serial.
        self.codec = Codec(ident.install, pr.key, cfg["device_id"], VERSION, self.meter_serial)
        # Journal area: the open session on flash, and the journal's capacity policy, which
        # decides whether control pauses on the journal's InternalError (docs/journal.md).
        self.keeper = Continuity(SessionStore(journal.path + "/session", ident.install), journal, pr,
                                 self.clock, ident, log, encode, self.codec.decode)
        self.flow = SessionFlow(cfg, tracker=self.tracker, pricing=pr, metering=self.metering, control=ctl,
                                keeper=self.keeper, journal=journal, clock=self.clock, ident=ident,
                                log=log, encode=encode, vehicle_id=pilot.vehicle_id,
                                meter_serial=self.meter_serial)
        self.guard = JournalGuard(journal, log, set_fault, self.clock, ident, cfg["on_journal_full"])
        ctl.suspend_check, ctl.uptime = self.guard.suspended, self.clock.up
        pr.on_change = self.flow.cost_split

    def _new_sid(self):
        # The install id plus the seq of the session's start record: unique for
        # the install's lifetime, and 21 characters (OCPP 2.0.1 allows 36).
        return session_id(self.ident.install, self.journal.seq + 1)

    def log(self, rtype, rec, commit=True):
        """Journal a record (a dict, or a payload already encoded for it); returns its seq.
        commit=False: held in RAM until the next commit (docs/journal.md, Commits)."""
        if type(rec) is dict:
            rec = self.encode(rtype, rec)
        return self.journal.append(rtype, rec, commit)

    def encode(self, rtype, d):
        # The seq is the one the journal gives next: session ids and the signed pagination
        # name it, so the compact form leaves it out.
        return self.codec.encode(rtype, d, self.journal.seq + 1)

    def meter_serial(self):
        serial = self.metering.serial
        return self.cfg["meter_serial"] if serial is None else "%x" % serial

    def set_fault(self, code, on, info=None, src=None):
        """Detectors call this every tick; an edge (raised or cleared) is journaled, and so
        published. Returns True on an edge. `src` names the owner where a code has several
        (faults.py): the code clears when its last owner clears it."""
        if not self.faults.update(code, on, info, src):
            return False
        s = self.tracker.session
        self.log(jf.TYPE_FAULT, records.fault(self.clock, self.up_ms, self.ident, code, on,
                                              info, s.sid if s else None))
        return True

    def _meter_event(self, event, reason, value_dwh):
        s = self.tracker.session
        self.log(jf.TYPE_METER_EVENT, records.meter_event(self.clock, self.up_ms, self.ident, event, reason,
                                                          value_dwh, s.sid if s else None))

    @property
    def sessions(self):
        """Sessions ended since boot."""
        return self.flow.sessions

    def start(self):
        # A quiet point: building the agent left garbage behind (parsed JSON files, loaded
        # modules) that the sampling loop should not start with.
        gc.collect()
        self.keeper.on_boot()
        self.log(jf.TYPE_BOOT, records.boot(self.clock, self.up_ms, self.ident, VERSION, self.board["name"]))
        self.pricing.start(self.up_ms)
        # A quiet point: start-up leaves import and config garbage behind; collect it before
        # the loop, so the heap then holds live data plus one step's garbage.
        gc.collect()

    def step(self, up_ms):
        """One control tick, and a sample (clock sync, readings, session tracking, periodic
        values) when one is due or a session edge wants a reading now."""
        self.up_ms = up_ms
        due = tdiff(up_ms, self._next_sample_ms) >= 0
        (clock := self.clock).advance(up_ms)  # before anything reads the time
        # A source that re-syncs (SNTP: `periodic`) is asked at every sample, others until synced.
        if due and (not clock.synced or getattr(self.time_source, "periodic", False)):
            # An SNTP source hands each answer over once; the first sync and any step of _STEP_S
            # or more are journaled (docs/records.md, time_sync), smaller corrections pass silently.
            ts = self.time_source.unix_s(up_ms)
            was = clock.wall_s(up_ms)
            if ts is not None and clock.sync(up_ms, ts) and (was is None or abs(ts - was) >= _STEP_S):
                self.log(jf.TYPE_TIME_SYNC, time_sync(clock, up_ms, self.ident))
        if self.plant:
            self.plant.step(up_ms)
        # Control first, every tick, reading or not: safety never waits for the meter.
        ctl = self.control
        reason = ctl.tick(up_ms, clock.wall_s(up_ms), self.current_da, self.tracker.session)
        # A session that ends (the contactor opened above) or starts is read now (a Modbus meter:
        # once its fetch is in), so no energy flows outside a session.
        if not (mt := self.metering).ready(up_ms, due or reason or ctl.session_pilot() != self._edge, reason):
            return
        # The sample: readings, session tracking, its cost and periodic values.
        reason = mt.stop_reason
        self._next_sample_ms = tadd(up_ms, self.cfg["sample_interval_ms"])
        flow = self.flow
        tr = self.tracker
        fresh = mt.sample(up_ms)
        wall = clock.wall_s(up_ms)
        if fresh:
            # Per-phase current: from the meter if it measures it, else from power at nominal voltage.
            f = getattr(self.meter, "current_da", None)
            if f is not None:
                self.current_da = f()
            else:
                self.current_da = mt.power_w * 10 // (ctl.volts * ctl.phases) if mt.power_w else 0
            ctl.observe(mt.power_w)
        self._edge = ctl.session_pilot()
        if self.keeper.saved and fresh and ctl.pilot.settled:
            # The session open at the last reset goes on or ends (PowerLoss), once the pilot
            # reading has settled (docs/journal.md, Session continuity).
            flow.resume(up_ms, ctl.state, mt.energy_wh, wall)
        if reason:
            s = tr.session
            flow.on_event(tr.stop(up_ms, wall, s.meter_last_wh if mt.energy_wh is None
                                  else mt.energy_wh, reason), up_ms, None)
        if not fresh and (tr.session is None or mt.energy_wh is None):
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
        split = mt.split(tr, up_ms, wall)
        if split:
            flow.on_event(split, up_ms, st, True)
        else:
            ev = tr.on_sample(up_ms, wall, clock.quality(), pilot, energy, ctl.auth.tag)
            if ev:
                flow.on_event(ev, up_ms, st)
            elif tr.session is not None:
                reading = pr.sample(up_ms, wall, tr.session.sid, energy, st)
        s = tr.session
        if s is None:
            pr.idle_step(up_ms, wall, energy)
        if s is not None and flow.periodic_due(up_ms):
            if fresh:
                self.keeper.progress(s, energy, up_ms)
                if self.guard.keep_periodic():
                    # Held for the next commit (the store above has this value on flash
                    # already): docs/journal.md, Commits.
                    self.log(jf.TYPE_METER_PERIODIC, records.meter(clock, up_ms, self.ident, s.sid, energy,
                                                                   power, extra=pr.reading_fields()), False)
                reading = None
        if reading is not None and s is not None:
            # The price or the charge state changed here: the backend's recomputation needs
            # the register at this point, fresh or last booked (docs/tariffs.md). The session
            # store keeps the cost booked up to it, so a resumed session prices alike.
            self.keeper.progress(s, energy, up_ms)
            self.log(jf.TYPE_METER_EDGE, records.meter(clock, up_ms, self.ident, s.sid, energy, power,
                                                       reading.pop("ctx"), pr.reading_fields()))
        self.guard.step(up_ms)
        self.watchdog.note_heap()

    def _plan_prices(self, sched):
        from laddvakt.control.fleet import Prices

        # The planner ranks periods in whole minor units per kWh, >= 0: a negative spot price
        # plans as free, which it is for ranking against any positive one.
        self.control.fleet_planner().set_prices(Prices(sched.start, sched.step_s,
                                       [self.pricing.price_minor(p) for p in sched.prices]))

    def _log_plan(self, p, vehicle, need_wh, by_t):
        s = self.tracker.session
        self.log(jf.TYPE_PLAN, records.plan(self.clock, self.up_ms, self.ident, s.sid if s else None,
                                            vehicle, need_wh, by_t, p))

    async def sample_loop(self, until=None):
        wd = self.watchdog
        while until is None or self.clock.up(self.up_ms) < until:  # uptime ms: no wrap
            self.step(await self.ticker.next())
            wd.feed(self.up_ms)  # only after a whole step: a stuck step resets the board

    # ---- what commands, the console and Home Assistant read (the status views: the status
    # command's in control/commands.py, the console's in app/console_view.py, loaded with them)
    def uptime_ms(self):
        return self.up_ms

    def wall_s(self):
        """Wall time now in Unix seconds, None before the clock is synced."""
        return self.clock.wall_s(self.up_ms)


# The watchdog (issue 7, docs/control.md): fed after each whole sampling step, so a step that
# hangs stops the feeding and the hardware resets the board; after such a reset, InternalError
# "watchdog reset" (source "watchdog", what hal.reset_cause() then says; the journal's guard is
# the other source) until watchdog_clear_s of stable uptime. The hardware comes from the HAL at
# start, never at import. It also notes the agent's heap use, for the benchmark.
class Watchdog:
    def __init__(self, cfg, set_fault, bench=False):
        self.timeout_ms = cfg["watchdog_s"] * 1000
        self.watchdog_clear_s = cfg["watchdog_clear_s"]  # (config.merged refuses a watchdog_s under two steps)
        self._set_fault = set_fault
        self.wdt = None  # the hardware watchdog, once started
        self.held = False  # InternalError "watchdog reset" raised and not yet cleared
        self.feeds = 0
        self.bench = bench  # note_heap collects
        self.heap_peak = 0

    def start(self, make, reset_cause):
        """Once, as the loop starts: `make(timeout_ms)` is hal.wdt; `reset_cause` is
        hal.reset_cause(). A watchdog reset is reported even with the watchdog now off."""
        if reset_cause == "watchdog":
            self.held = True
            self._set_fault("InternalError", True, "watchdog reset", "watchdog")
        if self.timeout_ms:
            self.wdt = make(self.timeout_ms)

    def feed(self, up_ms):
        """After each sampling step, with the uptime it sampled at."""
        w = self.wdt
        if w is not None:
            w.feed()
            self.feeds += 1
        if self.held and tdiff(up_ms, self.watchdog_clear_s * 1000) >= 0:
            self.held = False
            self._set_fault("InternalError", False, None, "watchdog")

    def note_heap(self):
        """The heap in use at a quiet point, its peak kept in heap_peak for the benchmark. In
        bench mode the heap is then collected, so the peak seen is live data plus one step's
        garbage: the most the agent needs at once."""
        a = gc.mem_alloc()
        if a > self.heap_peak:
            self.heap_peak = a
        if self.bench:
            gc.collect()
