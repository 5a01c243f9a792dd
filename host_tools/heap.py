"""Heap figures of the agent as a deployed board runs it: from .mpy files.

heap_code_bytes: gc.mem_alloc() once every module is imported and collected.
The agent then runs the sim scenario with `micropython -X heapsize=` that plus
64 KiB, so the runtime data must fit the budget an ESP32 without PSRAM leaves.
"""
import os
import subprocess
import sys

from host_tools import build_mpy
from host_tools.sim import BUILD, MICROPYTHON, ROOT, micropython_env

RUNTIME_BUDGET = 65536
MPY_DIR = os.path.join(BUILD, "mpy")


def code_heap_bytes():
    failures = build_mpy.build(MPY_DIR)
    if failures:
        raise RuntimeError("mpy-cross failed: %s" % failures)
    names = build_mpy.module_names(MPY_DIR)
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


def run_tight(broker_kind="auto", workdir=None):
    """The sim scenario on .mpy code with a heap of code + 64 KiB, in bench mode."""
    from host_tools.sim import run_sim

    code = code_heap_bytes()
    r = run_sim(broker_kind, code_dir=MPY_DIR, heapsize=code + RUNTIME_BUDGET, bench=True,
                workdir=workdir or os.path.join(BUILD, "bench"), quiet=True)
    r["heap_code_bytes"] = code
    return r


if __name__ == "__main__":
    print(code_heap_bytes())
    sys.exit(0)
