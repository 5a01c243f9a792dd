"""Bench area `journal`: power-cut sweep, flash wear and capacity, boot recovery time.

Runs tests/firmware/journal_bench.py under the unix-port micropython: littlefs (VfsLfs2,
4096-byte blocks) on a RAM block device that counts bytes programmed and erases per
block. See docs/bench.md (journal) and docs/journal.md.
"""
import json
import os
import subprocess

from host_tools.repo import BUILD, FIRMWARE, ROOT
from host_tools.toolchain.unix_port import MICROPYTHON, micropython_env

FW_TESTS = os.path.join(ROOT, "tests", "firmware")
GOALS = {
    "powercut_failures": 0,
    "flash_bytes_per_session": 4096,
    "boot_recovery_ratio_10k_vs_100": 2,
    "max_block_erases_per_year": 1000,
}
CAPACITY_GOAL = 10000
YEAR_DAYS = int(os.environ.get("LADDVAKT_BENCH_YEAR_DAYS", "365"))


def _start(*args):
    return subprocess.Popen(
        [MICROPYTHON, "-X", "heapsize=32M", os.path.join(FW_TESTS, "journal_bench.py")] + list(args),
        cwd=FW_TESTS, env=micropython_env(FIRMWARE, os.path.join(BUILD, "lib"), FW_TESTS),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _result(p, args, timeout=3600):
    out, err = p.communicate(timeout=timeout)
    for line in out.splitlines():
        if line.startswith("journal-bench "):
            return json.loads(line[len("journal-bench "):])
    raise RuntimeError("journal bench %s failed:\n%s%s" % (args, out[-3000:], err[-3000:]))


def _run(*args, timeout=3600):
    return _result(_start(*args), args, timeout)


def measure():
    fig = {}
    # Timed figures (boot recovery) run alone. The rest count bytes, erases, sessions and
    # failures, which do not depend on speed: they run side by side, so the area's wall
    # time is its slowest part rather than the sum (make bench within 10 minutes).
    fig.update(_run("flash", "recovery"))
    runs = [("sweep",), ("capacity",), ("erases", "days=%d" % YEAR_DAYS)]
    procs = [(_start(*a), a) for a in runs]
    try:
        for p, a in procs:
            fig.update(_result(p, a))
    finally:
        for p, _ in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    return fig


def check(fig):
    """Goals of issue 4; each miss is a sentence."""
    if fig["powercut_failures"] > GOALS["powercut_failures"]:
        yield "%d power-cut points broke an invariant" % fig["powercut_failures"]
    if fig["flash_bytes_per_session"] > GOALS["flash_bytes_per_session"]:
        yield "a 2 h session programs %d bytes, goal %d" % (fig["flash_bytes_per_session"], GOALS["flash_bytes_per_session"])
    if fig["journal_sessions_capacity_1mib"] < CAPACITY_GOAL:
        yield "%d pending sessions fit 1 MiB, goal %d" % (fig["journal_sessions_capacity_1mib"], CAPACITY_GOAL)
    if fig["boot_recovery_ratio_10k_vs_100"] > GOALS["boot_recovery_ratio_10k_vs_100"]:
        yield "boot recovery 10k/100 ratio %.2f, goal 2" % fig["boot_recovery_ratio_10k_vs_100"]
    if fig["max_block_erases_per_year"] > GOALS["max_block_erases_per_year"]:
        yield "%d erases of one block a year, goal 1000" % fig["max_block_erases_per_year"]
