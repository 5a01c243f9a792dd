# OCPP 1.6 smart charging (§3.13), the evaluation side, pure: the profiles in force (install,
# clear, the end of a session), the composite limit at a time, in integer deciamps per phase (dA),
# and GetCompositeSchedule. charging_profiles.py parses the OCPP JSON into the tuples kept here.
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
# - minChargingRate (ChargingSchedule, in its unit, converted like a limit): when the
#   Tx/TxDefault profile in force has one and the limit is below it, the limit is 0: pause
#   rather than charge below the EV's least efficient rate. A ChargePointMaxProfile's is kept
#   but unused (it describes no EV).
# The field numbers are consts so that the per-tick evaluation indexes tuples with literals.
from micropython import const

CPMAX = const(0)
TXDEFAULT = const(1)
TX = const(2)
MAX_PROFILES = const(16)

# Tuple fields of a stored profile (charging_profiles.parse builds it).
ID = const(0)
PURPOSE = const(1)
STACK = const(2)
KIND = const(3)  # 0 Absolute, 1 Recurring, 2 Relative
PERIOD = const(4)  # recurrence in s, 0 if not Recurring
FROM = const(5)
TO = const(6)
START = const(7)
DUR = const(8)
WATTS = const(9)
PERIODS = const(10)  # ((startPeriod, limit dA or W, phases), ...)
TXID = const(11)
MIN = const(12)  # minChargingRate in dA or W, or None


def _per_phase(v, watts, volts, phases):
    # dA per phase of a stored limit: W spread over the station's phases, rounded down.
    return v * 10 // (volts * phases) if watts else v


def _base(p, t, tx_start):
    """Start of the schedule instance that covers t, or None."""
    kind = p[KIND]
    if kind == 2:
        return tx_start
    if kind == 1:
        if t < p[START]:
            return None  # the schedule starts at startSchedule: no instance before it
        per = p[PERIOD]
        return p[START] + (t - p[START]) // per * per
    return p[START]


def _span(p):
    d = p[DUR]
    per = p[PERIOD]
    if per and (d is None or d > per):
        return per
    return d


def _period(p, t, tx_start):
    """The period (startPeriod, limit, numberPhases) of profile p at Unix time t, or None if p
    does not apply."""
    if (p[FROM] is not None and t < p[FROM]) or (p[TO] is not None and t >= p[TO]):
        return None
    base = _base(p, t, tx_start)
    if base is None or t < base:
        return None
    off = t - base
    span = _span(p)
    if span is not None and off >= span:
        return None
    got = None
    for q in p[PERIODS]:
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
        if p[PURPOSE] == TX and not in_session:
            raise ValueError("a TxProfile can only be set during a session")
        keep = [q for q in self.items
                if q[ID] != p[ID] and (q[PURPOSE] != p[PURPOSE] or q[STACK] != p[STACK])]
        if len(keep) >= MAX_PROFILES:
            raise ValueError("at most %d charging profiles" % MAX_PROFILES)
        keep.append(p)
        self.items = keep

    def clear(self, pid=None, purpose=None, stack=None):
        """ClearChargingProfile: by id, or by purpose and/or stack level; nothing given: all.
        Returns how many went."""
        n = len(self.items)
        if pid is not None:
            self.items = [q for q in self.items if q[ID] != pid]
        else:
            self.items = [q for q in self.items
                          if not ((purpose is None or q[PURPOSE] == purpose)
                                  and (stack is None or q[STACK] == stack))]
        return n - len(self.items)

    def end_session(self):
        # OCPP 1.6: a TxProfile lives only as long as its transaction.
        self.items = [q for q in self.items if q[PURPOSE] != TX]

    def _best(self, purpose, t, tx_start):
        # The applicable profile of a purpose with the highest stackLevel (unique within a
        # purpose: install() replaces), or None.
        best = None
        for p in self.items:
            if (p[PURPOSE] == purpose and (best is None or p[STACK] > best[STACK])
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
            v = _per_phase(q[1], p[WATTS], self.volts, ph)
            k = q[2] if q[2] < ph else ph
            if v < lim or (v == lim and k < n):
                lim = v
                n = k
        if tx is not None and tx[MIN] is not None \
                and lim < _per_phase(tx[MIN], tx[WATTS], self.volts, ph):
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
            add(p[FROM])
            add(p[TO])
            span = _span(p)
            if p[KIND] == 1:
                per = p[PERIOD]
                b = _base(p, t0, tx_start)
                if b is None:
                    b = p[START]  # the window opens before the first instance
                bases = []
                while b < t1:
                    bases.append(b)
                    b += per
            else:
                b = _base(p, t0, tx_start)
                bases = [b] if b is not None else []
            for b in bases:
                for sp, _, _ in p[PERIODS]:
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
