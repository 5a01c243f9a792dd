# Fleet schedules, pure: "vehicle X needs E Wh by time T". Given a dynamic price schedule
# (equal periods from a start time, integer minor units per kWh) the plan charges at full power
# in the cheapest periods before the deadline, earliest first among equal prices; time the price
# schedule does not cover is used only after every priced period, in time order. Charging stops
# when the target is reached; past the deadline with the target unmet it runs flat out. The plan is
# redone with the energy still missing (every few minutes and on new input), so a demand
# response event or a slow EV moves charging into the next cheapest periods.
from micropython import const

_UNPRICED = const(1 << 30)  # sorts after every real price


class Prices:
    def __init__(self, start_t, step_s, prices):
        if not isinstance(start_t, int) or not isinstance(step_s, int) or step_s < 60:
            raise ValueError("'start' must be Unix seconds and 'step_s' an integer >= 60")
        if not isinstance(prices, list) or not 0 < len(prices) <= 192:
            raise ValueError("'prices' must list 1..192 prices")
        for p in prices:
            if not isinstance(p, int) or isinstance(p, bool) or p < 0:
                raise ValueError("prices are integer minor units per kWh, >= 0")
        self.start = start_t
        self.step = step_s
        self.prices = prices

    def end(self):
        return self.start + self.step * len(self.prices)


def _slots(now_t, by_t, prices):
    """(price, start, end) covering [now_t, by_t), cut at price period boundaries."""
    out = []
    t = now_t
    while t < by_t:
        if prices is not None and prices.start <= t < prices.end():
            i = (t - prices.start) // prices.step
            end = prices.start + (i + 1) * prices.step
            price = prices.prices[i]
        else:
            # Unpriced: up to the next priced period (or the deadline).
            end = by_t
            if prices is not None and t < prices.start:
                end = min(end, prices.start)
            price = _UNPRICED
        end = min(end, by_t)
        out.append((price, t, end))
        t = end
    return out


class Plan:
    """Charging windows [(start, end), ...] in time order, and what they achieve."""

    def __init__(self, windows, feasible, shortfall_wh, cost_minor):
        self.windows = windows
        self.feasible = feasible
        self.shortfall_wh = shortfall_wh
        self.cost_minor = cost_minor  # estimated, priced periods only

    def charging_at(self, t):
        for a, b in self.windows:
            if a <= t < b:
                return True
        return False


def plan(now_t, need_wh, by_t, power_w, prices):
    if need_wh <= 0:
        return Plan([], True, 0, 0)
    if power_w <= 0:
        return Plan([], False, need_wh, 0)
    slots = _slots(now_t, by_t, prices)
    slots.sort()
    left = need_wh
    cost = 0
    windows = []
    for price, a, b in slots:
        if left <= 0:
            break
        cap = power_w * (b - a) // 3600
        if cap >= left:
            # The last period is needed only in part, but stays whole in the plan: the
            # controller stops at the target, and an EV slower than planned still gets there.
            cap = left
        if b > a:
            windows.append((a, b))
            if price != _UNPRICED:
                cost += (cap * price + 500) // 1000
            left -= cap
    windows.sort()
    # Neighbouring windows merge, so the charge is not paused at a period boundary.
    merged = []
    for a, b in windows:
        if merged and merged[-1][1] == a:
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    return Plan(merged, left <= 0, left if left > 0 else 0, cost)
