"""Property test of the contactor rule (docs/control.md, Contactor): random sequences of commands,
EV behaviour (pilot states, misbehaving EVs) and faults drive a whole agent under micropython
(tests/host/mp_contactor.py), which checks at every tick that the contactor is closed only while
the rule holds, and that no energy flows with no session open. The old rule on hand-made cases
shows the checker can fail."""
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from host_tools.sim.contactor_cases import KNOWN, UNKNOWN, random_case, seeded_cases
from host_tools.repo import ROOT
from tests.host.mp_driver import Driver

EV = {"arrive_s": 10, "leave_s": 170, "max_w": 11000, "phases": 3}


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    d = Driver("mp_contactor.py", (os.path.join(ROOT, "tests", "firmware"),),
               cwd=str(tmp_path_factory.mktemp("contactor")))
    yield d.ask
    d.close()


def _run(agent, c):
    got = agent(c)
    assert "error" not in got, "%s\ncase: %s" % (got["error"], json.dumps(c))
    return got


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.randoms(use_true_random=False))
def test_energy_flows_only_while_the_rule_holds(agent, rng):
    c = random_case(rng)
    got = _run(agent, c)
    assert got["violations"] == 0 and got["unbilled_mwh"] == 0, "%s\ncase: %s" % (got, json.dumps(c))


def test_the_property_is_not_vacuous(agent):
    # The same generator, seeded: the contactor must have been closed often enough, in many
    # cases and sessions, for "never closed against the rule" to mean something.
    ticks = closed = cases = sessions = 0
    cs = seeded_cases(40)
    for c in cs:
        got = _run(agent, c)
        ticks += got["ticks"]
        closed += got["closed_ticks"]
        cases += got["closed_ticks"] > 0
        sessions += got["sessions"]
    assert closed >= ticks // 10, (closed, ticks)
    assert cases >= len(cs) // 2 and sessions >= len(cs) // 2, (cases, sessions)


def _case(visits, commands=(), events=(), **cfg):
    return {"cfg": dict({"pilot_debounce": 1}, **cfg), "tick_ms": 250, "end_ms": 180000,
            "visits": visits, "events": list(events), "commands": list(commands)}


OLD_RULE_CASES = {
    # The EV stays in C after the session was stopped remotely.
    "remote_stop": _case([EV], [[40000, "remote_stop", {}]], [{"at_s": 30, "ev": {"ignore_pwm": True}}]),
    # auth_mode list and an unknown tag: no session, no PWM, and the EV goes to C anyway.
    "unknown_tag": _case([dict(EV, ignore_pwm=True, id_tag=UNKNOWN)], auth_mode="list", auth_list=KNOWN),
    # Unavailable before the EV came; it goes to C anyway.
    "unavailable": _case([dict(EV, ignore_pwm=True)], [[0, "availability", {"available": False}]]),
}


@pytest.mark.parametrize("name", sorted(OLD_RULE_CASES))
def test_the_old_rule_is_caught(agent, name):
    c = OLD_RULE_CASES[name]
    new = _run(agent, c)
    assert new["violations"] == 0 and new["unbilled_mwh"] == 0, new
    old = _run(agent, dict(c, rule="old"))
    assert old["violations"] > 0 and old["unbilled_mwh"] > 0, old
