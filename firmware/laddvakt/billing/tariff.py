# The tariff: what a kWh, a minute and a session cost at a given moment. Pure and
# integer-only; docs/tariffs.md is the model. Every price is an integer in 1/10000
# of the currency's minor unit ("price units"), so 2.5 öre/kWh is exact.
#
# Energy price at wall time t: a dynamic tariff takes the pushed price schedule
# where it covers t; otherwise the first time-of-use window that matches the local
# weekday (7 = holiday) and minute; otherwise the base price. energy_price() also
# says until when that price holds, so the hot path compares one integer per sample.
import json

from micropython import const

from laddvakt.core.clock import civil_from_days, days_from_civil, weekday
from laddvakt.billing.session_cost import round_div_half_up

PRICE_SCALE = const(10000)  # price units per minor unit
_DAY = const(86400)
_FAR = const(1 << 40)  # "no change ahead"; never reached by Unix time
_UNSYNCED_UNTIL = const(-1)  # a price taken without wall time holds until the clock syncs
_MAX_WINDOWS = const(12)
_MAX_HOLIDAYS = const(32)
_MAX_PRICE = const(10 ** 9)  # 100 000 minor units per kWh
_MAX_JSON = const(1400)  # the tariff travels whole in a tariff_change record (frame max 2048)

def _int_fields():
    # name, min, max, default. Rows built as they are walked (a list is never folded into a
    # constant): in place a table of tuples would sit in RAM for good.
    yield ["version", 0, 1 << 30, None]
    yield ["minor_unit", 0, 4, None]
    yield ["energy", -_MAX_PRICE, _MAX_PRICE, None]
    yield ["tz_min", -840, 840, 0]
    yield ["time_fee", 0, _MAX_PRICE, 0]
    yield ["idle_fee", 0, _MAX_PRICE, 0]
    yield ["idle_grace_s", 0, 86400, 0]
    yield ["start_fee", 0, _MAX_PRICE, 0]
    yield ["vat_bp", 0, 10000, 0]
    yield ["min", 0, 10 ** 9, 0]
    yield ["max", 0, 10 ** 9, 0]


# A tariff that does not validate raises ValueError with the reason; a class of its own was a
# type object and its dict in RAM for good, for a name only service.py and the tests catch.
TariffError = ValueError


# The error texts, one per line of one constant, _bad(i, args) raising line i: in place each
# string of more than 10 characters would be an object in RAM for good (docs/bench.md, heap).
_E_YMD = const(0)
_E_DATE = const(1)
_E_INT = const(2)
_E_RANGE = const(3)
_E_OBJ = const(4)
_E_ID = const(5)
_E_CUR = const(6)
_E_MAX = const(7)
_E_DST = const(8)
_E_DYN = const(9)
_E_HOL = const(10)
_E_FIELD = const(11)
_E_BIG = const(12)
_E_TOU = const(13)
_E_WOBJ = const(14)
_E_DAYS = const(15)
_E_TO = const(16)
_E_WFIELD = const(17)


def _bad(i, args=()):
    return TariffError((
    "holiday %r is not YYYY-MM-DD\n"
    "holiday %r is not a date\n"
    "'%s' must be an integer\n"
    "'%s' %d out of range %d..%d\n"
    "tariff must be a JSON object\n"
    "'id' must be a string of 1..32 characters\n"
    "'currency' must be an ISO 4217 code like 'SEK'\n"
    "'max' %d is below 'min' %d\n"
    "'dst' must be 'none' or 'eu'\n"
    "'dynamic' must be true or false\n"
    "'holidays' must be a list of at most %d dates\n"
    "unknown tariff field '%s'\n"
    "tariff too large: at most %d bytes of JSON\n"
    "'tou' must be a list of at most %d windows\n"
    "tou[%d] must be an object\n"
    "tou[%d].days must be a list of 0..7 (Mon..Sun, 7 holiday)\n"
    "tou[%d]: 'to' must be after 'from' (minutes of the local day)\n"
    "unknown field tou[%d].%s\n").split("\n")[i] % args)


