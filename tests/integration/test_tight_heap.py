"""The sim scenario in a heap of its code plus 64 KiB, with the code carried as a board carries
it: from .mpy files, and in place from a ROMFS image (the stand-in for frozen code)."""
from host_tools.bench import board_ram
from host_tools.bench.tight_heap import RUNTIME_BUDGET, RomSim, run_tight


def test_sim_runs_from_mpy_within_64k_runtime_heap(mosquitto, tmp_path):
    r = run_tight(workdir=str(tmp_path))
    assert r["rc"] == 0, r["stdout"] + r["stderr"]
    assert "MemoryError" not in r["stderr"]
    assert len(r["sessions"]) == 3
    runtime = r["summary"]["heap_peak_bytes"] - r["heap_code_bytes"]
    assert 0 < runtime <= RUNTIME_BUDGET


def test_sim_from_romfs_in_image_plus_inplace_code_plus_64k(mosquitto, tmp_path):
    sim = RomSim(mosquitto, str(tmp_path))
    # The image holds only board code and the unix HAL/simulation; the run loaded board code.
    assert not [m for m in sim.board_loaded if m.startswith("laddvakt_unix")]
    assert "laddvakt.app.wiring" in sim.board_loaded and "laddvakt_unix.hal" in sim.loaded
    r = sim.run(RUNTIME_BUDGET)
    assert r["rc"] == 0, r["stdout"][-2000:] + r["stderr"][-2000:]
    assert "MemoryError" not in r["stderr"]
    assert len(r["sessions"]) == 3
    assert r["heapsize"] == sim.image_bytes + sim.code_bytes + RUNTIME_BUDGET
    # The heap is tight: a quarter of the runtime share is not enough, so the test can fail.
    assert not sim.passes(RUNTIME_BUDGET // 4, runs=1)


def test_inplace_costs_less_than_files_and_set_is_board_only(tmp_path):
    prep = board_ram.prepare()
    assert not [p for p in prep["files"] if "laddvakt_unix" in p or p.endswith("unix_main.mpy")]
    files = board_ram.code_ram(prep, "files")
    inplace = board_ram.code_ram(prep, "inplace")
    assert 0 < inplace < files
    # Importing more costs more: the measurement sees what is imported.
    assert board_ram.code_ram(prep, "inplace", ["laddvakt.core.board"]) < inplace
