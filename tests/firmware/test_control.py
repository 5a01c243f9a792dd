# Charging control on the simulated station, in virtual time: the plug-in to unplug cycle,
# connector statuses, pausing below 6 A, demand response and the fail-safe, session limits,
# availability. Faults have their own file (test_control_faults.py).
from ctlrig import Rig
from fwtest import raises, run
from laddvakt.core.config import ConfigError
from laddvakt.control.pilot import DUTY_OFF, current_for_duty, duty_for_current


def _w(limit_da):
    # What the 3-phase test EV draws at 230 V when offered limit_da: what it reads from the PWM.
    return current_for_duty(duty_for_current(limit_da)) * 230 * 3 // 10

EV3 = {"arrive_s": 10, "leave_s": 600, "need_wh": 100000, "max_w": 11000, "phases": 3}


def _visit(**kw):
    v = dict(EV3)
    v.update(kw)
    return v


def test_plug_charge_unplug():
    r = Rig([_visit()])
    r.run_to(9000)
    assert r.ctl.status == "Available" and r.st.duty == DUTY_OFF and not r.st.closed
    r.run_to(20000)
    assert r.ctl.status == "Charging", r.ctl.status
    assert r.st.duty == duty_for_current(320) and r.st.closed
    assert r.st.power_w == 11000
    assert len(r.records("session_start")) == 1
    r.run_to(610000)
    assert r.ctl.status == "Available" and not r.st.closed and r.st.duty == DUTY_OFF
    (e,) = r.ends()
    assert e["stop_reason"] == "EVDisconnected" and e["energy_wh"] > 1700
    assert r.statuses == ["Available", "Preparing", "Charging", "Available"], r.statuses


def test_full_battery_is_suspended_ev():
    r = Rig([_visit(need_wh=100)])
    r.run_to(120000)
    assert r.ctl.status == "SuspendedEV" and r.st.power_w == 0
    assert "Charging" in r.statuses
    assert not r.st.closed  # the EV went to B: the contactor opened


def test_ventilation_state_d_charges():
    r = Rig([_visit(ventilation=True)])
    r.run_to(30000)
    assert r.ctl.state == "D" and r.ctl.status == "Charging" and r.st.power_w == 11000


def test_below_6a_pauses_with_steady_12v_and_resumes():
    r = Rig([_visit()])
    cmds = r.commands()
    r.run_to(30000)
    cmds["limit"]({"current_a": 5, "duration_s": 60})
    assert r.st.duty == DUTY_OFF  # no PWM: steady +12 V
    r.run_to(40000)
    assert r.ctl.state == "B" and not r.st.closed and r.st.power_w == 0
    assert r.ctl.status == "SuspendedEVSE"
    r.run_to(100000)  # the 60 s limit ran out
    assert r.ctl.status == "Charging" and r.st.power_w == 11000


def test_limit_changes_pwm_within_a_tick_and_ev_follows_within_3s():
    r = Rig([_visit()])
    cmds = r.commands()
    r.run_to(30000, 100)
    assert r.st.power_w == 11000
    t_cmd = r.up
    n = len(r.st.duty_log)
    res = cmds["limit"]({"current_a": 10, "duration_s": 600})
    assert res["offer_a"] == 10 and res["duty_pm"] == duty_for_current(100)
    # The PWM changed as the command was handled, before the next tick.
    assert r.st.duty_log[n:] == [(t_cmd, duty_for_current(100))], r.st.duty_log[n:]
    r.run_to(t_cmd + 3000, 100)
    assert r.st.power_w == _w(100), r.st.power_w
    # Power by watts too: 4140 W over 3 phases at 230 V is 6 A.
    cmds["limit"]({"power_w": 4140, "duration_s": 600})
    assert r.ctl.offer_da == 60
    cmds["limit"]({"clear": True})
    assert r.ctl.offer_da == 320


def test_limit_command_errors():
    r = Rig([_visit()])
    cmds = r.commands()
    for bad in ({}, {"current_a": 10}, {"current_a": 10, "power_w": 100, "duration_s": 5},
                {"current_a": -1, "duration_s": 5}, {"current_a": "x", "duration_s": 5}):
        try:
            cmds["limit"](bad)
        except ValueError:  # answered as an error by CommandHandler
            continue
        raise AssertionError(bad)


