"""Random whole-agent cases for the contactor rule (docs/control.md, Contactor): one to three EVs,
some misbehaving, faults and scenario events, and timed commands, over a few minutes of virtual
time. tests/host/test_contactor_property.py checks them with tests/host/mp_contactor.py; the
bench (host_tools/bench/areas/control.py) runs a seeded set of them with the new rule and with
the old one.

A case is JSON: {"cfg": config overrides, "tick_ms", "end_ms", "visits", "events" (sorted by
at_s), "commands": [[at_ms, name, args], ...] (sorted), optionally "rule": "old"}.

The test draws its cases with hypothesis' st.randoms(), which favours draws of 0 and shrinks
towards them: so a draw of 0 is always the ordinary choice (a well-behaved EV, free vend, no
flag), and every "maybe" is _chance(), never `random() < p` (hypothesis' random() is often 0.0).
"""
import random

T0 = 1795154400  # tests/firmware/ctlrig.py's start, 2026-11-20 06:00 UTC
TICKS = (40, 100, 250, 1000)
KNOWN = "04A2B3C4"  # in the auth list
UNKNOWN = "DEADBEEF"  # in no list
ACCEPTED = "04FFEE01"  # also in the auth list


def _chance(rng, pct):
    """True with pct % probability; False for a draw of 0."""
    return rng.randrange(100) >= 100 - pct


def _visits(rng, end_s):
    out = []
    t = rng.randint(0, 30)
    for _ in range(rng.randint(1, 3)):
        if t >= end_s - 10:
            break
        stay = rng.choice((120, 60, 30, 15)) + rng.randint(0, 60)
        v = {"arrive_s": t, "leave_s": t + stay, "max_w": rng.choice((11000, 3680, 7400, 22080)),
             "react_ms": rng.choice((1500, 500, 3000))}
        if _chance(rng, 50):
            v["phases"] = rng.choice((3, 1))
        for flag, p in (("ignore_pwm", 30), ("ignore_limit", 30), ("ventilation", 10),
                        ("diode_fault", 4)):
            if _chance(rng, p):
                v[flag] = True
        if _chance(rng, 30):
            v["need_wh"] = rng.randint(20, 400)  # full soon: the EV goes back to B on its own
        if _chance(rng, 30):
            a = t + rng.randint(0, stay)
            v["pauses"] = [[a, a + rng.randint(1, 40)]]
        if _chance(rng, 4):
            v["state_e_at_s"] = t + rng.randint(0, stay)
        r = rng.randrange(10)
        if r >= 5:
            v["id_tag"] = KNOWN if r < 8 else UNKNOWN
        out.append(v)
        t += stay + rng.randint(0, 30)
    return out


def _events(rng, end_s):
    out = []
    for _ in range(rng.choice((0, 0, 1, 2, 3, 4))):
        at = rng.randint(0, end_s)
        k = rng.randrange(7)
        if k == 0:
            e = {"rcd": _chance(rng, 60)}
        elif k == 1:
            e = {"temp_c": rng.choice((40, 75, 90))}
        elif k == 2:
            e = {"weld": True}
        elif k == 3:
            e = {"stuck_open": _chance(rng, 60)}
        elif k == 4:
            e = {"meter_down": _chance(rng, 60)}
        else:
            flag = rng.choice(("ignore_pwm", "ignore_limit", "phases"))
            e = {"ev": {flag: rng.choice((1, 3)) if flag == "phases" else _chance(rng, 70)}}
        e["at_s"] = at
        out.append(e)
    out.sort(key=lambda e: e["at_s"])
    return out


def _profile(rng, end_s):
    purpose = rng.choice(("TxDefaultProfile", "ChargePointMaxProfile"))
    unit = rng.choice(("A", "W"))
    periods = []
    sp = 0
    for _ in range(rng.randint(1, 3)):
        lim = rng.randint(0, 32) if unit == "A" else rng.randint(0, 22080)
        if unit == "A" and _chance(rng, 30):
            lim = rng.randint(0, 3200) / 100
        periods.append({"startPeriod": sp, "limit": lim})
        sp += rng.randint(5, 90)
    sch = {"chargingRateUnit": unit, "chargingSchedulePeriod": periods}
    kind = "Absolute"
    if purpose == "TxDefaultProfile" and _chance(rng, 30):
        kind = "Relative"  # from the session's start
    else:
        sch["startSchedule"] = T0 + rng.randint(-60, end_s)
    return {"chargingProfileId": rng.randint(1, 3), "stackLevel": rng.randint(0, 2),
            "chargingProfilePurpose": purpose, "chargingProfileKind": kind,
            "chargingSchedule": sch}


def _command(rng, end_s):
    k = rng.choice(("remote_start", "authorize", "remote_stop", "limit", "limit", "availability",
                    "session_limit", "set_profile", "set_profile", "clear_profile", "clear_fault"))
    if k in ("remote_start", "authorize"):
        return k, {"id_tag": rng.choice((KNOWN, ACCEPTED, UNKNOWN))}
    if k == "limit":
        r = rng.randrange(10)
        if r >= 8:
            return k, {"clear": True}
        a = {"duration_s": rng.randint(5, 120)}
        if r < 5:
            a["current_a"] = rng.randint(0, 32)
        else:
            a["power_w"] = rng.randint(0, 22080)
        return k, a
    if k == "availability":
        return k, {"available": _chance(rng, 50)}
    if k == "session_limit":
        if _chance(rng, 50):
            return k, {"energy_wh": rng.randint(0, 300)}
        return k, {"duration_s": rng.randint(0, 120)}
    if k == "set_profile":
        return k, {"profile": _profile(rng, end_s)}
    if k == "clear_profile":
        return k, {"profile_id": rng.randint(1, 3)} if _chance(rng, 50) else {}
    if k == "clear_fault":
        return k, {"code": "PowerSwitchFailure"}
    return k, {}


def random_case(rng: random.Random) -> dict:
    """One case; everything drawn from rng, so a seeded rng gives the same case again."""
    tick = rng.choice(TICKS)
    end_s = rng.randint(60, 240)
    cfg: dict = {"pilot_debounce": 1,  # the controller sees the EV's state at the tick it changes
                 "max_current_a": rng.choice((32, 16)), "phases": rng.choice((3, 3, 1)),
                 "auth_timeout_s": rng.choice((60, 20, 5)),
                 "sample_interval_ms": rng.choice((1000, 1000, 500, 2000))}
    if _chance(rng, 50):
        cfg["auth_mode"] = "list"
        cfg["auth_list"] = KNOWN + "," + ACCEPTED
    if _chance(rng, 30):
        cfg["failsafe_timeout_s"] = rng.randint(5, 60)
        cfg["failsafe_current_a"] = rng.choice((6, 10, 0))
    if _chance(rng, 20):
        cfg["session_max_wh"] = rng.randint(50, 500)
    if _chance(rng, 20):
        cfg["overcurrent_margin_a"] = rng.randint(0, 4)
    cmds = []
    for _ in range(rng.randint(0, 8)):
        name, args = _command(rng, end_s)
        cmds.append([rng.randint(0, end_s * 1000), name, args])
    cmds.sort(key=lambda c: c[0])
    return {"cfg": cfg, "tick_ms": tick, "end_ms": end_s * 1000, "visits": _visits(rng, end_s),
            "events": _events(rng, end_s), "commands": cmds}


def seeded_cases(n, seed=1):
    rng = random.Random(seed)
    return [random_case(rng) for _ in range(n)]
