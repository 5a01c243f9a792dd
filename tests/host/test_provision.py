"""host_tools.device.provision: flags or prompts in, a config the firmware's own schema accepts out,
no secret echoed; and the deploy dry run of what it made."""
import json
import re
import os
import shlex
import stat
import subprocess
import sys

import pytest

from host_tools.device import provision
from host_tools.repo import ROOT
from host_tools.toolchain import firmware
from host_tools.toolchain.unix_port import MICROPYTHON

CA = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ0\n-----END CERTIFICATE-----\n"
SECRETS = ("wifi-pw-Secret1", "mqtt-pw-Secret2", "ab" * 32)


def _run(*args, stdin=None, env=None):
    return subprocess.run([sys.executable, "-m", "host_tools.device.provision", *args], cwd=ROOT, input=stdin,
                          capture_output=True, text=True, timeout=60, env=dict(os.environ, **(env or {})))


def _flags(tmp_path, *extra):
    ca = tmp_path / "ca.src.pem"
    ca.write_text(CA)
    return ["--out", str(tmp_path / "dev" / "config.json"), "--device-id", "cp-0042", "--board", "esp32-s3-devkitc",
            "--wifi-ssid", "garage", "--wifi-password", SECRETS[0], "--broker", "mqtts://mqtt.example.net",
            "--mqtt-user", "cp-0042", "--mqtt-password", SECRETS[1], "--tls-ca", str(ca),
            "--meter-profile", "sdm72d", "--currency", "EUR", "--price", "0.315", "--minor-unit", "3",
            "--device-key", SECRETS[2], *extra]


def test_schema_is_the_firmwares():
    config = firmware.module("core.config")
    assert os.path.samefile(config.__file__, os.path.join(ROOT, "firmware", "laddvakt", "core", "config.py"))


def test_flags_make_a_valid_config_and_print_no_secret(tmp_path):
    r = _run(*_flags(tmp_path))
    assert r.returncode == 0, r.stderr
    out = tmp_path / "dev" / "config.json"
    cfg = json.loads(out.read_text())
    assert cfg == {
        "device_id": "cp-0042", "board": "esp32-s3-devkitc", "wifi_ssid": "garage", "wifi_password": SECRETS[0],
        "mqtt_host": "mqtt.example.net", "mqtt_port": 8883, "mqtt_tls": 1, "mqtt_user": "cp-0042",
        "mqtt_password": SECRETS[1], "mqtt_ca_file": "/data/ca.pem", "meter_profile": "sdm72d",
        "currency": "EUR", "currency_minor_unit": 3, "price_minor_per_kwh": 315, "device_key": SECRETS[2]}
    firmware.module("core.config").validate(cfg)
    assert (tmp_path / "dev" / "ca.pem").read_text() == CA
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    for s in SECRETS:
        assert s not in r.stdout + r.stderr
    assert re.search(r"^  wifi_password +\"\*\*\*\"$", r.stdout, re.M)


def test_generated_key_and_env_password(tmp_path):
    out = tmp_path / "c.json"
    r = _run("--out", str(out), "--device-id", "sim-9", "--board", "unix-sim", "--broker", "127.0.0.1:1884",
             "--device-key", "generate", "--mqtt-user", "u", env={"LADDVAKT_MQTT_PASSWORD": "env-Secret3"})
    assert r.returncode == 0, r.stderr
    cfg = json.loads(out.read_text())
    assert len(cfg["device_key"]) == 64 and int(cfg["device_key"], 16) >= 0
    assert cfg["mqtt_password"] == "env-Secret3" and cfg["mqtt_port"] == 1884 and cfg["mqtt_tls"] == 0
    assert cfg["device_key"] not in r.stdout and "env-Secret3" not in r.stdout