def test_failsafe_when_control_messages_go_stale():
    r = Rig([_visit()], failsafe_timeout_s=60, failsafe_current_a=8)
    cmds = r.commands()
    r.run_to(50000)
    assert r.ctl.offer_da == 320 and not r.ctl.dr.stale
    r.run_to(62000)
    assert r.ctl.dr.stale and r.ctl.offer_da == 80 and r.st.duty == duty_for_current(80)
    r.run_to(66000)
    assert r.st.power_w == _w(80)
    cmds["prices"]({"start": 1795154400, "step_s": 3600, "prices": [100]})
    r.run_to(67000)
    assert not r.ctl.dr.stale and r.ctl.offer_da == 320
    # A demand response cap above the fail-safe still yields to the fail-safe once stale.
    cmds["limit"]({"current_a": 20, "duration_s": 3600})
    r.run_to(130000)
    assert r.ctl.offer_da == 80


def test_session_energy_limit_ends_with_local_then_finishing():
    r = Rig([_visit()], session_max_wh=300)
    r.run_to(200000)
    (e,) = r.ends()
    assert e["stop_reason"] == "Local" and 300 <= e["energy_wh"] <= 300 + 11000 // 3600 + 1
    assert r.ctl.status == "Finishing" and not r.st.closed and r.st.duty == DUTY_OFF
    r.run_to(610000)
    assert r.ctl.status == "Available" and len(r.ends()) == 1


def test_session_time_limit_by_command():
    r = Rig([_visit()])
    r.run_to(20000)
    r.commands()["session_limit"]({"duration_s": 120})
    r.run_to(200000)
    (e,) = r.ends()
    assert e["stop_reason"] == "Local" and e["duration_s"] == 120, e
    # The command lasted one session.
    assert r.ctl.session_max_s == 0


def test_unavailable_connector():
    r = Rig([_visit()])
    cmds = r.commands()
    assert cmds["availability"]({"available": False})["status"] == "Accepted"
    r.run_to(5000)
    assert r.ctl.status == "Unavailable"
    r.run_to(60000)
    assert r.ctl.status == "Unavailable" and not r.records("session_start")
    cmds["availability"]({"available": True})
    r.run_to(61000)
    assert r.ctl.status == "Preparing"


def test_bad_control_config_is_refused_with_the_key_named():
    e = raises(ConfigError, Rig, [_visit()], auth_mode="open")
    assert "auth_mode" in str(e)
    e = raises(ConfigError, Rig, [_visit()], temp_derate_c=80, temp_stop_c=70)
    assert "temp_stop_c" in str(e)


def test_ev_pause_is_suspended_ev_and_resumes():
    r = Rig([_visit(pauses=[[100, 200]])])
    r.run_to(99000)
    assert r.ctl.status == "Charging"
    r.run_to(105000)
    assert r.ctl.status == "SuspendedEV" and r.st.power_w == 0 and not r.st.closed
    assert r.ctl.state == "B" and r.st.duty == duty_for_current(320)  # still offered
    r.run_to(205000)
    assert r.ctl.status == "Charging" and r.st.power_w == 11000 and not r.ends()


def test_soc_taper_lowers_the_draw_above_80_percent():
    # 10 kWh battery at 7.5 kWh: tapers from 8 kWh (80 %) towards a tenth of its power.
    r = Rig([_visit(capacity_wh=10000, soc_start_wh=7500, need_wh=2500, leave_s=6000)])
    r.run_to(100000)
    assert r.st.power_w == 11000
    seen = []
    for t in range(200, 3000, 100):
        r.run_to(t * 1000)
        seen.append(r.st.power_w)
    assert min(p for p in seen if p) < 11000 // 2
    assert all(a >= b for a, b in zip(seen, seen[1:]) if b), seen  # never rises again
    assert r.ctl.status == "SuspendedEV"  # full: the EV went to B


def test_console_limit():
    r = Rig([_visit()])
    r.run_to(30000)
    text = r.agent.limits.console(10)
    assert r.ctl.offer_da == 100 and r.st.duty == duty_for_current(100)
    assert text.startswith("offer 10.0 A (pilot C, Charging)") and "console cap 10 A" in text, text
    assert "offer 10.0 A" in r.agent.limits.console(None)
    r.agent.limits.console(80)
    r.run_to(31000)
    assert r.ctl.offer_da == 320


def test_status_json_is_cached_until_it_changes():
    r = Rig([_visit()])
    r.run_to(5000)
    a = r.ctl.status_json()
    assert r.ctl.status_json() is a
    r.run_to(30000)
    b = r.ctl.status_json()
    assert b is not a and '"Charging"' in b


run(globals())
