# mypy: disable-error-code="attr-defined"
# (This script runs under the unix-port micropython, whose gc and time have mem_alloc and ticks_us.)
# Runs under micropython (bench area `control`): the cost of one control tick (pilot decode,
# limits from profiles + demand response + fail-safe, fault detectors, contactor) on a charging
# station, in microseconds and heap bytes per tick. The station's physics is stepped outside
# the timed part.
import gc
import json
import time

from laddvakt.core import config
from laddvakt.control import charging_profiles as P
from laddvakt.control.controller import Controller
from laddvakt.control.faults import Faults
from laddvakt_unix.sim.ev import SimStation

T0 = 1795154400
N = 2000

st = SimStation({"visits": [{"arrive_s": 0, "leave_s": 10 ** 6, "max_w": 11000, "phases": 3}],
                 "temp_c": 40})
faults = Faults()
ctl = Controller(config.merged({"failsafe_timeout_s": 3600}), st, faults, faults.update)
for pid, purpose, kind, extra in ((1, "ChargePointMaxProfile", "Recurring", {"recurrencyKind": "Daily"}),
                                  (2, "TxDefaultProfile", "Absolute", {})):
    d = {"chargingProfileId": pid, "stackLevel": 0, "chargingProfilePurpose": purpose,
         "chargingProfileKind": kind,
         "chargingSchedule": {"chargingRateUnit": "A", "startSchedule": T0,
                              "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 20},
                                                         {"startPeriod": 3600, "limit": 25}]}}
    d.update(extra)
    ctl.charging_profiles().install(P.parse(d), False)
ctl.dr.set(0, 300, 10 ** 6)


class _S:  # the open session, as the tracker would hold it
    energy_wh = 0
    start_up = 0


s = _S()
up = 0
for _ in range(20):  # plug in, start charging
    up += 100
    st.step(up)
    ctl.tick(up, T0 + up // 1000, st.current_da(), s)
    ctl.observe(st.power_w)  # as the agent does after each sample
assert st.closed, "the station should be charging"
total = 0
alloc = 0
gc.collect()
gc.disable()  # so mem_alloc only grows, and the deltas around tick() are its allocations
for i in range(N):
    up += 100
    st.step(up)
    cur = st.current_da()
    wall = T0 + up // 1000
    if i % 100 == 0:
        gc.collect()
    a0 = gc.mem_alloc()
    t = time.ticks_us()
    ctl.tick(up, wall, cur, s)
    total += time.ticks_diff(time.ticks_us(), t)
    alloc += gc.mem_alloc() - a0
gc.enable()
print(json.dumps({"us_per_tick": total / N, "alloc_bytes_per_tick": alloc // N, "ticks": N,
                  "status": ctl.status}))
