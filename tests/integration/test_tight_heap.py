"""The sim scenario with the firmware loaded as .mpy files, as a deployed board
loads them, in a heap of the code's own size plus 64 KiB."""
from host_tools.bench.tight_heap import RUNTIME_BUDGET, run_tight


def test_sim_runs_from_mpy_within_64k_runtime_heap(mosquitto, tmp_path):
    r = run_tight(workdir=str(tmp_path))
    assert r["rc"] == 0, r["stdout"] + r["stderr"]
    assert "MemoryError" not in r["stderr"]
    assert len(r["sessions"]) == 3
    runtime = r["summary"]["heap_peak_bytes"] - r["heap_code_bytes"]
    assert 0 < runtime <= RUNTIME_BUDGET
