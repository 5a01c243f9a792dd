"""Bench area `heap`: RAM as a board sees it (docs/bench.md, heap).

- code_ram_bytes_files: the heap that importing the board modules the simulation loads takes
  from .mpy files (a PSRAM board on a stock image);
- code_ram_bytes_inplace: the same modules from a ROMFS image mounted with vfs.VfsRom and run
  in place (the stand-in for frozen code on a board without PSRAM);
- code_ram_bytes_inplace_all: every module of the deploy set, in place;
- heap_floor_bytes / heap_floor_bytes_files: the smallest heap beyond the code (bisection to
  1 KiB, each size run twice) in which the three-session simulation completes, with the code
  in place / from files. The budget the tight-heap test holds is 64 KiB.
On the 64-bit unix port, and the code figures again (`_32bit`) on the 32-bit WebAssembly port
(host_tools/toolchain/wasm32.py), whose objects are an ESP32's size.
"""
from host_tools.bench import tight_heap as t
from host_tools.toolchain import coderam, wasm32

GOAL_INPLACE = 98304
GOAL_FLOOR = 49152


def measure():
    plan = t.romfs_plan()
    board = [m for m in plan["modules"] if not m.startswith("laddvakt_unix")]
    all_ = coderam.stage()
    out = {
        "code_ram_bytes_files": t.code_heap_bytes(
            [m for m in board if m in all_], rebuild=False),
        "code_ram_bytes_inplace": plan["inplace"],
        "code_ram_bytes_inplace_all": coderam.inplace_bytes(all_),
        "code_ram_modules": len([m for m in board if m in all_]),
        "code_ram_modules_all": len(all_),
        "romfs_image_bytes": plan["image"],
        "heap_floor_bytes": t.heap_floor(lambda n: t.run_romfs(plan, n)),
        "heap_floor_bytes_files": t.heap_floor(
            lambda n: t.run_tight(runtime=n, mods=plan["modules"])),
        "heap_runtime_budget_bytes": t.RUNTIME_BUDGET,
        "micropython_version": t.micropython_version(),
    }
    why = wasm32.why_not()
    if why:
        out["code_ram_32bit"] = "not measured: " + why
        return out
    mods = [m for m in board if m in all_]
    out["code_ram_bytes_files_32bit"] = coderam.files_bytes32(mods)
    out["code_ram_bytes_inplace_32bit"] = coderam.inplace_bytes32(mods)
    out["code_ram_bytes_inplace_all_32bit"] = coderam.inplace_bytes32(all_)
    # The 32-bit port has no sockets, so the simulation (and its floor) runs only on the 64-bit
    # one: this scales the floor by the in-place code's own 32/64 ratio (docs/bench.md).
    out["heap_floor_bytes_32bit_est"] = (out["heap_floor_bytes"] * out["code_ram_bytes_inplace_32bit"]
                                         // out["code_ram_bytes_inplace"])
    return out


def check(fig):
    """Goals of issue 15; each miss is a sentence (the run still writes its figures)."""
    if fig["heap_floor_bytes"] > t.RUNTIME_BUDGET:
        yield "runtime heap floor %d over the %d-byte budget" % (fig["heap_floor_bytes"], t.RUNTIME_BUDGET)
