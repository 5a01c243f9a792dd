# The simulated station (laddvakt_unix/sim/ev.py) as the agent drives it: exact integer energy with the
# sub-mWh remainder carried, EV states through a visit, one tag tap per visit; and the
# simulated NTP time source.
from fwtest import run
from laddvakt.control.pilot import classify_mv, duty_for_current
from laddvakt_unix.sim.ev import SimStation
from laddvakt_unix.sim.plant import SimTimeSource

_DUTY = duty_for_current(320)  # 32 A offered; the visits below use 3 phases, so never the limit


def _visit(arrive_s, leave_s, need_wh, max_w, **kw):
    v = {"arrive_s": arrive_s, "leave_s": leave_s, "need_wh": need_wh, "max_w": max_w,
         "phases": 3, "react_ms": 0}
    v.update(kw)
    return v


def _drive(st, up):
    """One step as the controller would: PWM on and contactor closed while an EV is there."""
    st.step(up)
    here = st.ev is not None
    st.set_duty(_DUTY if here else 1000)
    st.set_contactor(here)


def _run(st, until_ms, step_ms, start_ms=0):
    for up in range(start_ms, until_ms + 1, step_ms):
        _drive(st, up)


def _state(st):
    return classify_mv(st.cp_read()[0])


def test_energy_exact_whole_mwh_steps():
    # 3600 W for 3600 s (from the step after arrival) is exactly 3 600 000 mWh.
    st = SimStation({"visits": [_visit(0, 7200, 100000, 3600)]})
    _run(st, 3_610_000, 10_000)
    assert st.register_mwh == 3_600_000, st.register_mwh
    assert st.read() == (3600, 3600)


def test_energy_exact_7360w_hour():
    # 7360 W for 10 s is 20444.44 mWh: truncating each step would lose 0.44 mWh a step.
    st = SimStation({"visits": [_visit(0, 7200, 100000, 7360)]})
    _run(st, 3_610_000, 10_000)
    assert st.register_mwh == 7_360_000, st.register_mwh
    assert st.read() == (7360, 7360)


def test_energy_exact_7360w_one_second_steps():
    st = SimStation({"visits": [_visit(0, 7200, 100000, 7360)]})
    _run(st, 3_601_000, 1000)
    assert st.register_mwh == 7_360_000, st.register_mwh


def test_meter_start_and_idle():
    st = SimStation({"visits": [], "meter_start_wh": 123456})
    _run(st, 600_000, 10_000)
    assert st.read() == (123456, 0)
    assert _state(st) == "A" and st.read_tag() is None


def test_states_through_a_visit():
    # Needs 1000 Wh at 3600 W: full after 1000 s of charging (from 110 s, the step after arrival).
    st = SimStation({"visits": [_visit(100, 2000, 1000, 3600, id_tag="TAG-9")], "meter_start_wh": 50})
    seen = {}
    tags = []
    for up in range(0, 2_500_001, 10_000):
        _drive(st, up)
        tags.append(st.read_tag())
        seen[up // 1000] = (_state(st), st.power_w)
    assert seen[0] == ("A", 0) and seen[90] == ("A", 0)
    assert seen[100] == ("B", 0)  # plugged in; the PWM comes on at this step
    assert seen[110] == ("C", 0)  # state C: the current follows from this instant
    assert seen[120] == ("C", 3600) and seen[1100] == ("C", 3600)
    assert seen[1110] == ("B", 0)  # full: plugged in, not drawing
    assert seen[1990] == ("B", 0)
    assert seen[2000] == ("A", 0) and seen[2500] == ("A", 0)
    assert [t for t in tags if t] == ["TAG-9"], tags  # one tap per visit
    assert st.read() == (1050, 0)


def test_each_visit_charges_its_own_need():
    visits = [_visit(0, 1000, 100, 3600, id_tag="A1"), _visit(1000, 3000, 200, 7200)]
    st = SimStation({"visits": visits})
    tags = set()
    states = []
    for up in range(0, 3_000_001, 10_000):
        _drive(st, up)
        tags.add(st.read_tag())
        s = _state(st)
        if not states or states[-1] != s:
            states.append(s)
    assert states == ["B", "C", "B", "C", "B", "A"], states
    assert tags == {"A1", None}  # a visit without id_tag shows no card
    assert st.register_mwh == 300_000, st.register_mwh


def test_time_source():
    ts = SimTimeSource({"start_epoch": 1763704800, "sync_after_s": 30})
    assert ts.unix_s(0) is None and ts.unix_s(29_999) is None
    assert ts.unix_s(30_000) == 1763704830
    assert ts.unix_s(86_400_500) == 1763704800 + 86400
    assert SimTimeSource({"start_epoch": 1763704800}).unix_s(0) == 1763704800


run(globals())
