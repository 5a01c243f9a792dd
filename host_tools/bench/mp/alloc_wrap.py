# Heap allocated per sampling poll, at an uptime below 2**30 ms and past it, in one run, on the
# 32-bit WebAssembly port (areas/meters.py): there, as on an ESP32, integers of 2**30 and more
# are heap objects (the loop's time wraps at 2**30 on every port). The whole agent runs on the simulated station,
# twice, each time a fresh agent with one charging session: at uptime day 1 and at day 13, each
# measured over WINDOW_S seconds of steady charging (collector off, 4 control ticks per 1 s
# sample); the days before it go by in 1-hour steps. What the simulated station's own step
# allocates is measured around it and left out.
# Prints one JSON line.
import gc
import json
import os

from laddvakt.app.agent import Agent
from laddvakt.core import clock, config
from laddvakt.core.ident import Identity
from laddvakt.journal.store import Journal
from laddvakt_unix.sim.ev import SimStation

DAY_S = 86400
T0 = 1795154400
TICK_MS = 250
WINDOW_S = 60
AT_S = (1 * DAY_S, 13 * DAY_S)  # 13 days: past 2**30 ms (12.43 days)
# The loop's time wraps since issue 15 (core/clock.py); before, it was a count that never did.
WRAPS = hasattr(clock, "tadd")


def _rmtree(p):
    try:
        for n in os.listdir(p):
            q = p + "/" + n
            try:
                os.remove(q)
            except OSError:
                _rmtree(q)
        os.rmdir(p)
    except OSError:
        pass


class _Hal:
    bench = False

    def __init__(self, d):
        _rmtree(d)
        os.mkdir(d)
        self.data_dir = d


class _Time:
    # Synced once, at the first sample: the clock then runs on uptime alone.
    periodic = False

    def unix_s(self, up_ms):
        return T0


def per_poll(at_s, n):
    """Bytes allocated per poll over WINDOW_S of a session that starts at uptime at_s, on an
    agent of its own (journal n): everything but the uptime is the same in each run."""
    visits = [{"arrive_s": 60, "leave_s": 660, "need_wh": 10 ** 6, "max_w": 7400, "id_tag": None}]
    sc = {"visits": visits, "events": [], "start_epoch": T0, "meter_start_wh": 1000}
    cfg = config.merged({"pilot_debounce": 1, "meter_value_interval_s": 0, "sample_interval_ms": 1000,
                         "control_tick_ms": TICK_MS})
    st = SimStation(sc)
    j = "/aw-j%d" % n
    _rmtree(j)
    a = Agent(_Hal("/aw-d%d" % n), cfg, {"name": "unix-sim"}, Identity("5f0c2a9e81d3", 1),
              Journal(j, 16384, 262144).open(), meter=st, pilot=st, time_source=_Time())
    a.start()
    state = [0, 0, 0]  # loop time, station time ms, heap the station's step allocated

    def step(ms, station=True):
        state[0] = clock.tadd(state[0], ms) if WRAPS else state[0] + ms
        if station:
            # The station lives on its own time, which stands still while the agent's days go
            # by: the EV arrives 60 s after the agent's fine steps begin, at any uptime. What
            # its step allocates is the simulation's, not the agent's: left out.
            state[1] += ms
            m0 = gc.mem_alloc()
            st.step(state[1])
            state[2] += gc.mem_alloc() - m0
        a.step(state[0])

    for _ in range(at_s // 3600 - 1):  # hours: the uptime itself would leave small integers
        step(3600000, False)
    while state[1] < 180000:  # the EV arrives at 60 s; the session settles
        step(TICK_MS)
    gc.collect()
    gc.disable()
    polls0 = a.metering.health.polls
    state[2] = 0
    a0 = gc.mem_alloc()
    for _ in range(WINDOW_S * 1000 // TICK_MS):
        step(TICK_MS)
    used = gc.mem_alloc() - a0 - state[2]
    polls = a.metering.health.polls - polls0
    gc.enable()
    if a.tracker.session is None or polls < WINDOW_S - 1:
        raise SystemExit("no charging session or no polls at day %d (%d polls)" % (at_s // DAY_S, polls))
    return (used + polls - 1) // polls, polls, a.clock.up(a.up_ms) if WRAPS else a.up_ms


def main():
    out = {"wraps": WRAPS}
    for i, at in enumerate(AT_S):
        b, polls, up = per_poll(at, i)
        out["after" if up >= 1 << 30 else "before"] = b
        out["polls_%d" % i] = polls
        out["uptime_ms_%d" % i] = up
    print(json.dumps(out))


main()
