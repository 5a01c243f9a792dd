# Energy integrity: what may be booked. Readings in 0.1 Wh, time in ms.
from fwtest import run
from laddvakt.meters import integrity as en

MAXW = 11000  # 11 kW: 305 x 0.1 Wh in 10 s; x1.5 allows 458


def guard(res=1):
    return en.EnergyGuard(MAXW, res)


def test_accepted_readings_book_the_register_delta():
    g = guard()
    assert g.feed(0, 1000000) == en.OK and g.booked == 1000000
    for t, r in ((10000, 1000300), (20000, 1000300), (30000, 1000700)):
        assert g.feed(t, r) == en.OK
    assert g.booked == 1000700 and g.session_flags() == 0


def test_nan_backwards_and_jump_are_rejected_and_never_booked():
    g = guard()
    g.feed(0, 500000)
    assert g.feed(10000, None) == en.NAN
    assert g.feed(20000, 499999) == en.BACKWARDS
    # 20 s at 11 kW x 1.5 allows 916, plus one resolution step; one more is a jump.
    assert g.limit(20000, 0) == 916 + 1
    assert g.feed(20000, 500000 + 918) == en.JUMP
    assert g.booked == 500000
    assert g.rejected[1:] == [1, 1, 1]
    # The next good reading books everything delivered since the last accepted one.
    assert g.feed(30000, 500900) == en.OK and g.booked == 500900
    assert g.session_flags() == 0


def test_session_ending_on_a_rejected_reading_is_flagged():
    g = guard()
    g.feed(0, 100)
    g.mark()
    g.feed(1000, None)
    assert g.session_flags() == en.F_UNVERIFIED_END
    assert en.flag_names(g.session_flags()) == ["unverified_end"]


def test_a_consistent_new_story_is_followed_after_three_readings_and_flagged():
    g = guard()
    g.feed(0, 9000000)
    g.mark()
    # The register restarts near zero (a reset meter): three agreeing readings re-anchor.
    assert g.feed(10000, 50) == en.BACKWARDS
    assert g.feed(20000, 60) == en.BACKWARDS
    assert g.feed(30000, 70) == en.RESYNC
    assert g.booked == 9000000 and g.resyncs == 1
    assert g.feed(40000, 370) == en.OK and g.booked == 9000300
    assert en.flag_names(g.session_flags()) == ["discontinuity"]


def test_coarse_register_steps_are_not_jumps():
    # EM340: 0.1 kWh steps (1000 x 0.1 Wh) while polled every second at 7 kW.
    g = en.EnergyGuard(7400, 1000)
    g.feed(0, 50000)
    assert g.feed(1000, 50000) == en.OK
    assert g.feed(2000, 51000) == en.OK and g.booked == 51000


def test_rebase_for_a_replaced_meter():
    g = guard()
    g.feed(0, 123456)
    g.rebase(1000, 7, en.F_REPLACED, booked=7)
    assert g.booked == 7 and g.feed(2000, 40) == en.OK and g.booked == 40
    assert en.flag_names(g.flags) == ["meter_replaced"]


def test_power_integration_is_exact_and_estimated():
    g = guard()
    for t in range(0, 3600001, 1000):
        g.integrate(t, 7360)
    assert g.booked == 73600  # 7.36 kWh in 0.1 Wh
    assert en.flag_names(g.session_flags()) == ["estimated"]


run(globals())
