"""Bench area `heap`: RAM as a board sees it (docs/bench.md, heap).

- code_ram_bytes_files: the heap that importing the board modules the simulation loads takes
  from .mpy files (a PSRAM board on a stock image);
- code_ram_bytes_inplace: the same modules from a ROMFS image mounted with vfs.VfsRom and run
  in place (the stand-in for frozen code on a board without PSRAM);
- code_ram_bytes_inplace_all: every module of the deploy set, in place;
- code_ram_bytes_inplace_modbus: the same as code_ram_bytes_inplace for the board modules the
  same day loads on a Modbus meter (the unix-modbus board, the pymodbus simulator on a pty; its
  own probe run), on the same image; _extra_modules lists those the sim's meter does not load;
- code_ram_names_inplace(_modbus) and code_ram_name_pools_inplace(_modbus): the interned names
  left after importing each set that way, and the pools that hold them (micropython.qstr_info());
- heap_floor_bytes: the smallest heap beyond the code (bisection to 1 KiB, each size run twice)
  in which the floor scenario completes with the code in place: three sessions over TLS, a
  backlog drained, a console session and the command fuzz corpus (host_tools/bench/full_floor.py).
  On the unix port mbedTLS allocates from the GC heap, so this holds the TLS session too;
- heap_tls_connect_gc_bytes: what a TLS connect takes from the GC heap on this port, measured in
  the same run against the same broker (the smallest heap for a TLS connect less that for a plain
  one); heap_floor_bytes_board_est is heap_floor_bytes less it, the estimate for a board whose
  mbedTLS uses the IDF heap outside the GC heap (an ESP32);
- heap_floor_bytes_plain: the same bisection for the same scenario with its MQTT link over plain
  TCP (its own probe and plan, so the TLS module's code is not counted): the GC heap's need
  where TLS lives outside it, as on an ESP32, measured beside the estimate above;
- heap_floor_bytes_files: the same bisection (one run a size) for the plain three-session
  simulation with the code from .mpy files. The budget the tight-heap test holds is 64 KiB.
On the 64-bit unix port, and the code figures again (`_32bit`) on the 32-bit WebAssembly port
(host_tools/toolchain/wasm32.py), whose objects are an ESP32's size.
"""
import os

from host_tools.bench import full_floor, tight_heap as t
from host_tools.repo import BUILD
from host_tools.testing.broker import tls_broker
from host_tools.toolchain import coderam, wasm32

GOAL_INPLACE = 98304
GOAL_FLOOR = 49152
# The bisection's bracket: 32-96 KiB (6 steps to 1 KiB); the top must complete or the area fails.
FLOOR_LO, FLOOR_HI = 32768, 98304


def _capture(port):
    from tests.integration.mqtt_capture import Capture  # the tests' recorder, run from the repo root

    return Capture(port)


