"""make deploy: the plan and the exact mpremote command lines of a dry run, and change
detection with the very hash script the board runs (here under the unix port, on a directory
standing in for the board's filesystem)."""
import json
import os
import shlex
import shutil
import subprocess
import sys

import pytest

from host_tools.device import deploy
from host_tools.repo import ROOT
from host_tools.toolchain import firmware
from host_tools.toolchain.unix_port import MICROPYTHON
MPREMOTE = deploy.MPREMOTE


@pytest.fixture(scope="module")
def built():
    assert not deploy.build_mpy.build(deploy.MPY)
    return deploy.manifest_code()


def _config(tmp_path, **kw):
    cfg = {"board": "esp32-devkitc", "device_id": "cp-0042", "mqtt_host": "mqtt.example.net",
           "wifi_ssid": "garage", "wifi_password": "not-printed-1"}
    cfg.update(kw)
    p = tmp_path / "config.json"
    p.write_text(json.dumps(cfg))
    return str(p)


def test_manifest_names_the_agent_and_umqtt(built):
    assert "/laddvakt/app/agent.mpy" in built and "/laddvakt/console/shell.mpy" in built
    assert "/laddvakt/hal/esp32.mpy" in built
    assert "/umqtt/simple.mpy" in built
    assert all(p.endswith(".mpy") for p in built)


BOARD_FITS = {"esp32-devkitc": False, "olimex-esp32-evb": False, "esp32-wrover-devkitc": True,
              "esp32-s3-devkitc": True}


