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


if __name__ == "__main__":
    print(code_heap_bytes())
    sys.exit(0)
