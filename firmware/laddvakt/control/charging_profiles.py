# OCPP 1.6 smart charging (§3.13, SetChargingProfile / ClearChargingProfile /
# GetCompositeSchedule), pure. Profiles arrive as OCPP JSON (csChargingProfiles) and are kept
# as small tuples; limits are evaluated in integer deciamps per phase (dA).
#
# The rules, as implemented and tested against tests/host/composite_ref.py:
# - A profile applies at t if validFrom <= t < validTo and its schedule has a period at t:
#   Absolute starts at startSchedule, Recurring at startSchedule + k x day/week for the
#   latest k >= 0 (never before startSchedule; its duration capped at the recurrence),
#   Relative at the session's start.
# - Within a purpose, the applicable profile with the highest stackLevel wins.
# - TxProfile (only during a session) overrides TxDefaultProfile.
# - The limit is the minimum of ChargePointMaxProfile, the Tx/TxDefault limit and the
#   station's own maximum, each per phase.
# - The station cannot switch phases: an EV may draw the per-phase offer on each of the
#   station's P supply phases. So a W limit becomes floor(W x 10 / (voltage x P)) dA, and the
#   offer on any 1..P phases stays within the W. numberPhases (default 3, clipped to P) does
#   not change the limit; it travels with it into the composite schedule: the limit that sets
#   the minimum gives its numberPhases (on a tie the smaller), the station's own has P.
# - Every conversion rounds down (A to whole dA, W to whole W, W to dA per phase): never
#   more than was allowed (see _limit for the float noise of decimal text).
# - minChargingRate (ChargingSchedule, in its unit, converted like a limit): when the
#   Tx/TxDefault profile in force has one and the limit is below it, the limit is 0: pause
#   rather than charge below the EV's least efficient rate. A ChargePointMaxProfile's is kept
#   but unused (it describes no EV).
from micropython import const

from laddvakt.core.calendar import days_from_civil

CPMAX = const(0)
TXDEFAULT = const(1)
TX = const(2)
PURPOSES = ("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile")
KINDS = ("Absolute", "Recurring", "Relative")
_RECUR = {"Daily": 86400, "Weekly": 604800}
MAX_PROFILES = const(16)
MAX_PERIODS = const(48)

# Tuple fields of a stored profile.
_ID = const(0)
_PURPOSE = const(1)
_STACK = const(2)
_KIND = const(3)
_PERIOD = const(4)  # recurrence in s, 0 if not Recurring
_FROM = const(5)
_TO = const(6)
_START = const(7)
_DUR = const(8)
_WATTS = const(9)
_PERIODS = const(10)  # ((startPeriod, limit dA or W, phases), ...)
_TXID = const(11)
_MIN = const(12)  # minChargingRate in dA or W, or None


def parse_time(v, what):
    """Unix seconds from an int or an ISO 8601 UTC date-time (OCPP's dateTime)."""
    if v is None:
        return None
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if not isinstance(v, str) or len(v) < 19 or v[4] != "-" or v[10] not in "Tt ":
        raise ValueError("%s must be Unix seconds or an ISO 8601 date-time" % what)
    try:
        t = (days_from_civil(int(v[0:4]), int(v[5:7]), int(v[8:10])) * 86400
             + int(v[11:13]) * 3600 + int(v[14:16]) * 60 + int(v[17:19]))
        rest = v[19:]
        if rest[:1] == ".":
            i = 1
            while i < len(rest) and rest[i] in "0123456789":
                i += 1
            rest = rest[i:]
        if rest in ("Z", "z", ""):
            return t
        off = int(rest[1:3]) * 3600 + int(rest[4:6]) * 60
        return t - off if rest[0] == "+" else t + off
    except (ValueError, IndexError):
        raise ValueError("%s: cannot read date-time %r" % (what, v))


def _int(d, key, lo, hi, default=None):
    v = d.get(key, default)
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise ValueError("'%s' must be an integer %d..%d" % (key, lo, hi))
    return v


def _limit(v, watts, key="limit"):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or v > 1000000:
        raise ValueError("'%s' must be a number 0..1000000" % key)
    # A limits keep one decimal (dA), W limits whole watts; int() of v >= 0 rounds down, so
    # 5.96 A is 5.9 A (a pause), never 6 A. Ten times a float is nudged up by one part in a
    # million first: a one-decimal limit such as 6.2 A has no exact float, and on an ESP32's
    # single-precision floats it may read as 61.99999 dA.
    if watts:
        return int(v)
    v *= 10
    return int(v + v * 1e-6) if isinstance(v, float) else v


def _per_phase(v, watts, volts, phases):
    # dA per phase of a stored limit: W spread over the station's phases, rounded down.
    return v * 10 // (volts * phases) if watts else v


