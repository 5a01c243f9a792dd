# The cost of one session, kept up to date sample by sample (docs/tariffs.md).
# Pure: time, uptime, the meter register and the charge state are passed in.
#
# The cost between two readings belongs to the price and state in force at the
# first of them. A reading must be journaled whenever that changes (on_sample says
# when), so the backend can recompute the same cost from the journal alone.
from micropython import const

from laddvakt.core.clock import age_ms

# Session cost arithmetic in integers only. Amounts accumulate exactly in "cost units"
# (1/60000 of a price unit, so Wh x price/kWh and ms x price/min are both whole), and
# are rounded once, at the end of the session, half up, to the minor unit
# (docs/tariffs.md, Rounding).
WH_FACTOR = const(60)  # cost units per (Wh x price unit per kWh): 60000 / 1000
MS_FACTOR = const(1)  # cost units per (ms x price unit per minute): 60000 / 60000
FEE_FACTOR = const(60000)  # cost units per price unit
_BP = const(10000)  # basis points in 100 %
_UNITS_PER_MINOR = const(600000000)  # FEE_FACTOR x PRICE_SCALE (10000)


def round_div_half_up(n, d):
    # n / d rounded half up. Non-negative integers only: costs and energies never go below zero.
    return (2 * n + d) // (2 * d)


def sized(n):
    """An empty dict with room for n keys: it never grows (rehashes) while they are put in."""
    d = dict.fromkeys(range(n))  # sized to its argument's length
    for i in range(n):
        del d[i]
    return d


def flat_energy_cost(energy_wh, price_minor_per_kwh):
    if energy_wh <= 0:
        return 0
    return round_div_half_up(energy_wh * price_minor_per_kwh, 1000)


def totals(units, vat_bp, lo, hi):
    """(total, vat, net, adj) in minor units from the exact net in cost units.

    VAT is added to the exact net; lo/hi, the tariff's min/max in minor units, bound that
    gross (0 = no bound); the gross
    is rounded once, half up. The VAT shown is the rounded VAT part of that gross, and
    net = total - vat, so the receipt adds up. adj is "min", "max" or None."""
    den = _UNITS_PER_MINOR * _BP
    g = units * (_BP + vat_bp)
    if g < 0:
        g = 0  # negative spot prices lower a session's cost, never below nothing
    adj = None
    if lo and g < lo * den:
        g = lo * den
        adj = "min"
    if hi and g > hi * den:
        g = hi * den
        adj = "max"
    total = round_div_half_up(g, den)
    vat = round_div_half_up(g * vat_bp, den * (_BP + vat_bp))
    return total, vat, total - vat, adj


SUSPENDED = const(0)  # connected, not drawing, paused by the EVSE: no time or idle fee
CHARGING = const(1)
IDLE = const(2)  # connected, not drawing, by the EV's choice: idle fee after grace
STATES = ("suspended", "charging", "idle")

EDGE = const(1)  # on_sample: the charge state changed here
PRICE = const(2)  # on_sample: the energy price changed here
_MAX_LINES = const(16)  # energy lines per receipt; later periods fold into the last
# The names of the state to_dict() gives (below), one text: a tuple of them was an object in
# RAM for good; split where used, at a restart, or for the whole state (continuity.py asks for
# some by name).
_STATE = ("currency minor_unit start_fee vat_bp min max segs tariffs units n_lines last_wh last_up st "
          "charged stretch seg_from lines chg_ms idle_ms price until line_from line_wh")


