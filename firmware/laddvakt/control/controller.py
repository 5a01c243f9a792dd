# Charging control, the public entry point: one tick reads the pilot, runs the fault detectors
# (faults.py), handles plug edges and tags, decides whether the open session must end, works out
# the offer (here, with pilot.py's caps and planner.py), drives the PWM and applies the contactor
# rule (faults.may_close). Pure apart from `hw`, passed in (laddvakt_unix/sim/ev.py on unix,
# drivers/cp_board.py on a board); time and the measured current are passed in. docs/control.md
# has the rules. No properties on Controller: MicroPython would search the class at every store.
from micropython import const

from laddvakt.control.faults import (FOLLOW_MS, RESET, RULES, Detectors, connector_status, may_close, status_payload,
                                     stopping)
from laddvakt.control.pilot import DUTY_F, DUTY_OFF, Authorizer, DemandResponse, PilotDecoder, duty_for_current
from laddvakt.core.clock import age_ms, tdiff

_F_HOLD_MS = const(3000)  # state F shown this long after a stopping fault, then steady +12 V


class Controller:
    def __init__(self, cfg, hw, faults, set_fault):
        self.hw = hw
        self.faults = faults  # the agent's Faults: active codes, ours and the meter's/journal's
        self.volts = cfg["voltage_v"]
        self.phases = cfg["phases"]
        self.station_da = cfg["max_current_a"] * 10
        self.cfg = cfg
        self.session_max_wh = cfg["session_max_wh"]
        self.session_max_s = cfg["session_max_s"]
        self.pilot = PilotDecoder(cfg["pilot_debounce"], 300)
        self.profiles = None  # charging_profiles(), made when a command needs them; until then
        self.planner = None  # (fleet_planner() too) the offer is the station's own, unplanned
        self.dr = DemandResponse(cfg["failsafe_current_a"] * 10, cfg["failsafe_timeout_s"] * 1000)
        # cfg is config.merged's, which checked auth_mode's words and temp_stop_c >= temp_derate_c
        allow = set(t for t in cfg["auth_list"].split(",") if t)
        self.auth = Authorizer(cfg["auth_mode"], allow, cfg["auth_timeout_s"] * 1000)
        self.detect = Detectors(hw, faults, set_fault, self.pilot, cfg["overcurrent_margin_a"] * 10,
                                cfg["temp_derate_c"])  # the fault detectors and the contactor's watch
        self.temp_stop_c, self.local_cap_da = cfg["temp_stop_c"], self.station_da  # cap: console `limit`
        # faults.status_payload's key, and fn(loop time) -> uptime ms that never wraps (clock.up)
        self._report, self.uptime = [None] * 5, None
        self.on_plan = None  # fn(plan, vehicle, need_wh, by_t): a new fleet plan (set before the planner)
        # fn() -> True while the journal (its on_journal_full policy) wants an InternalError to pause
        self.suspend_check = None  # charging; None: pause on InternalError
        self.unavailable = False
        self._unavailable_next = False  # ChangeAvailability to Inoperative, after the session
        self.duty = DUTY_OFF
        self.offer_da = 0
        self.pilot_da = 0  # what the pilot offers now: offer_da with the PWM on, else 0
        self.drop_ms = None  # when the pilot's offer last went down (the 6 s rule counts from it)
        self._change_ms = 0  # when it last changed either way
        self._f_since = None
        self.state = "A"
        self.status = "Available"
        self.finishing = False
        self.in_session = False
        self.sid = None
        self.vehicle = None  # the session's vehicle id: fleet schedules are by vehicle
        self.tx_start = None  # the session's start in wall seconds, for Relative profiles
        self.energy_wh = 0  # the open session's (its Session.energy_wh at the last tick)
        self._settle = 0
        self.stop_reason = None  # a stop asked for (a command, the same tag again), taken at the tick
        self.stopping = None  # the stopping fault at the last tick
        self.now_ms = 0  # the last tick's loop time and wall time (refresh and commands use them)
        self.wall = None
        hw.set_duty(DUTY_OFF)
        hw.set_contactor(False)

    # ---- inputs from commands --------------------------------------------------------
    def request_stop(self, reason):
        if not self.in_session:
            raise ValueError("no session is open")
        self.stop_reason = reason

    def present_tag(self, tag, vehicle=None, remote=False):
        """A tag from a reader, the console or MQTT; the same tag again stops its own session."""
        if self.in_session:
            if tag == self.auth.tag and not remote:
                self.stop_reason = "Local"
                return "Accepted"
            raise ValueError("a session is already open")
        if self.unavailable:
            raise ValueError("the connector is unavailable")
        return self.auth.present(self.now_ms, tag, vehicle, remote)

    def charging_profiles(self):
        """The profiles in force (control/profile_limits.py), made on first use."""
        if self.profiles is None:
            from laddvakt.control.profile_limits import Profiles
            self.profiles = Profiles(self.station_da, self.volts, self.phases)
        return self.profiles

    def fleet_planner(self):
        """The session's fleet planner (control/planner.py), made on first use."""
        if self.planner is None:
            from laddvakt.control.planner import FleetPlanner
            self.planner = FleetPlanner(self.charging_profiles(), self.volts, self.phases, self.on_plan)
        return self.planner

    def console(self, limit):
        """The serial console's `limit [amps]` (console/shell.py): a technician's cap of `limit` A
        on the offer, kept until changed (80 lifts it); with None, what limits the offer now."""
        if limit is not None:
            self.local_cap_da = limit * 10
            self.refresh()
        dr = self.dr.limit(self.now_ms)
        return "offer %d.%d A (pilot %s, %s); station %d A, console cap %d A, demand response %s%s\n" % (
            self.offer_da // 10, self.offer_da % 10, self.state, self.status,
            self.station_da // 10, self.local_cap_da // 10,
            "-" if dr is None else "%d.%d A" % (dr // 10, dr % 10), ", fail-safe" if self.dr.stale else "")

    def set_available(self, available):
        """OCPP ChangeAvailability: Inoperative waits for the end of a running session
        ("Scheduled"); everything else applies now."""
        if not available and self.in_session:
            self._unavailable_next = True
            return "Scheduled"
        self._unavailable_next = False
        self.unavailable = not available
        return "Accepted"

    # ---- offer and PWM -------------------------------------------------------------------
    def _drive(self, now_ms, duty):
        da = self.offer_da if DUTY_F < duty < DUTY_OFF else 0
        if da != self.pilot_da:
            self._change_ms = now_ms
            if da < self.pilot_da:
                self.drop_ms = now_ms
        self.pilot_da = da
        if duty != self.duty:
            if self.duty == DUTY_F:
                # Out of state F: what the pilot read meanwhile was our own -12 V.
                self.pilot.reset(self.state)
                self._settle = self.pilot.debounce
            self.duty = duty
            self.hw.set_duty(duty)

    def refresh(self, now_ms=None):
        """Re-work the offer and the PWM at once (a demand response command must not wait for
        the next tick); the contactor and the faults follow at the tick."""
        now = self.now_ms if now_ms is None else now_ms
        wall = self.wall
        # The offer (docs/control.md, Offer): the least of the profiles (or station), console cap and
        # demand response or fail-safe; halved when hot; 0 over the stop temperature, with the meter
        # down, or in an InternalError pause (a watchdog reset's, or the journal's: suspend_check).
        p = self.profiles
        lim = min(self.station_da if p is None else p.limit_at(wall, self.tx_start), self.local_cap_da)
        cap = self.dr.limit(now)
        if cap is not None and cap < lim:
            lim = cap
        f = self.faults
        if f.is_active("HighTemperature"):
            t = self.hw.temp_c()
            lim = 0 if t is not None and t >= self.temp_stop_c else lim // 2
        if f.is_active("PowerMeterFailure") or f.is_active("InternalError") and (
                f.held_by("InternalError", "watchdog") or self.suspend_check is None or self.suspend_check()):
            lim = 0
        p = self.planner
        if p and not p.allows(now, wall, self.vehicle if self.in_session else None, self.energy_wh, self.tx_start):
            lim = 0
        self.offer_da = lim
        stop = stopping(self.faults.active)
        duty = DUTY_OFF
        if stop is not None:
            if self._f_since is None:
                self._f_since = now
            if tdiff(now, self._f_since) < _F_HOLD_MS or RULES[stop][2] == RESET:
                duty = DUTY_F
        else:
            self._f_since = None
            # PWM from the moment an authorized EV is plugged in: the session opens in this step.
            if (self.in_session or self.auth.granted and self.state in "BCD") and not self.finishing:
                duty = duty_for_current(lim)
        self._drive(now, duty)

    def observe(self, power_w):
        """A fresh reading's power (the agent calls this after each sample): what the EV really
        draws at the full offer, which the fleet plan uses instead of the nominal power."""
        # Only once the EV has had its 3 s to follow the pilot's last change.
        if (power_w and self.planner and self.detect.closed and self.dr.limit_da is None and not self.dr.stale
                and tdiff(self.now_ms, self._change_ms) >= FOLLOW_MS):
            self.planner.obs_w = power_w

    # ---- the tick --------------------------------------------------------------------
    def tick(self, now_ms, wall, current_da, session):
        """One control step. `session` is the tracker's open session or None. Returns the
        OCPP stop reason if that session must end now, else None."""
        self.now_ms = now_ms
        self.wall = wall
        self.in_session = session is not None
        if session is not None:
            self.energy_wh = session.energy_wh
        # Pilot: not read while we drive -12 V ourselves (it would only see that).
        reading = False
        if self.duty != DUTY_F:
            high, low = self.hw.cp_read()
            pwm_on = self.duty != DUTY_OFF
            self.pilot.feed(high, low, pwm_on)
            if self._settle:
                self._settle -= 1
            reading = not self._settle
        was = self.state in "BCD"  # plugged at the last tick (state changes only here)
        st = self.pilot.state
        if reading:
            self.state = st
        st = self.state
        self.detect.run(now_ms, st, reading, current_da, self.pilot_da, self.drop_ms)
        # Plug and unplug edges drive authorization and end Finishing.
        plugged = st in "BCD"
        if plugged and not was and not self.finishing:
            if not self.unavailable:
                self.auth.on_plugged(now_ms)
        if not plugged and reading:
            self.finishing = False
            self.auth.expire(now_ms)
        tag = self.hw.read_tag()
        if tag is not None:
            try:
                self.present_tag(tag, self.hw.vehicle_id())
            except ValueError:
                pass  # a tap while unavailable, or someone else's card during a session
        stop = stopping(self.faults.active)
        self.stopping = stop
        reason = None
        if session is not None:
            if stop is not None:
                reason = RULES[stop][1]
            elif self.stop_reason:
                reason = self.stop_reason
            elif (self.session_max_wh and session.energy_wh >= self.session_max_wh) or (
                    self.session_max_s and age_ms(now_ms, session.start_up) // 1000 >= self.session_max_s):
                reason = "Local"
        self.stop_reason = None  # a stop asked for (a command, the same tag again), taken at the tick
        self.refresh(now_ms)
        # The one rule (faults.may_close); a session that ends at this tick is no longer open.
        close = may_close(st, self.pilot_da, session is not None and reason is None,
                          not self.unavailable, stop is not None)
        if self.detect.command(now_ms, close):
            self.hw.set_contactor(close)
        self.status = connector_status(st, stop is not None, self.unavailable, self.in_session,
                                       self.finishing or reason is not None, self.offer_da,
                                       self.detect.closed)
        return reason

    # ---- session edges, from the agent ---------------------------------------------------
    def session_pilot(self):
        """The pilot state the session tracker should see: an EV that is not authorized (or
        whose session was stopped while it stays plugged) is not a session yet."""
        if self.in_session:
            return self.state
        # The stopping fault as this tick found it: the agent asks every tick, after it.
        if self.finishing or not self.auth.granted or self.unavailable or self.stopping is not None:
            return "A"
        return self.state

    def session_started(self, s, wall):
        self.in_session = True
        self.sid = s.sid
        self.vehicle = s.vehicle_id
        self.tx_start = wall
        self.energy_wh = 0
        if self.planner is not None:
            self.planner.session_started()

    def session_ended(self, resume=False):
        """resume: the session was split (a meter replaced), the next one continues it."""
        self.in_session = False
        self.sid = None
        self.tx_start = None
        if self.planner is not None:
            self.planner.session_ended()
        if resume:
            return
        if self.profiles is not None:
            self.profiles.end_session()
        self.auth.revoke()
        # A session_limit command lasts one session.
        self.session_max_wh = self.cfg["session_max_wh"]
        self.session_max_s = self.cfg["session_max_s"]
        if self._unavailable_next:
            self._unavailable_next = False
            self.unavailable = True
        if self.state in "BCD":
            self.finishing = True
        self.offer_da = 0
        self._drive(self.now_ms, DUTY_OFF if self.duty != DUTY_F else DUTY_F)
        # No session, no energy: open now, whatever ended it (faults.may_close).
        if self.detect.command(self.now_ms, False):
            self.hw.set_contactor(False)

    def status_json(self):
        """The retained connector status payload; rebuilt only when something in it changed."""
        return status_payload(self._report, self.faults.active, self.status, self.state, self.pilot_da, self.now_ms,
                              self.uptime)
