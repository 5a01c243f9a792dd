"""Run the firmware test files on a real board through mpremote: the same files that run under
the unix port, minus those that need a peer on the host ("# fwtest: host-peer").

    python -m host_tools.device.board_tests --port /dev/ttyUSB0 [--dry-run]
    make test-board PORT=/dev/ttyUSB0 [DRY_RUN=1]

The board mounts build/board-tests/ from the host (mpremote mount): the test files, their
helpers and the current mpy-cross build of the agent, so what is tested is what make deploy
would install. Tests that need hardware SKIP on unix and run here; tests that need more heap
than the board has SKIP here.
"""
import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys

from host_tools.repo import BUILD, ROOT
from host_tools.toolchain import build_mpy

MPREMOTE = os.path.join(os.path.dirname(sys.executable), "mpremote")
FW_TESTS = os.path.join(ROOT, "tests", "firmware")
STAGE = os.path.join(BUILD, "board-tests")
MARKER = "# fwtest: host-peer"
_SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed, (\d+) skipped$", re.M)


def select(test_dir=FW_TESTS):
    """(files to run on the board, files left out because they need a host peer)."""
    run, left = [], []
    for f in sorted(os.listdir(test_dir)):
        if not (f.startswith("test_") and f.endswith(".py")):
            continue
        with open(os.path.join(test_dir, f)) as fh:
            head = fh.read(2000)
        (left if MARKER in head else run).append(f)
    return run, left


MPY = os.path.join(BUILD, "mpy")


def stage(test_dir=FW_TESTS, out=STAGE, mpy_dir=MPY):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    for f in os.listdir(test_dir):
        if f.endswith(".py"):
            shutil.copy(os.path.join(test_dir, f), out)
    # The tests drive the agent on the simulated station, so laddvakt_unix goes along (to the
    # mount only: make deploy never puts it on the board's filesystem).
    for pkg in ("laddvakt", "laddvakt_unix", "umqtt"):
        shutil.copytree(os.path.join(mpy_dir, pkg), os.path.join(out, pkg))


def run_command(port, name, stage_dir=STAGE):
    return [MPREMOTE, "connect", port, "mount", stage_dir, "+", "run", os.path.join(stage_dir, name)]


def reset_command(port):
    return [MPREMOTE, "connect", port, "reset"]


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run the firmware tests on a board.")
    ap.add_argument("--port", required=True)
    ap.add_argument("--dry-run", action="store_true", help="print the files and commands; touch no board")
    args = ap.parse_args(argv)
    files, left = select()
    print("on the board: %s" % " ".join(files))
    if left:
        print("left out (need a host peer): %s" % " ".join(left))
    if not args.dry_run:
        failures = build_mpy.build(MPY)
        if failures:
            print("test-board: mpy-cross failed:\n  " + "\n  ".join(failures), file=sys.stderr)
            return 2
        stage()
    bad = []
    for name in files:
        cmd = run_command(args.port, name)
        print(("would run: " if args.dry_run else "run: ") + shlex.join(cmd), flush=True)
        if args.dry_run:
            continue
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        sys.stdout.write(r.stdout)
        found = _SUMMARY.findall(r.stdout)
        if r.returncode or not found or found[-1][1] != "0":
            bad.append(name)
            sys.stderr.write(r.stderr)
    cmd = reset_command(args.port)
    print(("would run: " if args.dry_run else "run: ") + shlex.join(cmd), flush=True)
    if not args.dry_run:
        subprocess.run(cmd)  # start the agent again
    if bad:
        print("test-board: failed: %s" % " ".join(bad), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