def measure():
    t.build()
    with tls_broker() as b:
        # The floor scenario loads more than the sim (the console, the TLS link): its own plan.
        fplan = t.romfs_plan(mods=t.full_modules(b, _capture, os.path.join(BUILD, "bench-floor", "probe")))
        floor = t.heap_floor(lambda n: t.run_romfs_full(fplan, b, _capture, n), lo=FLOOR_LO, hi=FLOOR_HI,
                             completes=full_floor.completes)
        tls, plain = full_floor.tls_gc_bytes(b, t.MPY_DIR, os.path.join(BUILD, "bench-floor"))
        # The same scenario with the link over plain TCP, its own probe and plan (no TLS module):
        # the GC heap's need where TLS lives outside it, as on an ESP32, measured.
        pplan = t.romfs_plan(mods=t.full_modules(b, _capture, os.path.join(BUILD, "bench-floor", "probe-plain"),
                                                 False))
        floor_plain = t.heap_floor(
            lambda n: t.run_romfs_full(pplan, b, _capture, n, os.path.join(BUILD, "bench-rom-plain"), False),
            lo=FLOOR_LO, hi=FLOOR_HI, completes=full_floor.completes)
    # The same day on a Modbus meter (the most common charger): its own probe run, measured
    # below on the same image as the sim's set.
    modbus = t.modbus_modules()
    plan = t.romfs_plan()
    board = [m for m in plan["modules"] if not m.startswith("laddvakt_unix")]
    all_ = coderam.stage()
    mods = t.on_board(board, all_)
    mb_mods = t.on_board(modbus, all_)
    _, names, pools = coderam.inplace_bytes(mods, names=True)
    mb_bytes, mb_names, mb_pools = coderam.inplace_bytes(mb_mods, names=True)
    out = {
        "heap_floor_bytes": floor,
        "heap_tls_connect_gc_bytes": tls - plain,
        "heap_tls_connect_bytes": tls,
        "heap_plain_connect_bytes": plain,
        "heap_floor_bytes_board_est": floor - (tls - plain),
        "heap_floor_bytes_plain": floor_plain,
        "code_ram_bytes_inplace_floor_scenario_plain": pplan["inplace"],
        "code_ram_bytes_inplace_floor_scenario": fplan["inplace"],
        "code_ram_bytes_files": t.code_heap_bytes(mods, rebuild=False),
        "code_ram_bytes_inplace": plan["inplace"],
        "code_ram_bytes_inplace_all": coderam.inplace_bytes(all_),
        "code_ram_modules": len(mods),
        "code_ram_bytes_inplace_modbus": mb_bytes,
        "code_ram_names_inplace": names,
        "code_ram_name_pools_inplace": pools,
        "code_ram_names_inplace_modbus": mb_names,
        "code_ram_name_pools_inplace_modbus": mb_pools,
        "code_ram_modules_modbus": len(mb_mods),
        "code_ram_bytes_inplace_modbus_extra_modules": sorted(set(mb_mods) - set(mods)),
        "code_ram_modules_all": len(all_),
        "romfs_image_bytes": plan["image"],
        # One run a size: a figure beside the floor, not a goal (the area's time counts).
        "heap_floor_bytes_files": t.heap_floor(
            lambda n: t.run_tight(runtime=n, mods=plan["modules"]), lo=FLOOR_LO, hi=FLOOR_HI, tries=1),
        "heap_runtime_budget_bytes": t.RUNTIME_BUDGET,
        "micropython_version": t.micropython_version(),
    }
    why = wasm32.why_not()
    if why:
        out["code_ram_32bit"] = "not measured: " + why
        return out
    out["code_ram_bytes_files_32bit"] = coderam.files_bytes32(mods)
    (out["code_ram_bytes_inplace_32bit"], out["code_ram_names_inplace_32bit"],
     out["code_ram_name_pools_inplace_32bit"]) = coderam.inplace_bytes32(mods, names=True)
    out["code_ram_bytes_inplace_all_32bit"] = coderam.inplace_bytes32(all_)
    (out["code_ram_bytes_inplace_modbus_32bit"], out["code_ram_names_inplace_modbus_32bit"],
     out["code_ram_name_pools_inplace_modbus_32bit"]) = coderam.inplace_bytes32(mb_mods, names=True)
    # The 32-bit port has no sockets, so the simulation (and its floor) runs only on the 64-bit
    # one: this scales the floor by the in-place code's own 32/64 ratio (docs/bench.md).
    out["heap_floor_bytes_32bit_est"] = (out["heap_floor_bytes"] * out["code_ram_bytes_inplace_32bit"]
                                         // out["code_ram_bytes_inplace"])
    out["heap_floor_bytes_board_32bit_est"] = (out["heap_floor_bytes_board_est"]
                                               * out["code_ram_bytes_inplace_32bit"]
                                               // out["code_ram_bytes_inplace"])
    return out


def check(fig):
    """Issue 15's goals; each miss is a sentence (the run still writes its figures): the board
    set's code in place, the sim's and the Modbus meter's day alike; the runtime floor as the
    issue names it (TLS in the GC heap, as on this port); and on a board (TLS outside the GC
    heap), estimated and measured over plain TCP."""
    for key in ("code_ram_bytes_inplace", "code_ram_bytes_inplace_modbus"):
        if fig[key] > GOAL_INPLACE:
            yield "%s %d over the goal %d" % (key, fig[key], GOAL_INPLACE)
    for key, tls in (("heap_floor_bytes", "in"), ("heap_floor_bytes_board_est", "outside"),
                     ("heap_floor_bytes_plain", "outside")):
        if fig[key] > GOAL_FLOOR:
            yield "runtime heap floor %s %d (TLS %s the GC heap) over the goal %d" % (key, fig[key], tls, GOAL_FLOOR)