def eu_dst_span(y):
    """(start, end) Unix s of EU summer time in year y: last Sunday of March and of October,
    01:00 UTC."""
    a = days_from_civil(y, 3, 31)
    b = days_from_civil(y, 10, 31)
    return (a - (weekday(a) - 6) % 7) * _DAY + 3600, (b - (weekday(b) - 6) % 7) * _DAY + 3600


def _int(d, name, lo, hi, default):
    v = d.get(name, default)
    if type(v) is not int:
        raise _bad(_E_INT, name)
    if v < lo or v > hi:
        raise _bad(_E_RANGE, (name, v, lo, hi))
    return v


class Tariff:
    """A validated tariff. Build with from_dict(); to_dict() gives back its canonical form."""

    def __init__(self, d):
        if not isinstance(d, dict):
            raise _bad(_E_OBJ)
        tid = d.get("id")
        if not isinstance(tid, str) or not 1 <= len(tid) <= 32:
            raise _bad(_E_ID)
        cur = d.get("currency")
        if not isinstance(cur, str) or len(cur) != 3:
            raise _bad(_E_CUR)
        for c in cur:  # loops, not comprehensions: each is a code object in RAM for good
            if not "A" <= c <= "Z":
                raise _bad(_E_CUR)
        self.id = tid
        self.currency = cur
        for name, lo, hi, default in _int_fields():
            setattr(self, name, _int(d, name, lo, hi, default))
        if self.max and self.max < self.min:
            raise _bad(_E_MAX, (self.max, self.min))
        dst = d.get("dst", "none")
        if dst != "none" and dst != "eu":
            raise _bad(_E_DST)
        self.dst = dst
        dyn = d.get("dynamic", False)
        if dyn is not True and dyn is not False:
            raise _bad(_E_DYN)
        self.dynamic = dyn
        tou = d.get("tou", [])
        if not isinstance(tou, list) or len(tou) > _MAX_WINDOWS:
            raise _bad(_E_TOU, _MAX_WINDOWS)
        out = []
        for i, w in enumerate(tou):
            if not isinstance(w, dict):
                raise _bad(_E_WOBJ, i)
            days = w.get("days")
            if not isinstance(days, list) or not days:
                raise _bad(_E_DAYS, i)
            mask = 0
            for x in days:
                if type(x) is not int or not 0 <= x <= 7:
                    raise _bad(_E_DAYS, i)
                mask |= 1 << x
            a = _int(w, "from", 0, 1439, None)
            b = _int(w, "to", 1, 1440, None)
            if b <= a:
                raise _bad(_E_TO, i)
            p = _int(w, "price", -_MAX_PRICE, _MAX_PRICE, None)
            for k in w:
                if k not in ("days", "from", "to", "price"):
                    raise _bad(_E_WFIELD, (i, k))
            out.append((mask, a, b, p, sorted(set(days))))
        self.tou = out
        hol = d.get("holidays", [])
        if not isinstance(hol, list) or len(hol) > _MAX_HOLIDAYS:
            raise _bad(_E_HOL, _MAX_HOLIDAYS)
        self.holidays = []
        for s in hol:
            if not isinstance(s, str) or len(s) != 10 or s[4] != "-" or s[7] != "-":
                raise _bad(_E_YMD, (s,))
            try:
                y, m, day = int(s[:4]), int(s[5:7]), int(s[8:])
            except ValueError:
                raise _bad(_E_YMD, (s,))
            if not (1 <= m <= 12 and 1 <= day <= 31):
                raise _bad(_E_DATE, (s,))
            self.holidays.append(days_from_civil(y, m, day))
        self._hol_text = list(hol)
        for k in d:
            if k not in ("id", "currency", "dst", "dynamic", "tou", "holidays"):
                for f in _int_fields():
                    if f[0] == k:
                        break
                else:
                    raise _bad(_E_FIELD, k)
        if len(self.to_json()) > _MAX_JSON:
            raise _bad(_E_BIG, _MAX_JSON)
        self._dst = (None, 0, 0)  # (year, start, end) of the summer time last asked for

    @classmethod
    def from_dict(cls, d):
        return cls(d)

    @classmethod
    def flat(cls, currency, minor_unit, price_minor_per_kwh, ident="config", version=0):
        """A tariff of one energy price; ident: its id."""
        return cls({"id": ident, "version": version, "currency": currency, "minor_unit": minor_unit,
                    "energy": price_minor_per_kwh * PRICE_SCALE})

    @classmethod
    def from_config(cls, cfg):
        return cls.flat(cfg["currency"], cfg["currency_minor_unit"], cfg["price_minor_per_kwh"])

    @property
    def price_minor_per_kwh(self):
        """The base energy price in whole minor units (rounded half up), for display."""
        return round_div_half_up(self.energy, PRICE_SCALE) if self.energy > 0 else 0

    def to_dict(self):
        d = {"id": self.id, "currency": self.currency}
        for name, _, _, _ in _int_fields():
            d[name] = getattr(self, name)
        d["dst"] = self.dst
        d["dynamic"] = self.dynamic
        tou = d["tou"] = []
        for w in self.tou:
            tou.append({"days": w[4], "from": w[1], "to": w[2], "price": w[3]})
        d["holidays"] = self._hol_text
        return d

    def to_json(self):
        return json.dumps(self.to_dict())

    # ---- prices ------------------------------------------------------------------
    def energy_price(self, t, sched=None):
        """(price units per kWh at wall time t, the first t at which it may change).

        t None (clock unsynced): the base price, until the clock syncs."""
        if t is None:
            return self.energy, _UNSYNCED_UNTIL
        until = 0
        if self.dynamic and sched is not None:
            p, until = sched.lookup(t)
            if p is not None:
                return p, until
            # Outside the schedule the tariff's own price (below) is the fallback, until the
            # schedule starts (if it lies ahead).
        # Local time: (local - UTC) seconds at t, and the next t where that changes.
        off = self.tz_min * 60
        off_until = _FAR
        if self.dst == "eu":
            y = civil_from_days(t // _DAY)[0]
            if self._dst[0] != y:
                self._dst = (y,) + eu_dst_span(y)
            _, a, b = self._dst
            if t < a:
                off_until = a
            elif t < b:
                off += 3600
                off_until = b
            else:
                off_until = eu_dst_span(y + 1)[0]
        # The time-of-use price: the first window that matches the local weekday and minute.
        local = t + off
        day = local // _DAY
        minute = (local - day * _DAY) // 60
        wd = 7 if day in self.holidays else weekday(day)
        bit = 1 << wd
        price = self.energy
        nxt = 1440  # the next minute of the day at which a window opens or closes
        found = False
        for mask, a, b, p, _ in self.tou:
            if mask & bit:
                if not found and a <= minute < b:
                    price = p
                    found = True
                if a > minute and a < nxt:
                    nxt = a
                if b > minute and b < nxt:
                    nxt = b
        fu = t + (day * _DAY + nxt * 60 - local)
        if off_until < fu:
            fu = off_until
        return price, until if 0 < until < fu else fu

    def periods(self, start, end, sched=None):
        """[(start, end, price units per kWh)] covering [start, end): the price plan for a
        scheduler (e.g. cheapest hours). Adjacent equal prices are merged."""
        out = []
        t = start
        while t < end:
            p, until = self.energy_price(t, sched)
            u = until if until < end else end
            if out and out[-1][2] == p and out[-1][1] == t:
                out[-1] = (out[-1][0], u, p)
            else:
                out.append((t, u, p))
            t = u
        return out


def price_at(tariff, t, sched=None):
    """Energy price (price units per kWh) at wall time t."""
    return tariff.energy_price(t, sched)[0]
