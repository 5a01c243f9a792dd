"""RAM the agent's code takes as a board carries it, measured on the unix port.

The board set is what `make deploy` copies (firmware/manifest.py: board code and umqtt, no
simulation or unix module), laid out under build/romfs/set/. Two ways to carry it:

- `files`: .mpy files on the filesystem; importing loads their bytecode into the heap;
- `inplace`: a ROMFS image of the same files (`mpremote romfs build`) mounted with vfs.VfsRom,
  the unix port's stand-in for frozen code: bytecode runs from the image, but module dicts,
  functions, classes and code objects are still built in the heap.

A figure is gc.mem_alloc() after importing the modules and collecting, minus the same before
(after the image itself is in the heap, for `inplace`). Each run is a fresh `micropython`.
"""
import os
import shutil
import subprocess

from host_tools.repo import BUILD, FIRMWARE
from host_tools.toolchain import build_mpy
from host_tools.toolchain.unix_port import MICROPYTHON, micropython_env

ROMFS = os.path.join(BUILD, "romfs")
MPY_DIR = os.path.join(BUILD, "mpy")
MPREMOTE = os.path.join(os.path.dirname(MICROPYTHON), "mpremote")
MPY_CROSS = build_mpy.MPY_CROSS
_ROM_ENTRY = "rom_main.py"


class BoardRamError(Exception):
    pass


def board_set(mpy_dir=MPY_DIR):
    """{remote path: local .mpy} of the deploy set; refuses a simulation or unix module."""
    from host_tools.device import deploy

    files = deploy.manifest_code(mpy_dir=mpy_dir)
    bad = [p for p in files if "unix" in p.split("/")[1] or "/sim/" in p]
    if bad:
        raise BoardRamError("the deploy set holds unix or simulation modules: %s" % bad)
    return files


def module_name(remote):
    name = remote.lstrip("/")[: -len(".mpy")].replace("/", ".")
    return name[: -len(".__init__")] if name.endswith(".__init__") else name


def lay_out(files, out_dir):
    """Copy {remote: local} under out_dir, as the board's filesystem would hold them."""
    shutil.rmtree(out_dir, ignore_errors=True)
    for remote, local in files.items():
        dst = os.path.join(out_dir, remote.lstrip("/"))
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(local, dst)
    return out_dir


def romfs_image(set_dir, image):
    """`mpremote romfs build` of set_dir (already .mpy) into image; returns its size."""
    p = subprocess.run([MPREMOTE, "romfs", "--no-mpy", "-o", image, "build", set_dir],
                       capture_output=True, text=True, timeout=120)
    if p.returncode or not os.path.exists(image):
        raise BoardRamError("mpremote romfs build failed:\n" + p.stdout + p.stderr)
    return os.path.getsize(image)


# Runs under micropython. Reads the image into one block allocated up front (a board maps it
# from flash instead: its size is reported apart), mounts it first on the path.
_MOUNT = """import gc, os, sys, vfs
_img = bytearray(os.stat(%r)[6])
with open(%r, 'rb') as _f:
    _f.readinto(_img)
vfs.mount(vfs.VfsRom(_img), '/rom')
sys.path.insert(0, '/rom')
"""


def _measure(names, mode, set_dir, image=None):
    head = _MOUNT % (image, image) if mode == "inplace" else "import gc\n"
    script = head + "gc.collect()\n_a = gc.mem_alloc()\n" + "".join("import %s\n" % n for n in names) + \
        "gc.collect()\nprint('code-ram', gc.mem_alloc() - _a)\n"
    # Only the frozen stdlib besides the set: nothing from the source tree can leak in.
    env = micropython_env() if mode == "inplace" else micropython_env(set_dir)
    p = subprocess.run([MICROPYTHON, "-c", script], env=env, capture_output=True, text=True, timeout=120,
                       cwd=ROMFS)
    for line in p.stdout.splitlines():
        if line.startswith("code-ram "):
            return int(line.split()[1])
    raise BoardRamError("importing the board set (%s) failed:\n%s%s" % (mode, p.stdout, p.stderr))


def prepare(rebuild=True):
    """Build the .mpy tree, lay out the board set and its ROMFS image. Returns a dict with
    set_dir, image, image_bytes, names (every module of the set), files."""
    if rebuild:
        failures = build_mpy.build(MPY_DIR)
        if failures:
            raise BoardRamError("mpy-cross failed: %s" % failures)
    files = board_set()
    os.makedirs(ROMFS, exist_ok=True)
    set_dir = lay_out(files, os.path.join(ROMFS, "set"))
    image = os.path.join(ROMFS, "board.romfs")
    size = romfs_image(set_dir, image)
    return {"set_dir": set_dir, "image": image, "image_bytes": size, "files": files,
            "names": sorted(module_name(p) for p in files)}


def code_ram(prep, mode, names=None, image=None):
    """Heap taken by importing names (default: the whole set) carried as mode; inplace from
    image (default: the board set's)."""
    if mode not in ("files", "inplace"):
        raise ValueError(mode)
    return _measure(names or prep["names"], mode, prep["set_dir"], image or prep["image"])


MODULES = "laddvakt-modules "


def sim_image(prep, out_dir, probe=False):
    """A ROMFS image for a simulation run: the board set plus the unix HAL, the simulation and
    unix_main (compiled), with a small entry script that mounts it (and, for a probe, lists the
    modules loaded at the end). Returns (code_dir, entry, image, image_bytes): run it with
    run_sim(code_dir=..., entry=...)."""
    files = dict(prep["files"])
    base = os.path.join(MPY_DIR, "laddvakt_unix")
    for d, _, fs in os.walk(base):
        for n in fs:
            if n.endswith(".mpy"):
                local = os.path.join(d, n)
                files["/" + os.path.relpath(local, MPY_DIR).replace(os.sep, "/")] = local
    set_dir = lay_out(files, os.path.join(out_dir, "set"))
    p = subprocess.run([MPY_CROSS, "-o", os.path.join(set_dir, "unix_main.mpy"), "-s", "unix_main.py",
                        os.path.join(FIRMWARE, "unix_main.py")], capture_output=True, text=True)
    if p.returncode:
        raise BoardRamError("mpy-cross unix_main.py: " + p.stderr)
    image = os.path.join(out_dir, "sim.romfs")
    size = romfs_image(set_dir, image)
    code_dir = os.path.join(out_dir, "entry")
    os.makedirs(code_dir, exist_ok=True)
    with open(os.path.join(code_dir, _ROM_ENTRY), "w") as f:
        f.write(_MOUNT % (image, image) + "import unix_main\n")
        if probe:
            f.write("print(%r + ' '.join(sorted(sys.modules)))\n" % MODULES)
    return code_dir, _ROM_ENTRY, image, size