class SessionCost:
    # Its attributes are a table made at plug-in and held the whole session: 23 of them fill a
    # 23-slot table (368 bytes), a 24th would make it 29 (464). So the currency and minor unit
    # are the tariff's (a session is billed in one currency: Pricing keeps a tariff of another
    # waiting), and the idle grace is the tariff's, not copies (docs/bench.md, heap).
    def __init__(self, tariff, sched, t, up, wh, st):
        # Session-wide terms are fixed at plug-in: the start fee, VAT and the bounds.
        self.start_fee = tariff.start_fee
        self.vat_bp = tariff.vat_bp
        self.min = tariff.min
        self.max = tariff.max
        self.segs = []  # closed segments, one per tariff (or schedule) in force
        self.tariffs = []  # [[id, version], ...] in the order used
        self.units = 0  # exact cost of everything closed, in cost units
        self.n_lines = 0
        self.last_wh = wh
        self.last_up = up
        self.st = st
        self.charged = st == CHARGING
        self.stretch = 0  # ms of the current idle stretch
        self._open_seg(tariff, sched, t)

    # ---- segments and lines (a segment closes in change()) ----------------------------
    def _open_seg(self, tariff, sched, t):
        self.tariff = tariff
        self.sched = sched if tariff.dynamic else None
        self.seg_from = t
        self.lines = []
        self.chg_ms = 0
        self.idle_ms = 0
        key = [tariff.id, tariff.version]
        if key not in self.tariffs:
            self.tariffs.append(key)
        self.price, self.until = tariff.energy_price(t, self.sched)
        self.line_from = t
        self.line_wh = 0

    def _close_line(self):
        wh = self.line_wh
        if not wh:
            return
        p = self.price
        self.units += wh * p * WH_FACTOR
        lines = self.lines
        if lines and lines[-1][2] == p:
            lines[-1][1] += wh
        elif lines and self.n_lines >= _MAX_LINES:
            lines[-1][1] += wh
            lines[-1][2] = None  # several prices: the exact sum is still in self.units
        else:
            lines.append([self.line_from, wh, p])
            self.n_lines += 1

    # ---- the hot path ---------------------------------------------------------------
    def on_sample(self, t, up, wh, st):
        """Book the interval since the last sample; return 0, or EDGE | PRICE when a
        reading must be journaled at this sample."""
        self.line_wh += wh - self.last_wh
        self.last_wh = wh
        dt = age_ms(up, self.last_up)
        self.last_up = up
        st0 = self.st
        if st0 == CHARGING:
            self.chg_ms += dt
        elif st0 == IDLE and self.charged:
            before = self.stretch
            self.stretch = after = before + dt
            g = self.tariff.idle_grace_s * 1000
            if after > g:
                self.idle_ms += after - (before if before > g else g)
        why = 0
        if st != st0:
            self.st = st
            if st == CHARGING:
                self.charged = True
                self.stretch = 0
            why = EDGE
        if t is not None and t >= self.until:
            p, self.until = self.tariff.energy_price(t, self.sched)
            if p != self.price:
                self._close_line()
                self.price = p
                self.line_from = t
                self.line_wh = 0
                why |= PRICE
        return why

    # ---- changes and the end ----------------------------------------------------------
    def change(self, tariff, sched, t, up, wh, st):
        """A new tariff or schedule from this sample on: the cost splits here (tariff None:
        the last segment closes, finish())."""
        self.on_sample(t, up, wh, st)
        self._close_line()
        tf = self.tariff
        self.units += (self.chg_ms * tf.time_fee + self.idle_ms * tf.idle_fee) * MS_FACTOR
        self.segs.append({
            "tariff": tf.id, "ver": tf.version, "sched": self.sched.id if self.sched else None,
            "from": self.seg_from, "lines": self.lines, "chg_ms": self.chg_ms,
            "time_fee": tf.time_fee, "idle_ms": self.idle_ms, "idle_fee": tf.idle_fee,
        })
        if tariff is not None:
            self._open_seg(tariff, sched, t)

    def running_minor(self):
        """The cost so far, rounded as if the session ended now."""
        t = self.tariff
        open_units = (self.line_wh * self.price * WH_FACTOR
                      + (self.chg_ms * t.time_fee + self.idle_ms * t.idle_fee) * MS_FACTOR)
        return totals(self.units + open_units + self.start_fee * FEE_FACTOR, self.vat_bp, self.min,
                      self.max)[0]

    def finish(self, t, up, wh):
        """Close the session at this sample; return the receipt (docs/tariffs.md)."""
        self.change(None, None, t, up, wh, self.st)
        total, vat, net, adj = totals(self.units + self.start_fee * FEE_FACTOR, self.vat_bp,
                                      self.min, self.max)
        return {
            "segs": self.segs, "start_fee": self.start_fee, "vat_bp": self.vat_bp,
            "min": self.min, "max": self.max, "adj": adj,
            "net": net, "vat": vat, "total": total,
        }

    # ---- a seam for session continuity (journal): small, JSON-able state ------------------
    def to_dict(self, keys=None):
        """The state (keys: only these of _STATE's), with the tariff and schedule it names."""
        # Made at its size: grown key by key its table went through 23 slots to 29, two blocks
        # of ~400 bytes at once at every meter value (docs/bench.md, heap).
        keys = keys or _STATE.split()
        d = sized(len(keys) + 2)
        for k in keys:
            d[k] = getattr(self.tariff if k == "currency" or k == "minor_unit" else self, k)
        d["tariff"] = [self.tariff.id, self.tariff.version]
        d["sched_id"] = self.sched.id if self.sched else None
        return d

    @classmethod
    def from_dict(cls, d, tariff, sched):
        """Rebuild from to_dict(); tariff (and sched) must be the ones it names."""
        if [tariff.id, tariff.version] != d["tariff"]:
            raise ValueError("state was priced with tariff %s, not %s/%d" % (d["tariff"], tariff.id, tariff.version))
        self = cls(tariff, sched, d["seg_from"], d["last_up"], d["last_wh"], d["st"])
        for k in _STATE.split()[2:]:  # not currency and minor_unit: the tariff's, which d names
            setattr(self, k, d[k])
        self.tariff = tariff
        self.sched = sched if tariff.dynamic and d["sched_id"] else None
        return self
