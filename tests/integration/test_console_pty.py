"""Every serial console command against the unix agent, through a pty pair made by socat and
host_tools.device.console (pyserial) on the other end, while the simulation runs in real time."""
import json
import os
import re
import shutil
import subprocess
import sys
import time

import pytest

from host_tools.device import console as hc
from host_tools.repo import ROOT
from host_tools.sim.agent import agent_command, prepare_device
from tests.integration.mqtt_capture import Capture

pytestmark = pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")

SCENARIO = hc.SIM_SCENARIO


@pytest.fixture
def pty_pair(tmp_path):
    a, b = str(tmp_path / "dev-tty"), str(tmp_path / "host-tty")
    p = subprocess.Popen(["socat", "pty,raw,echo=0,link=" + a, "pty,raw,echo=0,link=" + b],
                         stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 5
    while not (os.path.exists(a) and os.path.exists(b)):
        assert time.monotonic() < deadline, "socat made no pty pair"
        time.sleep(0.02)
    yield a, b
    p.terminate()
    p.wait(5)


@pytest.fixture
def agent(tmp_path, pty_pair, mosquitto):
    data = str(tmp_path / "device")
    prepare_device(data, mosquitto.port, SCENARIO)
    cmd, env = agent_command(data)
    cmd += ["--console", pty_pair[0]]
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    dev = hc.DeviceConsole(pty_pair[1], timeout_s=10)
    dev.sync()
    yield p, dev, data
    dev.close()
    if p.poll() is None:
        p.kill()
    p.wait(5)


def _wait_sessions(dev, n):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        out = dev.command("sessions 20")
        if len(re.findall(r"^\w{12}-[0-9a-f]{8} ", out, re.M)) >= n and out.startswith("active"):
            return out
        time.sleep(0.2)
    raise AssertionError("fewer than %d sessions, or none active:\n%s" % (n, out))


def test_every_command_over_a_pty(agent, mosquitto):
    p, dev, data = agent
    help_text = dev.command("help")
    names = ("help", "status", "sessions", "session", "meter", "faults", "config", "journal",
             "replay", "tariff", "limit", "authorize", "reboot")
    for name in names:
        assert re.search(r"^  %s " % name, help_text, re.M), name

    st = dev.command("status")
    assert re.search(r"^device\s+sim-1$", st, re.M) and re.search(r"^board\s+unix-sim$", st, re.M)
    up1 = int(re.search(r"^uptime_s\s+(\d+)", st, re.M).group(1))

    out = _wait_sessions(dev, 2)
    rows = re.findall(r"^(\w{12}-[0-9a-f]{8}) .*EVDisconnected$", out, re.M)
    assert len(rows) >= 2
    assert "2026-11-20T06:10:00Z" in out  # first visit arrives at 600 s
    assert re.search(r"^active\s+\w{12}-[0-9a-f]{8}", out, re.M)  # the third EV is charging
    one = dev.command("sessions 1")
    assert len(re.findall(r"EVDisconnected", one)) == 1

    s = dev.command("session " + rows[1])
    assert re.search(r"^id_tag\s+04A2B3C4$", s, re.M)
    assert re.search(r"^stop_reason\s+EVDisconnected$", s, re.M)
    # 30 min at 3680 W, then it left; less the first 60 s tick, in which the EV sees the PWM
    # offered at plug-in and asks for current, and its 1.5 s to start drawing (sim/ev.py).
    e = int(re.search(r"^energy_wh\s+(\d+)$", s, re.M).group(1))
    assert 1840 - 3680 * 62 // 3600 <= e <= 1840 - 3680 * 60 // 3600, e
    install = rows[0].split("-")[0]
    assert dev.command("session %s-0fffffff" % install).startswith("error: session")

    m = dev.command("meter")
    assert re.search(r"^type\s+sim$", m, re.M) and re.search(r"^read_errors\s+0$", m, re.M)
    assert re.search(r"^power_w\s+11000$", m, re.M)  # the third EV draws its maximum
    # The simulated meter has no serial register: swap detection by serial is off, and says so.
    assert re.search(r"^serial_check\s+off: the meter map has no serial register$", m, re.M), m
    energy = int(re.search(r"^energy_wh\s+(\d+)$", m, re.M).group(1))
    assert energy > 1000000 + 8000
    assert "has no bus to scan" in dev.command("meter scan")

    assert dev.command("faults") == "no active faults\n"

    cfg = dev.command("config get")
    assert 'device_id = "sim-1"' in cfg and "mqtt_port = " in cfg
    assert dev.command("config get price_minor_per_kwh") == "price_minor_per_kwh = 325\n"
    assert "saved" in dev.command("config set wifi_password hunter2-secret")
    assert "hunter2" not in dev.command("config get wifi_password")
    # The running value, and the saved one (masked) pending until the reboot.
    assert dev.command("config get wifi_password") == 'wifi_password = "" (pending "***" at the next reboot)\n'
    assert "saved" in dev.command("config set wifi_ssid Garage Net 2")
    assert "saved" in dev.command("config set mqtt_keepalive_s 30")
    with open(os.path.join(data, "config.json")) as f:
        saved = json.load(f)
    assert saved["wifi_password"] == "hunter2-secret" and saved["wifi_ssid"] == "Garage Net 2"
    assert saved["mqtt_keepalive_s"] == 30 and saved["device_id"] == "sim-1"

    j = dev.command("journal")
    for key in ("seq", "delivered", "pending", "bytes_used", "capacity", "fill_pct", "corrupt_tails"):
        assert re.search(r"^%s\s+\d+$" % key, j, re.M), key
    assert re.search(r"^capacity\s+262144$", j, re.M)

    r = dev.command("replay")
    assert r.startswith("pending ") or r.startswith("nothing pending")
    # `replay 1` asks the uplink to send the retained records again, as the MQTT command does.
    cap = Capture(mosquitto.port, "laddvakt/v1/sim-1/recs")
    try:
        r = dev.command("replay 1")
        m = re.match(r"replay seq 1\.\.(\d+): sent again ahead of new records; uplink connected", r)
        assert m, r

        def seqs():
            return {rec["seq"] for _, p in cap.on("/recs") for rec in json.loads(p)["recs"]}

        assert cap.wait(lambda: set(range(1, int(m.group(1)) + 1)) <= seqs(), 10), sorted(seqs())
    finally:
        cap.stop()

    t = dev.command("tariff")
    assert re.search(r"^energy\s+3\.25 SEK/kWh$", t, re.M)
    # Charging control (control.md): what limits the offer, and a technician's cap.
    assert dev.command("limit").startswith("offer ")
    assert "console cap 10 A" in dev.command("limit 10")
    assert "console cap 80 A" in dev.command("limit 80")
    # A tag at the console goes the card reader's way: accepted on free vend, refused while a
    # session is open (the sim's EV may be charging now).
    a = dev.command("authorize RFID-42")
    assert a in ("authorize RFID-42: Accepted\n", "error: authorize: a session is already open\n"), a

    # Line ends: CR (terminals), LF, or CR LF (one answer, not a second prompt).
    dev.ser.write(b"faults\r\n")
    assert dev._read_to_prompt() == b"no active faults\r\n"
    assert dev.command("faults") == "no active faults\n"
    dev.ser.write(b"tariff\n")
    assert b"SEK/kWh" in dev._read_to_prompt()

    up2 = int(re.search(r"^uptime_s\s+(\d+)", dev.command("status"), re.M).group(1))
    assert up2 > up1, "sampling went on while the console was busy"

    assert dev.ser.write(b"reboot\r")
    p.wait(10)
    assert p.returncode == 3, p.stdout.read()


BAD = [
    ("frobnicate", "error: unknown command 'frobnicate'; type 'help'"),
    ("sessions many", "error: sessions n must be a whole number 1..20, got 'many'; usage: sessions [n]"),
    ("sessions 0", "error: sessions n must be a whole number 1..20"),
    ("sessions 1 2", "error: sessions takes at most one argument"),
    ("session", "error: session takes one session id; usage: session <id>"),
    ("session nope", "error: session 'nope' is not a session id of this device"),
    ("meter bogus", "error: meter unknown argument 'bogus'; usage: meter [scan]"),
    ("faults now", "error: faults takes no arguments"),
    ("config", "error: config needs get, set or unset; usage: config get [key] | config set <key> <value> | config unset <key>"),
    ("config unset", "error: config unset takes one key"),
    ("config unset mqtt_user", "error: config 'mqtt_user' is not in "),
    ("config get mqtt_prot", "error: config unknown key 'mqtt_prot'"),
    ("config set mqtt_port", "error: config set needs a key and a value"),
    ("config set mqtt_port eighty", "error: config key 'mqtt_port' must be a whole number, got 'eighty'"),
    ("config set mqtt_port 70000", "error: config key 'mqtt_port' value 70000 out of range 1..65535"),
    ("config set currency EURO", "error: config key 'currency' length 4 out of range 3..3"),
    ("config set currency sek", "error: config key 'currency' must be an ISO 4217 code like 'SEK', got 'sek'"),
    ("config set device_id a+b", "error: config key 'device_id' must not hold '+', '#', NUL or an empty level"),
    ("help me", "error: help no command 'me'; 'help' lists them"),
    ("\x1b[Asta\x7f\x7f\x7f\x1bOPfaults x", "error: faults takes no arguments"),
    ("replay x", "error: replay seq must be a whole number"),
    ("limit 5", "error: limit amps must be a whole number 6..80, got '5'"),
    ("limit 16 32", "error: limit takes at most one value"),
    ("reboot now", "error: reboot takes no arguments"),
    ("authorize", "error: authorize takes one ID tag; usage: authorize <id_tag>"),
    ("authorize " + "T" * 21, "error: authorize an ID tag has at most 20 characters"),
    ("x" * 200, "error: line longer than 160 characters"),
]


def test_bad_input_gets_an_error_and_a_hint(agent):
    p, dev, data = agent
    with open(os.path.join(data, "config.json")) as f:
        before = f.read()
    for line, words in BAD:
        out = dev.command(line)
        assert out.startswith(words), (line, out)
        # The agent runs on.
        assert dev.command("faults") == "no active faults\n"
    with open(os.path.join(data, "config.json")) as f:
        assert f.read() == before, "a refused config set wrote the file"
    assert p.poll() is None


def test_console_sim_mode():
    # What a newcomer runs: broker, agent and pty made by the tool itself.
    r = subprocess.run([sys.executable, "-m", "host_tools.device.console", "--sim", "-c", "status", "-c", "tariff"],
                       capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^board\s+unix-sim$", r.stdout, re.M) and "3.25 SEK/kWh" in r.stdout


def test_console_cli_with_history(agent, tmp_path, monkeypatch):
    p, dev, data = agent
    dev.close()
    port = dev.ser.port
    r = subprocess.run([sys.executable, "-m", "host_tools.device.console", "--port", port,
                        "-c", "tariff", "-c", "config get mqtt_password"],
                       capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "3.25 SEK/kWh" in r.stdout and 'mqtt_password = ""' in r.stdout
    r = subprocess.run([sys.executable, "-m", "host_tools.device.console", "--port", port, "-c", "nosuch"],
                       capture_output=True, text=True, timeout=30, cwd=ROOT)
    assert r.returncode == 1 and "unknown command" in r.stdout
    # Interactive: lines from stdin, kept in the history file.
    home = tmp_path / "home"
    home.mkdir()
    r = subprocess.run([sys.executable, "-m", "host_tools.device.console", "--port", port],
                       input="journal\nconfig set mqtt_password pw-Secret9\nfaults\n", capture_output=True, text=True, timeout=30,
                       env=dict(os.environ, HOME=str(home)), cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert "capacity" in r.stdout and "no active faults" in r.stdout
    hist = (home / ".laddvakt_console_history").read_text()
    assert "journal" in hist and "faults" in hist
    assert "Secret9" not in hist and "Secret9" not in r.stdout


def test_safe_mode_console_fixes_a_refused_config(tmp_path, pty_pair):
    # A config the agent refuses at boot: the console still answers, says why, and fixes it.
    data = str(tmp_path / "device")
    prepare_device(data, 1, SCENARIO)
    cfg_path = os.path.join(data, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    cfg["mqtt_prot"] = 1883
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    cmd, env = agent_command(data)
    p = subprocess.Popen(cmd + ["--console", pty_pair[0]], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    dev = hc.DeviceConsole(pty_pair[1], timeout_s=10)
    try:
        dev.sync()
        st = dev.command("status")
        assert re.search(r"^agent\s+not running: unknown key 'mqtt_prot'$", st, re.M), st
        assert re.search(r"^file\s+.*/config\.json$", st, re.M), st
        assert dev.command("sessions").startswith("error: the agent is not running (unknown key 'mqtt_prot')")
        assert 'mqtt_prot = 1883' in dev.command("config get")
        assert dev.command("config set device_id site-2").startswith("error: config unknown key 'mqtt_prot'")
        assert "removed" in dev.command("config unset mqtt_prot")
        assert "saved" in dev.command("config set device_id site-2")
        dev.ser.write(b"reboot\r")
        p.wait(10)
        assert p.returncode == 3
    finally:
        dev.close()
        if p.poll() is None:
            p.kill()
            p.wait(5)
    with open(cfg_path) as f:
        fixed = json.load(f)
    assert "mqtt_prot" not in fixed and fixed["device_id"] == "site-2"
    # The "rebooted" agent starts with the fixed config.
    p = subprocess.Popen(cmd + ["--console", pty_pair[0]], env=env, stdout=subprocess.DEVNULL)
    dev = hc.DeviceConsole(pty_pair[1], timeout_s=10)
    try:
        dev.sync()
        assert re.search(r"^device\s+site-2$", dev.command("status"), re.M)
    finally:
        dev.close()
        p.kill()
        p.wait(5)


def test_console_within_the_tight_heap(tmp_path, pty_pair, mosquitto):
    # The .mpy build in a heap of the code's size plus the 64 KiB runtime budget, as on a
    # board without PSRAM: every command answers, none runs out of memory.
    from host_tools.bench.tight_heap import MPY_DIR, RUNTIME_BUDGET, code_heap_bytes
    from host_tools.toolchain.unix_port import arena

    data = str(tmp_path / "device")
    prepare_device(data, mosquitto.port, SCENARIO)
    cmd, env = agent_command(data, code_dir=MPY_DIR, heapsize=arena(code_heap_bytes() + RUNTIME_BUDGET))
    p = subprocess.Popen(cmd + ["--console", pty_pair[0]], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    dev = hc.DeviceConsole(pty_pair[1], timeout_s=10)
    try:
        dev.sync()
        out = _wait_sessions(dev, 2)
        sid = re.findall(r"^(\w{12}-[0-9a-f]{8}) ", out, re.M)[0]
        for line in ("help", "status", "sessions 20", "session " + sid, "meter", "meter scan", "faults",
                     "config get", "journal", "replay", "replay 1", "tariff", "limit"):
            ans = dev.command(line)
            assert "MemoryError" not in ans and not ans.startswith("error: %s failed" % line.split()[0]), (line, ans)
        assert p.poll() is None
    finally:
        dev.close()
        if p.poll() is None:
            p.kill()
        out = p.communicate(timeout=10)[0]
    assert "MemoryError" not in out, out
