# OCPP 1.6 charging profiles: parsing, each kind, stack levels, purposes, units, the
# composite schedule, and set/clear/get over the command handlers.
from ctlrig import T0, Rig
from fwtest import raises, run
from laddvakt.control import charging_profiles as P
from laddvakt.control import profile_limits as PL
from laddvakt.control.pilot import DUTY_OFF

V = 230


def prof(pid, purpose, kind, periods, stack=0, unit="A", start=None, dur=None, recur=None,
         vf=None, vt=None, min_rate=None):
    sch = {"chargingRateUnit": unit,
           "chargingSchedulePeriod": [dict(startPeriod=s, limit=lim, numberPhases=n)
                                      for s, lim, n in periods]}
    if min_rate is not None:
        sch["minChargingRate"] = min_rate
    if start is not None:
        sch["startSchedule"] = start
    if dur is not None:
        sch["duration"] = dur
    d = {"chargingProfileId": pid, "stackLevel": stack, "chargingProfilePurpose": purpose,
         "chargingProfileKind": kind, "chargingSchedule": sch}
    if recur:
        d["recurrencyKind"] = recur
    if vf is not None:
        d["validFrom"] = vf
    if vt is not None:
        d["validTo"] = vt
    return d


def store(*ps, station=320, tx=True, phases=3):
    s = PL.Profiles(station, V, phases)
    for p in ps:
        s.install(P.parse(p), tx)
    return s


def test_iso_time():
    assert P.parse_time("1970-01-01T00:00:00Z", "x") == 0
    assert P.parse_time("2026-11-20T06:00:00Z", "x") == T0
    assert P.parse_time("2026-11-20T06:00:00.123Z", "x") == T0
    assert P.parse_time("2026-11-20T08:00:00+02:00", "x") == T0
    assert P.parse_time("2024-02-29T00:00:00Z", "x") == 1709164800
    assert P.parse_time(T0, "x") == T0
    for bad in ("yesterday", "2026-11-20", 1.5, True):
        raises(ValueError, P.parse_time, bad, "x")


def test_absolute_periods_and_duration():
    s = store(prof(1, "TxDefaultProfile", "Absolute", [(0, 16, 3), (3600, 10, 3)],
                   start=T0, dur=7200))
    for t, want in ((T0 - 1, 320), (T0, 160), (T0 + 3599, 160), (T0 + 3600, 100),
                    (T0 + 7199, 100), (T0 + 7200, 320)):
        assert s.limit_at(t, T0) == want, (t - T0, s.limit_at(t, T0))


def test_recurring_daily():
    s = store(prof(1, "ChargePointMaxProfile", "Recurring", [(0, 6, 3), (7 * 3600, 32, 3)],
                   start=T0 - 6 * 3600, recur="Daily"))  # midnight: 6 A until 07:00
    for t, want in ((T0, 60), (T0 + 3600, 320), (T0 + 18 * 3600, 60), (T0 + 86400, 60),
                    (T0 + 86400 * 3, 60)):
        assert s.limit_at(t, None) == want, t - T0


def test_recurring_weekly_with_duration():
    s = store(prof(1, "ChargePointMaxProfile", "Recurring", [(0, 10, 3)], start=T0,
                   dur=3600, recur="Weekly"))
    assert s.limit_at(T0 + 60, None) == 100
    assert s.limit_at(T0 + 3600, None) == 320
    assert s.limit_at(T0 + 86400, None) == 320
    assert s.limit_at(T0 + 7 * 86400 + 10, None) == 100


def test_relative_follows_session_start():
    s = store(prof(1, "TxDefaultProfile", "Relative", [(0, 6, 3), (1800, 20, 3)]))
    assert s.limit_at(T0 + 100, T0) == 60
    assert s.limit_at(T0 + 1800, T0) == 200
    assert s.limit_at(T0 + 100, None) == 320  # no session: does not apply


