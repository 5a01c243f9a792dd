# Runs under micropython (bench area `control`, docs/bench.md), with tests/firmware and tests/host
# on its path: the contactor rule figures, from whole agents on the simulated station
# (tests/firmware/ctlrig.py). argv[1] is a JSON file of seeded random cases
# (host_tools/sim/contactor_cases.py), each run with the rule and with the old one by the property
# test's checker (tests/host/mp_contactor.py); then the overcurrent trip times and the C->B opening
# time. Prints one JSON line.
import json
import sys

from ctlrig import T0, Rig
from laddvakt.control.pilot import duty_for_current
from mp_contactor import run_case

OC_TICKS = (40, 100, 250, 500, 1000)  # the board's control_tick_ms default ... the sim's
OC_FROM_MS = 20000  # charging at 32 A by then
OC_PHASES_MS = (0, 280, 520, 760)  # where in the 1 s sample interval the command comes
OC_BOUNDARIES_S = (20, 23, 27, 31)  # a profile's 8 A period starts here
# A 3-phase EV at 32 A that keeps drawing it whatever the pilot offers.
OC_EV = {"arrive_s": 1, "leave_s": 100000, "max_w": 22080, "phases": 3, "ignore_limit": True}
OC_DUTY = duty_for_current(80)
LATE_MS = 20000  # no opening this long after the drop: reported as this, which fails the goals


def rule_figures(cases):
    out = {}
    for rule in ("new", "old"):
        t = {"ticks": 0, "closed_ticks": 0, "violations": 0, "unbilled_mwh": 0, "welded_mwh": 0,
             "cases_violating": 0}
        for c in cases:
            got = run_case(c, rule)
            for k in ("ticks", "closed_ticks", "violations", "unbilled_mwh", "welded_mwh"):
                t[k] += got[k]
            t["cases_violating"] += got["violations"] > 0
        out[rule] = t
    return out


def _open_after(r, t0, tick):
    """Step until the contactor opens; ms from t0, or LATE_MS."""
    while r.st.closed and r.up - t0 < LATE_MS:
        r.run_to(r.up + tick, tick)
    if r.st.closed or not r.agent.faults.is_active("OverCurrentFailure"):
        return LATE_MS
    return r.up - t0


def _charging(r, tick, until_ms):
    r.run_to(until_ms, tick)
    if not (r.st.closed and r.st.power_w == 22080 and r.st.duty == duty_for_current(320)):
        raise RuntimeError("the EV is not charging at 32 A at %d ms" % r.up)


def oc_by_command(tick, phase_ms):
    """(earliest, latest) ms from a `limit` 8 A command to the contactor opening. The rig
    handles the command at a tick boundary t0; on a board it comes anywhere before the next
    tick and is stamped t0 (the last tick), so it may have come up to one tick later."""
    r = Rig([OC_EV], control_tick_ms=tick)
    _charging(r, tick, OC_FROM_MS + phase_ms // tick * tick)
    r.commands()["limit"]({"current_a": 8, "duration_s": 3600})
    t0 = r.up
    if r.st.duty_log[-1] != (t0, OC_DUTY):
        raise RuntimeError("the PWM did not drop at the command: %r" % (r.st.duty_log[-1:],))
    ms = _open_after(r, t0, tick)
    return ms - tick, ms


def oc_by_profile(tick, boundary_s):
    """ms from the PWM drop at a TxDefault profile's 8 A period to the contactor opening: the
    tick that crosses the boundary changes the PWM, so this is exact."""
    r = Rig([OC_EV], control_tick_ms=tick)
    r.commands()["set_profile"]({"profile": {
        "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Absolute",
        "chargingSchedule": {"chargingRateUnit": "A", "startSchedule": T0,
                             "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 32},
                                                        {"startPeriod": boundary_s, "limit": 8}]}}})
    _charging(r, tick, (boundary_s - 2) * 1000)
    while r.st.duty != OC_DUTY and r.up < (boundary_s + 5) * 1000:
        r.run_to(r.up + tick, tick)
    if r.st.duty_log[-1][1] != OC_DUTY:
        raise RuntimeError("the profile's 8 A period never reached the PWM")
    t0 = r.st.duty_log[-1][0]
    return _open_after(r, t0, tick)


def overcurrent():
    by_tick = {}
    for tick in OC_TICKS:
        phases = sorted(set(p // tick * tick for p in OC_PHASES_MS))
        got = [oc_by_command(tick, p) for p in phases]
        got += [(ms, ms) for ms in (oc_by_profile(tick, b) for b in OC_BOUNDARIES_S)]
        lo = min(a for a, _ in got)
        hi = max(b for _, b in got)
        by_tick[str(tick)] = {"min": lo, "max": hi, "runs": len(got)}
    return by_tick


def c_to_b(visit):
    """At the board's tick (40 ms) and pilot_debounce 2: ms from the EV going C->B to the
    contactor opening, counting the whole tick before the sim sees the change (on a board it
    lands anywhere in it)."""
    tick = 40
    r = Rig([visit], pilot_debounce=2, control_tick_ms=tick)
    changed = None
    while r.up < 300000:
        was_c = r.st.closed and r.st.ev is not None and r.st.ev.state == "C"
        r.run_to(r.up + tick, tick)
        if changed is None and was_c and r.st.ev.state == "B":
            changed = r.up - tick
        if changed is not None and not r.st.closed:
            return r.up - changed
    raise RuntimeError("no C->B with the contactor closed: %r" % (visit,))


def c_to_b_runs():
    ev = {"arrive_s": 5, "leave_s": 1000, "max_w": 11000, "phases": 3}
    out = []
    for s in (30, 41, 57):  # the EV pauses
        out.append(c_to_b(dict(ev, pauses=[[s, s + 60]])))
    for wh in (40, 77, 123):  # the EV is full: the change lands anywhere in the sample interval
        out.append(c_to_b(dict(ev, need_wh=wh)))
    return out


def main():
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    print(json.dumps({"rule": rule_figures(cases), "overcurrent": overcurrent(),
                      "c_to_b_ms": c_to_b_runs()}))


main()
