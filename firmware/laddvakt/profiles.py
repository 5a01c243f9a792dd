# OCPP 1.6 smart charging (§3.13, SetChargingProfile / ClearChargingProfile /
# GetCompositeSchedule), pure. Profiles arrive as OCPP JSON (csChargingProfiles) and are kept
# as small tuples; limits are evaluated in integer deciamps per phase (dA).
#
# The rules, as implemented and tested against tests/host/composite_ref.py:
# - A profile applies at t if validFrom <= t < validTo and its schedule has a period at t:
#   Absolute starts at startSchedule, Recurring at the last startSchedule + k x day/week
#   (its duration capped at the recurrence), Relative at the session's start.
# - Within a purpose, the applicable profile with the highest stackLevel wins.
# - TxProfile (only during a session) overrides TxDefaultProfile.
# - The limit is the minimum of ChargePointMaxProfile, the Tx/TxDefault limit and the
#   station's own maximum. W limits become A per phase: W / (voltage x numberPhases).
from micropython import const

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


def _days(y, m, d):
    # Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
    y -= 1 if m <= 2 else 0
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    return era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468


def parse_time(v, what):
    """Unix seconds from an int or an ISO 8601 UTC date-time (OCPP's dateTime)."""
    if v is None:
        return None
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if not isinstance(v, str) or len(v) < 19 or v[4] != "-" or v[10] not in "Tt ":
        raise ValueError("%s must be Unix seconds or an ISO 8601 date-time" % what)
    try:
        t = (_days(int(v[0:4]), int(v[5:7]), int(v[8:10])) * 86400
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


def _limit(v, watts):
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0 or v > 1000000:
        raise ValueError("'limit' must be a number 0..1000000")
    # A limits keep one decimal (dA); W limits whole watts.
    return int(v) if watts else int(v * 10 + 0.5)


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
            tuple(periods), d.get("transactionId"))


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
        per = p[_PERIOD]
        return p[_START] + (t - p[_START]) // per * per
    return p[_START]


def _span(p):
    d = p[_DUR]
    per = p[_PERIOD]
    if per and (d is None or d > per):
        return per
    return d


def profile_limit(p, t, tx_start, volts):
    """dA per phase that profile p sets at Unix time t, or None if it does not apply."""
    if (p[_FROM] is not None and t < p[_FROM]) or (p[_TO] is not None and t >= p[_TO]):
        return None
    base = _base(p, t, tx_start)
    if base is None or t < base:
        return None
    off = t - base
    span = _span(p)
    if span is not None and off >= span:
        return None
    lim = None
    for sp, v, ph in p[_PERIODS]:
        if sp > off:
            break
        lim = v * 10 // (volts * ph) if p[_WATTS] else v
    return lim


class Profiles:
    def __init__(self, station_da, volts):
        self.station_da = station_da  # the installation's own maximum per phase
        self.volts = volts
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

    def _purpose_limit(self, purpose, t, tx_start):
        best = -1
        lim = None
        for p in self.items:
            if p[_PURPOSE] == purpose and p[_STACK] > best:
                v = profile_limit(p, t, tx_start, self.volts)
                if v is not None:
                    best = p[_STACK]
                    lim = v
        return lim

    def limit_at(self, t, tx_start):
        """The composite limit in dA at Unix time t; tx_start is the session's start (None
        without a session: TxProfiles and Relative profiles then do not apply)."""
        lim = self.station_da
        if t is None:
            # Clock not synced: only the station limit is known for sure.
            return lim
        v = self._purpose_limit(CPMAX, t, tx_start)
        if v is not None and v < lim:
            lim = v
        v = self._purpose_limit(TX, t, tx_start) if tx_start is not None else None
        if v is None:
            v = self._purpose_limit(TXDEFAULT, t, tx_start)
        if v is not None and v < lim:
            lim = v
        return lim

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
        """GetCompositeSchedule over [t0, t0 + duration): [(startPeriod s, dA), ...], with
        neighbouring equal limits merged."""
        out = []
        for t in self._breaks(t0, t0 + duration, tx_start):
            v = self.limit_at(t, tx_start)
            if not out or out[-1][1] != v:
                out.append((t - t0, v))
        return out
