# IEC 61851-1 control pilot, both directions, and what it offers, pure:
# - reading: CP high and low levels in mV to a state letter A..F, with hysteresis around each
#   threshold, debounce over consecutive samples, and the diode check (the EV's diode keeps the
#   low half of the PWM at -12 V in B, C and D);
# - writing: the PWM duty for a current limit, and the current an EV reads from a duty;
# - what bounds the offer besides the profiles and the station (Controller.refresh works out the
#   current to offer): demand response and the fail-safe; and whom to offer current at all
#   (Authorizer, at the end). Time is passed in.
# Currents are integer deciamps (dA) and duties integer per mille, so nothing here allocates.
from micropython import const

from laddvakt.core.clock import tadd, tdiff

# Thresholds sit midway between the nominal levels 12, 9, 6, 3, 0 and -12 V.
_A_MIN = const(10500)
_B_MIN = const(7500)
_C_MIN = const(4500)
_D_MIN = const(1500)
_E_MIN = const(-1500)
# The low half must read below this with a working diode (nominal -12 V).
_DIODE_MAX_LOW = const(-10500)

DUTY_OFF = const(1000)  # steady +12 V: no PWM, the EV may not charge (state x1)
DUTY_F = const(0)  # steady -12 V: state F, EVSE not available
MIN_DA = const(60)  # 6 A, the least current the PWM can advertise
_MAX_DA = const(800)  # 80 A, the most


def classify_mv(mv):
    """The state letter of the CP's high level mv."""
    if mv >= _A_MIN:
        return "A"
    if mv >= _B_MIN:
        return "B"
    if mv >= _C_MIN:
        return "C"
    if mv >= _D_MIN:
        return "D"
    if mv >= _E_MIN:
        return "E"
    return "F"


def classify_hyst(mv, state, hyst_mv):
    """classify_mv, but a reading within hyst_mv of the current state's band keeps it, so a
    level sitting on a threshold does not chatter between two states."""
    s = classify_mv(mv)
    if s != state and hyst_mv and (classify_mv(mv - hyst_mv) == state
                                   or classify_mv(mv + hyst_mv) == state):
        return state
    return s


def duty_for_current(limit_da):
    """Per-mille duty advertising at most limit_da (IEC 61851-1 Annex A): duty = I / 0.6 A up to
    51 A, duty = I / 2.5 A + 64 % above. Below 6 A: DUTY_OFF (pause). Rounded down, so the EV is
    never offered more than the limit."""
    if limit_da < MIN_DA:
        return DUTY_OFF
    if limit_da > _MAX_DA:
        limit_da = _MAX_DA
    if limit_da < 525:
        # The two formulas do not meet: 85 % reads as 51 A, and the second formula only
        # gives more than 85 % from 52.5 A. In between, 85 % is the most that is safe.
        d = limit_da * 10 // 6
        return d if d < 850 else 850
    return limit_da * 2 // 5 + 640


def current_for_duty(duty):
    """What an EV may draw (dA) for a duty (per mille): the reading side of the same table."""
    if duty < 80 or duty > 970:
        return 0
    if duty < 100:
        return MIN_DA
    if duty <= 850:
        return duty * 6 // 10
    d = (duty - 640) * 25 // 10
    return d if d < _MAX_DA else _MAX_DA


class PilotDecoder:
    """Debounced pilot state from (high, low) samples. feed() returns the adopted state;
    `diode_ok` is False once the low level has been wrong for `debounce` samples in B/C/D
    while the PWM runs (with steady +12 V there is no low half to check)."""

    def __init__(self, debounce=3, hyst_mv=300):
        self.debounce = debounce
        self.hyst_mv = hyst_mv
        self.state = "A"
        self.diode_ok = True
        self._cand = "A"
        self.count = 0  # samples in a row that read _cand
        self._bad_diode = 0

    @property
    def settled(self):
        """True once the last `debounce` samples agreed: the state is a reading, not a guess."""
        return self.count >= self.debounce

    def reset(self, state="A"):
        self.state = state
        self._cand = state
        self.count = 0
        self._bad_diode = 0
        self.diode_ok = True

    def feed(self, mv, low_mv, pwm_on):
        """mv, low_mv: the CP's high and low levels; pwm_on: whether the PWM runs."""
        s = classify_hyst(mv, self.state, self.hyst_mv)
        if s != self._cand:
            self._cand = s
            self.count = 0
        self.count += 1
        if self.count >= self.debounce:
            self.state = s
        if pwm_on and s in "BCD" and low_mv > _DIODE_MAX_LOW:
            self._bad_diode += 1
            if self._bad_diode >= self.debounce:
                self.diode_ok = False
        else:
            self._bad_diode = 0
            if s == "A":
                self.diode_ok = True
        return self.state


