"""RAM that the board's code takes, measured as a board sees it (docs/bench.md, heap).

The deploy set (firmware/manifest.py: the `laddvakt` package and umqtt, what `make deploy`
copies) is laid out as on the board, then imported under MicroPython's unix port in two ways:

- from `.mpy` files, as a PSRAM board with a stock image runs it (`files`): the bytecode, its
  constants and every module, class and function object land in the GC heap;
- from a ROMFS image (`mpremote romfs build`) mounted with `vfs.VfsRom`, the stand-in for frozen
  code (`frozen`): the bytecode stays in the image and runs in place, but module dicts,
  function, class and closure objects are still made in RAM.

Each figure is gc.mem_alloc() after the imports and a collection, minus the same before them
(the image itself, read into a bytes object, is in both and cancels out). The unix port is
64-bit: its objects are larger than an ESP32's (docs/bench.md says by how much).
"""
import os
import shutil
import subprocess

from host_tools.repo import BUILD
from host_tools.toolchain.unix_port import MICROPYTHON

STAGE = os.path.join(BUILD, "board-set")
IMAGE = os.path.join(BUILD, "board-set.romfs")
MPREMOTE = os.path.join(os.path.dirname(MICROPYTHON), "mpremote")


def stage(dest=STAGE):
    """Copy the deploy set into dest as the board holds it; returns its module names."""
    from host_tools.device.deploy import manifest_code

    if os.path.isdir(dest):
        shutil.rmtree(dest)
    names = []
    for remote, local in sorted(manifest_code().items()):
        path = os.path.join(dest, remote.lstrip("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        shutil.copyfile(local, path)
        mod = remote.lstrip("/")[: -len(".mpy")].replace("/", ".")
        if mod.endswith(".__init__"):
            mod = mod[: -len(".__init__")]
        names.append(mod)
    return names


def build_image(src=STAGE, out=IMAGE):
    """A ROMFS image of src, as `mpremote romfs build` makes it for a board's partition."""
    if os.path.exists(out):
        os.remove(out)
    p = subprocess.run([MPREMOTE, "romfs", "--no-mpy", "-o", out, "build", src],
                       capture_output=True, text=True, timeout=120)
    if p.returncode or not os.path.exists(out):
        raise RuntimeError("mpremote romfs build failed:\n" + p.stdout + p.stderr)
    return out


_IMPORTS = """
import gc, sys
%s
gc.collect()
_a0 = gc.mem_alloc()
for _m in %r:
    __import__(_m)
gc.collect()
print("code-ram", gc.mem_alloc() - _a0)
import micropython
micropython.qstr_info()
"""

_ROM = """
import vfs
with open(%r, "rb") as f:
    _img = f.read()
vfs.mount(vfs.VfsRom(_img), "/rom")
sys.path[:] = ["/rom", ".frozen"]
"""


def _run(script, env_path, names=False):
    env = dict(os.environ, MICROPYPATH=env_path)
    p = subprocess.run([MICROPYTHON, "-X", "heapsize=8M", "-c", script], capture_output=True,
                       text=True, timeout=120, env=env, cwd="/")
    if p.returncode:
        raise RuntimeError("importing the board set failed:\n" + p.stdout + p.stderr)
    return _parse(p.stdout, names)


def files_bytes(modules, src=STAGE):
    """Heap taken by importing modules from the .mpy files in src."""
    return _run(_IMPORTS % ("sys.path[:] = [%r, \".frozen\"]" % src, list(modules)), src)


def inplace_bytes(modules, image=IMAGE, names=False):
    """Heap taken by importing modules from the ROMFS image, executed in place; with names,
    (it, the interned names after the imports, their pools)."""
    return _run(_IMPORTS % (_ROM % image, list(modules)), "/nonexistent", names)


def _walk(src, top):
    out = {}
    for d, _, names in os.walk(src):
        for n in names:
            local = os.path.join(d, n)
            out[top + "/" + os.path.relpath(local, src).replace(os.sep, "/")] = local
    return out


# The WebAssembly port has no socket or tls module: the board modules that import them at the
# top get an existing module object in their place (they use them only when connecting, which
# this never does), set before the baseline is taken. Stand-in files would leave names a board
# does not have (their paths) in the pools the count reports.
_SHIM = "import sys\nsys.modules['socket'] = sys.modules['usocket'] = sys.modules['tls'] = sys\n"


def files_bytes32(modules, src=STAGE):
    """files_bytes on the 32-bit WebAssembly port (host_tools/toolchain/wasm32.py)."""
    from host_tools.toolchain import wasm32

    head = _SHIM + "sys.path[:0] = ['/code']"
    out = wasm32.run(_IMPORTS % (head, list(modules)), _walk(src, "/code"))
    return _parse(out)


def inplace_bytes32(modules, image=IMAGE, names=False):
    """inplace_bytes on the 32-bit WebAssembly port."""
    from host_tools.toolchain import wasm32

    head = _SHIM + (_ROM % "/image.romfs").replace('sys.path[:] = ["/rom", ".frozen"]',
                                                   'sys.path[:0] = ["/rom"]')
    out = wasm32.run(_IMPORTS % (head, list(modules)), {"/image.romfs": image})
    return _parse(out, names)


def _parse(out, names=False):
    """The code-ram figure; with names, (it, interned names, their pools) from the line
    `qstr pool: n_pool=6, n_qstr=1233, ...` that `micropython.qstr_info()` prints after it."""
    got = {}
    for line in out.splitlines():
        if line.startswith("code-ram "):
            got["ram"] = int(line.split()[1])
        elif line.startswith("qstr pool:"):
            got.update((k.strip(), int(v)) for k, v in (kv.split("=") for kv in line[10:].split(",")))
    if "ram" not in got or (names and "n_qstr" not in got):
        raise RuntimeError("no figure in:\n" + out)
    return (got["ram"], got["n_qstr"], got["n_pool"]) if names else got["ram"]


def measure(modules=None):
    """{"files": bytes, "inplace": bytes, "image": bytes, "modules": n} for modules (default:
    the whole deploy set)."""
    names = stage()
    build_image()
    mods = [m for m in (modules or names) if m in names]
    return {"files": files_bytes(mods), "inplace": inplace_bytes(mods),
            "image": os.path.getsize(IMAGE), "modules": len(mods)}


if __name__ == "__main__":
    print(measure())
