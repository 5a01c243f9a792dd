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
from host_tools.toolchain.unix_port import MICROPYTHON
MPREMOTE = deploy.MPREMOTE


@pytest.fixture(scope="module")
def built():
    assert not deploy.build_mpy.build(deploy.MPY)
    return deploy.manifest_code()


def _config(tmp_path, **kw):
    cfg = {"board": "esp32-wrover", "device_id": "cp-0042", "mqtt_host": "mqtt.example.net",
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


def test_make_deploy_dev_null_dry_run_prints_a_plan():
    r = subprocess.run(["make", "-s", "deploy", "PORT=/dev/null", "DRY_RUN=1", "CONFIG=/nonexistent/config.json"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "plan (dry run" in r.stdout
    assert "copy   /laddvakt/app/agent.mpy" in r.stdout and "copy   /boards/esp32-wrover.json" in r.stdout
    assert "/data/config.json not written" in r.stdout
    assert "would run: %s connect /dev/null run " % MPREMOTE in r.stdout


def test_dry_run_exact_mpremote_lines(tmp_path, built):
    cfg = _config(tmp_path, board="esp32-s3-devkitc")
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
    assert "fs cp %s :/boards/esp32-s3-devkitc.json" % os.path.join(ROOT, "boards", "esp32-s3-devkitc.json") in steps
    assert "fs cp %s :/laddvakt/app/agent.mpy" % os.path.join(ROOT, "build", "mpy", "laddvakt", "app", "agent.mpy") in steps
    assert "fs cp %s :/main.py" % os.path.join(ROOT, "firmware", "main.py") in steps
    assert len([s for s in steps if s.startswith("fs cp")]) == len(built) + 3
    assert "not-printed-1" not in r.stdout  # the config goes by file name, never by content


@pytest.mark.parametrize("board, fits", [("esp32-wrover", True), ("esp32-s3-devkitc", True),
                                         ("esp32-devkitc", False), ("olimex-esp32-evb", False)])
def test_make_deploy_dry_run_prints_the_fit_and_refuses_what_does_not_fit(board, fits):
    r = subprocess.run(["make", "-s", "deploy", "PORT=/dev/null", "DRY_RUN=1", "BOARD=" + board,
                        "CONFIG=/nonexistent/config.json"], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    with open(os.path.join(ROOT, "boards", board + ".json")) as f:
        heap = json.load(f)["heap_bytes"]
    if fits:
        assert r.returncode == 0, r.stdout + r.stderr
        fit = [ln for ln in r.stdout.splitlines() if ln.startswith("fit: ")]
        assert len(fit) == 1 and "of %d B heap: fits" % heap in fit[0], r.stdout
        need = int(fit[0].split(" = ")[1].split()[0])
        assert 100000 < need < heap
        assert "plan (dry run" in r.stdout
    else:
        assert r.returncode != 0
        msg = r.stderr.split("deploy: ", 1)[1]
        need = int(msg.split("it needs ")[1].split()[0])
        assert need > heap and "heap is %d B" % heap in msg and "PSRAM board" in msg, msg
        assert "would run" not in r.stdout  # nothing planned for a board that cannot run it
    # the deploy set is board code only
    assert "laddvakt_unix" not in r.stdout and "/sim/" not in r.stdout


def test_frozen_deploys_only_main_board_and_config(tmp_path, built):
    cfg = _config(tmp_path)
    r = subprocess.run([sys.executable, "-m", "host_tools.device.deploy", "--port", "/dev/ttyUSB0", "--config", cfg,
                        "--dry-run", "--frozen"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("  copy ") == 3 and ".mpy" not in r.stdout.split("plan", 1)[1]


@pytest.mark.parametrize("cfg_kw, words", [
    ({"mqtt_port": 0}, "key 'mqtt_port' value 0 out of range"),
    ({"board": "no-such-board"}, "no board definition"),
    ({"board": "unix-sim"}, "unix-sim is a simulation board"),
    ({"board": "unix-modbus"}, "unix-modbus is a simulation board"),
])
def test_bad_config_or_board_refused(tmp_path, cfg_kw, words):
    cfg = _config(tmp_path, **cfg_kw)
    r = subprocess.run([sys.executable, "-m", "host_tools.device.deploy", "--port", "/dev/ttyUSB0", "--config", cfg,
                        "--dry-run"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and words in r.stderr


def test_no_board_on_the_port_is_a_clear_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "host_tools.device.deploy", "--port", "/dev/null", "--config",
                        str(tmp_path / "none.json")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "mpremote could not reach the board on /dev/null" in r.stderr


def test_only_changed_files_copied_and_stale_removed(tmp_path, built):
    cfg = _config(tmp_path)
    wanted = dict(built)
    wanted["/main.py"] = os.path.join(ROOT, "firmware", "main.py")
    wanted["/boards/esp32-wrover.json"] = os.path.join(ROOT, "boards", "esp32-wrover.json")
    wanted["/data/config.json"] = cfg
    # The board as a previous deploy left it: everything, then one module changed since,
    # a module deleted since, and an old source file that would shadow its .mpy.
    board = tmp_path / "board"
    for remote, local in wanted.items():
        dst = board / remote.lstrip("/")
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(local, dst)
    (board / "laddvakt" / "session" / "flow.mpy").write_bytes(b"old build")
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
    assert copy == [(cfg, "/data/config.json"), (built["/laddvakt/session/flow.mpy"], "/laddvakt/session/flow.mpy")]
    assert remove == ["/laddvakt/app.py", "/laddvakt/gone.mpy"]
    assert len(unchanged) == len(wanted) - 2
    cmd = deploy.apply_command("/dev/ttyUSB0", copy, remove, existing)
    assert cmd == [MPREMOTE, "connect", "/dev/ttyUSB0",
                   "fs", "cp", cfg, ":/data/config.json", "+",
                   "fs", "cp", built["/laddvakt/session/flow.mpy"], ":/laddvakt/session/flow.mpy", "+",
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