def test_watts_over_the_station_phases():
    # No phase switching: an EV may draw the per-phase offer on every phase the station has,
    # so a W limit is spread over those, whatever numberPhases says.
    w = prof(1, "TxDefaultProfile", "Relative", [(0, 11040, 3), (60, 3680, 1)], unit="W")
    s = store(w)
    assert s.limit_at(T0, T0) == 160  # 11040 W / (230 V x 3)
    assert s.limit_at(T0 + 60, T0) == 53  # 3680 W / (230 V x 3): 5.3 A, so the offer pauses
    assert s.limit_phases_at(T0 + 60, T0) == (53, 1)
    assert s.composite(T0, 120, T0) == [(0, 160, 3), (60, 53, 1)]
    one = store(w, phases=1)
    assert one.limit_phases_at(T0 + 60, T0) == (160, 1)  # 3680 W / 230 V on the one phase
    assert one.limit_phases_at(T0, T0) == (320, 1)  # numberPhases 3 clipped to 1; station caps
    for lim, n in ((3680, 1), (3680, 3), (11040, 2), (7, 1), (22000, 3)):
        for phases in (1, 2, 3):
            da = store(prof(1, "TxProfile", "Relative", [(0, lim, n)], unit="W"), station=800,
                       phases=phases).limit_at(T0, T0)
            for k in range(1, phases + 1):
                assert da * V * k <= lim * 10, (lim, n, phases, k, da)


def test_limits_round_down():
    s = store(prof(1, "TxDefaultProfile", "Relative", [(0, 5.96, 3), (60, 13.37, 3), (120, 16.1, 3)]))
    assert [s.limit_at(T0 + d, T0) for d in (0, 60, 120)] == [59, 133, 161]
    assert P.parse(P.to_json(s.items[0])) == s.items[0]
    w = store(prof(1, "TxDefaultProfile", "Relative", [(0, 4139.9, 3)], unit="W"))
    assert w.limit_at(T0, T0) == 59  # 4139 W / 690 V is 5.998 A: pause, not 6 A


def test_recurring_not_before_start_schedule():
    s = store(prof(1, "ChargePointMaxProfile", "Recurring", [(0, 10, 3)], start=T0 + 7200,
                   dur=3600, recur="Daily"))
    assert s.limit_at(T0 + 7200 - 86400, None) == 320  # no instance the day before startSchedule
    assert s.limit_at(T0 + 7200, None) == 100 and s.limit_at(T0 + 86400 + 7200, None) == 100
    assert s.composite(T0 - 86400, 2 * 86400, None) == [
        (0, 320, 3), (86400 + 7200, 100, 3), (86400 + 10800, 320, 3)]
    wk = store(prof(1, "TxDefaultProfile", "Recurring", [(0, 8, 1)], start=T0, recur="Weekly"))
    assert wk.limit_at(T0 - 1, None) == 320 and wk.limit_at(T0, None) == 80


def test_min_charging_rate_pauses_and_resumes():
    s = store(prof(1, "TxDefaultProfile", "Relative", [(0, 16, 3), (600, 7.9, 3), (1200, 10, 3)],
                   min_rate=8),
              prof(2, "ChargePointMaxProfile", "Relative", [(0, 32, 3), (1800, 7, 3), (2400, 32, 3)]))
    assert [s.limit_at(T0 + d, T0) for d in (0, 600, 1200, 1800, 2400)] == [160, 0, 100, 0, 100]
    assert s.composite(T0, 3000, T0) == [(0, 160, 3), (600, 0, 3), (1200, 100, 3), (1800, 0, 3),
                                         (2400, 100, 3)]
    for p in s.items:
        assert P.parse(P.to_json(p)) == p
    assert P.to_json(s.items[0])["chargingSchedule"]["minChargingRate"] == 8
    # Only the Tx/TxDefault profile in force counts: a TxProfile without a minimum overrides.
    s.install(P.parse(prof(3, "TxProfile", "Relative", [(0, 7, 3)])), True)
    assert s.limit_at(T0 + 600, T0) == 70
    # In W the minimum is per phase over the station's phases, like a limit: 5520 W is 8 A.
    w = store(prof(1, "TxDefaultProfile", "Relative", [(0, 4830, 3), (60, 5520, 3)],
                   min_rate=5520, unit="W"))
    assert [w.limit_at(T0 + d, T0) for d in (0, 60)] == [0, 80]
    for bad in (-1, "8", True):
        raises(ValueError, P.parse, prof(1, "TxDefaultProfile", "Relative", [(0, 16, 3)],
                                         min_rate=bad))


