"""Deploy the agent to a board running stock MicroPython, copying only what changed.

    python -m host_tools.device.deploy --port /dev/ttyUSB0 [--board esp32-devkitc]
                                [--config build/device/config.json] [--dry-run] [--frozen]
    make deploy PORT=/dev/ttyUSB0 [DRY_RUN=1]

1. mpy-cross compiles the modules firmware/manifest.py names (host_tools/toolchain/build_mpy.py).
2. The board hashes what it holds (one `mpremote exec`: sha256 of every file under the code
   directories and of main.py, the board file and the config).
3. One `mpremote` call copies what is missing or differs, removes stale code files (a stale
   .py would shadow its new .mpy), and resets the board.
A dry run prints the plan and the exact commands and touches no board: every file counts as
changed, since the board's hashes are unknown.

Before it touches the board it checks the fit: the RAM the deploy set needs in the board's
carry mode (`files`: .mpy on the filesystem; `frozen`: in place), measured here on the unix port
(host_tools/bench/board_ram.py), plus the runtime heap floor from build/bench.json (or the
64 KiB budget before `make bench` has run), against the board's `heap_bytes`. A board that
cannot hold it is refused with the figures.
"""
import argparse
import hashlib
import json
import os
import shlex
import subprocess
import sys

from host_tools.repo import BOARDS, BUILD, FIRMWARE, ROOT
from host_tools.toolchain import build_mpy, firmware

MPREMOTE = os.path.join(os.path.dirname(sys.executable), "mpremote")
MANIFEST = os.path.join(FIRMWARE, "manifest.py")
MPY = os.path.join(BUILD, "mpy")
DEFAULT_CONFIG = os.path.join(BUILD, "device", "config.json")
CONFIG_REMOTE = "/data/config.json"


class DeployError(Exception):
    pass


def manifest_code(manifest=MANIFEST, mpy_dir=MPY):
    """{remote path: local .mpy} for the modules the manifest freezes, from the mpy-cross build.
    Only the manifest verbs the agent's manifest uses are understood; include() names the
    port's own frozen modules, which a stock image already has."""
    files = {}

    def add_tree(top):
        base = os.path.join(mpy_dir, top)
        if not os.path.isdir(base):
            raise DeployError("%s is not built (make check)" % os.path.relpath(base, ROOT))
        for d, _, names in os.walk(base):
            for n in sorted(names):
                if n.endswith(".mpy"):
                    local = os.path.join(d, n)
                    files["/" + os.path.relpath(local, mpy_dir).replace(os.sep, "/")] = local

    def package(name, files=None, base_path=".", opt=None):
        add_tree(name)

    def require(name, **kw):
        # "umqtt.simple" is fetched into build/lib and compiled into build/mpy/umqtt.
        add_tree(name.split(".")[0])

    def ignore(*a, **kw):
        pass

    with open(manifest) as f:
        code = f.read()
    exec(compile(code, manifest, "exec"), {"package": package, "require": require, "include": ignore,
                                          "metadata": ignore, "module": ignore, "options": ignore})
    return files


RUNTIME_BUDGET = 65536
BENCH_JSON = os.path.join(BUILD, "bench.json")


def runtime_need(bench_json=BENCH_JSON):
    """(bytes, where from): the measured runtime floor, or the budget when none is measured."""
    try:
        with open(bench_json) as f:
            floor = json.load(f).get("heap_floor_bytes")
    except (OSError, ValueError):
        floor = None
    if isinstance(floor, int) and floor > 0:
        return floor, "heap_floor_bytes in %s" % os.path.relpath(bench_json, ROOT)
    return RUNTIME_BUDGET, "the runtime budget: no heap_floor_bytes measured yet (make bench ONLY=heap)"


def fit(board, frozen, bench_json=BENCH_JSON):
    """The fit of the deploy set on board: a dict with mode, code, runtime, need, heap, fits and
    a one-line report. The code figure is measured now, on the unix port, over every module of
    the deploy set (any of them may be imported on the board)."""
    from host_tools.bench import board_ram

    mode = "inplace" if frozen else "files"
    try:
        prep = board_ram.prepare(rebuild=False)
        code = board_ram.code_ram(prep, mode)
    except board_ram.BoardRamError as e:  # e.g. a unix or simulation module in the deploy set
        raise DeployError(str(e)) from e
    runtime, source = runtime_need(bench_json)
    need = code + runtime
    heap = board.get("heap_bytes")
    if not heap:
        raise DeployError("board %s states no heap_bytes (docs/boards.md)" % board["name"])
    fits = need <= heap
    report = ("fit: %s carries its code %s: code %d bytes (measured: importing the %d modules of the deploy set "
              "%s on the unix port) + runtime %d bytes (%s) = %d bytes needed; the board's heap is %d bytes: %s"
              % (board["name"], "frozen" if frozen else "as .mpy files", code, len(prep["names"]),
                 "in place from a ROMFS image" if frozen else "from .mpy files", runtime, source, need, heap,
                 "fits" if fits else "DOES NOT FIT"))
    return {"mode": mode, "code": code, "runtime": runtime, "need": need, "heap": heap, "fits": fits,
            "report": report}


