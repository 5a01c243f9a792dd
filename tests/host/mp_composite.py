# Runs under micropython (never CPython): reads one JSON case per line on stdin, answers the
# firmware's composite schedule as one JSON line. Driven by test_composite_property.py.
import json
import sys

from laddvakt.control import charging_profiles as P
from laddvakt.control import profile_limits as PL

while True:
    line = sys.stdin.readline()
    if not line:
        break
    c = json.loads(line)
    s = PL.Profiles(c["station_da"], c["volts"], c["phases"])
    for p in c["profiles"]:
        s.install(P.parse(p), True)
    out = s.composite(c["t0"], c["duration"], c["tx_start"])
    limits = [s.limit_at(t, c["tx_start"]) for t in c["probes"]]
    phases = [s.limit_phases_at(t, c["tx_start"]) for t in c["probes"]]
    sys.stdout.write(json.dumps({"composite": out, "probes": limits, "probe_phases": phases}) + "\n")
    sys.stdout.flush()
