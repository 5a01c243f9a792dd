# Runs under the unix-port micropython: the firmware's Modbus meter and meter service on a
# pty, driven line by line from stdin, answering one JSON line per command. Used by the
# meter integration tests and the meters bench to talk to host_tools.testing.meter_sim.
#   argv: pty profile (a name or a map as JSON) address timeout_ms retries [line: 8N1 8E1 8O1 8N2]
#   commands: poll | sample UP_MS | serial | alloc N | quit
import asyncio
import gc
import json
import sys
import time

from laddvakt.core import config
from laddvakt.core.board import serial_line
from laddvakt.control.faults import Faults
from laddvakt_unix.uart import PtyUart
from laddvakt.meters.modbus_meter import ModbusMeter
from laddvakt.meters.service import MeterService
from laddvakt.meters.modbus import ModbusError, RtuMaster

path, profile, addr, timeout_ms, retries = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
line = sys.argv[6] if len(sys.argv) > 6 else "8N1"  # the board's meter "line"
if profile.startswith("{"):
    profile = json.loads(profile)  # a map as data (docs/schemas/meter_map.json)

master = RtuMaster(PtyUart(path, 9600, *serial_line({"line": line})), 9600, timeout_ms, retries)
meter = ModbusMeter(master, addr, profile)
faults = Faults()
fault_edges = []
events = []


def set_fault(code, on, info=None):
    if faults.update(code, on, info):
        fault_edges.append([code, on, info])


svc = MeterService(meter, config.defaults(), set_fault, lambda *a: events.append(list(a)), profile)


def out(d):
    print(json.dumps(d))


while True:
    line = sys.stdin.readline()
    if not line:
        break
    cmd = line.split()
    if not cmd:
        continue
    if cmd[0] == "quit":
        break
    if cmd[0] == "poll":
        t0 = time.ticks_us()
        try:
            vals = meter.poll()
            out({"ok": True, "values": vals, "us": time.ticks_diff(time.ticks_us(), t0),
                 "counters": master.counters()})
        except ModbusError as e:
            out({"ok": False, "kind": e.kind, "code": e.code, "counters": master.counters()})
    elif cmd[0] == "serial":
        out({"serial": meter.serial()})
    elif cmd[0] == "sample":
        # As the agent does: the line traffic awaited in fetch(), then the sample.
        asyncio.run(svc.fetch(int(cmd[1])))
        ok = svc.sample(int(cmd[1]))
        out({"ok": ok, "energy_wh": svc.energy_wh, "power_w": svc.power_w, "status": svc.status(),
             "faults": fault_edges, "events": events, "flags": svc.session_flags()})
    elif cmd[0] == "alloc":
        # Steady-state heap growth per poll with no collection in between.
        n = int(cmd[1])
        svc.sample(0)
        svc.sample(1000)
        gc.collect()
        gc.disable()  # no collection in between: every byte allocated is counted
        a0 = gc.mem_alloc()
        for i in range(n):
            svc.sample(1000 * (i + 2))
        total = gc.mem_alloc() - a0
        gc.enable()
        out({"alloc_per_poll": (total + n - 1) // n, "alloc_total": total,
             "ok_polls": svc.health.polls - svc.health.failed_polls})
    sys.stdout.flush() if hasattr(sys.stdout, "flush") else None
