# The open session's fleet plan: its vehicle's schedule ("need E Wh by T") planned over the
# prices in force (fleet.plan), redone every 15 min with the energy still missing and the power
# the EV really drew, and reported when its feasibility changes. Pure; time, wall time and the
# session's energy are passed in. docs/control.md, Fleet schedules.
from micropython import const
from laddvakt.core.clock import tadd, tdiff
_REPLAN_MS = const(900000)  # the fleet plan is redone every 15 min with the energy still missing


class FleetPlanner:
    def __init__(self, profiles, volts, phases, report):
        self.profiles = profiles  # the composite limit gives the nominal power
        self.volts = volts
        self.phases = phases
        self.fleet = {}  # vehicle id -> (need_wh, by_t, max_w)
        self.prices = None
        self.plan = None
        self.report = report  # fn(plan, vehicle, need_wh, by_t): a new fleet plan to report, or None
        self.obs_w = 0  # the session's last measured power while charging uncapped
        self._key = None  # the schedule planned for, by identity: a new one re-plans
        self._due = 0
        self._wh0 = 0

    def set_fleet(self, vehicles):
        self.fleet = vehicles
        self._key = None

    def set_prices(self, prices):
        self.prices = prices
        self._key = None

    def session_started(self):
        self.obs_w = 0
        self._key = None

    def session_ended(self):
        self.plan = None
        self._key = None

    def allows(self, now_ms, wall, vehicle, session_wh, tx_start):
        """Whether the plan lets the session charge now. vehicle: the open session's vehicle
        id (None: no session); wall: Unix seconds or None; session_wh: its energy so far."""
        want = self.fleet.get(vehicle) if vehicle is not None else None
        if want is None or wall is None:
            self.plan = None
            return True
        if self._key is not want:
            self._wh0 = session_wh
            self._due = now_ms
        self._key = want
        need_wh, by_t, max_w = want
        left = need_wh - (session_wh - self._wh0)
        if left <= 0:
            return False  # target reached: pause until the EV leaves or a new schedule comes
        if wall >= by_t:
            return True  # deadline passed short of the target: best effort, flat out
        if tdiff(now_ms, self._due) >= 0:
            self._due = tadd(now_ms, _REPLAN_MS)
            # A demand response cap is left out: it is temporary, and each re-plan counts
            # the energy really delivered.
            da = self.profiles.limit_at(wall, tx_start)
            p_w = da * self.volts * self.phases // 10
            if max_w and max_w < p_w:
                p_w = max_w
            # What the EV really drew at full offer (its phases, its taper) beats the nominal.
            if self.obs_w and self.obs_w < p_w:
                p_w = self.obs_w
            old = self.plan
            from laddvakt.control import fleet  # loads with the first fleet schedule, not at boot

            # Plan one hour of charging more than needed: a taper, a demand response event or
            # a pause cannot be foreseen, and charging stops at the target anyway. The plan
            # is reported unfeasible only if the target itself cannot be met.
            self.plan = fleet.plan(wall, left + p_w, by_t, p_w, self.prices)
            if self.plan.shortfall_wh <= p_w:
                self.plan.feasible = True
                self.plan.shortfall_wh = 0
            else:
                self.plan.shortfall_wh -= p_w
            if old is None or old.feasible != self.plan.feasible:
                if self.report:
                    self.report(self.plan, vehicle, need_wh, by_t)
        return self.plan.charging_at(wall)
