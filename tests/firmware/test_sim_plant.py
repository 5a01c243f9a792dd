# The simulated EV and meter: exact integer energy, pilot states, visits.
from fwtest import run
from laddvakt.sim.plant import SimMeter, SimPilot, SimPlant, SimTimeSource


def _plant(visits, **kw):
    sc = {"visits": visits}
    sc.update(kw)
    return SimPlant(sc)


def _run(p, until_ms, step_ms):
    for up in range(0, until_ms + 1, step_ms):
        p.step(up)


def test_energy_exact_whole_mwh_steps():
    # 3600 W for 10 s is exactly 10000 mWh per step.
    p = _plant([{"arrive_s": 0, "leave_s": 7200, "need_wh": 100000, "max_w": 3600}])
    _run(p, 3_600_000, 10_000)
    assert p.register_mwh == 3_600_000
    assert SimMeter(p).read() == (3600, 3600)


def test_energy_exact_7360w_hour():
    # 7360 W for 10 s is 20444.44 mWh: truncating each step loses 0.44 mWh a step.
    p = _plant([{"arrive_s": 0, "leave_s": 7200, "need_wh": 100000, "max_w": 7360}])
    _run(p, 3_600_000, 10_000)
    assert SimMeter(p).read() == (7360, 7360), SimMeter(p).read()


def test_energy_exact_7360w_one_second_steps():
    p = _plant([{"arrive_s": 0, "leave_s": 7200, "need_wh": 100000, "max_w": 7360}])
    _run(p, 3_600_000, 1000)
    assert p.register_mwh == 7_360_000, p.register_mwh


def test_meter_start_and_idle():
    p = _plant([], meter_start_wh=123456)
    _run(p, 600_000, 10_000)
    assert SimMeter(p).read() == (123456, 0)
    assert p.state == "A" and SimPilot(p).read() == "A"


def test_states_through_a_visit():
    # Needs 1000 Wh at 3600 W: full after 1000 s of charging.
    p = _plant([{"arrive_s": 100, "leave_s": 2000, "need_wh": 1000, "max_w": 3600, "id_tag": "TAG-9"}],
               meter_start_wh=50)
    pilot = SimPilot(p)
    seen = {}
    for up in range(0, 2_500_001, 10_000):
        p.step(up)
        seen[up // 1000] = (pilot.read(), p.power_w, p.id_tag())
    assert seen[0] == ("A", 0, None) and seen[90] == ("A", 0, None)
    assert seen[100] == ("C", 3600, "TAG-9")
    assert seen[1090] == ("C", 3600, "TAG-9")
    assert seen[1100] == ("B", 0, "TAG-9")  # full: plugged in, not drawing
    assert seen[1990] == ("B", 0, "TAG-9")
    assert seen[2000] == ("A", 0, None) and seen[2500] == ("A", 0, None)
    assert SimMeter(p).read() == (1050, 0)


def test_each_visit_charges_its_own_need():
    visits = [
        {"arrive_s": 0, "leave_s": 1000, "need_wh": 100, "max_w": 3600, "id_tag": "A1"},
        {"arrive_s": 1000, "leave_s": 3000, "need_wh": 200, "max_w": 7200},
    ]
    p = _plant(visits)
    tags = set()
    states = []
    for up in range(0, 3_000_001, 10_000):
        p.step(up)
        tags.add(p.id_tag())
        if not states or states[-1] != p.state:
            states.append(p.state)
    assert states == ["C", "B", "C", "B", "A"], states
    assert tags == {"A1", None}  # a visit without id_tag gives None
    assert p.register_mwh == 300_000


def test_time_source():
    ts = SimTimeSource({"start_epoch": 1763704800, "sync_after_s": 30})
    assert ts.unix_s(0) is None and ts.unix_s(29_999) is None
    assert ts.unix_s(30_000) == 1763704830
    assert ts.unix_s(86_400_500) == 1763704800 + 86400
    assert SimTimeSource({"start_epoch": 1763704800}).unix_s(0) == 1763704800


run(globals())