@pytest.mark.parametrize("extra, words", [
    (["--device-id", "x" * 65], "key 'device_id' length 65 out of range 1..64"),
    (["--currency", "EURO"], "key 'currency' length 4 out of range 3..3"),
    (["--board", "no-such"], "no board definition"),
    (["--broker", "http://x"], "must start with mqtt:// or mqtts://"),
    (["--broker", "mqtt://user:pw@host"], "not in the URL"),
    (["--broker", "mqtt://host:99999"], "broker URL 'mqtt://host:99999'"),
    (["--price", "0.3155"], "more decimals than the currency's 3"),
    (["--price", "cheap"], "is not a number"),
    (["--device-key", "xyz"], "device key must be 16 to 64 bytes in hex"),
    (["--wifi-password", "p" * 65], "key 'wifi_password' length 65 out of range 0..64"),
])
def test_bad_values_refused_naming_the_key(tmp_path, extra, words):
    r = _run(*_flags(tmp_path, *extra))
    assert r.returncode == 2 and words in r.stderr, r.stderr
    assert not (tmp_path / "dev" / "config.json").exists()
    assert "p" * 65 not in r.stderr


def test_tls_needs_a_ca(tmp_path):
    r = _run("--out", str(tmp_path / "c.json"), "--device-id", "a", "--board", "esp32-devkitc", "--wifi-ssid", "w",
             "--broker", "mqtts://h")
    assert r.returncode == 2 and "needs --tls-ca" in r.stderr


