# Runs under micropython (never CPython), with tests/firmware on its path: the contactor rule
# checker. Reads one JSON case per line (host_tools/sim/contactor_cases.py), runs a whole agent on the
# simulated station (ctlrig.Rig) tick by tick with the case's commands, and after every step checks
# the rule of docs/control.md, Contactor, from outside the controller: the coil may be on only while
# the tracker has a session open, the connector is available, no stopping fault is active, the
# duty on the wire offers at least 6 A and the EV's pilot is C or D. Answers one JSON line.
# host_tools/bench/mp/contactor_rule.py imports run_case.
import json
import sys

import laddvakt.control.controller as C
from ctlrig import Rig
from laddvakt.control import faults as fault_table
from laddvakt.control.faults import may_close
from laddvakt.control.pilot import MIN_DA, current_for_duty

if not hasattr(C, "may_close"):
    # The old-rule baseline rebinds this name; without it the baseline would test nothing.
    raise ImportError("laddvakt.control.controller no longer calls a module-level may_close")


def old_rule(ctl):
    """The rule before the fix: pilot C/D, an offer of 6 A (whether or not the PWM carries it)
    and no stopping fault; no session, availability or PWM check."""

    def old(pilot, pilot_da, session_open, available, stop_fault):
        return pilot in "CD" and ctl.offer_da >= MIN_DA and not stop_fault

    return old


def why_not(agent, st):
    """The first clause of the rule that does not hold now, or None."""
    if agent.tracker.session is None:
        return "no session"
    if agent.control.unavailable:
        return "unavailable"
    f = fault_table.stopping(agent.faults.active)
    if f is not None:
        return f
    if current_for_duty(st.duty) < MIN_DA:
        return "duty %d offers under 6 A" % st.duty
    p = st.ev.state if st.ev is not None else "A"
    if p not in "CD":
        return "pilot " + p
    return None


def run_case(c, rule=None):
    """rule: "old" or "new" (default: the case's own "rule", else new)."""
    r = Rig(c["visits"], c.get("events", ()), **c.get("cfg", {}))
    rule = rule or c.get("rule", "new")
    C.may_close = old_rule(r.ctl) if rule == "old" else may_close
    try:
        return _run(r, c)
    finally:
        C.may_close = may_close


def _run(r, c):
    agent = r.agent
    st = r.st
    cmds = r.commands()
    todo = sorted(c.get("commands", ()), key=lambda x: x[0])
    tick = c["tick_ms"]
    i = 0
    ticks = closed = bad = unbilled = welded = charged = sessions = rejected = 0
    first = []
    last = None
    while r.up < c["end_ms"]:
        # Commands come between ticks, as the uplink hands them over on a board.
        while i < len(todo) and todo[i][0] <= r.up:
            _, name, args = todo[i]
            i += 1
            try:
                cmds[name](args)
            except ValueError:  # a rejected command (CommandHandler answers it as an error)
                rejected += 1
        mwh = st.register_mwh
        open_before = agent.tracker.session is not None
        coil_before = st.closed
        weld_before = st.welded  # (a second weld event with the coil off clears the weld)
        r.run_to(r.up + tick, tick)
        ticks += 1
        grown = st.register_mwh - mwh
        if open_before:
            charged += grown
        elif grown and (weld_before or st.welded) and not coil_before:
            welded += grown  # through a welded contact with the coil off: nothing can stop it
        else:
            unbilled += grown
        if st.closed:
            closed += 1
            why = why_not(agent, st)
            if why is not None:
                bad += 1
                if len(first) < 3:
                    first.append([r.up, why])
        s = agent.tracker.session
        if s is not None and s is not last:
            sessions += 1
        last = s
    return {"ticks": ticks, "closed_ticks": closed, "violations": bad, "first": first,
            "unbilled_mwh": unbilled, "welded_mwh": welded, "charged_mwh": charged,
            "sessions": sessions, "rejected": rejected}


def main():
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        try:
            out = run_case(json.loads(line))
        except Exception as e:  # a firmware exception is an answer too: the test shows the case
            out = {"error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