def parse(d):
    """A stored profile tuple from an OCPP csChargingProfiles object; ValueError says why not."""
    if not isinstance(d, dict):
        raise ValueError("'csChargingProfiles' must be an object")
    pid = _int(d, "chargingProfileId", 0, 2147483647)
    stack = _int(d, "stackLevel", 0, 1000)
    purpose = d.get("chargingProfilePurpose")
    if purpose not in PURPOSES:
        raise ValueError("'chargingProfilePurpose' must be one of " + ", ".join(PURPOSES))
    kind = d.get("chargingProfileKind")
    if kind not in KINDS:
        raise ValueError("'chargingProfileKind' must be one of " + ", ".join(KINDS))
    kind = KINDS.index(kind)
    period = 0
    if kind == 1:
        period = _RECUR.get(d.get("recurrencyKind"), 0)
        if not period:
            raise ValueError("a Recurring profile needs 'recurrencyKind' Daily or Weekly")
    sch = d.get("chargingSchedule")
    if not isinstance(sch, dict):
        raise ValueError("'chargingSchedule' must be an object")
    unit = sch.get("chargingRateUnit")
    if unit not in ("A", "W"):
        raise ValueError("'chargingRateUnit' must be A or W")
    watts = unit == "W"
    start = parse_time(sch.get("startSchedule"), "startSchedule")
    if kind != 2 and start is None:
        raise ValueError("an Absolute or Recurring profile needs 'startSchedule'")
    dur = sch.get("duration")
    if dur is not None:
        dur = _int(sch, "duration", 1, 31536000)
    lo = sch.get("minChargingRate")
    if lo is not None:
        lo = _limit(lo, watts, "minChargingRate")
    ps = sch.get("chargingSchedulePeriod")
    if not isinstance(ps, list) or not 0 < len(ps) <= MAX_PERIODS:
        raise ValueError("'chargingSchedulePeriod' must list 1..%d periods" % MAX_PERIODS)
    periods = []
    last = -1
    for p in ps:
        if not isinstance(p, dict):
            raise ValueError("each period must be an object")
        sp = _int(p, "startPeriod", 0, 31536000)
        if (last < 0 and sp != 0) or sp <= last:
            raise ValueError("startPeriod must begin at 0 and increase")
        last = sp
        ph = _int(p, "numberPhases", 1, 3, 3)
        periods.append((sp, _limit(p.get("limit"), watts), ph))
    vf = parse_time(d.get("validFrom"), "validFrom")
    vt = parse_time(d.get("validTo"), "validTo")
    return (pid, PURPOSES.index(purpose), stack, kind, period, vf, vt, start, dur, watts,
            tuple(periods), d.get("transactionId"), lo)


def to_json(p):
    """The OCPP object for a stored profile (times as Unix seconds)."""
    sch = {"chargingRateUnit": "W" if p[_WATTS] else "A",
           "chargingSchedulePeriod": [
               {"startPeriod": sp, "limit": lim if p[_WATTS] else lim / 10, "numberPhases": ph}
               for sp, lim, ph in p[_PERIODS]]}
    if p[_START] is not None:
        sch["startSchedule"] = p[_START]
    if p[_DUR] is not None:
        sch["duration"] = p[_DUR]
    if p[_MIN] is not None:
        sch["minChargingRate"] = p[_MIN] if p[_WATTS] else p[_MIN] / 10
    d = {"chargingProfileId": p[_ID], "stackLevel": p[_STACK],
         "chargingProfilePurpose": PURPOSES[p[_PURPOSE]],
         "chargingProfileKind": KINDS[p[_KIND]], "chargingSchedule": sch}
    if p[_PERIOD]:
        d["recurrencyKind"] = "Daily" if p[_PERIOD] == 86400 else "Weekly"
    if p[_FROM] is not None:
        d["validFrom"] = p[_FROM]
    if p[_TO] is not None:
        d["validTo"] = p[_TO]
    if p[_TXID] is not None:
        d["transactionId"] = p[_TXID]
    return d


def _base(p, t, tx_start):
    """Start of the schedule instance that covers t, or None."""
    kind = p[_KIND]
    if kind == 2:
        return tx_start
    if kind == 1:
        if t < p[_START]:
            return None  # the schedule starts at startSchedule: no instance before it
        per = p[_PERIOD]
        return p[_START] + (t - p[_START]) // per * per
    return p[_START]


def _span(p):
    d = p[_DUR]
    per = p[_PERIOD]
    if per and (d is None or d > per):
        return per
    return d


def _period(p, t, tx_start):
    """The period (startPeriod, limit, numberPhases) of profile p at Unix time t, or None if p
    does not apply."""
    if (p[_FROM] is not None and t < p[_FROM]) or (p[_TO] is not None and t >= p[_TO]):
        return None
    base = _base(p, t, tx_start)
    if base is None or t < base:
        return None
    off = t - base
    span = _span(p)
    if span is not None and off >= span:
        return None
    got = None
    for q in p[_PERIODS]:
        if q[0] > off:
            break
        got = q
    return got


