"""Property test: the firmware's composite schedule (run under micropython, fed JSON cases)
equals a minute-by-minute reference built straight from the OCPP rules (composite_ref.py).
Every time in a case is a whole minute, so minute sampling sees every change."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.host.mp_driver import Driver
from tests.host import composite_ref as ref

T0 = 1795154400  # 2026-11-20 06:00 UTC
VOLTS = 230

minutes = st.integers(0, 48 * 60).map(lambda m: m * 60)


@st.composite
def profile(draw, pid, purpose, stack):
    kind = draw(st.sampled_from(["Absolute", "Recurring", "Relative"]))
    unit = draw(st.sampled_from(["A", "W"]))
    n = draw(st.integers(1, 4))
    starts = sorted(draw(st.sets(st.integers(1, 12 * 60), min_size=n - 1, max_size=n - 1)))
    periods = []
    for sp in [0] + [m * 60 for m in starts]:
        lim = draw(st.integers(0, 40)) if unit == "A" else draw(st.integers(0, 30000))
        if unit == "A" and draw(st.booleans()):
            lim = lim + 0.5  # one decimal, as OCPP allows
        q = {"startPeriod": sp, "limit": lim}
        if draw(st.booleans()):
            q["numberPhases"] = draw(st.integers(1, 3))
        periods.append(q)
    sch = {"chargingRateUnit": unit, "chargingSchedulePeriod": periods}
    if kind != "Relative":
        sch["startSchedule"] = T0 + draw(st.integers(-36 * 60, 36 * 60)) * 60
    if draw(st.booleans()):
        sch["duration"] = draw(st.integers(1, 30 * 60)) * 60
    p = {"chargingProfileId": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
         "chargingProfileKind": kind, "chargingSchedule": sch}
    if kind == "Recurring":
        p["recurrencyKind"] = draw(st.sampled_from(["Daily", "Weekly"]))
    if draw(st.booleans()):
        p["validFrom"] = T0 + draw(minutes) - 12 * 3600
    if draw(st.booleans()):
        p["validTo"] = T0 + draw(minutes)
    return p


@st.composite
def case(draw):
    profiles = []
    pid = 1
    for purpose in ref.ORDER:
        # Distinct stack levels per purpose: the same purpose and level would replace.
        for stack in sorted(draw(st.sets(st.integers(0, 5), max_size=3))):
            profiles.append(draw(profile(pid, purpose, stack)))
            pid += 1
    tx = draw(st.one_of(st.none(), st.integers(-6 * 60, 6 * 60).map(lambda m: T0 + m * 60)))
    if tx is None:
        profiles = [p for p in profiles if p["chargingProfilePurpose"] != "TxProfile"]
    t0 = T0 + draw(st.integers(-12 * 60, 12 * 60)) * 60
    dur = draw(st.integers(1, 36 * 60)) * 60
    return {"profiles": profiles, "t0": t0, "duration": dur, "tx_start": tx,
            "station_da": draw(st.sampled_from([160, 320, 630])), "volts": VOLTS,
            "probes": [t0 + draw(st.integers(0, dur // 60 - 1)) * 60 for _ in range(5)]}


@pytest.fixture(scope="module")
def firmware():
    d = Driver('mp_composite.py')
    yield d.ask
    d.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case())
def test_composite_matches_reference(firmware, c):
    got = firmware(c)
    want = ref.composite(c["profiles"], c["t0"], c["duration"], c["tx_start"], c["station_da"], VOLTS)
    assert [tuple(x) for x in got["composite"]] == want
    for t, lim in zip(c["probes"], got["probes"]):
        assert lim == ref.limit_at(c["profiles"], t, c["tx_start"], c["station_da"], VOLTS)


def test_reference_sanity():
    # The reference itself, on a case worked by hand.
    p = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
         "chargingProfileKind": "Absolute",
         "chargingSchedule": {"chargingRateUnit": "A", "startSchedule": T0 + 600, "duration": 1200,
                              "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10}]}}
    assert ref.composite([p], T0, 3600, None, 320, VOLTS) == [(0, 320), (600, 100), (1800, 320)]
