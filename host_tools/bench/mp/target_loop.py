# mypy: disable-error-code="attr-defined"
# Runs under micropython (bench area `target`): the whole agent on the real-time ticker (40 ms
# control ticks), its meter an SDM630 over a pty served by the paced 9600-baud simulator (or the
# simulated station's meter: "none"). Prints one JSON line:
#   jitter_p99_ms  p99 of how late a control tick came, while the meter is polled
#   trip_ms        for each RCD trip: ms from the trip to the contactor opening (the trip is
#                  set just after a poll went on the line, the worst moment for a blocking poll)
#   dead_polls     polls that timed out before the trips (the host's simulator goes silent)
# argv: pty path or "none", run ms, trips, and "dead" to trip only once a poll has timed out
import asyncio
import json
import os
import sys
import time

from laddvakt.app.agent import Agent
from laddvakt.core import config
from laddvakt.core.ident import Identity
from laddvakt.core.ticker import RealTicker
from laddvakt.journal.store import Journal
from laddvakt_unix.jitter import JitterTicker
from laddvakt_unix.sim.ev import SimStation
from laddvakt_unix.sim.plant import SimTimeSource

T0 = 1795154400
PTY, RUN_MS, TRIPS, DEAD = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:] == ["dead"]


class Station(SimStation):
    opened_ms = None

    def set_contactor(self, on):
        if not on and self.closed and self.opened_ms is None:
            self.opened_ms = time.ticks_ms()
        super().set_contactor(on)


class _Hal:
    bench = False

    def __init__(self, d):
        self.data_dir = d


def rm(path):
    try:
        names = os.listdir(path)
    except OSError:
        return
    for n in names:
        try:
            os.remove(path + "/" + n)
        except OSError:
            rm(path + "/" + n)
    os.rmdir(path)


base = "target-loop-" + PTY.replace("/", "_")[-20:]
rm(base)
os.mkdir(base)
os.mkdir(base + "/d")
cfg = config.merged({"pilot_debounce": 1, "sample_interval_ms": 1000, "meter_timeout_ms": 300,
                     "meter_retries": 1, "meter_grace_polls": 1000, "meter_grace_ms": 3600000})
sc = {"visits": [{"arrive_s": 0, "leave_s": 10 ** 6, "need_wh": 10 ** 7, "max_w": 7360}],
      "start_epoch": T0, "meter_start_wh": 1000}
st = Station(sc)
meter = st
master = None
if PTY != "none":
    from laddvakt.meters.modbus import RtuMaster
    from laddvakt.meters.modbus_meter import ModbusMeter
    from laddvakt_unix.uart import PtyUart

    master = RtuMaster(PtyUart(PTY, 9600), 9600, cfg["meter_timeout_ms"], cfg["meter_retries"])
    meter = ModbusMeter(master, 1, "sdm630")
ticker = JitterTicker(RealTicker(cfg["control_tick_ms"]), cfg["control_tick_ms"])
j = Journal(base + "/j", 16384, 262144).open()
agent = Agent(_Hal(base + "/d"), cfg, {"name": "unix-sim"}, Identity("5f0c2a9e81d3", 1), j,
              meter=meter, pilot=st, time_source=SimTimeSource(sc), ticker=ticker, plant=st,
              meter_profile="sdm630" if master else None)
out = {"trip_ms": []}


async def trips():
    # Charge first, then trip the RCD TRIPS times, each just after a poll went on the line.
    await asyncio.sleep_ms(RUN_MS)
    out["jitter_p99_ms"] = ticker.p99_ms()
    out["ticks"] = ticker.n
    if master:
        out["dead_polls"] = master.timeouts
    for _ in range(TRIPS):
        t0 = time.ticks_ms()
        while not st.closed:
            st.rcd = False
            if time.ticks_diff(time.ticks_ms(), t0) > 20000:
                out["error"] = "contactor not closed: %s %s" % (agent.control.status, agent.faults.codes())
                return
            await asyncio.sleep_ms(5)
        if master:
            # The host's simulator falls silent after some replies: trip during a dead poll
            # when it has (dead_polls > 0), else during a healthy one.
            while not master.busy or (DEAD and not master.timeouts):
                await asyncio.sleep_ms(1)
            out["requests"] = master.requests
        st.opened_ms = None
        t0 = time.ticks_ms()
        st.rcd = True
        while st.opened_ms is None:
            await asyncio.sleep_ms(1)
        out["trip_ms"].append(time.ticks_diff(st.opened_ms, t0))
        await asyncio.sleep_ms(200)
        st.rcd = False


async def main():
    agent.start()
    loop = asyncio.create_task(agent.sample_loop())
    await trips()
    loop.cancel()


asyncio.run(main())
rm(base)
print(json.dumps(out))