def test_stack_levels_and_purposes():
    s = store(prof(1, "TxDefaultProfile", "Relative", [(0, 20, 3)], stack=0),
              prof(2, "TxDefaultProfile", "Relative", [(0, 12, 3)], stack=1, dur=600),
              prof(3, "ChargePointMaxProfile", "Relative", [(0, 16, 3)]))
    assert s.limit_at(T0, T0) == 120  # stack 1 wins within TxDefault
    assert s.limit_at(T0 + 600, T0) == 160  # stack 1 ended; stack 0 says 20, CPMax caps 16
    s.install(P.parse(prof(4, "TxProfile", "Relative", [(0, 8, 3)])), True)
    assert s.limit_at(T0 + 600, T0) == 80  # TxProfile overrides TxDefault
    s.end_session()
    assert s.limit_at(T0 + 600, T0) == 160 and len(s.items) == 3


def test_validity_window():
    s = store(prof(1, "ChargePointMaxProfile", "Relative", [(0, 10, 3)], vf=T0 + 10, vt=T0 + 20))
    assert [s.limit_at(T0 + d, T0) for d in (9, 10, 19, 20)] == [320, 100, 100, 320]


def test_replacement_and_clear():
    s = store(prof(1, "TxDefaultProfile", "Relative", [(0, 10, 3)], stack=2))
    s.install(P.parse(prof(9, "TxDefaultProfile", "Relative", [(0, 12, 3)], stack=2)), True)
    assert [p[0] for p in s.items] == [9]  # same purpose and stack level: replaced
    s.install(P.parse(prof(9, "ChargePointMaxProfile", "Relative", [(0, 12, 3)])), True)
    assert [p[0] for p in s.items] == [9] and s.items[0][1] == PL.CPMAX  # same id: replaced
    s.install(P.parse(prof(5, "TxDefaultProfile", "Relative", [(0, 12, 3)], stack=1)), True)
    assert s.clear(purpose=PL.TXDEFAULT) == 1 and s.clear(pid=77) == 0 and s.clear() == 1
    raises(ValueError, s.install, P.parse(prof(6, "TxProfile", "Relative", [(0, 6, 3)])), False)


def test_parse_errors():
    good = prof(1, "TxDefaultProfile", "Absolute", [(0, 16, 3)], start=T0)
    P.parse(good)
    for key, val in (("chargingProfilePurpose", "Max"), ("chargingProfileKind", "Once"),
                     ("stackLevel", -1), ("chargingProfileId", "1")):
        d = dict(good)
        d[key] = val
        raises(ValueError, P.parse, d)
    raises(ValueError, P.parse, prof(1, "TxDefaultProfile", "Absolute", [(0, 16, 3)]))
    raises(ValueError, P.parse, prof(1, "TxDefaultProfile", "Recurring", [(0, 16, 3)], start=T0))
    raises(ValueError, P.parse, prof(1, "TxDefaultProfile", "Relative", [(5, 16, 3)]))
    raises(ValueError, P.parse, prof(1, "TxDefaultProfile", "Relative", [(0, 16, 3), (0, 8, 3)]))
    raises(ValueError, P.parse, prof(1, "TxDefaultProfile", "Relative", [(0, -1, 3)]))
    raises(ValueError, P.parse, prof(1, "TxDefaultProfile", "Relative", [(0, 16, 4)]))
    raises(ValueError, P.parse, prof(1, "TxDefaultProfile", "Relative", [(0, 16, 3)], unit="kW"))


