# A dynamic price schedule: energy prices for fixed steps (15 min or 1 h) over the
# next hours, as Nordic spot prices are published. Pure data plus lookups, so the
# tariff engine and a charging scheduler read the same prices.
from micropython import const

MAX_PRICES = const(192)  # 48 h of 15-minute steps
CHUNK = const(48)  # prices per price_schedule record, so one record stays well under a frame
_MAX_PRICE = const(10 ** 9)


class ScheduleError(ValueError):
    pass


class PriceSchedule:
    """Validated schedule: id, start (Unix s, a multiple of step_s), step_s (900 or 3600),
    prices (price units per kWh, 1..192 of them)."""

    def __init__(self, d):
        if not isinstance(d, dict):
            raise ScheduleError("schedule must be a JSON object")
        sid = d.get("id")
        if not isinstance(sid, str) or not 1 <= len(sid) <= 32:
            raise ScheduleError("'id' must be a string of 1..32 characters")
        step = d.get("step_s")
        if step not in (900, 3600) or type(step) is not int:
            raise ScheduleError("'step_s' must be 900 or 3600")
        start = d.get("start")
        if type(start) is not int or start < 0 or start % step:
            raise ScheduleError("'start' must be Unix seconds on a step boundary")
        prices = d.get("prices")
        if not isinstance(prices, list) or not 1 <= len(prices) <= MAX_PRICES:
            raise ScheduleError("'prices' must be a list of 1..%d prices" % MAX_PRICES)
        for p in prices:
            if type(p) is not int or not -_MAX_PRICE <= p <= _MAX_PRICE:
                raise ScheduleError("every price must be an integer within +-%d" % _MAX_PRICE)
        for k in d:
            if k not in ("id", "start", "step_s", "prices"):
                raise ScheduleError("unknown schedule field '%s'" % k)
        self.id = sid
        self.start = start
        self.step_s = step
        self.prices = list(prices)
        self.end = start + step * len(prices)

    @classmethod
    def from_dict(cls, d):
        return cls(d)

    def to_dict(self):
        return {"id": self.id, "start": self.start, "step_s": self.step_s, "prices": self.prices}

    def lookup(self, t):
        """(price, end of its step) where the schedule covers t; otherwise (None, start of
        the schedule if it lies ahead, else 0)."""
        if t < self.start:
            return None, self.start
        if t >= self.end:
            return None, 0
        i = (t - self.start) // self.step_s
        return self.prices[i], self.start + (i + 1) * self.step_s

    def price_at(self, t):
        """Price units per kWh at t, or None outside the schedule."""
        return self.lookup(t)[0]

    def periods(self, t0, t1):
        """[(start, end, price)] of the steps that overlap [t0, t1), clipped to it."""
        out = []
        t = t0 if t0 > self.start else self.start
        while t < t1 and t < self.end:
            p, until = self.lookup(t)
            out.append((t, until if until < t1 else t1, p))
            t = until
        return out

    def chunks(self):
        """The schedule as record-sized parts: [(part start, prices)]."""
        out = []
        for i in range(0, len(self.prices), CHUNK):
            out.append((self.start + i * self.step_s, self.prices[i:i + CHUNK]))
        return out