def sha256_file(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def code_dirs(code):
    return sorted({"/" + p.split("/")[1] for p in code})


# Runs on the board (and, in the tests, under the unix port with R set to a directory).
_HASH_SCRIPT = """import os, hashlib, binascii
R = %r
def h(p):
    try:
        f = open(R + p, 'rb')
    except OSError:
        return '-'
    d = hashlib.sha256()
    b = bytearray(512)
    m = memoryview(b)
    with f:
        while True:
            n = f.readinto(b)
            if not n:
                break
            d.update(m[:n])
    return binascii.hexlify(d.digest()).decode()
def walk(p):
    try:
        it = list(os.ilistdir(R + p))
    except OSError:
        return
    print('D', p, '-')
    for e in it:
        q = p + '/' + e[0]
        if e[1] == 0x4000:
            walk(q)
        else:
            print('H', q, h(q))
for p in %r:
    walk(p)
for p in %r:
    try:
        os.stat(R + p)
        print('D', p, '-')
    except OSError:
        pass
for p in %r:
    print('H', p, h(p))
"""


def hash_script(dirs, files, root=""):
    parents = sorted({f.rsplit("/", 1)[0] for f in files if f.count("/") > 1})
    return _HASH_SCRIPT % (root, list(dirs), parents, list(files))


def parse_hashes(out):
    """({remote file: sha or None}, {directories that exist}) from the script's output."""
    got, dirs = {}, set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "H":
            got[parts[1]] = None if parts[2] == "-" else parts[2]
        elif len(parts) == 3 and parts[0] == "D":
            dirs.add(parts[1])
    return got, dirs


def make_plan(wanted, board_hashes, dirs):
    """wanted: {remote: local}. board_hashes: {remote: sha or None}, or None when unknown (a
    dry run). Returns (copy [(local, remote)], remove [remote], unchanged [remote])."""
    copy, unchanged = [], []
    for remote in sorted(wanted):
        local = wanted[remote]
        if board_hashes is not None and board_hashes.get(remote) == sha256_file(local):
            unchanged.append(remote)
        else:
            copy.append((local, remote))
    remove = []
    if board_hashes is not None:
        remove = sorted(p for p in board_hashes
                        if p not in wanted and board_hashes[p] is not None
                        and any(p.startswith(d + "/") for d in dirs))
    return copy, remove, unchanged


def apply_command(port, copy, remove, existing_dirs=()):
    """One mpremote call: make missing directories, copy, remove, reset."""
    dirs = set()
    for _, remote in copy:
        parts = remote.split("/")[1:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/" + "/".join(parts[:i]))
    cmd = [MPREMOTE, "connect", port]
    for d in sorted(dirs - set(existing_dirs), key=lambda d: (d.count("/"), d)):
        cmd += ["fs", "mkdir", ":" + d, "+"]
    for local, remote in copy:
        cmd += ["fs", "cp", local, ":" + remote, "+"]
    for remote in remove:
        cmd += ["fs", "rm", ":" + remote, "+"]
    return cmd + ["reset"]


HASH_SCRIPT_FILE = os.path.join(BUILD, "deploy", "board_hashes.py")


def query_command(port, script, path=HASH_SCRIPT_FILE):
    """Writes the script where mpremote can run it from; the command line stays readable."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(script)
    return [MPREMOTE, "connect", port, "run", path]


def load_config(path):
    """The device config, validated by the firmware's own config module."""
    config = firmware.module("core.config")
    with open(path) as f:
        try:
            values = json.load(f)
        except ValueError as e:
            raise DeployError("%s is not valid JSON: %s" % (path, e)) from e
    try:
        config.validate(values)
    except config.ConfigError as e:
        raise DeployError("%s: %s" % (path, e)) from e
    return values


def _refusal(board, f):
    return ("refused: %s cannot hold the deploy set %s: it needs %d bytes of heap (code %d + runtime %d, "
            "measured) and has %d. Pick a board with PSRAM (docs/boards.md) or make the code smaller"
            % (board, "frozen" if f["mode"] == "inplace" else "as .mpy files", f["need"], f["code"], f["runtime"],
               f["heap"]))


def main(argv=None):
    ap = argparse.ArgumentParser(description="Deploy the agent to a board, copying only what changed.")
    ap.add_argument("--port", required=True)
    ap.add_argument("--board", help="board definition (boards/NAME.json); default: the config's 'board'")
    ap.add_argument("--config", default=DEFAULT_CONFIG, help="device config from host_tools.device.provision")
    ap.add_argument("--dry-run", action="store_true", help="print the plan and commands; touch no board")
    ap.add_argument("--frozen", action="store_true",
                    help="the image has the agent frozen in (firmware/manifest.py): copy only main.py, board, config;"
                         " the default for a board whose carry is 'frozen'")
    args = ap.parse_args(argv)
    try:
        cfg = None
        if os.path.exists(args.config):
            cfg = load_config(args.config)
        board = args.board or (cfg or {}).get("board") or "esp32-devkitc"
        if cfg is not None and cfg.get("board", board) != board:
            raise DeployError("the config says board '%s' but --board is '%s'" % (cfg.get("board"), board))
        try:
            board_def = firmware.module("core.board").load(BOARDS, board)
        except ValueError as e:  # BoardError
            raise DeployError(str(e)) from e
        if board == "unix-sim":
            raise DeployError("unix-sim is the simulation board: pick the real one (--board / BOARD=)")

        failures = build_mpy.build(MPY)
        if failures:
            raise DeployError("mpy-cross failed:\n  " + "\n  ".join(failures))
        print("compiled with mpy-cross into %s" % os.path.relpath(MPY, ROOT))
        manifest = manifest_code()
        frozen = args.frozen or board_def.get("carry") == "frozen"
        fitted = fit(board_def, frozen)
        if not fitted["fits"] and not args.dry_run:
            print(fitted["report"])
            raise DeployError(_refusal(board, fitted))
        # With the agent frozen in, code files on the filesystem would shadow it ('' comes
        # before '.frozen' in sys.path): the code directories are still scanned, to clear them.
        code = {} if frozen else manifest
        wanted = dict(code)
        wanted["/main.py"] = os.path.join(FIRMWARE, "main.py")
        wanted["/boards/%s.json" % board] = os.path.join(BOARDS, board + ".json")
        if cfg is not None:
            wanted[CONFIG_REMOTE] = args.config
            if cfg.get("mqtt_ca_file"):
                # provision copies the CA beside the config as ca.pem.
                ca = os.path.join(os.path.dirname(os.path.abspath(args.config)), "ca.pem")
                if not os.path.exists(ca):
                    raise DeployError("the config names a TLS CA but %s is missing (run provision --tls-ca)" % ca)
                wanted[cfg["mqtt_ca_file"]] = ca
        dirs = code_dirs(manifest)
        singles = sorted(p for p in wanted if p not in code)
        query = query_command(args.port, hash_script(dirs, singles))

        if args.dry_run:
            print("plan (dry run: the board's hashes are unknown, so every file counts as changed):")
            board_hashes, existing = None, set()
            print("would run: " + shlex.join(query))
        else:
            print("run: " + shlex.join(query), flush=True)
            r = subprocess.run(query, capture_output=True, text=True)
            if r.returncode:
                raise DeployError("mpremote could not reach the board on %s:\n%s" % (args.port, r.stderr.strip()))
            board_hashes, existing = parse_hashes(r.stdout)
            print("plan:")
        copy, remove, unchanged = make_plan(wanted, board_hashes, dirs)
        for local, remote in copy:
            print("  copy   %-32s <- %s" % (remote, os.path.relpath(local, ROOT)))
        for remote in remove:
            print("  remove %s (%s)" % (remote, "frozen into the image" if frozen else "not in the manifest"))
        if unchanged:
            print("  %d file(s) unchanged" % len(unchanged))
        if cfg is None:
            print("  no device config at %s: %s not written; the agent starts once it has one "
                  "(python -m host_tools.device.provision --port %s)" % (os.path.relpath(args.config, ROOT),
                                                                 CONFIG_REMOTE, args.port))
        print(fitted["report"])
        if not fitted["fits"]:
            raise DeployError(_refusal(board, fitted))
        if not copy and not remove:
            print("nothing to do: the board is up to date")
            return 0
        cmd = apply_command(args.port, copy, remove, existing)
        print(("would run: " if args.dry_run else "run: ") + shlex.join(cmd), flush=True)
        if args.dry_run:
            return 0
        r = subprocess.run(cmd)
        if r.returncode:
            raise DeployError("mpremote failed (exit %d): run make deploy again, it copies what is "
                              "still missing" % r.returncode)
        print("deployed %d file(s); the board is resetting. Next: python -m host_tools.device.console --port %s"
              % (len(copy), args.port))
        return 0
    except DeployError as e:
        print("deploy: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
