"""Property: for any sequence of meter readings, garbage included, the booked session energy
equals the energy delivered to the meter's resolution, or the session is flagged.

Hypothesis generates the sequences here; the firmware's EnergyGuard judges them in a
micropython process (firmware behaviour is only ever exercised under micropython)."""
import os

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.host.mp_driver import Driver

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_W = 22080


@pytest.fixture(scope="module")
def guard_proc():
    d = Driver(os.path.join(HERE, "mp_energy.py"))
    yield d
    d.close()


def judge(drv, res, readings):
    return drv.ask({"max_w": MAX_W, "res": res, "readings": readings})


step = st.tuples(
    st.integers(200, 120000),  # dt in ms
    st.integers(0, MAX_W),  # true power in W over that interval
    st.sampled_from(["ok"] * 6 + ["nan", "garbage", "backwards", "jump", "missing"]),
    st.integers(0, 2 ** 40),  # garbage value
)


def sequences(corrupt=True):
    return st.tuples(st.sampled_from([1, 10, 100, 1000]), st.integers(0, 10 ** 10),
                     st.lists(step if corrupt else step.map(lambda s: (s[0], s[1], "ok", 0)),
                              min_size=1, max_size=40))


def build(res, start, steps):
    """(readings for the guard, true register at the start, true register at the end)."""
    wms = start * 360000  # true energy in W x ms (0.1 Wh = 360000 W x ms)
    t = 0

    def reg():
        return (wms // 360000) // res * res  # what a register of this resolution shows

    readings = [[0, reg()]]
    first = reg()
    for dt, w, kind, g in steps:
        t += dt
        wms += w * dt
        true = reg()
        if kind == "missing":
            continue  # the poll failed: the guard is not fed
        if kind == "ok":
            readings.append([t, true])
        elif kind == "nan":
            readings.append([t, None])
        elif kind == "garbage":
            readings.append([t, g])
        elif kind == "backwards":
            readings.append([t, max(0, true - 1 - g % 100000)])
        else:
            readings.append([t, true + 1 + res + g % 10 ** 9 + MAX_W * dt])
    # The session ends on a good reading (a wrong one that is still physically plausible
    # cannot be told from a true one by anybody; a CRC-checked register makes it rare).
    t += 1000
    readings.append([t, reg()])
    return readings, first, reg()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequences())
def test_booked_energy_is_delivered_energy_or_flagged(guard_proc, seq):
    res, start, steps = seq
    readings, first, last_true = build(res, start, steps)
    r = judge(guard_proc, res, readings)
    assert r["start"] == first
    assert r["end"] >= r["start"]  # never negative
    event("flagged" if r["flags"] else "unflagged")
    if r["flags"] == 0:
        # Unflagged: the booked energy is exactly the register delta delivered between the
        # first and the last reading, whatever garbage came in between.
        assert r["end"] - r["start"] == last_true - first, (r, readings)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequences(corrupt=False))
def test_clean_readings_are_never_flagged(guard_proc, seq):
    res, start, steps = seq
    readings, first, last_true = build(res, start, steps)
    r = judge(guard_proc, res, readings)
    assert r["flags"] == 0, (r, readings)
    assert r["end"] - r["start"] == last_true - first
