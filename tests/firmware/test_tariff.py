# Tariff and price schedule: validation, time-of-use with holidays and EU summer time,
# the dynamic schedule with its fallback, and the price plan a scheduler reads.
from fwtest import raises, run
from laddvakt.billing.spot import PriceSchedule, ScheduleError
from laddvakt.billing.tariff import Tariff, TariffError, days_from_civil, eu_dst_span, price_at, weekday

# 2026-11-20 (a Friday) 00:00 UTC
FRI = days_from_civil(2026, 11, 20) * 86400
H = 3600


def tou(**over):
    d = {"id": "tou", "version": 1, "currency": "SEK", "minor_unit": 2, "energy": 1000000,
         "tz_min": 60, "dst": "none",
         "tou": [{"days": [0, 1, 2, 3, 4], "from": 6 * 60, "to": 22 * 60, "price": 3000000},
                 {"days": [5, 6, 7], "from": 17 * 60, "to": 20 * 60, "price": 2000000}],
         "holidays": ["2026-12-24", "2026-12-25"]}
    d.update(over)
    return Tariff.from_dict(d)


def test_calendar():
    assert days_from_civil(1970, 1, 1) == 0
    assert weekday(0) == 3  # Thursday
    assert weekday(days_from_civil(2026, 11, 20)) == 4  # Friday
    a, b = eu_dst_span(2026)
    assert a == days_from_civil(2026, 3, 29) * 86400 + H  # last Sunday of March, 01:00 UTC
    assert b == days_from_civil(2026, 10, 25) * 86400 + H


def test_validation_names_the_problem():
    good = tou().to_dict()
    assert Tariff.from_dict(good).to_dict() == good
    for bad, word in (
        ({"currency": "sek"}, "currency"), ({"currency": "S1K"}, "currency"),
        ({"minor_unit": 5}, "minor_unit"), ({"version": -1}, "version"),
        ({"energy": 1.5}, "energy"), ({"vat_bp": 10001}, "vat_bp"),
        ({"min": 500, "max": 100}, "max"), ({"dst": "us"}, "dst"),
        ({"tou": [{"days": [8], "from": 0, "to": 60, "price": 1}]}, "days"),
        ({"tou": [{"days": [1], "from": 60, "to": 60, "price": 1}]}, "after"),
        ({"holidays": ["24/12/2026"]}, "holiday"), ({"colour": "red"}, "colour"),
        ({"id": ""}, "id"), ({"dynamic": 1}, "dynamic"),
    ):
        d = dict(good)
        d.update(bad)
        e = raises(TariffError, Tariff.from_dict, d)
        assert word in str(e), (bad, str(e))
    raises(TariffError, Tariff.from_dict, "not a dict")
    big = dict(good)
    big["holidays"] = ["2026-01-%02d" % (i + 1) for i in range(31)]
    big["tou"] = [{"days": [0, 1, 2, 3, 4, 5, 6, 7], "from": i, "to": i + 1, "price": -999999999}
                  for i in range(12)]
    assert "too large" in str(raises(TariffError, Tariff.from_dict, big))


def test_time_of_use_by_local_weekday_and_minute():
    t = tou()
    # Friday 05:00 UTC = 06:00 local (UTC+1): the weekday window starts.
    assert t.energy_price(FRI + 4 * H + 1800, None) == (1000000, FRI + 5 * H)
    assert t.energy_price(FRI + 5 * H, None) == (3000000, FRI + 21 * H)
    # 22:00 local Friday to local midnight: base price.
    assert t.energy_price(FRI + 21 * H, None) == (1000000, FRI + 23 * H)
    # Saturday local: the evening window only.
    sat = FRI + 23 * H
    assert t.energy_price(sat, None) == (1000000, sat + 17 * H)
    assert price_at(t, sat + 17 * H) == 2000000
    # Christmas Eve 2026 is a Thursday, but a holiday: the weekend window applies.
    xmas = days_from_civil(2026, 12, 24) * 86400 - H  # local midnight
    assert price_at(t, xmas + 10 * H) == 1000000
    assert price_at(t, xmas + 18 * H) == 2000000
    assert price_at(t, None) == 1000000  # unsynced clock: the base price


def test_eu_summer_time_shifts_windows():
    t = tou(dst="eu")
    jul = days_from_civil(2026, 7, 3) * 86400  # a Friday in summer: UTC+2
    assert price_at(t, jul + 3 * H + 1800) == 1000000  # 05:30 local
    assert price_at(t, jul + 4 * H) == 3000000  # 06:00 local
    # The price holds no further than the switch back to winter time.
    oct_sat = days_from_civil(2026, 10, 24) * 86400 + 20 * H
    assert t.energy_price(oct_sat, None)[1] <= eu_dst_span(2026)[1]


def sched(**over):
    d = {"id": "spot-1", "start": FRI, "step_s": 3600, "prices": [500000, -200000, 700000]}
    d.update(over)
    return PriceSchedule.from_dict(d)


def test_schedule_validation():
    for bad, word in (({"step_s": 600}, "step_s"), ({"start": FRI + 60}, "start"),
                      ({"prices": []}, "prices"), ({"prices": [1] * 193}, "prices"),
                      ({"prices": [1.5]}, "price"), ({"extra": 1}, "extra")):
        e = raises(ScheduleError, sched, **bad)
        assert word in str(e), (bad, str(e))
    s = sched(prices=list(range(192)), step_s=900)
    assert [len(p) for _, p in s.chunks()] == [48, 48, 48, 48]
    assert s.chunks()[1][0] == FRI + 48 * 900


def test_dynamic_prices_with_fallback():
    t = tou(dynamic=True)
    s = sched(start=FRI + 2 * H)
    # Before the schedule: the tariff's own price, until the schedule starts.
    assert t.energy_price(FRI, s) == (1000000, FRI + 2 * H)
    assert t.energy_price(FRI + 2 * H, s) == (500000, FRI + 3 * H)
    assert t.energy_price(FRI + 3 * H + 5, s) == (-200000, FRI + 4 * H)
    # After it runs out: the fallback again (time of use; 06:00 local is FRI + 5 h).
    assert t.energy_price(FRI + 5 * H, s) == (3000000, FRI + 21 * H)
    # A tariff that is not dynamic ignores the schedule.
    assert price_at(tou(), FRI + 2 * H, s) == 1000000


def test_periods_for_a_scheduler():
    t = tou(dynamic=True)
    s = sched(start=FRI + 2 * H)
    got = t.periods(FRI, FRI + 6 * H, s)
    assert got == [(FRI, FRI + 2 * H, 1000000), (FRI + 2 * H, FRI + 3 * H, 500000),
                   (FRI + 3 * H, FRI + 4 * H, -200000), (FRI + 4 * H, FRI + 5 * H, 700000),
                   (FRI + 5 * H, FRI + 6 * H, 3000000)]
    assert s.periods(FRI, FRI + 3 * H + 10) == [(FRI + 2 * H, FRI + 3 * H, 500000),
                                                (FRI + 3 * H, FRI + 3 * H + 10, -200000)]


run(globals())
