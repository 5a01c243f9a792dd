# Runs under micropython (never CPython): one JSON fleet-plan case per line on stdin, the
# firmware's plan as one JSON line. Driven by test_fleet_property.py.
import json
import sys

from laddvakt.control import fleet

while True:
    line = sys.stdin.readline()
    if not line:
        break
    c = json.loads(line)
    pr = c["prices"]
    prices = fleet.Prices(pr["start"], pr["step_s"], pr["prices"]) if pr else None
    p = fleet.plan(c["now"], c["need_wh"], c["by"], c["power_w"], prices)
    sys.stdout.write(json.dumps({"windows": p.windows, "feasible": p.feasible,
                                 "shortfall_wh": p.shortfall_wh, "cost_minor": p.cost_minor}) + "\n")
    sys.stdout.flush()
