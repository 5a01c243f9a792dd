# The watchdog (issue 7): created once at start from hal.wdt, fed by the sampling loop after
# each step, and after a watchdog reset InternalError "watchdog reset" is journaled, then
# cleared after watchdog_clear_s of stable uptime, without touching another source's
# InternalError. A whole agent on the simulated station (ctlrig) in virtual time; the wdt is
# a recorder, since a real one would reset the board running this file.
import asyncio
import sys

from ctlrig import Rig
from fwtest import Skip, raises, run
from laddvakt.core.config import ConfigError
from laddvakt_unix.ticker import VirtualTicker

EV = {"arrive_s": 10, "leave_s": 300, "need_wh": 100000, "max_w": 11000, "phases": 3}


class _Wdt:
    """Records the agent's uptime at each feed: the feed must follow a whole step."""

    def __init__(self, agent, timeout_ms):
        self.agent = agent
        self.timeout_ms = timeout_ms
        self.fed_at = []

    def feed(self):
        self.fed_at.append(self.agent.up_ms)


def _start(r, cause):
    made = []

    def make(timeout_ms):
        made.append(_Wdt(r.agent, timeout_ms))
        return made[-1]

    r.agent.watchdog.start(make, cause)
    r.agent.ticker = VirtualTicker(1000)
    return made


def _loop(r, until_ms):
    asyncio.run(r.agent.sample_loop(until_ms))


def _internal(r):
    return [(d["active"], d.get("info")) for d in r.records("fault") if d["code"] == "InternalError"]


def test_created_once_and_fed_after_every_step():
    r = Rig([EV])
    (w,) = _start(r, None)
    assert w.timeout_ms == 30000  # watchdog_s default
    _loop(r, 5000)
    assert w.fed_at == [1000, 2000, 3000, 4000, 5000]
    _loop(r, 8000)
    assert w.fed_at[-3:] == [6000, 7000, 8000]
    assert r.agent.watchdog.feeds == 8
    assert _internal(r) == []  # a plain start raises nothing


def test_a_stuck_step_is_never_fed():
    r = Rig([EV])
    (w,) = _start(r, None)
    step = r.agent.step

    def stuck(up_ms):
        if up_ms == 3000:
            raise RuntimeError("stuck")  # stands for a step that never returns
        step(up_ms)

    r.agent.step = stuck
    try:
        _loop(r, 5000)
    except RuntimeError:
        pass
    assert w.fed_at == [1000, 2000]  # no feed for the step that did not finish


def test_watchdog_reset_raises_then_clears_after_stable_uptime():
    r = Rig([EV], watchdog_clear_s=60)
    _start(r, "watchdog")
    assert r.agent.faults.is_active("InternalError")
    assert _internal(r) == [(True, "watchdog reset")]
    _loop(r, 59000)
    assert r.agent.faults.is_active("InternalError")
    _loop(r, 60000)
    assert not r.agent.faults.is_active("InternalError")
    assert [a for a, _ in _internal(r)] == [True, False]
    _loop(r, 70000)
    assert len(_internal(r)) == 2  # cleared once


def test_charging_pauses_until_the_reset_fault_clears():
    r = Rig([EV], watchdog_clear_s=60)
    _start(r, "watchdog")
    # The journal's policy (suspend_check) says charge on: the watchdog's hold pauses anyway.
    r.ctl.suspend_check = lambda: False
    _loop(r, 59000)
    assert r.ctl.status == "SuspendedEVSE" and r.st.power_w == 0 and not r.st.closed
    _loop(r, 70000)
    assert r.ctl.status == "Charging" and r.st.power_w > 0


def test_watchdog_off_still_reports_the_reset():
    r = Rig([EV], watchdog_s=0, watchdog_clear_s=5)
    assert _start(r, "watchdog") == []  # no watchdog made
    assert _internal(r) == [(True, "watchdog reset")]
    _loop(r, 5000)
    assert [a for a, _ in _internal(r)] == [True, False]


def test_journal_source_and_watchdog_do_not_clear_each_other():
    r = Rig([EV], watchdog_clear_s=10)
    _start(r, "watchdog")
    sf = r.agent.set_fault
    # The journal's full guard owns InternalError under the default source.
    assert sf("InternalError", True, "journal full") is False  # already active: no record
    _loop(r, 20000)  # the watchdog's hold has cleared...
    assert r.agent.faults.is_active("InternalError")  # ...but the journal still holds it
    assert _internal(r) == [(True, "watchdog reset")]
    assert sf("InternalError", False) is True
    assert [a for a, _ in _internal(r)] == [True, False]


def test_journal_clear_leaves_the_watchdog_fault():
    r = Rig([EV], watchdog_clear_s=10)
    r.agent.set_fault("InternalError", True, "journal full")
    _start(r, "watchdog")
    assert r.agent.set_fault("InternalError", False) is False
    assert r.agent.faults.is_active("InternalError")
    _loop(r, 10000)
    assert not r.agent.faults.is_active("InternalError")
    assert _internal(r) == [(True, "journal full"), (False, None)]


def test_watchdog_shorter_than_two_ticks_is_refused():
    e = raises(ConfigError, Rig, [EV], watchdog_s=1, sample_interval_ms=1000)
    assert "watchdog_s" in str(e)


def test_unix_hal_reset_cause_flag_and_soft_wdt():
    if sys.platform == "esp32":
        raise Skip("the unix HAL's argv flag; a board has machine.reset_cause()")
    from laddvakt_unix.hal import UnixHal

    h = UnixHal.from_argv(["main.py", "--data", "wdt-d", "--reset-cause", "watchdog"])
    assert h.reset_cause() == "watchdog"
    assert UnixHal.from_argv(["main.py", "--data", "wdt-d"]).reset_cause() is None
    raises(ValueError, UnixHal.from_argv, ["main.py", "--reset-cause", "brownout"])
    w = h.wdt(30000)
    assert (w.timeout_ms, w.feeds) == (30000, 0)
    w.feed()
    w.feed()
    assert w.feeds == 2


run(globals())
