# Charging control: one tick reads the pilot and the safety inputs, raises and clears faults,
# works out the current to offer (station, profiles, demand response, fail-safe, fleet plan,
# temperature), drives the PWM and the contactor, and says whether the open session must end.
# Pure apart from `hw`, which is passed in (sim/ev.py on unix, cp_hw.py on a board); time and
# the measured current are passed in. The rules are in docs/control.md.
import json

from micropython import const

from laddvakt.control import fault_table as fr
from laddvakt.control import fleet as fleetmod
from laddvakt.control.auth import Authorizer
from laddvakt.core.config import ConfigError
from laddvakt.control.contactor import FOLLOW_MS, ContactorWatch, may_close
from laddvakt.control.demand import DemandResponse
from laddvakt.control.pilot import DUTY_F, DUTY_OFF, MIN_DA, PilotDecoder, duty_for_current
from laddvakt.control.charging_profiles import Profiles

F_HOLD_MS = const(3000)  # state F shown this long after a stopping fault, then steady +12 V
_REPLAN_MS = const(900000)  # the fleet plan is redone every 15 min with the energy still missing
_COOL_C = const(10)  # HighTemperature clears this far under the derate threshold

_EVC = "EVCommunicationError"


def connector_status(pilot, faulted, unavailable, in_session, finishing, offer_da, closed):
    """OCPP 1.6 ChargePointStatus of the connector."""
    if faulted:
        return "Faulted"
    if pilot == "A":
        return "Unavailable" if unavailable else "Available"
    if finishing:
        return "Finishing"
    if not in_session:
        return "Unavailable" if unavailable else "Preparing"
    if offer_da < MIN_DA:
        return "SuspendedEVSE"
    if closed and pilot in "CD":
        return "Charging"
    return "SuspendedEV"