@pytest.mark.parametrize("board", sorted(BOARD_FITS))
def test_make_deploy_dev_null_dry_run_prints_plan_and_fit(board):
    r = subprocess.run(["make", "-s", "deploy", "PORT=/dev/null", "DRY_RUN=1", "BOARD=" + board,
                        "CONFIG=/nonexistent/config.json"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "plan (dry run" in r.stdout, r.stdout + r.stderr
    assert "copy   /boards/%s.json" % board in r.stdout and "copy   /main.py" in r.stdout
    assert "/data/config.json not written" in r.stdout
    frozen = firmware.module("core.board").load(deploy.BOARDS, board)["carry"] == "frozen"
    # A frozen board gets no code files; a files board gets the agent's .mpy.
    assert ("copy   /laddvakt/app/agent.mpy" in r.stdout) != frozen
    fit_line = [ln for ln in r.stdout.splitlines() if ln.startswith("fit: ")]
    assert len(fit_line) == 1
    assert ("in place from a ROMFS image" if frozen else "from .mpy files") in fit_line[0]
    if BOARD_FITS[board]:
        assert r.returncode == 0, r.stdout + r.stderr
        assert fit_line[0].endswith(": fits")
        assert "would run: %s connect /dev/null run " % MPREMOTE in r.stdout
    else:
        assert r.returncode == 2 and fit_line[0].endswith("DOES NOT FIT")
        assert "refused: %s cannot hold the deploy set frozen: it needs " % board in r.stderr
        assert "reset" not in r.stdout  # no copy command is offered


def test_fit_uses_the_measured_figures(tmp_path, built):
    from host_tools.bench import board_ram

    wrover = firmware.module("core.board").load(deploy.BOARDS, "esp32-wrover-devkitc")
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps({"heap_floor_bytes": 50001}))
    f = deploy.fit(wrover, frozen=False, bench_json=str(bench))
    prep = board_ram.prepare(rebuild=False)
    assert f["code"] == board_ram.code_ram(prep, "files") and f["runtime"] == 50001
    assert f["need"] == f["code"] + 50001 and f["fits"]
    # The same board with a heap just below the need is refused.
    small = dict(wrover, heap_bytes=f["need"] - 1)
    assert not deploy.fit(small, frozen=False, bench_json=str(bench))["fits"]
    # No measured floor: the budget, said so.
    g = deploy.fit(wrover, frozen=True, bench_json=str(tmp_path / "none.json"))
    assert g["runtime"] == deploy.RUNTIME_BUDGET and "no heap_floor_bytes measured" in g["report"]
    assert g["code"] < f["code"]  # in place costs less than loading the bytecode


def test_deploy_set_holds_no_simulation_or_unix_module(built):
    assert built and not [p for p in built if "unix" in p or "/sim/" in p or p.startswith("/laddvakt_unix")]
    assert all(p.startswith(("/laddvakt/", "/umqtt/")) for p in built)


def test_dry_run_exact_mpremote_lines(tmp_path, built):
    cfg = _config(tmp_path, board="esp32-wrover-devkitc")
    r = subprocess.run([sys.executable, "-m", "host_tools.device.deploy", "--port", "/dev/ttyUSB0", "--config", cfg,
                        "--dry-run"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "would run: " + shlex.join([MPREMOTE, "connect", "/dev/ttyUSB0", "run", deploy.HASH_SCRIPT_FILE]) in lines
    apply = [ln for ln in lines if ln.startswith("would run: ") and ln.endswith(" reset")]
    assert len(apply) == 1
    argv = shlex.split(apply[0][len("would run: "):])
    assert argv[:3] == [MPREMOTE, "connect", "/dev/ttyUSB0"]
    assert argv[3:12] == ["fs", "mkdir", ":/boards", "+", "fs", "mkdir", ":/data", "+", "fs"]
    steps = " ".join(argv).split(" + ")
    assert "fs cp %s :/data/config.json" % cfg in steps
    assert "fs cp %s :/boards/esp32-wrover-devkitc.json" % os.path.join(ROOT, "boards", "esp32-wrover-devkitc.json") in steps
    assert "fs cp %s :/laddvakt/app/agent.mpy" % os.path.join(ROOT, "build", "mpy", "laddvakt", "app", "agent.mpy") in steps
    assert "fs cp %s :/main.py" % os.path.join(ROOT, "firmware", "main.py") in steps
    assert len([s for s in steps if s.startswith("fs cp")]) == len(built) + 3
    assert "not-printed-1" not in r.stdout  # the config goes by file name, never by content


def test_frozen_deploys_only_main_board_and_config(tmp_path, built):
    cfg = _config(tmp_path, board="esp32-wrover-devkitc")
    r = subprocess.run([sys.executable, "-m", "host_tools.device.deploy", "--port", "/dev/ttyUSB0", "--config", cfg,
                        "--dry-run", "--frozen"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("  copy ") == 3 and ".mpy" not in r.stdout.split("plan", 1)[1]


@pytest.mark.parametrize("cfg_kw, words", [
    ({"mqtt_port": 0}, "key 'mqtt_port' value 0 out of range"),
    ({"board": "no-such-board"}, "no board definition"),
    ({"board": "unix-sim"}, "unix-sim is the simulation board"),
])
def test_bad_config_or_board_refused(tmp_path, cfg_kw, words):
    cfg = _config(tmp_path, **cfg_kw)
    r = subprocess.run([sys.executable, "-m", "host_tools.device.deploy", "--port", "/dev/ttyUSB0", "--config", cfg,
                        "--dry-run"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and words in r.stderr


def test_no_board_on_the_port_is_a_clear_error(tmp_path):
    # A board the set fits (esp32-devkitc is refused by the fit check before any board is asked).
    r = subprocess.run([sys.executable, "-m", "host_tools.device.deploy", "--port", "/dev/null", "--config",
                        str(tmp_path / "none.json"), "--board", "esp32-wrover-devkitc"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "mpremote could not reach the board on /dev/null" in r.stderr


def test_only_changed_files_copied_and_stale_removed(tmp_path, built):
    cfg = _config(tmp_path)
    wanted = dict(built)
    wanted["/main.py"] = os.path.join(ROOT, "firmware", "main.py")
    wanted["/boards/esp32-devkitc.json"] = os.path.join(ROOT, "boards", "esp32-devkitc.json")
    wanted["/data/config.json"] = cfg
    # The board as a previous deploy left it: everything, then one module changed since,
    # a module deleted since, and an old source file that would shadow its .mpy.
    board = tmp_path / "board"
    for remote, local in wanted.items():
        dst = board / remote.lstrip("/")
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, dst)
    (board / "laddvakt" / "session" / "tracker.mpy").write_bytes(b"old build")
    (board / "laddvakt" / "gone.mpy").write_bytes(b"deleted module")
    (board / "laddvakt" / "app.py").write_text("# stale source")
    (board / "data" / "config.json").unlink()
    (board / "data" / "journal").mkdir()  # the agent's data is never touched
    (board / "data" / "journal" / "0000000001.jl").write_bytes(b"x")

    dirs = deploy.code_dirs(built)
    singles = sorted(p for p in wanted if p not in built)
    script = deploy.hash_script(dirs, singles, root=str(board))
    r = subprocess.run([MICROPYTHON, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    hashes, existing = deploy.parse_hashes(r.stdout)
    assert hashes["/laddvakt/app/agent.mpy"] == deploy.sha256_file(built["/laddvakt/app/agent.mpy"])
    assert hashes["/data/config.json"] is None
    copy, remove, unchanged = deploy.make_plan(wanted, hashes, dirs)
    assert copy == [(cfg, "/data/config.json"), (built["/laddvakt/session/tracker.mpy"], "/laddvakt/session/tracker.mpy")]
    assert remove == ["/laddvakt/app.py", "/laddvakt/gone.mpy"]
    assert len(unchanged) == len(wanted) - 2
    cmd = deploy.apply_command("/dev/ttyUSB0", copy, remove, existing)
    assert cmd == [MPREMOTE, "connect", "/dev/ttyUSB0",
                   "fs", "cp", cfg, ":/data/config.json", "+",
                   "fs", "cp", built["/laddvakt/session/tracker.mpy"], ":/laddvakt/session/tracker.mpy", "+",
                   "fs", "rm", ":/laddvakt/app.py", "+",
                   "fs", "rm", ":/laddvakt/gone.mpy", "+", "reset"]


def test_frozen_plan_clears_code_from_the_filesystem(tmp_path, built):
    # A board that had the .mpy deploy, now running an image with the agent frozen in.
    board = tmp_path / "board"
    for remote, local in built.items():
        dst = board / remote.lstrip("/")
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, dst)
    wanted = {"/main.py": os.path.join(ROOT, "firmware", "main.py")}
    dirs = deploy.code_dirs(built)
    r = subprocess.run([MICROPYTHON, "-c", deploy.hash_script(dirs, ["/main.py"], root=str(board))],
                       capture_output=True, text=True, timeout=60)
    hashes, _ = deploy.parse_hashes(r.stdout)
    copy, remove, _ = deploy.make_plan(wanted, hashes, dirs)
    assert copy == [(wanted["/main.py"], "/main.py")]
    assert remove == sorted(built)