class Profiles:
    def __init__(self, station_da, volts, phases):
        self.station_da = station_da  # the installation's own maximum per phase
        self.volts = volts
        self.phases = phases  # the supply phases: an EV may draw on any of them
        self.items = []

    def install(self, p, in_session):
        """SetChargingProfile. A profile with the same id, or the same purpose and stack
        level, is replaced (OCPP 1.6 §3.13.3). A TxProfile needs an open session."""
        if p[_PURPOSE] == TX and not in_session:
            raise ValueError("a TxProfile can only be set during a session")
        keep = [q for q in self.items
                if q[_ID] != p[_ID] and (q[_PURPOSE] != p[_PURPOSE] or q[_STACK] != p[_STACK])]
        if len(keep) >= MAX_PROFILES:
            raise ValueError("at most %d charging profiles" % MAX_PROFILES)
        keep.append(p)
        self.items = keep

    def clear(self, pid=None, purpose=None, stack=None):
        """ClearChargingProfile: by id, or by purpose and/or stack level; nothing given: all.
        Returns how many went."""
        n = len(self.items)
        if pid is not None:
            self.items = [q for q in self.items if q[_ID] != pid]
        else:
            self.items = [q for q in self.items
                          if not ((purpose is None or q[_PURPOSE] == purpose)
                                  and (stack is None or q[_STACK] == stack))]
        return n - len(self.items)

    def end_session(self):
        # OCPP 1.6: a TxProfile lives only as long as its transaction.
        self.items = [q for q in self.items if q[_PURPOSE] != TX]

    def _best(self, purpose, t, tx_start):
        # The applicable profile of a purpose with the highest stackLevel (unique within a
        # purpose: install() replaces), or None.
        best = None
        for p in self.items:
            if (p[_PURPOSE] == purpose and (best is None or p[_STACK] > best[_STACK])
                    and _period(p, t, tx_start) is not None):
                best = p
        return best

    def _at(self, t, tx_start, with_phases):
        # Runs every control tick: ints only, a tuple only when asked for.
        ph = self.phases
        lim = self.station_da
        n = ph
        if t is None:
            # Clock not synced: only the station limit is known for sure.
            return (lim, n) if with_phases else lim
        tx = None
        for purpose in (CPMAX, TX, TXDEFAULT):
            if (purpose == TX and tx_start is None) or (purpose == TXDEFAULT and tx is not None):
                continue
            p = self._best(purpose, t, tx_start)
            if p is None:
                continue
            if purpose != CPMAX:
                tx = p
            q = _period(p, t, tx_start)
            v = _per_phase(q[1], p[_WATTS], self.volts, ph)
            k = q[2] if q[2] < ph else ph
            if v < lim or (v == lim and k < n):
                lim = v
                n = k
        if tx is not None and tx[_MIN] is not None \
                and lim < _per_phase(tx[_MIN], tx[_WATTS], self.volts, ph):
            lim = 0
        return (lim, n) if with_phases else lim

    def limit_at(self, t, tx_start):
        """The composite limit in dA per phase at Unix time t; tx_start is the session's start
        (None without a session: TxProfiles and Relative profiles then do not apply)."""
        return self._at(t, tx_start, False)

    def limit_phases_at(self, t, tx_start):
        """(dA per phase, numberPhases) of the composite at Unix time t, as limit_at."""
        return self._at(t, tx_start, True)

    def _breaks(self, t0, t1, tx_start):
        pts = {t0}

        def add(x):
            if x is not None and t0 < x < t1:
                pts.add(x)

        for p in self.items:
            add(p[_FROM])
            add(p[_TO])
            span = _span(p)
            if p[_KIND] == 1:
                per = p[_PERIOD]
                b = _base(p, t0, tx_start)
                if b is None:
                    b = p[_START]  # the window opens before the first instance
                bases = []
                while b < t1:
                    bases.append(b)
                    b += per
            else:
                b = _base(p, t0, tx_start)
                bases = [b] if b is not None else []
            for b in bases:
                for sp, _, _ in p[_PERIODS]:
                    add(b + sp)
                if span is not None:
                    add(b + span)
        return sorted(pts)

    def composite(self, t0, duration, tx_start):
        """GetCompositeSchedule over [t0, t0 + duration): [(startPeriod s, dA per phase,
        numberPhases), ...], neighbours with equal limit and numberPhases merged."""
        out = []
        for t in self._breaks(t0, t0 + duration, tx_start):
            v, n = self._at(t, tx_start, True)
            if not out or out[-1][1] != v or out[-1][2] != n:
                out.append((t - t0, v, n))
        return out
