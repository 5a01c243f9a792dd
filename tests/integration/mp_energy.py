# Runs under the unix-port micropython: the firmware's EnergyGuard over sequences sent as
# JSON lines {"max_w", "res", "readings": [[t_ms, value or null], ...]}; answers one JSON
# line {"start", "end", "flags", "verdicts"} each. The session starts at the first reading.
import json
import sys

from laddvakt.meters import integrity as energy

while True:
    line = sys.stdin.readline()
    if not line:
        break
    d = json.loads(line)
    g = energy.EnergyGuard(d["max_w"], d["res"])
    verdicts = []
    start = None
    for t, r in d["readings"]:
        verdicts.append(g.feed(t, r))
        if start is None and g.booked is not None:
            start = g.booked
            g.mark()
    print(json.dumps({"start": start, "end": g.booked, "flags": g.session_flags(), "verdicts": verdicts}))
