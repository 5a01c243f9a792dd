"""Bench area `heap`: the agent's heap under the tight-heap simulation (.mpy build)."""
from host_tools.bench.tight_heap import RUNTIME_BUDGET, micropython_version, run_tight


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


def check(fig):
    """Goals this area must meet; each miss is a sentence."""
    if fig["heap_runtime_peak_bytes"] > RUNTIME_BUDGET:
        yield "runtime heap %d over the %d-byte budget" % (fig["heap_runtime_peak_bytes"], RUNTIME_BUDGET)
