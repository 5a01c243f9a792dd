// Runs a MicroPython script on the 32-bit WebAssembly port (npm:
// @micropython/micropython-webassembly-pyscript), with host files copied into its file system
// first. Used by host_tools/toolchain/wasm32.py to measure RAM with 4-byte objects, as on an
// ESP32.  node mp32.mjs JOB.json   JOB: {"heapsize": n, "files": {"/path": "host path"}, "script": "..."}
import { readFileSync } from "node:fs";
import { dirname } from "node:path";

const job = JSON.parse(readFileSync(process.argv[2], "utf8"));
const { loadMicroPython } = await import(job.module);
const mp = await loadMicroPython({
  heapsize: job.heapsize,
  stdout: (line) => console.log(line),
  stderr: (line) => console.error(line),
});
for (const [path, host] of Object.entries(job.files)) {
  mp.FS.mkdirTree(dirname(path));
  mp.FS.writeFile(path, readFileSync(host));
}
try {
  mp.runPython(job.script);
} catch (e) {
  console.error(String(e));
  process.exit(1);
}