def test_interactive_prompts(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text(CA)
    out = tmp_path / "i" / "config.json"
    answers = "\n".join(["cp-7", "esp32-s3-devkitc", "home net", SECRETS[0], "mqtts://broker.lan:8884", "cp-7",
                         SECRETS[1], str(ca), "", "SEK", "2.5", "generate"]) + "\n"
    r = _run("--interactive", "--out", str(out), stdin=answers)
    assert r.returncode == 0, r.stderr
    for q in ("device id", "board (esp32-devkitc, esp32-s3-devkitc, esp32-wrover, olimex-esp32-evb, unix-modbus, unix-sim)", "Wi-Fi password",
              "broker URL", "TLS CA file", "device key"):
        assert q in r.stdout
    cfg = json.loads(out.read_text())
    assert cfg["wifi_ssid"] == "home net" and cfg["mqtt_port"] == 8884 and cfg["price_minor_per_kwh"] == 250
    assert "meter_profile" not in cfg  # left empty: the board's profile
    for s in SECRETS[:2] + (cfg["device_key"],):
        assert s not in r.stdout + r.stderr


def test_interactive_input_ends_early(tmp_path):
    r = _run("--interactive", "--out", str(tmp_path / "c.json"), stdin="cp-1\n")
    assert r.returncode == 2 and "input ended" in r.stderr


def test_provision_then_deploy_dry_run_lines(tmp_path):
    assert _run(*_flags(tmp_path)).returncode == 0
    cfgp = str(tmp_path / "dev" / "config.json")
    r = subprocess.run(["make", "-s", "deploy", "PORT=/dev/ttyUSB1", "CONFIG=" + cfgp, "DRY_RUN=1"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    apply = [ln for ln in r.stdout.splitlines() if ln.startswith("would run: ") and ln.endswith(" reset")][0]
    steps = " ".join(shlex.split(apply[len("would run: "):])).split(" + ")
    assert steps[0].startswith("%s connect /dev/ttyUSB1 fs mkdir :/boards" % os.path.join(os.path.dirname(sys.executable), "mpremote"))
    assert "fs mkdir :/data" in steps
    assert "fs cp %s :/data/config.json" % cfgp in steps
    assert "fs cp %s :/data/ca.pem" % os.path.join(str(tmp_path / "dev"), "ca.pem") in steps
    assert "fs cp %s :/boards/esp32-s3-devkitc.json" % os.path.join(ROOT, "boards", "esp32-s3-devkitc.json") in steps
    for s in SECRETS:
        assert s not in r.stdout + r.stderr


def test_provision_dry_run_prints_the_mpremote_line(tmp_path):
    r = _run(*_flags(tmp_path, "--port", "/dev/ttyUSB0", "--dry-run"))
    assert r.returncode == 0, r.stderr
    cfgp = str(tmp_path / "dev" / "config.json")
    mpremote = os.path.join(os.path.dirname(sys.executable), "mpremote")
    want = [mpremote, "connect", "/dev/ttyUSB0", "exec", "import os; 'data' in os.listdir('/') or os.mkdir('/data')",
            "+", "fs", "cp", cfgp, ":/data/config.json",
            "+", "fs", "cp", str(tmp_path / "dev" / "ca.pem"), ":/data/ca.pem", "+", "reset"]
    assert "would run: " + shlex.join(want) in r.stdout.splitlines()
    for s in SECRETS:
        assert s not in r.stdout + r.stderr


def test_mkdir_data_statement_runs_on_micropython(tmp_path):
    # The one-liner the board executes, run under the unix port in a scratch root.
    stmt = provision._MKDIR_DATA.replace("'/'", repr(str(tmp_path))).replace("'/data'", repr(str(tmp_path / "data")))
    for _ in range(2):  # the second time /data exists: no error
        r = subprocess.run([MICROPYTHON, "-c", stmt], capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
    assert (tmp_path / "data").is_dir()


def _dev(tmp_path, dev, *extra, env=None):
    out = tmp_path / dev / "config.json"
    r = _run("--out", str(out), "--device-id", dev, "--board", "olimex-esp32-evb", "--wifi-ssid", "garage",
             "--broker", "mqtt://broker.lan", *extra, env=env)
    return r, out


def test_each_device_gets_its_own_secrets(tmp_path):
    r1, out1 = _dev(tmp_path, "cp-0042", "--wifi-password", SECRETS[0], "--price", "3.25", "--currency", "SEK")
    r2, out2 = _dev(tmp_path, "cp-0043", "--wifi-password", SECRETS[0], "--price", "3.25", "--currency", "SEK")
    assert r1.returncode == 0 and r2.returncode == 0, r1.stderr + r2.stderr
    c1, c2 = json.loads(out1.read_text()), json.loads(out2.read_text())
    assert c1["device_key"] != c2["device_key"] and len(c2["device_key"]) == 64
    assert c1["mqtt_user"] == "cp-0042" and c2["mqtt_user"] == "cp-0043"
    assert c1["mqtt_password"] != c2["mqtt_password"] and len(c2["mqtt_password"]) >= 24
    for c, r in ((c1, r1), (c2, r2)):
        assert c["mqtt_password"] not in r.stdout + r.stderr and c["device_key"] not in r.stdout + r.stderr
    # The broker line is the device's user with a hash, not the password.
    line = (tmp_path / "cp-0043" / "mosquitto.passwd").read_text().strip()
    assert line.startswith("cp-0043:$7$") and c2["mqtt_password"] not in line
    assert json.loads((tmp_path / "cp-0043" / "backend-key.json").read_text()) == {"cp-0043": c2["device_key"]}
    assert "append %s" % (tmp_path / "cp-0043" / "mosquitto.passwd") in r2.stdout
    assert "no price" not in r2.stdout and "warning" not in r2.stdout, r2.stdout


def test_default_output_is_per_device():
    import secrets as _s
    import shutil as _sh
    dev = "test-prov-" + _s.token_hex(4)
    where = os.path.join(provision.DEVICE_DIR, dev)
    try:
        r = _run("--device-id", dev, "--board", "unix-sim")
        assert r.returncode == 0, r.stderr
        assert json.loads(open(os.path.join(where, "config.json")).read())["device_id"] == dev
        assert "CONFIG=%s" % os.path.join(where, "config.json") in r.stdout
    finally:
        _sh.rmtree(where, ignore_errors=True)


def test_another_devices_file_is_never_merged(tmp_path):
    r1, out = _dev(tmp_path, "cp-0042", "--wifi-password", "w")
    assert r1.returncode == 0, r1.stderr
    key1 = json.loads(out.read_text())["device_key"]
    r = _run("--out", str(out), "--device-id", "cp-0043", "--board", "unix-sim")
    assert r.returncode == 2 and "holds another device's config" in r.stderr
    assert json.loads(out.read_text())["device_key"] == key1
    # The same device again keeps its key and broker password.
    r3, _ = _dev(tmp_path, "cp-0042")
    assert r3.returncode == 0, r3.stderr
    assert json.loads(out.read_text())["device_key"] == key1


def test_missing_secrets_and_price_are_warned(tmp_path):
    r, out = _dev(tmp_path, "cp-9", "--mqtt-user", "someone", "--mqtt-password", "")
    assert r.returncode == 0, r.stderr
    warned = [ln for ln in r.stdout.splitlines() if ln.startswith("warning: ")]
    assert any("no Wi-Fi password" in w for w in warned), r.stdout
    assert any("no price" in w and "250" in w for w in warned), r.stdout
    assert any("not the device id" in w for w in warned), r.stdout
    assert any("no MQTT password for user 'someone'" in w for w in warned), r.stdout
    assert any("no currency" in w for w in warned), r.stdout


@pytest.mark.parametrize("dev", ["a+b", "a/b", "cp 1", "#", "laddvakt-backend"])
def test_ids_that_are_not_one_topic_level_refused(tmp_path, dev):
    r = _run("--out", str(tmp_path / "c.json"), "--device-id", dev, "--board", "unix-sim")
    assert r.returncode == 2 and "device id" in r.stderr, r.stderr
    assert not (tmp_path / "c.json").exists()


def test_unknown_meter_profile_refused(tmp_path):
    r = _run("--out", str(tmp_path / "c.json"), "--device-id", "cp-1", "--board", "unix-sim", "--meter-profile", "sdm999")
    assert r.returncode == 2 and "unknown meter profile 'sdm999'" in r.stderr, r.stderr


SITE_MAP = {"name": "site meter", "registers": {
    "e_imp": {"fc": 3, "address": 1792, "type": "uint32", "words": "low_first", "unit": "Wh"},
    "p": {"fc": 3, "address": 1794, "type": "int32", "unit": "W"}}}


def test_meter_map_file_goes_into_the_config_checked_by_the_firmware(tmp_path):
    # issue 18: a meter no built-in map knows, carried by the device config.
    mp = tmp_path / "map.json"
    mp.write_text(json.dumps(SITE_MAP))
    out = tmp_path / "c.json"
    r = _run("--out", str(out), "--device-id", "cp-1", "--board", "unix-sim", "--meter-map", str(mp))
    assert r.returncode == 0, r.stderr
    cfg = json.loads(out.read_text())
    assert cfg["meter_map"] == SITE_MAP and "meter_profile" not in cfg
    firmware.module("core.config").merged(cfg)
    assert re.search(r'^  meter_map +\{"name": "site meter"', r.stdout, re.M), r.stdout
    bad = dict(SITE_MAP, registers=dict(SITE_MAP["registers"], p=dict(SITE_MAP["registers"]["p"], unit="kWh")))
    mp.write_text(json.dumps(bad))
    r = _run("--out", str(tmp_path / "d.json"), "--device-id", "cp-1", "--board", "unix-sim", "--meter-map", str(mp))
    assert r.returncode == 2 and "key 'meter_map': registers.p.unit must be one of" in r.stderr, r.stderr
    mp.write_text("{not json")
    r = _run("--out", str(tmp_path / "d.json"), "--device-id", "cp-1", "--board", "unix-sim", "--meter-map", str(mp))
    assert r.returncode == 2 and "is not JSON" in r.stderr, r.stderr
    r = _run("--out", str(tmp_path / "d.json"), "--device-id", "cp-1", "--board", "unix-sim", "--meter-map", str(mp),
             "--meter-profile", "sdm630")
    assert r.returncode == 2 and "not both" in r.stderr, r.stderr
    assert not (tmp_path / "d.json").exists()