def test_composite_merges_and_covers_window():
    s = store(prof(1, "TxDefaultProfile", "Absolute", [(0, 16, 3), (600, 16, 3), (1200, 8, 3)],
                   start=T0 + 300, dur=1800))
    assert s.composite(T0, 3600, T0) == [(0, 320, 3), (300, 160, 3), (1500, 80, 3), (2100, 320, 3)]


def test_commands_set_get_clear_composite():
    r = Rig([{"arrive_s": 10, "leave_s": 3000, "need_wh": 100000, "max_w": 11000, "phases": 3}])
    cmds = r.commands()
    r.run_to(60000)
    p = prof(7, "TxProfile", "Relative", [(0, 10, 3), (600, 16, 3)])
    assert cmds["set_profile"]({"profile": p})["offer_a"] == 10
    assert r.ctl.offer_da == 100
    got = cmds["get_profiles"]({})["profiles"]
    assert len(got) == 1 and got[0]["chargingProfileId"] == 7
    assert got[0]["chargingSchedule"]["chargingSchedulePeriod"][1]["limit"] == 16
    res = cmds["get_composite_schedule"]({"duration": 1200})
    sch = res["chargingSchedule"]
    assert res["status"] == "Accepted" and sch["chargingRateUnit"] == "A"
    # The session started at 10 s; the query at 60 s: the 16 A step is 600 - 50 s in.
    assert [(q["startPeriod"], q["limit"]) for q in sch["chargingSchedulePeriod"]] == \
        [(0, 10), (550, 16)], sch
    w = cmds["get_composite_schedule"]({"duration": 1200, "charging_rate_unit": "W"})
    assert w["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 6900
    assert cmds["clear_profile"]({"profile_id": 7}) == {"status": "Accepted", "cleared": 1}
    assert cmds["clear_profile"]({"profile_id": 7})["status"] == "Unknown"
    assert r.ctl.offer_da == 320
    raises(ValueError, cmds["set_profile"], {"profile": {"chargingProfileId": 1}})
    raises(ValueError, cmds["clear_profile"], {"purpose": "Nope"})
    raises(ValueError, cmds["get_composite_schedule"], {"duration": 0})


def test_composite_command_reports_phases_and_watts():
    w = prof(5, "TxProfile", "Relative", [(0, 3680, 1)], unit="W")
    for phases, da in ((3, 53), (1, 160)):
        r = Rig([{"arrive_s": 10, "leave_s": 3000, "need_wh": 100000, "max_w": 11000,
                  "phases": phases}], phases=phases)
        cmds = r.commands()
        r.run_to(60000)
        cmds["set_profile"]({"profile": w})
        r.run_to(70000)
        assert r.ctl.offer_da == da
        assert (r.ctl.duty == DUTY_OFF) == (phases == 3)  # 5.3 A pauses
        res = cmds["get_composite_schedule"]({"duration": 600})
        q = res["chargingSchedule"]["chargingSchedulePeriod"]
        assert [(x["startPeriod"], x["limit"], x["numberPhases"]) for x in q] == [(0, da / 10, 1)]
        res = cmds["get_composite_schedule"]({"duration": 600, "charging_rate_unit": "W"})
        q = res["chargingSchedule"]["chargingSchedulePeriod"]
        # The most that can flow at that per-phase offer on the station's phases: 53 dA on
        # three phases is 3657 W, never above the 3680 W in force.
        assert [(x["limit"], x["numberPhases"]) for x in q] == [(da * V * phases // 10, 1)], q
        assert q[0]["limit"] <= 3680


def test_profile_limits_the_ev():
    r = Rig([{"arrive_s": 10, "leave_s": 3000, "need_wh": 100000, "max_w": 11000, "phases": 3}])
    cmds = r.commands()
    cmds["set_profile"]({"profile": prof(1, "ChargePointMaxProfile", "Absolute", [(0, 8, 3)],
                                         start=T0 + 100, dur=100)})
    r.run_to(150000)
    assert r.ctl.offer_da == 80 and r.st.power_w < 80 * 690 // 10 + 1
    r.run_to(210000)
    assert r.ctl.offer_da == 320 and r.st.power_w == 11000


run(globals())
