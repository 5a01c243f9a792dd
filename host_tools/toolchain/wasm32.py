"""A 32-bit MicroPython on this machine: the WebAssembly port from the npm registry, run by node.

Its objects have 4-byte pointers and its GC 16-byte blocks, as on an ESP32, so the RAM that
code takes there is measured, not estimated (host_tools/toolchain/coderam.py). It has VfsRom but
no sockets, so the whole simulation cannot run on it. The package is installed into
build/wasm32 at first use; without node and npm, available() is False and the figures are
left out, saying why.
"""
import json
import os
import shutil
import subprocess
import tempfile

from host_tools.repo import BUILD, ROOT

PACKAGE = "@micropython/micropython-webassembly-pyscript"
VERSION = "1.29.0-6"  # the same MicroPython release as mpy-cross and the unix port
DIR = os.path.join(BUILD, "wasm32")
MODULE = os.path.join(DIR, "node_modules", PACKAGE, "micropython.mjs")
RUNNER = os.path.join(ROOT, "host_tools", "toolchain", "mp32.mjs")


def why_not():
    """None if the 32-bit port can run here, else the reason."""
    for tool in ("node", "npm"):
        if not shutil.which(tool):
            return "%s is not installed" % tool
    if not os.path.exists(MODULE):
        os.makedirs(DIR, exist_ok=True)
        p = subprocess.run(["npm", "install", "--prefix", DIR, "--no-audit", "--no-fund",
                            "%s@%s" % (PACKAGE, VERSION)], capture_output=True, text=True,
                           timeout=300, stdin=subprocess.DEVNULL)
        if p.returncode or not os.path.exists(MODULE):
            return "npm install %s failed: %s" % (PACKAGE, p.stderr.strip()[-300:])
    return None


def run(script, files, heapsize=8 * 1024 * 1024):
    """stdout of `script` run on the 32-bit port, with files {port path: host path} in place."""
    job = {"module": MODULE, "heapsize": heapsize, "files": files, "script": script}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(job, f)
    try:
        p = subprocess.run(["node", RUNNER, f.name], capture_output=True, text=True, timeout=300)
    finally:
        os.remove(f.name)
    if p.returncode:
        raise RuntimeError("the 32-bit port failed:\n" + p.stdout[-2000:] + p.stderr[-2000:])
    return p.stdout


def run_with_firmware(script, extra=None, firmware=None):
    """stdout of `script` on the 32-bit port with firmware/ (laddvakt and laddvakt_unix) under
    /code on sys.path, and extra files {port path: host path}. The port has no socket or tls
    module: empty stand-ins let modules that import them at the top load."""
    from host_tools.repo import FIRMWARE

    src = firmware or FIRMWARE
    files = {}
    for d, _, names in os.walk(src):
        for n in names:
            if n.endswith(".py"):
                local = os.path.join(d, n)
                files["/code/" + os.path.relpath(local, src).replace(os.sep, "/")] = local
    stub = os.path.join(DIR, "empty.py")
    os.makedirs(DIR, exist_ok=True)
    with open(stub, "w") as f:
        f.write("# stand-in for a module the 32-bit port lacks\n")
    for name in ("socket", "usocket", "tls"):
        files["/stand-in/%s.py" % name] = stub
    files.update(extra or {})
    head = "import sys\nsys.path.append('/stand-in')\nsys.path[:0] = ['/code']\n"
    return run(head + script, files)