class Controller:
    def __init__(self, cfg, hw, faults, set_fault):
        self.hw = hw
        self.faults = faults  # the agent's Faults: active codes, ours and the meter's/journal's
        self._set_fault = set_fault
        self.volts = cfg["voltage_v"]
        self.phases = cfg["phases"]
        self.station_da = cfg["max_current_a"] * 10
        self._cfg = cfg
        self.session_max_wh = cfg["session_max_wh"]
        self.session_max_s = cfg["session_max_s"]
        self.on_plan = None  # fn(plan, vehicle, need_wh, by_t): a new fleet plan to report
        # fn() -> True while another part of the agent wants charging paused during an
        # InternalError (the journal's on_journal_full policy); None: pause on InternalError.
        self.suspend_check = None
        self.temp_derate_c = cfg["temp_derate_c"]
        self.temp_stop_c = cfg["temp_stop_c"]
        self.pilot = PilotDecoder(cfg["pilot_debounce"], 300)
        self.watch = ContactorWatch(cfg["overcurrent_margin_a"] * 10)
        self.profiles = Profiles(self.station_da, self.volts, self.phases)
        self.dr = DemandResponse(cfg["failsafe_current_a"] * 10, cfg["failsafe_timeout_s"] * 1000)
        allow = set(t for t in cfg["auth_list"].split(",") if t)
        if cfg["auth_mode"] not in ("free", "list"):
            raise ConfigError("key 'auth_mode' must be free or list, got '%s'" % cfg["auth_mode"])
        if self.temp_stop_c < self.temp_derate_c:
            raise ConfigError("key 'temp_stop_c' must not be under 'temp_derate_c'")
        self.auth = Authorizer(cfg["auth_mode"], allow, cfg["auth_timeout_s"] * 1000)
        self.prices = None
        self.fleet = {}  # vehicle id -> (need_wh, by_t, max_w)
        self.plan = None
        self._plan_key = None
        self._plan_due = 0
        self._plan_wh0 = 0
        self.unavailable = False
        self._unavailable_next = False  # ChangeAvailability to Inoperative, after the session
        self.local_cap_da = self.station_da  # the console's `limit`
        self.duty = DUTY_OFF
        self.offer_da = 0
        self.pilot_da = 0  # what the pilot offers now: offer_da with the PWM on, else 0
        self._drop_ms = None  # when the pilot's offer last went down (the 6 s rule counts from it)
        self._change_ms = 0  # when it last changed either way
        self.state = "A"
        self.status = "Available"
        self.finishing = False
        self.in_session = False
        self.sid = None
        self.vehicle = None  # the session's vehicle id: fleet schedules are by vehicle
        self.tx_start = None  # the session's start in wall seconds, for Relative profiles
        self.session_wh = 0
        self._plugged = False
        self._f_since = None
        self._obs_w = 0  # the session's last measured power while charging uncapped
        self._settle = 0
        self._stop_req = None
        self._now = 0
        self._wall = None
        self._status_json = None
        self._status_key = [None, None, None, None]
        self.hw.set_duty(DUTY_OFF)
        self.hw.set_contactor(False)

    # ---- inputs from commands --------------------------------------------------------
    def request_stop(self, reason):
        if not self.in_session:
            raise ValueError("no session is open")
        self._stop_req = reason

    def present_tag(self, tag, vehicle=None, remote=False):
        """A tag from a reader, the console or MQTT; the same tag again stops its own session."""
        if self.in_session:
            if tag == self.auth.tag and not remote:
                self._stop_req = "Local"
                return "Accepted"
            raise ValueError("a session is already open")
        if self.unavailable:
            raise ValueError("the connector is unavailable")
        return self.auth.present(self._now, tag, vehicle, remote)

    def clear_fault(self, code):
        """Service reset of a fault that clears only on command (a welded contactor)."""
        if not self.faults.is_active(code):
            raise ValueError("%s is not active" % code)
        rule = fr.RULES.get(code)
        if rule is None or rule[2] != fr.RESET:
            raise ValueError("%s clears by itself; it cannot be reset by command" % code)
        if self.watch.welded:
            raise ValueError("%s: the contactor feedback still reads closed" % code)
        self._set_fault(code, False)

    def set_fleet(self, vehicles):
        self.fleet = vehicles
        self._plan_key = None

    def set_prices(self, prices):
        self.prices = prices
        self._plan_key = None

    def console(self, amps):
        """The serial console's `limit [amps]` (console.py): a technician's cap on the offer,
        kept until changed (80 lifts it); without amps, what limits the offer now."""
        if amps is not None:
            self.local_cap_da = amps * 10
            self.refresh()
        dr = self.dr.limit(self._now)
        return ("offer %d.%d A (pilot %s, %s); station %d A, console cap %d A, demand response %s%s\n"
                % (self.offer_da // 10, self.offer_da % 10, self.state, self.status,
                   self.station_da // 10, self.local_cap_da // 10,
                   "-" if dr is None else "%d.%d A" % (dr // 10, dr % 10),
                   ", fail-safe" if self.dr.stale else ""))

    # ---- limits ----------------------------------------------------------------------
    def _fleet_allows(self, now_ms, wall):
        v = self.vehicle
        want = self.fleet.get(v) if v is not None else None
        if want is None or wall is None or not self.in_session:
            self.plan = None
            return True
        if self._plan_key is not want:
            self._plan_wh0 = self.session_wh
            self._plan_due = now_ms
        self._plan_key = want
        need_wh, by_t, max_w = want
        left = need_wh - (self.session_wh - self._plan_wh0)
        if left <= 0:
            return False  # target reached: pause until the EV leaves or a new schedule comes
        if wall >= by_t:
            return True  # deadline passed short of the target: best effort, flat out
        if now_ms >= self._plan_due:
            self._plan_due = now_ms + _REPLAN_MS
            # A demand response cap is left out: it is temporary, and each re-plan counts
            # the energy really delivered.
            da = self.profiles.limit_at(wall, self.tx_start)
            p_w = da * self.volts * self.phases // 10
            if max_w and max_w < p_w:
                p_w = max_w
            # What the EV really drew at full offer (its phases, its taper) beats the nominal.
            if self._obs_w and self._obs_w < p_w:
                p_w = self._obs_w
            old = self.plan
            # Plan one hour of charging more than needed: a taper, a demand response event or
            # a pause cannot be foreseen, and charging stops at the target anyway. The plan
            # is reported unfeasible only if the target itself cannot be met.
            self.plan = fleetmod.plan(wall, left + p_w, by_t, p_w, self.prices)
            if self.plan.shortfall_wh <= p_w:
                self.plan.feasible = True
                self.plan.shortfall_wh = 0
            else:
                self.plan.shortfall_wh -= p_w
            if self.on_plan and (old is None or old.feasible != self.plan.feasible):
                self.on_plan(self.plan, v, need_wh, by_t)
        return self.plan.charging_at(wall)

    def _offer(self, now_ms, wall):
        lim = self.profiles.limit_at(wall, self.tx_start)
        if self.local_cap_da < lim:
            lim = self.local_cap_da
        cap = self.dr.limit(now_ms)
        if cap is not None and cap < lim:
            lim = cap
        if self.faults.is_active("HighTemperature"):
            t = self.hw.temp_c()
            lim = 0 if t is not None and t >= self.temp_stop_c else lim // 2
        if self.faults.is_active("PowerMeterFailure") or self._internal_pause():
            lim = 0
        if not self._fleet_allows(now_ms, wall):
            return 0
        return lim

    def _internal_pause(self):
        # InternalError has two owners (faults.py): after a watchdog reset charging pauses until
        # the agent has run stably (watchdog.py); the journal's hold follows its own policy.
        f = self.faults
        if not f.is_active("InternalError"):
            return False
        if f.held_by("InternalError", "watchdog"):
            return True
        return self.suspend_check is None or self.suspend_check()

    def _duty(self, now_ms, stop_code):
        if stop_code is not None:
            if self._f_since is None:
                self._f_since = now_ms
            hold = (now_ms - self._f_since < F_HOLD_MS
                    or fr.RULES[stop_code][2] == fr.RESET)
            return DUTY_F if hold else DUTY_OFF
        self._f_since = None
        # PWM from the moment an authorized EV is plugged in: the session opens in this step.
        if (self.in_session or self.auth.granted and self.state in "BCD") and not self.finishing:
            return duty_for_current(self.offer_da)
        return DUTY_OFF

    def _drive(self, now_ms, duty):
        da = self.offer_da if DUTY_F < duty < DUTY_OFF else 0
        if da != self.pilot_da:
            self._change_ms = now_ms
            if da < self.pilot_da:
                self._drop_ms = now_ms
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
        now = self._now if now_ms is None else now_ms
        self.offer_da = self._offer(now, self._wall)
        stop = fr.stopping(self.faults.active)
        self._drive(now, self._duty(now, stop))

    def observe(self, power_w):
        """A fresh reading's power (the agent calls this after each sample): what the EV really
        draws at the full offer, which the fleet plan uses instead of the nominal power."""
        # Only once the EV has had its 3 s to follow the pilot's last change.
        if (power_w and self.watch.closed and self.dr.limit_da is None and not self.dr.stale
                and self._now - self._change_ms >= FOLLOW_MS):
            self._obs_w = power_w

    # ---- the tick --------------------------------------------------------------------
    def _detect(self, now_ms, st, reading):
        sf = self._set_fault
        faults = self.faults  # (not faults.is_active: a bound method would be allocated)
        hw = self.hw
        rcd = hw.rcd_tripped()
        if rcd:
            sf("GroundFailure", True, "RCD tripped")
        elif faults.is_active("GroundFailure") and reading and st == "A":
            sf("GroundFailure", False)
        if reading and (st in "EF" or not self.pilot.diode_ok):
            sf(_EVC, True, "diode check failed" if st not in "EF" else "pilot state " + st)
        elif faults.is_active(_EVC) and reading and st == "A":
            sf(_EVC, False)
        w = self.watch
        # Against what the pilot offers, 0 with the PWM off (IEC 61851-1: no PWM, no current).
        w.check(now_ms, hw.contactor_feedback(), self._current, self.pilot_da, self._drop_ms)
        if w.welded:
            sf("PowerSwitchFailure", True, "contactor welded")
        elif w.stuck_open:
            sf("PowerSwitchFailure", True, "contactor does not close")
        if w.overcurrent:
            sf("OverCurrentFailure", True, "%d dA over a %d dA offer" % (self._current, self.pilot_da))
        elif faults.is_active("OverCurrentFailure") and reading and st == "A":
            sf("OverCurrentFailure", False)
        t = hw.temp_c()
        if t is not None:
            if t >= self.temp_derate_c:
                sf("HighTemperature", True, "%d C" % t)
            elif t < self.temp_derate_c - _COOL_C:
                sf("HighTemperature", False)

    def tick(self, now_ms, wall, current_da, session, power_w=0):
        """One control step. `session` is the tracker's open session or None. Returns the
        OCPP stop reason if that session must end now, else None."""
        self._now = now_ms
        self._wall = wall
        self._current = current_da
        if power_w:
            self.observe(power_w)
        self.in_session = session is not None
        if session is not None:
            self.session_wh = session.energy_wh
        # Pilot: not read while we drive -12 V ourselves (it would only see that).
        reading = False
        if self.duty != DUTY_F:
            high, low = self.hw.cp_read()
            pwm_on = self.duty != DUTY_OFF
            self.pilot.feed(high, low, pwm_on)
            if self._settle:
                self._settle -= 1
            reading = not self._settle
        st = self.pilot.state
        if reading:
            self.state = st
        st = self.state
        self._detect(now_ms, st, reading)
        # Plug and unplug edges drive authorization and end Finishing.
        plugged = st in "BCD"
        if plugged and not self._plugged and not self.finishing:
            if not self.unavailable:
                self.auth.on_plugged(now_ms)
        if not plugged and reading:
            self.finishing = False
            self.auth.expire(now_ms)
        self._plugged = plugged
        tag = self.hw.read_tag()
        if tag is not None:
            try:
                self.present_tag(tag, self.hw.vehicle_id())
            except ValueError:
                pass  # a tap while unavailable, or someone else's card during a session
        stop = fr.stopping(self.faults.active)
        reason = None
        if session is not None:
            if stop is not None:
                reason = fr.RULES[stop][1]
            elif self._stop_req:
                reason = self._stop_req
            elif (self.session_max_wh and session.energy_wh >= self.session_max_wh) or (
                    self.session_max_s and now_ms - session.start_up >= self.session_max_s * 1000):
                reason = "Local"
        self._stop_req = None
        self.offer_da = self._offer(now_ms, wall)
        self._drive(now_ms, self._duty(now_ms, stop))
        # The one rule (contactor.py); a session that ends at this tick is no longer open.
        close = may_close(st, self.pilot_da, session is not None and reason is None,
                          not self.unavailable, stop is not None)
        self._switch(now_ms, close)
        self.status = connector_status(st, stop is not None, self.unavailable, self.in_session,
                                       self.finishing or reason is not None, self.offer_da,
                                       self.watch.closed)
        return reason

    def _switch(self, now_ms, close):
        if self.watch.command(now_ms, close):
            self.hw.set_contactor(close)

    def set_available(self, available):
        """OCPP ChangeAvailability: Inoperative waits for the end of a running session
        ("Scheduled"); everything else applies now."""
        if not available and self.in_session:
            self._unavailable_next = True
            return "Scheduled"
        self._unavailable_next = False
        self.unavailable = not available
        return "Accepted"

    # ---- session edges, from the agent ---------------------------------------------------
    def session_pilot(self):
        """The pilot state the session tracker should see: an EV that is not authorized (or
        whose session was stopped while it stays plugged) is not a session yet."""
        if self.in_session:
            return self.state
        if (self.finishing or not self.auth.granted or self.unavailable
                or fr.stopping(self.faults.active) is not None):
            return "A"
        return self.state

    def session_started(self, s, wall):
        self.in_session = True
        self.sid = s.sid
        self.vehicle = s.vehicle_id
        self.tx_start = wall
        self.session_wh = 0
        self._obs_w = 0
        self._plan_key = None

    def session_ended(self, resume=False):
        """resume: the session was split (a meter replaced), the next one continues it."""
        self.in_session = False
        self.sid = None
        self.tx_start = None
        self.plan = None
        self._plan_key = None
        if resume:
            return
        self.profiles.end_session()
        self.auth.revoke()
        # A session_limit command lasts one session.
        self.session_max_wh = self._cfg["session_max_wh"]
        self.session_max_s = self._cfg["session_max_s"]
        if self._unavailable_next:
            self._unavailable_next = False
            self.unavailable = True
        if self.state in "BCD":
            self.finishing = True
        self.offer_da = 0
        self._drive(self._now, DUTY_OFF if self.duty != DUTY_F else DUTY_F)
        # No session, no energy: open now, whatever ended it (contactor.may_close).
        self._switch(self._now, False)

    # ---- reporting -----------------------------------------------------------------------
    def status_json(self):
        """The retained connector status payload; rebuilt only when something in it changed."""
        # Called by the uplink every round: compare without building anything.
        stop = fr.reported(self.faults.active)
        k = self._status_key
        if (self._status_json is None or k[0] != self.status or k[1] != stop
                or k[2] != self.pilot_da or k[3] != self.state):
            k[0] = self.status
            k[1] = stop
            k[2] = self.pilot_da
            k[3] = self.state
            # offer_a: what the pilot offers (0 while the PWM is off), not the limit behind it.
            d = {"v": 1, "status": self.status, "error_code": stop,
                 "pilot": self.state, "offer_a": self.pilot_da / 10, "up": self._now}
            self._status_json = json.dumps(d)
        return self._status_json
