"""Heap figures of the agent as a deployed board runs it: from .mpy files.

On a board without PSRAM the agent's code is frozen into flash, so the GC heap holds only its
runtime data; that must fit in 64 KiB. On the unix port the code is loaded from .mpy files into
the heap instead, so the measurement subtracts it:

- a probe run of the sim scenario (with room to spare) lists the modules the agent loads;
- heap_code_bytes is gc.mem_alloc() after importing exactly those modules and collecting;
- the scenario then runs again with `micropython -X heapsize=` code plus 64 KiB, and
  heap_peak_bytes − heap_code_bytes is the runtime data.

Counting only the modules the run loads keeps the figure honest: code the scenario never
imports must not be subtracted from data it does allocate. The unix port is 64-bit, so its
objects are larger than the ESP32's: the figure errs on the safe side.
"""
import os
import shutil
import subprocess
import sys

from host_tools.repo import BUILD, ROOT
from host_tools.toolchain import build_mpy
from host_tools.toolchain.unix_port import MICROPYTHON, arena, micropython_env

RUNTIME_BUDGET = 65536
MPY_DIR = os.path.join(BUILD, "mpy")
_PROBE_ENTRY = "probe_main.py"
_MODULES = "laddvakt-modules "


def build():
    failures = build_mpy.build(MPY_DIR)
    if failures:
        raise RuntimeError("mpy-cross failed: %s" % failures)


def code_heap_bytes(names=None, rebuild=True):
    """The heap that importing `names` (default: every firmware module) takes."""
    if rebuild:
        build()
    names = names or build_mpy.module_names(MPY_DIR)
    # hal.esp32 imports `machine` only inside methods, so it imports on unix too.
    script = "import gc\n%s\ngc.collect()\nprint(gc.mem_alloc())\n" % "\n".join(
        "import " + n for n in names
    )
    p = subprocess.run([MICROPYTHON, "-c", script], env=micropython_env(MPY_DIR), capture_output=True, text=True,
                       cwd=ROOT, timeout=60)
    if p.returncode:
        raise RuntimeError("importing the .mpy modules failed:\n" + p.stdout + p.stderr)
    return int(p.stdout.split()[-1])


def micropython_version():
    p = subprocess.run([MICROPYTHON, "-c", "import sys; print('%d.%d.%d' % sys.implementation.version[:3])"],
                       capture_output=True, text=True, timeout=30)
    return p.stdout.strip()


def _write_probe_entry():
    with open(os.path.join(MPY_DIR, "unix_main.py")) as f:
        main = f.read()
    with open(os.path.join(MPY_DIR, _PROBE_ENTRY), "w") as f:
        f.write(main + "\nprint(%r + ' '.join(sorted(sys.modules)))\n" % _MODULES)


def loaded_modules(broker_kind="auto", workdir=None):
    """Modules the agent has loaded by the end of the sim scenario (from the .mpy build)."""
    from host_tools.sim.agent import run_sim

    _write_probe_entry()
    r = run_sim(broker_kind, code_dir=MPY_DIR, heapsize=4 * RUNTIME_BUDGET + 512 * 1024, bench=True,
                workdir=workdir or os.path.join(BUILD, "bench-probe"), quiet=True, entry=_PROBE_ENTRY)
    return _modules_of(r)


# The same day on a Modbus meter: the poll's line traffic runs in a task (meters/service.py) and
# the sample waits for it, so each virtual tick waits this many real ms and a poll over the pty
# ends within a few ticks; every plug-in and leave is then sampled as on the simulated meter,
# and the day takes about 8 s here (with 0 ms the day is over before a dozen polls).
MODBUS_TICK_REAL_MS = 2