# Demand response and the fail-safe, pure. A `limit` command caps the current for a while;
# every control message from the backend (limit, profiles, prices, fleet schedule) proves it is
# alive. When none has come for `failsafe_timeout_ms`, the fail-safe current caps the offer
# until one does (the backend may be unable to lower us in an overload: assume the worst).


class DemandResponse:
    def __init__(self, failsafe_da, timeout_ms):
        self.failsafe_da = failsafe_da
        self.timeout_ms = timeout_ms  # 0: no fail-safe
        self.limit_da = None
        self.set_ms = 0  # when for_ms was last counted down
        self.for_ms = 0  # what is left of the cap: up to 7 days, past tdiff's signed range
        self.last_msg_ms = 0
        self.stale = False

    def heard(self, now_ms):
        self.last_msg_ms = now_ms

    def set(self, now_ms, limit_da, duration_s):
        """Cap at limit_da for duration_s (None: clear the cap)."""
        self.heard(now_ms)
        self.limit_da = limit_da
        self.set_ms = now_ms
        self.for_ms = duration_s * 1000 if limit_da is not None else 0

    def limit(self, now_ms):
        """The cap in dA now, or None."""
        lim = None
        if self.limit_da is not None:
            d = tdiff(now_ms, self.set_ms)  # < 0: set between two ticks, after this one
            if d > 0:
                self.for_ms -= d
                self.set_ms = now_ms
            if self.for_ms > 0:
                lim = self.limit_da
            else:
                self.limit_da = None
        self.stale = bool(self.timeout_ms) and tdiff(now_ms, self.last_msg_ms) > self.timeout_ms
        if self.stale:  # keep the silence just past the timeout: a week on, tdiff would wrap
            self.last_msg_ms = tadd(now_ms, -self.timeout_ms - 1)
        if self.stale and (lim is None or self.failsafe_da < lim):
            lim = self.failsafe_da
        return lim


# Authorization, pure: free vend, a local allow-list of ID tags, and remote start. A tag comes
# from any reader (the board's RFID reader, the console, an MQTT `authorize`); an accepted tag
# waits `timeout_ms` for an EV to plug in (OCPP 1.6 ConnectionTimeOut).


class Authorizer:
    def __init__(self, mode, allow, timeout_ms):
        if mode not in ("free", "list"):
            raise ValueError("auth_mode must be free or list")
        self.mode = mode
        self.allow = allow  # a set of ID tags accepted offline (OCPP Local Authorization List)
        self.timeout_ms = timeout_ms
        self.tag = None  # the accepted tag waiting for a plug-in, or the session's
        self.vehicle = None
        self.granted = False
        self._until = 0

    def present(self, now_ms, tag, vehicle=None, remote=False):
        """A tag at the reader (or a remote start, which the backend has already authorized).
        Returns "Accepted" or "Invalid" (OCPP AuthorizationStatus)."""
        if not remote and self.mode != "free" and tag not in self.allow:
            return "Invalid"
        self.tag = tag
        self.vehicle = vehicle
        self.granted = True
        self._until = tadd(now_ms, self.timeout_ms)
        return "Accepted"

    def on_plugged(self, now_ms):
        """True if the EV now plugged in may start a session: free vend starts at once."""
        if self.granted and tdiff(now_ms, self._until) <= 0:
            return True
        if self.mode == "free":
            self.granted = True
            return True
        self.granted = False
        return False

    def expire(self, now_ms):
        # A tag shown with no EV plugged in lapses, so it cannot start someone else's session.
        if self.granted and tdiff(now_ms, self._until) > 0:
            self.revoke()

    def revoke(self):
        self.granted = False
        self.tag = None
        self.vehicle = None
