"""The sim scenario in a tight heap, with the code carried as a board carries it.

The agent's runtime data (beyond its code) must fit in 64 KiB. run_tight loads the code from
.mpy files (a PSRAM board with a stock image) and subtracts it:

- a probe run of the sim scenario (with room to spare) lists the modules the agent loads;
- heap_code_bytes is gc.mem_alloc() after importing exactly those modules and collecting;
- the scenario then runs again with `micropython -X heapsize=` code plus 64 KiB, and
  heap_peak_bytes − heap_code_bytes is the runtime data.

Counting only the modules the run loads keeps the figure honest: code the scenario never
imports must not be subtracted from data it does allocate. RomSim carries the code in place from
a ROMFS image (the stand-in for frozen code) and finds the runtime floor by bisection
(docs/bench.md, heap). The unix port is 64-bit, so its objects are larger than the ESP32's:
the figures err on the safe side.
"""
import os
import subprocess
import sys

from host_tools.repo import BUILD, ROOT
from host_tools.toolchain import build_mpy
from host_tools.toolchain.unix_port import MICROPYTHON, micropython_env

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


def loaded_modules(broker_kind="auto", workdir=None):
    """Modules the agent has loaded by the end of the sim scenario (from the .mpy build)."""
    from host_tools.sim.agent import run_sim

    with open(os.path.join(MPY_DIR, "unix_main.py")) as f:
        main = f.read()
    with open(os.path.join(MPY_DIR, _PROBE_ENTRY), "w") as f:
        f.write(main + "\nprint(%r + ' '.join(sorted(sys.modules)))\n" % _MODULES)
    r = run_sim(broker_kind, code_dir=MPY_DIR, heapsize=4 * RUNTIME_BUDGET + 512 * 1024, bench=True,
                workdir=workdir or os.path.join(BUILD, "bench-probe"), quiet=True, entry=_PROBE_ENTRY)
    for line in r["stdout"].splitlines():
        if line.startswith(_MODULES):
            return [m for m in line[len(_MODULES):].split() if m != "__main__"]
    raise RuntimeError("the probe run did not list its modules:\n" + r["stdout"] + r["stderr"])


def run_tight(broker_kind="auto", workdir=None):
    """The sim scenario on .mpy code with a heap of its loaded code + 64 KiB, in bench mode."""
    from host_tools.sim.agent import run_sim

    build()
    workdir = workdir or os.path.join(BUILD, "bench")
    mods = loaded_modules(broker_kind, os.path.join(workdir, "probe"))
    code = code_heap_bytes(mods, rebuild=False)
    r = run_sim(broker_kind, code_dir=MPY_DIR, heapsize=code + RUNTIME_BUDGET, bench=True,
                workdir=workdir, quiet=True)
    r["heap_code_bytes"] = code
    r["modules"] = mods
    return r


class RomSim:
    """The sim scenario with the code carried in place, as a frozen board carries it: the board
    set plus the unix HAL and simulation in one ROMFS image (board_ram.sim_image), mounted by a
    small entry script. The heap of a run is the image (a board keeps it in flash) plus the
    in-place cost of every module the run loads (board and simulation, measured from the same
    image) plus the runtime heap under test."""

    def __init__(self, broker, workdir, rebuild=True):
        from host_tools.bench import board_ram
        from host_tools.sim.agent import run_sim

        self._run_sim = run_sim
        self.broker = broker
        self.workdir = workdir
        self.prep = board_ram.prepare(rebuild)
        code_dir, entry, image, _ = board_ram.sim_image(self.prep, os.path.join(workdir, "probe"), probe=True)
        r = run_sim(code_dir=code_dir, entry=entry, heapsize=4 << 20, bench=True, quiet=True, broker=broker,
                    workdir=os.path.join(workdir, "probe-run"))
        line = [ln for ln in r["stdout"].splitlines() if ln.startswith(board_ram.MODULES)]
        if r["rc"] or not line:
            raise RuntimeError("the ROMFS probe run failed:\n" + r["stdout"] + r["stderr"])
        ours = ("laddvakt", "laddvakt_unix", "umqtt")
        self.loaded = [m for m in line[0].split()[1:] if m.split(".")[0] in ours]
        self.board_loaded = [m for m in self.loaded if m.split(".")[0] != "laddvakt_unix"]
        self.code_dir, self.entry, image, self.image_bytes = board_ram.sim_image(
            self.prep, os.path.join(workdir, "sim"))
        # Everything the run loads, from the image it runs from.
        self.code_bytes = board_ram.code_ram(self.prep, "inplace", self.loaded, image=image)

    def run(self, runtime_bytes):
        """One run in a heap of image + loaded code + runtime_bytes; its run_sim result."""
        heap = self.image_bytes + self.code_bytes + runtime_bytes
        r = self._run_sim(code_dir=self.code_dir, entry=self.entry, heapsize=heap, bench=True, quiet=True,
                          broker=self.broker, workdir=os.path.join(self.workdir, "run"))
        r["heapsize"] = heap
        return r

    def passes(self, runtime_bytes, runs=3):
        """Every one of `runs` runs completes all three sessions, each stored by the backend."""
        for _ in range(runs):
            r = self.run(runtime_bytes)
            if r["rc"] != 0 or len(r["sessions"]) != 3 or not r["summary"]:
                return False
        return True

    def floor(self, lo=0, hi=2 * RUNTIME_BUDGET, step=512, runs=3):
        """The smallest runtime heap (to `step` bytes) in which `runs` runs all pass: bisection
        between lo (assumed failing) and hi (checked)."""
        if not self.passes(hi, runs):
            raise RuntimeError("the scenario fails even with %d bytes beyond the code" % hi)
        while hi - lo > step:
            mid = (lo + hi) // 2 // step * step
            if mid <= lo:
                break
            if self.passes(mid, runs):
                hi = mid
            else:
                lo = mid
        return hi


if __name__ == "__main__":
    print(code_heap_bytes())
    sys.exit(0)
