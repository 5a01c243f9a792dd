"""Property test: the firmware's composite schedule (run under micropython, fed JSON cases)
equals a minute-by-minute reference built straight from the OCPP rules (composite_ref.py):
the same (startPeriod, dA per phase, numberPhases) periods, on 1- and 3-phase stations.
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
def rate(draw, unit, top_a, top_w):
    """A limit or minChargingRate: whole, or with decimals (13.37 A must become 13.3 A), or
    one that ties with a station limit (16 A, 11040 W = 16 A on 3 x 230 V) so that the tie rule
    for numberPhases is exercised."""
    how = draw(st.integers(0, 4))
    if how == 0:
        return draw(st.sampled_from([16, 32, 63] if unit == "A" else [3680, 7360, 11040, 22080]))
    if unit == "A":
        if how < 3:
            return draw(st.integers(0, top_a))
        return draw(st.integers(0, top_a * 100)) / 100
    if how < 3:
        return draw(st.integers(0, top_w))
    if how == 3:
        return draw(st.integers(0, top_w * 10)) / 10  # a fraction of a watt is dropped
    # Just under a step of 0.1 A per phase (23 W on one 230 V phase, 69 W on three).
    return draw(st.integers(1, top_w // 69)) * 69 - draw(st.sampled_from([0.1, 0.5, 0.9]))


@st.composite
def profile(draw, pid, purpose, stack):
    kind = draw(st.sampled_from(["Absolute", "Recurring", "Relative"]))
    unit = draw(st.sampled_from(["A", "W"]))
    n = draw(st.integers(1, 4))
    starts = sorted(draw(st.sets(st.integers(1, 12 * 60), min_size=n - 1, max_size=n - 1)))
    periods = []
    for sp in [0] + [m * 60 for m in starts]:
        q = {"startPeriod": sp, "limit": draw(rate(unit, 40, 30000))}
        if draw(st.booleans()):
            q["numberPhases"] = draw(st.integers(1, 3))
        periods.append(q)
    sch = {"chargingRateUnit": unit, "chargingSchedulePeriod": periods}
    if draw(st.integers(0, 2)) == 0:
        # Every purpose may carry one; only a Tx/TxDefault profile's is used.
        sch["minChargingRate"] = draw(rate(unit, 20, 15000))
    if kind != "Relative":
        # Up to 36 h after T0: often after the window's start, so a Recurring profile's
        # first instance falls inside the window.
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
            "phases": draw(st.sampled_from([1, 3])),
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
    args = (c["tx_start"], c["station_da"], VOLTS, c["phases"])
    want = ref.composite(c["profiles"], c["t0"], c["duration"], *args)
    assert [tuple(x) for x in got["composite"]] == want
    for t, lim, lim_n in zip(c["probes"], got["probes"], got["probe_phases"]):
        assert tuple(lim_n) == ref.limit_at(c["profiles"], t, *args)
        assert lim == lim_n[0]


def test_reference_sanity():
    # The reference itself, on a case worked by hand.
    p = {"chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
         "chargingProfileKind": "Absolute",
         "chargingSchedule": {"chargingRateUnit": "A", "startSchedule": T0 + 600, "duration": 1200,
                              "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 10}]}}
    assert ref.composite([p], T0, 3600, None, 320, VOLTS, 3) == [
        (0, 320, 3), (600, 100, 3), (1800, 320, 3)]
    # 3680 W on one phase of a 3-phase station: 5.3 A per phase, reported with numberPhases 1.
    p["chargingSchedule"].update(chargingRateUnit="W", chargingSchedulePeriod=[
        {"startPeriod": 0, "limit": 3680, "numberPhases": 1}], minChargingRate=3657)
    assert ref.composite([p], T0, 3600, None, 320, VOLTS, 3) == [
        (0, 320, 3), (600, 53, 1), (1800, 320, 3)]
    assert ref.composite([p], T0, 3600, None, 320, VOLTS, 1) == [
        (0, 320, 1), (600, 160, 1), (1800, 320, 1)]
    # A Recurring profile from 01:00 (T0 is 06:00): nothing before it, then daily.
    p.update(chargingProfileKind="Recurring", recurrencyKind="Daily",
             chargingProfilePurpose="ChargePointMaxProfile")  # its minChargingRate is unused
    p["chargingSchedule"].update(startSchedule=T0 + 19 * 3600, chargingRateUnit="A",
                                 chargingSchedulePeriod=[{"startPeriod": 0, "limit": 13.37}],
                                 minChargingRate=13.4)
    assert ref.composite([p], T0, 2 * 86400, None, 320, VOLTS, 3) == [
        (0, 320, 3), (19 * 3600, 133, 3), (19 * 3600 + 1200, 320, 3),
        (43 * 3600, 133, 3), (43 * 3600 + 1200, 320, 3)]
    p["chargingProfilePurpose"] = "TxDefaultProfile"  # in force: its minimum pauses it
    assert ref.limit_at([p], T0 + 19 * 3600, None, 320, VOLTS, 3) == (0, 3)
