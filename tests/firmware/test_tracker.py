# Session tracker: pilot state and meter energy in, session start and end out.
from fwtest import run
from laddvakt.session.flow import SessionTracker

T0 = 1735689600


def _sids():
    n = [0]

    def new_sid():
        n[0] += 1
        return "sid-%d" % n[0]

    return new_sid


def _tracker():
    return SessionTracker(_sids())


def test_no_session_while_a():
    t = _tracker()
    for i in range(100):
        assert t.on_sample(i * 1000, T0 + i, "synced", "A", 5000 + i) is None
    assert t.session is None
    assert t.stop(100_000, T0 + 100, 5100, "Remote") is None  # nothing to stop


def test_plug_in_starts_with_meter_start():
    t = _tracker()
    t.on_sample(0, None, "unsynced", "A", 1200)
    ev = t.on_sample(1000, None, "unsynced", "B", 1200, "TAG1")
    assert ev is not None and ev[0] == "start"
    s = ev[1]
    assert s is t.session
    assert s.sid == "sid-1"
    assert s.meter_start_wh == 1200
    assert s.start_up == 1000 and s.start_t is None and s.start_tq == "unsynced"
    assert s.id_tag == "TAG1"
    assert s.end_up is None and s.stop_reason is None


def test_charging_then_unplug_ends():
    t = _tracker()
    kind, s = t.on_sample(10_000, T0, "synced", "B", 1000)
    assert kind == "start"
    assert t.on_sample(20_000, T0 + 10, "synced", "C", 1000) is None
    assert t.on_sample(3_610_000, T0 + 3600, "synced", "C", 8360) is None
    assert t.pilot == "C" and t.session is s
    assert s.energy_wh == 7360  # running energy while open
    assert t.on_sample(3_620_000, T0 + 3610, "synced", "B", 8361) is None
    kind, e = t.on_sample(3_625_500, T0 + 3615, "synced", "A", 8361)
    assert kind == "end" and e is s
    assert t.session is None
    assert e.stop_reason == "EVDisconnected"
    assert e.meter_stop_wh == 8361 and e.energy_wh == 7361
    assert e.end_up == 3_625_500 and e.end_t == T0 + 3615
    assert e.duration_s() == 3615  # from uptime: (3_625_500 - 10_000) // 1000


def test_error_states_end_with_other():
    for bad in ("E", "F"):
        t = _tracker()
        t.on_sample(0, None, "unsynced", "C", 10)
        kind, s = t.on_sample(5000, None, "unsynced", bad, 15)
        assert kind == "end" and s.stop_reason == "Other" and s.energy_wh == 5
        assert t.session is None
        assert t.on_sample(6000, None, "unsynced", bad, 15) is None  # no new session in E/F


def test_explicit_stop():
    t = _tracker()
    t.on_sample(0, T0, "synced", "B", 100)
    t.on_sample(1000, T0 + 1, "synced", "C", 150)
    kind, s = t.stop(2000, T0 + 2, 160, "Remote")
    assert kind == "end" and s.stop_reason == "Remote"
    assert s.meter_stop_wh == 160 and s.energy_wh == 60 and s.duration_s() == 2
    assert t.session is None
    # still plugged in: the next sample in C opens a new session
    kind, s2 = t.on_sample(3000, T0 + 3, "synced", "C", 160)
    assert kind == "start" and s2.sid != s.sid and s2.meter_start_wh == 160


def test_distinct_sids_from_callable():
    t = _tracker()
    seen = []
    for k in range(5):
        base = k * 100_000
        kind, s = t.on_sample(base, None, "unsynced", "B", k)
        seen.append(s.sid)
        assert t.on_sample(base + 50_000, None, "unsynced", "A", k)[0] == "end"
    assert seen == ["sid-1", "sid-2", "sid-3", "sid-4", "sid-5"]


def test_meter_backwards_never_negative():
    t = _tracker()
    t.on_sample(0, None, "unsynced", "B", 5000)
    t.on_sample(1000, None, "unsynced", "C", 4000)  # a meter swap or a bad read
    assert t.session.energy_wh == 0
    kind, s = t.on_sample(2000, None, "unsynced", "A", 10)
    assert kind == "end" and s.energy_wh == 0 and s.meter_stop_wh == 10


def _day_pilot(i, visits):
    for arrive, full, leave in visits:
        if arrive <= i < leave:
            if i < arrive + 3:
                return "B"  # EV connected, not yet drawing
            return "C" if i < full else "B"
    return "A"


def test_full_day_three_sessions():
    # 8640 ticks of 10 s; three visits (arrive, full, leave) in ticks.
    visits = ((700, 1500, 2000), (4000, 4300, 4500), (7000, 8000, 8600))
    t = _tracker()
    register = 123_456
    starts = []
    ends = []
    for i in range(8640):
        up = i * 10_000
        pilot = _day_pilot(i, visits)
        if pilot == "C":
            register += 20  # 7.2 kW for 10 s
        ev = t.on_sample(up, T0 + up // 1000, "synced", pilot, register)
        if ev:
            (starts if ev[0] == "start" else ends).append((i, register, ev[1]))
    assert len(starts) == 3 and len(ends) == 3
    assert [s[0] for s in starts] == [v[0] for v in visits]
    assert [e[0] for e in ends] == [v[2] for v in visits]
    for (i0, r0, s), (i1, r1, e), v in zip(starts, ends, visits):
        assert s is e
        assert e.meter_start_wh == r0 and e.meter_stop_wh == r1
        assert e.energy_wh == r1 - r0 == 20 * (v[1] - v[0] - 3)
        assert e.duration_s() == (i1 - i0) * 10
        assert e.stop_reason == "EVDisconnected"
    assert len(set(s[2].sid for s in starts)) == 3
    assert t.session is None


run(globals())
