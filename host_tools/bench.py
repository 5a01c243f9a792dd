"""`make bench`: write build/bench.json, one flat JSON object of measured figures.

Keys named with a dot are nested objects. Later issues add their own keys here.
"""
import json
import os
import sys

from host_tools.heap import RUNTIME_BUDGET, micropython_version, run_tight
from host_tools.sim import BUILD


def measure():
    r = run_tight()
    if r["rc"] != 0 or not r["summary"]:
        raise RuntimeError("sim under the tight heap failed:\n" + r["stdout"] + r["stderr"])
    peak = r["summary"]["heap_peak_bytes"]
    return {
        "heap_code_bytes": r["heap_code_bytes"],
        "heap_peak_bytes": peak,
        "heap_runtime_peak_bytes": peak - r["heap_code_bytes"],
        "heap_runtime_budget_bytes": RUNTIME_BUDGET,
        "sim_sessions": len(r["sessions"]),
        "micropython_version": micropython_version(),
    }


def main():
    figures = measure()
    os.makedirs(BUILD, exist_ok=True)
    path = os.path.join(BUILD, "bench.json")
    with open(path, "w") as f:
        json.dump(figures, f, indent=1, sort_keys=True)
        f.write("\n")
    print(json.dumps(figures, indent=1, sort_keys=True))
    if figures["heap_runtime_peak_bytes"] > RUNTIME_BUDGET:
        print("bench: runtime heap over the %d-byte budget" % RUNTIME_BUDGET, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
