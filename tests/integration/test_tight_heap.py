"""The sim scenario in tight heaps, with the firmware as a board carries it: from .mpy files
(a PSRAM board on a stock image) and from a ROMFS image run in place (the stand-in for a
frozen build), each in a heap of its code's own RAM plus the 64 KiB runtime budget."""
from host_tools.bench.tight_heap import RUNTIME_BUDGET, completes, romfs_plan, run_romfs, run_tight


def test_sim_runs_from_mpy_within_64k_runtime_heap(mosquitto, tmp_path):
    r = run_tight(workdir=str(tmp_path))
    assert completes(r), r["stdout"] + r["stderr"]
    runtime = r["summary"]["heap_peak_bytes"] - r["heap_code_bytes"]
    assert 0 < runtime <= RUNTIME_BUDGET


def test_sim_runs_from_romfs_in_image_plus_inplace_code_plus_64k(tmp_path):
    plan = romfs_plan(workdir=str(tmp_path))
    r = run_romfs(plan, workdir=str(tmp_path / "rom"))
    assert completes(r), r["stdout"][-2000:] + r["stderr"][-2000:]
    assert r["heapsize"] == plan["image"] + plan["inplace"] + plan["unix_modules"] + RUNTIME_BUDGET
    # and the heap is what limits it: a quarter of the budget is not enough
    small = run_romfs(plan, RUNTIME_BUDGET // 4, workdir=str(tmp_path / "rom-small"))
    assert not completes(small)
def test_command_fuzz_within_64k_runtime_heap(mosquitto, tmp_path):
    # The command fuzz corpus, with near-limit and oversized payloads, at the runtime budget
    # (issue 17 item 4): no MemoryError reply, no link drop, and the agent still answers.
    from host_tools.testing.cmd_fuzz import fuzz_tight
    from tests.integration.mqtt_capture import Capture

    r = fuzz_tight(Capture, mosquitto, str(tmp_path), n=2000)
    assert r["alive"] and r["replies"] > 1500, r
    assert r["memory_errors"] == 0 and r["link_drops"] == 0 and r["uplink_memory_lines"] == 0, (
        r["uplink_lines"], r)
    assert r["oversized_answered"] > 100 and not r["traceback"], r