def modbus_modules(broker_kind="auto", workdir=None, profile="sdm630"):
    """Modules the agent has loaded by the end of the sim scenario's three sessions on the
    `unix-modbus` board, its meter (profile, address 1) served by the pymodbus simulator over a
    socat pty (host_tools/testing/meter_sim.py), from the .mpy build. The meter's load follows
    the visits at the ticks' nominal pace; the run must store three sessions and the meter must
    have answered, else this raises."""
    from host_tools.sim.agent import SCENARIO, run_sim
    from host_tools.testing.meter_sim import Load, MeterModel, agent_config, served

    _write_probe_entry()
    workdir = workdir or os.path.join(BUILD, "bench-probe-modbus")
    os.makedirs(workdir, exist_ok=True)
    sc = dict(SCENARIO, tick_real_ms=MODBUS_TICK_REAL_MS)
    model = MeterModel(profile, 1, energy_dwh=sc["meter_start_wh"] * 10,
                       load=Load(scenario=sc, speed=sc["tick_ms"] / MODBUS_TICK_REAL_MS))
    with served(workdir, [model]) as (pair, msim):
        r = run_sim(broker_kind, code_dir=MPY_DIR, heapsize=4 * RUNTIME_BUDGET + 512 * 1024, bench=True,
                    workdir=workdir, quiet=True, entry=_PROBE_ENTRY, scenario=sc,
                    config=agent_config(pair.agent_path, profile))
    if not completes(r) or not msim.replies:
        raise RuntimeError("the Modbus probe run failed (%d sessions, %d meter replies):\n%s" % (
            len(r["sessions"]), msim.replies, (r["stdout"] + r["stderr"])[-3000:]))
    return _modules_of(r)


def full_modules(broker, cap_factory, workdir, tls=True):
    """Modules the agent has loaded by the end of the floor scenario (host_tools/bench/full_floor.py):
    the sim's, the console's and (with tls) the TLS link's."""
    from host_tools.bench import full_floor

    _write_probe_entry()
    r = full_floor.run(broker, cap_factory, MPY_DIR, _PROBE_ENTRY, 4 * RUNTIME_BUDGET + 512 * 1024, workdir,
                       tls)
    if not full_floor.completes(r):
        raise RuntimeError("the probe run of the floor scenario failed: %s\n%s" % (
            full_floor.failures(r), r["stdout"][-3000:]))
    return _modules_of(r)


def on_board(mods, staged):
    """Those of a probe's modules that a board carries (staged: the deploy set's names,
    coderam.stage()): the simulation's own (laddvakt_unix) and the port's built-ins are not."""
    staged = set(staged)
    return [m for m in mods if m in staged]


def _modules_of(r):
    for line in r["stdout"].splitlines():
        if line.startswith(_MODULES):
            return [m for m in line[len(_MODULES):].split() if m != "__main__"]
    raise RuntimeError("the probe run did not list its modules:\n" + r["stdout"] + r.get("stderr", ""))


def run_tight(broker_kind="auto", workdir=None, runtime=RUNTIME_BUDGET, mods=None):
    """The sim scenario on .mpy code with a heap of its loaded code + runtime, in bench mode."""
    from host_tools.sim.agent import run_sim

    build()
    workdir = workdir or os.path.join(BUILD, "bench")
    mods = mods or loaded_modules(broker_kind, os.path.join(workdir, "probe"))
    code = code_heap_bytes(mods, rebuild=False)
    r = run_sim(broker_kind, code_dir=MPY_DIR, heapsize=arena(code + runtime), bench=True,
                workdir=workdir, quiet=True)
    r["heap_code_bytes"] = code
    r["modules"] = mods
    return r


_ROM_MAIN = """# The unix entry point with the board's code in a ROMFS image, run in place (frozen stand-in).
import gc, sys, vfs
with open(%r, "rb") as f:
    _img = f.read()
vfs.mount(vfs.VfsRom(_img), "/rom")
sys.path[:] = ["/rom", %r, ".frozen"]
_room = bytearray(8192)
from laddvakt.app import wiring as app
from laddvakt_unix.hal import UnixHal
del _room
gc.collect()
rc = app.main(UnixHal.from_argv(sys.argv))
if rc:
    sys.exit(rc)
"""


