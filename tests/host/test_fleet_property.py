"""Property test of the fleet planner (firmware code, run under micropython): its windows lie
within [now, deadline), deliver the need when it says feasible and run flat out when not, use
no price period dearer than one it leaves out, and use no period it does not need."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.host.mp_driver import Driver

T0 = 1795190400
UNPRICED = 10 ** 9


@st.composite
def case(draw):
    step = draw(st.sampled_from([900, 1800, 3600]))
    prices = None
    if draw(st.integers(0, 9)):
        prices = {"start": T0 + draw(st.integers(-8, 8)) * 900, "step_s": step,
                  "prices": draw(st.lists(st.integers(0, 500), min_size=1, max_size=48))}
    now = T0 + draw(st.integers(0, 48)) * 300
    by = now + draw(st.integers(1, 96)) * 300
    return {"now": now, "by": by, "need_wh": draw(st.integers(0, 120000)),
            "power_w": draw(st.sampled_from([1380, 3680, 7360, 11040, 22080])), "prices": prices}


def slots(c):
    """The price periods cut to [now, by): (price, start, end); unpriced stretches priced high."""
    pr = c["prices"]
    cuts = {c["now"], c["by"]}
    if pr:
        for i in range(len(pr["prices"]) + 1):
            t = pr["start"] + i * pr["step_s"]
            if c["now"] < t < c["by"]:
                cuts.add(t)
    cuts = sorted(cuts)
    out = []
    for a, b in zip(cuts, cuts[1:]):
        price = UNPRICED
        if pr and pr["start"] <= a < pr["start"] + pr["step_s"] * len(pr["prices"]):
            price = pr["prices"][(a - pr["start"]) // pr["step_s"]]
        out.append((price, a, b))
    return out


@pytest.fixture(scope="module")
def firmware():
    d = Driver('mp_fleet.py')
    yield d.ask
    d.close()


def covered(windows, a, b):
    return any(x <= a and b <= y for x, y in windows)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case())
def test_plan_properties(firmware, c):
    got = firmware(c)
    w = [tuple(x) for x in got["windows"]]
    assert w == sorted(w) and all(a < b for a, b in w)
    assert all(x[1] < y[0] for x, y in zip(w, w[1:])), "windows overlap or touch unmerged"
    assert all(c["now"] <= a and b <= c["by"] for a, b in w)
    ss = slots(c)
    # Windows are made of whole periods.
    for a, b in w:
        assert a in [s[1] for s in ss] and b in [s[2] for s in ss]
    used = [s for s in ss if covered(w, s[1], s[2])]
    unused = [s for s in ss if not covered(w, s[1], s[2])]
    cap = sum(c["power_w"] * (b - a) // 3600 for _, a, b in used)
    if c["need_wh"] == 0:
        assert w == [] and got["feasible"]
        return
    if got["feasible"]:
        assert cap >= c["need_wh"] and got["shortfall_wh"] == 0
        # Nothing dearer used while something cheaper was left out.
        if used and unused:
            assert max(s[0] for s in used) <= min(s[0] for s in unused), (used, unused)
        # And no period it did not need: dropping the last one chosen falls short.
        last = max(used, key=lambda s: (s[0], s[1]))
        assert cap - c["power_w"] * (last[2] - last[1]) // 3600 < c["need_wh"]
    else:
        assert not unused, "short of the target, every period must be used"
        assert got["shortfall_wh"] == c["need_wh"] - cap > 0
    exact = sum(min(c["power_w"] * (b - a) / 3600, 10 ** 12) * p / 1000 for p, a, b in used
                if p != UNPRICED)
    assert got["cost_minor"] <= exact + len(used)
