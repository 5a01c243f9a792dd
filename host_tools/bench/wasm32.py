"""The board set's code RAM on a 32-bit MicroPython: the WebAssembly port from npm under node.

The port (@micropython/micropython-webassembly-pyscript, pinned below) has 4-byte objects like
the ESP32, but no vfs.VfsRom, no socket and no machine: so only the `files` carry is measured
here (the .mpy files written into its in-memory filesystem), and the builtins it lacks are
empty stand-ins imported before the baseline. Nothing of it is committed: npm installs it into
build/wasm when node and npm are on the machine; without them the figure is None and says why.
"""
import json
import os
import shutil
import subprocess

from host_tools.repo import BUILD

PACKAGE = "@micropython/micropython-webassembly-pyscript@1.27.0"
WASM = os.path.join(BUILD, "wasm")
# Builtins of the ESP32 port the browser port lacks; the agent imports them at module level.
STUBS = ("socket", "usocket", "select", "ssl", "network", "machine", "esp32")

_SCRIPT = r"""
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript";
import fs from "node:fs";
const job = JSON.parse(fs.readFileSync(process.argv[2]));
const out = [];
const mp = await loadMicroPython({ heapsize: 8 << 20, stdout: (l) => out.push(l), stderr: (l) => out.push(l) });
const mkdirs = (p) => { const parts = p.split("/"); for (let i = 2; i < parts.length; i++) { try { mp.FS.mkdir(parts.slice(0, i).join("/")); } catch (e) {} } };
for (const [remote, local] of Object.entries(job.files)) { mkdirs("/lib" + remote); mp.FS.writeFile("/lib" + remote, fs.readFileSync(local)); }
mkdirs("/lib/x");
for (const s of job.stubs) mp.FS.writeFile("/lib/" + s + ".py", "");
let src = "import sys, gc\nsys.path.insert(0, '/lib')\n";
for (const s of job.stubs) src += "import " + s + "\n";
src += "gc.collect()\n_a = gc.mem_alloc()\n";
for (const n of job.names) src += "import " + n + "\n";
src += "gc.collect()\nprint('code-ram', gc.mem_alloc() - _a, sys.maxsize)\n";
try { mp.runPython(src); } catch (e) { out.push(String(e)); }
console.log(out.join("\n"));
"""


def available():
    """None when node and npm are here and the package installs, else the reason."""
    if not shutil.which("node") or not shutil.which("npm"):
        return "node or npm not installed"
    mod = os.path.join(WASM, "node_modules", *PACKAGE.rsplit("@", 1)[0].split("/"))
    if not os.path.isdir(mod):
        os.makedirs(WASM, exist_ok=True)
        try:
            p = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", WASM, PACKAGE],
                               capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            return "npm install %s did not finish in 120 s (no registry access?)" % PACKAGE
        if p.returncode:
            return "npm install %s failed: %s" % (PACKAGE, p.stderr.strip()[-200:])
    return None


def code_ram_files(files, names):
    """Heap taken on the 32-bit port by importing names from the .mpy files {remote: local}."""
    script = os.path.join(WASM, "measure.mjs")
    with open(script, "w") as f:
        f.write(_SCRIPT)
    job = os.path.join(WASM, "job.json")
    with open(job, "w") as f:
        json.dump({"files": files, "names": names, "stubs": list(STUBS)}, f)
    p = subprocess.run(["node", script, job], capture_output=True, text=True, timeout=120, cwd=WASM)
    for line in p.stdout.splitlines():
        parts = line.split()
        if parts[:1] == ["code-ram"]:
            if int(parts[2]) != 2**31 - 1:
                raise RuntimeError("the WebAssembly port is not 32-bit here: sys.maxsize %s" % parts[2])
            return int(parts[1])
    raise RuntimeError("importing the board set on the 32-bit port failed:\n" + p.stdout + p.stderr)