def romfs_plan(broker_kind="auto", workdir=None, mods=None):
    """The heap a ROMFS run needs, by part: the image (read into RAM on unix; a board maps it
    from flash), the board modules the run loads (`mods`, default the sim's) run in place, and
    the unix-only modules (the simulated plant and HAL, which a board does not have) from .mpy
    files."""
    from host_tools.toolchain import coderam

    build()
    workdir = workdir or os.path.join(BUILD, "bench")
    mods = mods or loaded_modules(broker_kind, os.path.join(workdir, "probe"))
    board = set(coderam.stage())
    coderam.build_image()
    on_board = [m for m in mods if m in board]
    unix_only = [m for m in mods if m.startswith("laddvakt_unix")]
    unix = code_heap_bytes(on_board + unix_only, rebuild=False) - code_heap_bytes(on_board, rebuild=False)
    return {"image": os.path.getsize(coderam.IMAGE), "inplace": coderam.inplace_bytes(on_board),
            "unix_modules": unix, "modules": mods}


def _rom_code(workdir):
    from host_tools.toolchain import coderam

    code = os.path.join(workdir, "code")
    if os.path.isdir(code):
        shutil.rmtree(code)
    shutil.copytree(os.path.join(MPY_DIR, "laddvakt_unix"), os.path.join(code, "laddvakt_unix"))
    with open(os.path.join(code, "rom_main.py"), "w") as f:
        f.write(_ROM_MAIN % (coderam.IMAGE, code))
    return code


def rom_heap(plan, runtime):
    """The -X heapsize of a ROMFS run: a GC heap of the image + the in-place code + the unix-only
    modules + runtime usable bytes (unix_port.arena: the GC's own tables on top)."""
    return arena(plan["image"] + plan["inplace"] + plan["unix_modules"] + runtime)


def run_romfs(plan, runtime=RUNTIME_BUDGET, broker_kind="auto", workdir=None):
    """The sim scenario with the board's code from the ROMFS image, in a heap of the image +
    the in-place code + the unix-only modules + runtime."""
    from host_tools.sim.agent import run_sim

    workdir = workdir or os.path.join(BUILD, "bench-rom")
    code = _rom_code(workdir)
    heap = rom_heap(plan, runtime)
    r = run_sim(broker_kind, code_dir=code, heapsize=heap, bench=True, workdir=workdir, quiet=True,
                entry="rom_main.py")
    r["heapsize"] = heap
    return r


def run_romfs_full(plan, broker, cap_factory, runtime=RUNTIME_BUDGET, workdir=None, tls=True):
    """The floor scenario (full_floor.py) with the board's code from the ROMFS image, in a heap
    of the image + the in-place code + the unix-only modules + runtime; plan from
    romfs_plan(mods=full_modules(...))."""
    from host_tools.bench import full_floor

    workdir = workdir or os.path.join(BUILD, "bench-rom-full")
    return full_floor.run(broker, cap_factory, _rom_code(workdir), "rom_main.py", rom_heap(plan, runtime),
                          workdir, tls)


def run_files_full(mods, broker, cap_factory, runtime=RUNTIME_BUDGET, workdir=None, code=None):
    """The floor scenario on .mpy files, in a heap of the loaded code (`code`, measured from
    `mods` unless given) + runtime."""
    from host_tools.bench import full_floor

    code = code or code_heap_bytes(mods, rebuild=False)
    r = full_floor.run(broker, cap_factory, MPY_DIR, "unix_main.py", arena(code + runtime),
                       workdir or os.path.join(BUILD, "bench-files-full"))
    r["heap_code_bytes"] = code
    return r


def completes(r):
    return r["rc"] == 0 and len(r["sessions"]) == 3 and "MemoryError" not in r["stdout"] + r["stderr"]


def heap_floor(run, lo=8192, hi=2 * RUNTIME_BUDGET, step=1024, tries=2, completes=completes):
    """The smallest runtime heap (beyond the code) in which run(runtime) completes on every one
    of `tries` runs, to `step` bytes, by bisection; hi must complete."""
    def ok(n):
        return all(completes(run(n)) for _ in range(tries))

    if not ok(hi):
        raise RuntimeError("the sim does not complete even with %d bytes beyond its code" % hi)
    while hi - lo > step:
        mid = (lo + hi) // 2 // step * step
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return hi


if __name__ == "__main__":
    print(code_heap_bytes())
    sys.exit(0)
