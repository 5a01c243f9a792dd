# Energy integrity: which meter readings may be booked. Pure and integer-only: a reading
# (0.1 Wh units) and the uptime in, a verdict out. Booked energy only ever grows by the
# difference between two accepted readings, so a session's energy is the register delta
# whenever nothing was rejected; what cannot be verified is flagged, never guessed.
# The rules and the flags are described in docs/meters.md.
from micropython import const
from laddvakt.core.clock import age_ms

OK = const(0)
NAN = const(1)  # the meter had no valid value
BACKWARDS = const(2)  # lower than the last accepted reading
JUMP = const(3)  # more than max_power x dt x 1.5 (plus one resolution step) above it
RESYNC = const(4)  # rejected readings agreed with each other long enough: new baseline
VERDICTS = ("ok", "nan", "backwards", "jump", "resync")

# Session flags (bitmask), reported as the session_end's energy_flags.
_F_DISCONTINUITY = const(1)  # a baseline was re-taken; energy across the gap not booked
F_REPLACED = const(2)  # the meter's serial changed
_F_ESTIMATED = const(4)  # integrated from power: the meter has no energy register
F_UNVERIFIED_END = const(8)  # the last reading before the end was rejected
# Rejected readings that agree with each other this many times in a row become the new baseline.
_RESYNC_AFTER = const(3)


def flag_names(flags):
    """The session flags' names, bit 0 first (docs/records.md, energy_flags)."""
    return [n for i, n in enumerate(("discontinuity", "meter_replaced", "estimated", "unverified_end"))
            if flags & (1 << i)]


class EnergyGuard:
    def __init__(self, meter_max_power_w, res_dwh=1):
        self.meter_max_power_w = meter_max_power_w
        self.res_dwh = res_dwh
        self.booked = None  # 0.1 Wh; starts at the first reading, grows by accepted deltas
        self.anchor = None  # last accepted reading
        self.t_anchor = 0
        self.last_ok = False
        self.flags = 0  # since mark()
        self._cand = None  # a run of rejected readings that agree with each other
        self._t_cand = 0
        self._run = 0
        self._rem = 0  # W x ms not yet a whole 0.1 Wh (power integration)
        self.rejected = [0, 0, 0, 0]  # by verdict: -, nan, backwards, jump
        self.resyncs = 0

    def mark(self):
        """A session starts: flags count from here. The last reading must have been good."""
        self.flags = 0

    def limit(self, ms, value):
        # W x ms / 360000 = 0.1 Wh; x 1.5 -> / 240000. One resolution step of slack: a
        # coarse register (EM340: 100 Wh) moves a whole step at once. A float register's
        # spacing grows with its value (2**-23 relative).
        return self.meter_max_power_w * ms // 240000 + self.res_dwh + (value >> 22)

    def feed(self, now_ms, r):
        """One reading (None for NaN). Returns a verdict; only OK and RESYNC move `booked`."""
        if r is None:
            self.rejected[NAN] += 1
            self.last_ok = False
            return NAN
        if self.anchor is None:
            self.anchor = r
            self.t_anchor = now_ms
            if self.booked is None:
                self.booked = r
            self.last_ok = True
            return OK
        d = r - self.anchor
        if 0 <= d <= self.limit(age_ms(now_ms, self.t_anchor), r):
            self.booked += d
            self.anchor = r
            self.t_anchor = now_ms
            self.last_ok = True
            self._run = 0
            self._cand = None
            return OK
        v = BACKWARDS if d < 0 else JUMP
        self.rejected[v] += 1
        self.last_ok = False
        c = self._cand
        if c is not None and 0 <= r - c <= self.limit(age_ms(now_ms, self._t_cand), r):
            self._run += 1
        else:
            self._run = 1
        self._cand = r
        self._t_cand = now_ms
        if self._run >= _RESYNC_AFTER:
            # The meter keeps saying the same new story (reset, swapped without a serial,
            # or our baseline was the bad one): follow it, but book nothing across the gap.
            self.rebase(now_ms, r, _F_DISCONTINUITY)
            self.resyncs += 1
            return RESYNC
        return v

    def rebase(self, now_ms, r, flag, booked=None):
        """Take r as the new baseline without booking the step; `booked` restarts the
        booked register there (a replaced meter), else it carries on."""
        self.anchor = r
        self.t_anchor = now_ms
        if booked is not None:
            self.booked = booked
        elif self.booked is None:
            self.booked = r
        self.flags |= flag
        self.last_ok = True
        self._run = 0
        self._cand = None

    def integrate(self, now_ms, power_w):
        """No energy register: book power x time, flagged estimated."""
        if self.booked is None:
            self.booked = 0
            self.t_anchor = now_ms
        dt = age_ms(now_ms, self.t_anchor)
        self.t_anchor = now_ms
        if dt > 0 and power_w and power_w > 0:
            q, self._rem = divmod(power_w * dt + self._rem, 360000)
            self.booked += q
        self.flags |= _F_ESTIMATED
        self.last_ok = True
        return OK

    def session_flags(self):
        f = self.flags
        if not self.last_ok:
            f |= F_UNVERIFIED_END
        return f
