"""make test-board: which firmware test files go to the board, and the exact mpremote lines;
the staged tree really runs those files (under the unix port here)."""
import os
import shlex
import subprocess

from host_tools.device import board_tests as bt
from host_tools.repo import ROOT
from host_tools.toolchain import build_mpy
from host_tools.toolchain.unix_port import MICROPYTHON


def test_selection_leaves_out_host_peer_files(tmp_path):
    (tmp_path / "test_a.py").write_text("# plain\n")
    (tmp_path / "test_b.py").write_text("# Needs the broker.\n# fwtest: host-peer\nimport x\n")
    (tmp_path / "fwtest.py").write_text("")
    (tmp_path / "test_c.txt").write_text("")
    assert bt.select(str(tmp_path)) == (["test_a.py"], ["test_b.py"])


def test_every_current_file_runs_on_a_board():
    run, left = bt.select()
    names = sorted(f for f in os.listdir(bt.FW_TESTS) if f.startswith("test_") and f.endswith(".py"))
    assert sorted(run + left) == names
    assert "test_board_hw.py" in run and "test_console.py" in run


def test_make_test_board_dry_run_lines():
    r = subprocess.run(["make", "-s", "test-board", "PORT=/dev/ttyUSB0", "DRY_RUN=1"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    run, _ = bt.select()
    lines = r.stdout.splitlines()
    assert lines[0] == "on the board: " + " ".join(run)
    for name in run:
        assert "would run: " + shlex.join([bt.MPREMOTE, "connect", "/dev/ttyUSB0", "mount", bt.STAGE, "+", "run",
                                           os.path.join(bt.STAGE, name)]) in lines
    assert lines[-1] == "would run: " + shlex.join([bt.MPREMOTE, "connect", "/dev/ttyUSB0", "reset"])


def test_staged_tree_is_self_contained(tmp_path):
    # The board sees only the mounted directory: the staged files must run from it alone.
    assert not build_mpy.build(os.path.join(ROOT, "build", "mpy"))
    stage = str(tmp_path / "stage")
    bt.stage(out=stage)
    env = dict(os.environ, MICROPYPATH=".frozen:.")
    r = subprocess.run([MICROPYTHON, "test_board_hw.py"], cwd=stage, capture_output=True, text=True, timeout=60,
                       env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SKIP test_board_pins_answer" in r.stdout and r.stdout.strip().endswith("1 passed, 0 failed, 1 skipped")
    assert not os.path.exists(os.path.join(stage, "laddvakt", "app", "agent.py"))  # the .mpy build, not the source
    r = subprocess.run([MICROPYTHON, "test_console.py"], cwd=stage, capture_output=True, text=True, timeout=60,
                       env=env)
    assert r.returncode == 0 and r.stdout.strip().endswith("passed, 0 failed, 0 skipped"), r.stdout + r.stderr
