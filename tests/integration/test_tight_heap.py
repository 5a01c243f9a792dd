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


def test_command_fuzz_within_64k_runtime_heap(mosquitto, tmp_path):
    # The command fuzz corpus, with near-limit and oversized payloads, at the runtime budget
    # (issue 17 item 4): no MemoryError reply, no link drop, and the agent still answers.
    from host_tools.testing.cmd_fuzz import fuzz_tight
    from tests.integration.mqtt_capture import Capture

    r = fuzz_tight(Capture, mosquitto, str(tmp_path), n=2000)
    assert r["alive"] and r["replies"] > 1500, r
    assert r["memory_errors"] == 0 and r["link_drops"] == 0 and r["uplink_memory_lines"] == 0, r
    assert r["oversized_answered"] > 100 and not r["traceback"], r
