"""Bench area `heap`: RAM as a board sees it, on the board's own module set (docs/bench.md).

- code_ram_bytes_files / code_ram_bytes_inplace: heap taken by importing the board modules the
  full simulation loads, from .mpy files and in place from a ROMFS image (the stand-in for
  frozen code); the *_all_modules keys import the whole deploy set;
- heap_floor_bytes: the smallest heap beyond the code (bisection to 512 bytes, 3 runs each) in
  which the simulation, carried in place, completes all three sessions;
- code_ram_bytes_files_32bit: the same files figure on a 32-bit MicroPython (wasm32.py), when
  node and npm are here;
- heap_files_runtime_ok: the .mpy run in a heap of its loaded code + 64 KiB (tight_heap.run_tight)
  completed, so the files carry stays covered too.
"""
import os

from host_tools.bench import board_ram, wasm32
from host_tools.bench.tight_heap import RUNTIME_BUDGET, RomSim, micropython_version, run_tight
from host_tools.repo import BUILD


def measure():
    from host_tools.testing.broker import Broker

    with Broker("auto") as broker:
        sim = RomSim(broker, os.path.join(BUILD, "bench-heap"))
        floor = sim.floor()
    prep = sim.prep
    tight = run_tight(workdir=os.path.join(BUILD, "bench"))
    files64 = board_ram.code_ram(prep, "files", sim.board_loaded)
    why = wasm32.available()
    files32 = None if why else wasm32.code_ram_files(prep["files"], sim.board_loaded)
    return {
        "code_ram_bytes_files_32bit": files32,
        "code_ram_files_ratio_32_vs_64bit": None if why else round(files32 / files64, 3),
        "code_ram_32bit_port": why or wasm32.PACKAGE + " under node (files carry only: no VfsRom)",
        "code_ram_bytes_files": files64,
        "code_ram_bytes_inplace": board_ram.code_ram(prep, "inplace", sim.board_loaded),
        "code_ram_bytes_files_all_modules": board_ram.code_ram(prep, "files"),
        "code_ram_bytes_inplace_all_modules": board_ram.code_ram(prep, "inplace"),
        "code_ram_modules_loaded": len(sim.board_loaded),
        "code_ram_modules_all": len(prep["names"]),
        "romfs_image_bytes": prep["image_bytes"],
        "heap_floor_bytes": floor,
        "heap_runtime_budget_bytes": RUNTIME_BUDGET,
        "heap_files_runtime_ok": tight["rc"] == 0 and len(tight["sessions"]) == 3,
        "micropython_version": micropython_version(),
    }


def check(fig):
    """Goals this area must meet; each miss is a sentence."""
    if fig["heap_floor_bytes"] > RUNTIME_BUDGET:
        yield "runtime heap floor %d over the %d-byte budget" % (fig["heap_floor_bytes"], RUNTIME_BUDGET)
    if not fig["heap_files_runtime_ok"]:
        yield "the sim from .mpy files failed in a heap of its code + %d bytes" % RUNTIME_BUDGET
