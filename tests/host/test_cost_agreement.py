"""Device and backend agree to the minor unit on random tariffs and sessions.

The device side is the firmware's pricing code under the unix-port micropython (one process
for the whole test, fed JSON cases: tests/host/mp_cost_driver.py); the backend side is the
independent recomputation in host_tools/backend/recompute.py, from the records alone.
"""
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from host_tools.backend.recompute import recompute
from host_tools.backend.store import check, load_validator
from tests.host.mp_driver import Driver

T_MIN = 1767225600  # 2026-01-01
T_MAX = 1830297600  # 2028-01-01


@pytest.fixture(scope="module")
def device(tmp_path_factory):
    d = tmp_path_factory.mktemp("mpdev")
    drv = Driver("mp_cost_driver.py", cwd=str(d), args=[str(d)])

    def ask(case):
        out = drv.ask(case)
        assert "error" not in out, out["error"]
        return out

    yield ask
    drv.close()


prices = st.integers(-500000, 60000000)
windows = st.lists(st.fixed_dictionaries({
    "days": st.lists(st.integers(0, 7), min_size=1, max_size=8, unique=True),
    "from": st.integers(0, 1439), "len": st.integers(1, 1440), "price": prices}), max_size=4)


@st.composite
def tariffs(draw, version=1):
    ws = []
    for w in draw(windows):
        ws.append({"days": w["days"], "from": w["from"], "to": min(1440, w["from"] + w["len"]),
                   "price": w["price"]})
    t = {"id": "p", "version": version, "currency": "EUR", "minor_unit": draw(st.integers(0, 3)),
         "energy": draw(st.integers(0, 60000000)), "tz_min": draw(st.sampled_from([-300, 0, 60, 120, 330])),
         "dst": draw(st.sampled_from(["none", "eu"])), "dynamic": draw(st.booleans()), "tou": ws,
         "time_fee": draw(st.sampled_from([0, 1, 12345, 500000])),
         "idle_fee": draw(st.sampled_from([0, 7, 99999, 1000000])),
         "idle_grace_s": draw(st.sampled_from([0, 1, 600, 3600])),
         "start_fee": draw(st.sampled_from([0, 1, 4999, 2500000])),
         "vat_bp": draw(st.sampled_from([0, 600, 2500, 2550, 10000]))}
    lo = draw(st.sampled_from([0, 0, 1, 350, 100000]))
    t["min"] = lo
    t["max"] = draw(st.sampled_from([0, 0, lo, lo + 1, lo + 5000]))
    return t


@st.composite
def cases(draw):
    t0 = draw(st.integers(T_MIN, T_MAX))
    steps = draw(st.lists(st.tuples(st.integers(0, 7200000), st.integers(0, 9000),
                                    st.sampled_from(["charging", "idle", "suspended"])),
                          min_size=1, max_size=40))
    tariff = draw(tariffs())
    # Holidays around the session, so the weekday-7 rule is exercised.
    day0 = t0 // 86400
    tariff["holidays"] = sorted({(date(1970, 1, 1) + timedelta(days=day0 + d)).isoformat()
                                 for d in draw(st.lists(st.integers(-1, 4), max_size=3))})
    case = {"t0": t0, "wh0": draw(st.integers(0, 10 ** 8)), "st0": draw(st.sampled_from(["charging", "idle"])),
            "steps": steps, "tariff": tariff,
            "sync_at": draw(st.sampled_from([0, 0, 0, 1, len(steps) // 2, len(steps) + 1]))}
    span = sum(s[0] for s in steps) // 1000 + 7200
    if draw(st.booleans()):
        step = draw(st.sampled_from([900, 3600]))
        start = (t0 + draw(st.integers(-span, span))) // step * step
        case["sched"] = {"id": "s1", "start": max(0, start), "step_s": step,
                         "prices": draw(st.lists(prices, min_size=1, max_size=192))}
    if draw(st.booleans()):
        case["change_at"] = draw(st.integers(0, len(steps) - 1))
        case["tariff2"] = draw(tariffs(version=2))
        if draw(st.booleans()):
            case["sched2"] = {"id": "s2", "start": t0 // 900 * 900, "step_s": 900,
                              "prices": draw(st.lists(prices, min_size=1, max_size=100))}
    return case


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=cases())
def test_device_and_backend_agree_to_the_minor_unit(device, case):
    out = device(case)
    want = recompute(out["recs"], "5f0c2a9e81d3-00000009")
    assert out["total"] == want["total"], (out["receipt"], want)
    r = out["receipt"]
    assert (r["vat"], r["net"], r["adj"]) == (want["vat"], want["net"], want["adj"])
    assert sum(s["chg_ms"] for s in r["segs"]) == want["chg_ms"]
    assert sum(s["idle_ms"] for s in r["segs"]) == want["idle_ms"]
    lines = [ln for s in r["segs"] for ln in (s["lines"] or [])]
    assert sum(ln[1] for ln in lines) == want["energy_wh"]


def test_a_mid_session_tariff_change_is_billed_in_two_parts(device):
    t0 = 1795154400  # 2026-11-20 06:00 UTC
    base = {"id": "home", "currency": "SEK", "minor_unit": 2}
    case = {"t0": t0, "wh0": 1000, "st0": "charging", "sync_at": 0,
            "steps": [[1800000, 3000, "charging"]] * 4,
            "tariff": dict(base, version=1, energy=2500000),
            "change_at": 1, "tariff2": dict(base, version=2, energy=4000000)}
    out = device(case)
    a, b = out["receipt"]["segs"]
    assert (a["ver"], b["ver"]) == (1, 2)
    # The driver's first sample is 1 s after t0; the change lands at the second step.
    assert a["lines"] == [[t0 + 1, 6000, 2500000]] and b["lines"] == [[t0 + 3601, 6000, 4000000]]
    assert out["total"] == 1500 + 2400
    changes = [r for r in out["recs"] if r["type"] == "tariff_change" and r["sid"]]
    assert len(changes) == 1 and changes[0]["energy_wh"] == 7000 and changes[0]["t"] == t0 + 3601
    assert recompute(out["recs"], "5f0c2a9e81d3-00000009")["total"] == 3900
    end = out["recs"][-1]
    assert end["tariffs"] == [["home", 1], ["home", 2]]
    v = load_validator("record.json")
    for r in out["recs"]:
        check(v, r)  # the firmware's own record builders: the contract holds
