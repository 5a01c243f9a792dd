"""Make one device's config (build/device/<id>/config.json) for `make deploy`, from flags or prompts.

    python -m host_tools.device.provision --device-id cp-0042 --board esp32-devkitc \\
        --wifi-ssid garage --broker mqtts://mqtt.example.net --mqtt-user cp-0042 \\
        --tls-ca ca.pem --price 3.25 --currency SEK --device-key generate
    python -m host_tools.device.provision --interactive          (asks for each value)

Secrets (Wi-Fi and MQTT passwords, the device key) are asked for without echo when not given
(or read from LADDVAKT_WIFI_PASSWORD / LADDVAKT_MQTT_PASSWORD), and never printed back. Every
value is checked with the firmware's own schema (firmware/laddvakt/config.py), the one the
device applies at boot, so a config that provisions is a config that boots.

Each device id has its own output directory, and nothing is carried over from another device:
the device key is fresh unless --device-key gives one (re-provisioning the same id keeps that
id's key and values), and so is the broker password of its user (the device id, which the
broker's %u ACL needs). It writes that user's hashed password line beside the config and prints
what to add to the broker and the backend (docs/backend.md, Broker security). Every secret or
price the config needs but was not given is named in a warning.
"""
import argparse
import getpass
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from host_tools.device import broker_auth
from host_tools.repo import BOARDS, BUILD, ROOT
from host_tools.toolchain import firmware
from host_tools.toolchain.unix_port import MICROPYTHON, micropython_env

DEVICE_DIR = os.path.join(BUILD, "device")
DEFAULT_OUT = os.path.join(DEVICE_DIR, "config.json")  # the pre-per-device path; `make deploy`'s default
CA_REMOTE = "/data/ca.pem"


class ProvisionError(Exception):
    pass


def parse_broker(url):
    """mqtt://host[:port] or mqtts://host[:port] -> {mqtt_host, mqtt_port, mqtt_tls}."""
    u = urlsplit(url if "://" in url else "mqtt://" + url)
    if u.scheme not in ("mqtt", "mqtts"):
        raise ProvisionError("broker URL must start with mqtt:// or mqtts://, got '%s'" % url)
    if u.username or u.password:
        raise ProvisionError("put the MQTT user and password in --mqtt-user/--mqtt-password, not in the URL")
    if not u.hostname:
        raise ProvisionError("broker URL '%s' has no host" % url)
    try:
        port = u.port
    except ValueError as e:
        raise ProvisionError("broker URL '%s': %s" % (url, e)) from e
    tls = u.scheme == "mqtts"
    return {"mqtt_host": u.hostname, "mqtt_port": port or (8883 if tls else 1883), "mqtt_tls": int(tls)}


def price_minor(text, minor_unit):
    """'3.25' with 2 decimals -> 325, exactly (money is integer minor units)."""
    try:
        d = Decimal(text)
    except InvalidOperation as e:
        raise ProvisionError("price '%s' is not a number" % text) from e
    m = d.scaleb(minor_unit)
    if m != m.to_integral_value():
        raise ProvisionError("price %s has more decimals than the currency's %d" % (text, minor_unit))
    return int(m)


def device_key(text):
    if text == "generate":
        return secrets.token_hex(32)
    if not re.fullmatch(r"[0-9a-fA-F]{32,128}", text or "") or len(text) % 2:
        raise ProvisionError("device key must be 16 to 64 bytes in hex (or 'generate')")
    return text.lower()


def check_device_id(dev):
    # The id is a topic level (laddvakt/v1/<dev>/...), the broker user for the %u ACL and a
    # directory name here: a wildcard, slash or NUL would reach other devices' topics.
    if not dev or any(c in dev for c in "+#/\0") or dev in (".", "..") or dev != dev.strip() or " " in dev:
        raise ProvisionError("device id %r is not a valid topic level (no +, #, /, NUL or spaces)" % dev)
    if dev in (broker_auth.BACKEND_USER, broker_auth.HA_USER) or ":" in dev:
        raise ProvisionError("device id %r clashes with a broker user name or the password file's ':'" % dev)


def check_meter_profile(name):
    """The firmware's own lookup, run on the MicroPython unix port (the register maps use const())."""
    code = ("from laddvakt.meters import registers\ntry:\n registers.get(%r)\nexcept ValueError as e:\n print(e)"
            % name)
    r = subprocess.run([MICROPYTHON, "-c", code], capture_output=True, text=True, timeout=60,
                       env=micropython_env(os.path.join(ROOT, "firmware")))
    if r.returncode:
        raise ProvisionError("cannot check meter profile %r: %s" % (name, r.stderr.strip()[-200:]))
    if r.stdout.strip():
        raise ProvisionError(r.stdout.strip())


def read_meter_map(path):
    """The register map in a JSON file (docs/schemas/meter_map.json) for the config's meter_map;
    the firmware's own check (core/config -> meters/mapdef) runs on it in build()."""
    try:
        with open(path) as f:
            d = json.load(f)
    except OSError as e:
        raise ProvisionError("cannot read the meter map %s: %s" % (path, e.strerror)) from e
    except ValueError as e:
        raise ProvisionError("meter map %s is not JSON: %s" % (path, e)) from e
    if not isinstance(d, dict) or not d:
        raise ProvisionError("meter map %s must hold a JSON object with its registers" % path)
    return d


def read_ca(path):
    try:
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise ProvisionError("cannot read the TLS CA %s: %s" % (path, e.strerror)) from e
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise ProvisionError("%s is not a PEM certificate (no BEGIN CERTIFICATE line)" % path)
    return text


# (flag dest, prompt, secret) in the order the interactive mode asks.
QUESTIONS = (
    ("device_id", "device id (unique per charger)", False),
    ("board", "board (%s)" % ", ".join(firmware.board_names()), False),
    ("wifi_ssid", "Wi-Fi network name", False),
    ("wifi_password", "Wi-Fi password", True),
    ("broker", "broker URL (mqtt://host[:port] or mqtts://host[:port])", False),
    ("mqtt_user", "MQTT user (empty for none)", False),
    ("mqtt_password", "MQTT password (empty for none)", True),
    ("tls_ca", "TLS CA file (PEM; empty for the broker's plain MQTT)", False),
    ("meter_profile", "meter profile (empty for the board's)", False),
    ("currency", "currency (ISO 4217)", False),
    ("price", "energy price per kWh, e.g. 3.25", False),
    ("device_key", "device key in hex, or 'generate'", True),
)


def build(values, base, out_dir):
    """The config dict from answers (None = keep what base has); raises ProvisionError."""
    config = firmware.module("core.config")
    cfg = dict(base)

    def put(key, val):
        try:
            config.validate({key: val})
        except config.ConfigError as e:
            raise ProvisionError(str(e)) from e
        cfg[key] = val

    if values.get("device_id") is not None:
        check_device_id(values["device_id"])
    if values.get("meter_profile"):
        check_meter_profile(values["meter_profile"])
    if values.get("meter_map"):
        # issue 18: a meter no built-in map knows, carried by the device config
        if values.get("meter_profile"):
            raise ProvisionError("give --meter-map or --meter-profile, not both")
        put("meter_map", read_meter_map(values["meter_map"]))
        cfg.pop("meter_profile", None)
    elif values.get("meter_profile"):
        cfg.pop("meter_map", None)
    for key in ("device_id", "board", "wifi_ssid", "wifi_password", "mqtt_user", "mqtt_password",
                "meter_profile", "currency"):
        if values.get(key) is not None:
            put(key, values[key])
    if values.get("broker"):
        for k, v in parse_broker(values["broker"]).items():
            put(k, v)
    if values.get("minor_unit") is not None:
        put("currency_minor_unit", values["minor_unit"])
    if values.get("price"):
        mu = cfg.get("currency_minor_unit", config.spec("currency_minor_unit")[1])
        put("price_minor_per_kwh", price_minor(values["price"], mu))
    if values.get("device_key"):
        put("device_key", device_key(values["device_key"]))
    elif not cfg.get("device_key"):
        put("device_key", device_key("generate"))  # fresh: never another device's
    ca = None
    if values.get("tls_ca"):
        ca = values["tls_ca"]
        read_ca(ca)
        put("mqtt_ca_file", CA_REMOTE)
        if not cfg.get("mqtt_tls"):
            raise ProvisionError("a TLS CA needs an mqtts:// broker URL")
    if cfg.get("mqtt_tls") and not cfg.get("mqtt_ca_file"):
        raise ProvisionError("an mqtts:// broker needs --tls-ca (the CA that signed the broker's certificate)")
    board = cfg.get("board")
    if not board:
        raise ProvisionError("no board given (--board)")
    try:
        b = firmware.module("core.board").load(BOARDS, board)
    except ValueError as e:
        raise ProvisionError("%s; boards: %s" % (e, ", ".join(firmware.board_names()))) from e
    if b["mcu"] != "unix" and not cfg.get("wifi_ssid"):
        raise ProvisionError("board %s needs Wi-Fi: give --wifi-ssid" % board)
    if "device_id" not in cfg:
        raise ProvisionError("no device id given (--device-id)")
    try:
        config.validate(cfg)  # the whole file, exactly as the device will check it at boot
    except config.ConfigError as e:
        raise ProvisionError(str(e)) from e
    return cfg, ca, b["mcu"]


def warnings(cfg, board_mcu):
    """One line per secret or price the config needs but does not have."""
    config = firmware.module("core.config")
    out = []
    if board_mcu != "unix" and not cfg.get("wifi_password"):
        out.append("no Wi-Fi password: the board joins '%s' only if it is an open network" % cfg.get("wifi_ssid"))
    if cfg.get("mqtt_host"):
        if not cfg.get("mqtt_user"):
            out.append("no MQTT user: a broker with the generated ACL refuses anonymous clients")
        elif cfg["mqtt_user"] != cfg["device_id"]:
            out.append("MQTT user '%s' is not the device id: the broker's %%u ACL gives it no topics" % cfg["mqtt_user"])
        if cfg.get("mqtt_user") and not cfg.get("mqtt_password"):
            out.append("no MQTT password for user '%s'" % cfg["mqtt_user"])
    else:
        out.append("no broker (--broker): the agent stays offline")
    if "price_minor_per_kwh" not in cfg:
        out.append("no price (--price): sessions bill at the default %d minor units/kWh"
                   % config.spec("price_minor_per_kwh")[1])
    if "currency" not in cfg:
        out.append("no currency (--currency): the default %s" % config.spec("currency")[1])
    return out


def ask(values, inp, out, secret_reader):
    for dest, prompt, secret in QUESTIONS:
        if values.get(dest) is not None:
            continue
        if secret:
            ans = secret_reader(prompt + ": ")
        else:
            out.write(prompt + ": ")
            out.flush()
            ans = inp.readline()
            if not ans:
                raise ProvisionError("input ended before '%s' was answered" % dest)
            ans = ans.strip()
        values[dest] = ans if ans != "" or dest in ("mqtt_user", "mqtt_password", "wifi_password") else None


def same_device(path, dev):
    """What an earlier run wrote for this same device id; another device's file is refused."""
    if not os.path.exists(path):
        return {}
    try:
        with open(path) as f:
            base = json.load(f)
    except (OSError, ValueError) as e:
        raise ProvisionError("cannot read %s: %s" % (path, e)) from e
    if not isinstance(base, dict) or base.get("device_id") != dev:
        raise ProvisionError("%s holds another device's config; give a different --out" % path)
    return base


def write(cfg, ca, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    # The file holds passwords and the device key: readable by its owner only.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(cfg, f, indent=1, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)
    if ca:
        shutil.copyfile(ca, os.path.join(os.path.dirname(os.path.abspath(path)), "ca.pem"))


def main(argv=None, stdin=None, stdout=None):
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    ap = argparse.ArgumentParser(description="Make a laddvakt device config for make deploy.")
    ap.add_argument("--out", help="config file to write (default build/device/<device id>/config.json)")
    ap.add_argument("--interactive", action="store_true", help="ask for every value not given as a flag")
    ap.add_argument("--device-id", dest="device_id")
    ap.add_argument("--board")
    ap.add_argument("--wifi-ssid", dest="wifi_ssid")
    ap.add_argument("--wifi-password", dest="wifi_password",
                    help="better: leave it out and type it at the prompt, or set LADDVAKT_WIFI_PASSWORD")
    ap.add_argument("--broker", help="mqtt://host[:port] or mqtts://host[:port]")
    ap.add_argument("--mqtt-user", dest="mqtt_user", help="default: the device id (what the broker's ACL expects)")
    ap.add_argument("--mqtt-password", dest="mqtt_password",
                    help="or LADDVAKT_MQTT_PASSWORD; default: a fresh one, with its broker password line")
    ap.add_argument("--tls-ca", dest="tls_ca", help="PEM file of the CA that signed the broker's certificate")
    ap.add_argument("--meter-profile", dest="meter_profile")
    ap.add_argument("--meter-map", dest="meter_map",
                    help="JSON file with the meter's register map (docs/meters.md), instead of a profile")
    ap.add_argument("--currency")
    ap.add_argument("--minor-unit", dest="minor_unit", type=int, help="decimals of the currency (default 2)")
    ap.add_argument("--price", help="energy price per kWh in the currency, e.g. 3.25")
    ap.add_argument("--device-key", dest="device_key", help="hex, or 'generate' for 32 random bytes")
    ap.add_argument("--port", help="also write the config to the board on this port (mpremote) and reset it")
    ap.add_argument("--dry-run", action="store_true", help="with --port: print the mpremote command, touch no board")
    args = ap.parse_args(argv)
    values = {k: v for k, v in vars(args).items() if k not in ("out", "interactive", "port", "dry_run")}
    for key, env in (("wifi_password", "LADDVAKT_WIFI_PASSWORD"), ("mqtt_password", "LADDVAKT_MQTT_PASSWORD")):
        if values[key] is None and os.environ.get(env) is not None:
            values[key] = os.environ[env]
    try:
        if args.interactive:
            def secret_reader(prompt):
                if stdin.isatty():
                    return getpass.getpass(prompt)
                stdout.write(prompt)  # no echo to hide when the answers come from a pipe
                stdout.flush()
                return stdin.readline().rstrip("\n")

            ask(values, stdin, stdout, secret_reader)
        dev = values.get("device_id")
        if not dev:
            raise ProvisionError("no device id given (--device-id)")
        check_device_id(dev)
        out = args.out or os.path.join(DEVICE_DIR, dev, "config.json")
        base = same_device(out, dev)
        if values.get("broker") or base.get("mqtt_host"):
            if values.get("mqtt_user") is None and not base.get("mqtt_user"):
                values["mqtt_user"] = dev
        new_pw = None
        if values.get("mqtt_user") and values.get("mqtt_password") is None and not base.get("mqtt_password"):
            values["mqtt_password"] = new_pw = secrets.token_urlsafe(24)
        cfg, ca, mcu = build(values, base, os.path.dirname(out))
        pw_line = None
        if new_pw is not None or (values.get("mqtt_password") and values.get("mqtt_user")):
            try:
                pw_line = broker_auth.password_lines([(cfg["mqtt_user"], cfg["mqtt_password"])])[0]
            except broker_auth.BrokerAuthError as e:
                stdout.write("warning: no broker password line: %s\n" % e)
    except ProvisionError as e:
        print("provision: %s" % e, file=sys.stderr)
        return 2
    args.out = out
    write(cfg, ca, out)
    shown = firmware.module("core.config").masked(cfg)
    stdout.write("\nwrote %s%s:\n" % (args.out, " and ca.pem beside it" if ca else ""))
    for k in sorted(shown):
        stdout.write("  %-22s %s\n" % (k, json.dumps(shown[k])))
    for w in warnings(cfg, mcu):
        stdout.write("warning: %s\n" % w)
    here = os.path.dirname(os.path.abspath(args.out))
    if pw_line:
        pw_path = os.path.join(here, "mosquitto.passwd")
        broker_auth.write_private(pw_path, pw_line + "\n")
        stdout.write("broker: append %s to the broker's password file (the line is hashed), e.g.\n"
                     "  cat %s >> build/broker/passwd && kill -HUP $(pidof mosquitto)\n"
                     "  (or type the password yourself: mosquitto_passwd <broker passwd file> %s)\n"
                     "  the ACL needs no new line: its %%u patterns cover user '%s'\n"
                     % (pw_path, pw_path, cfg["mqtt_user"], cfg["mqtt_user"]))
    key_path = os.path.join(here, "backend-key.json")
    broker_auth.write_private(key_path, json.dumps({cfg["device_id"]: cfg["device_key"]}) + "\n")
    stdout.write("backend: merge %s into the backend's --keys file (it verifies this device's signatures)\n" % key_path)
    if not args.port:
        stdout.write("next: python -m host_tools.device.provision ... --port /dev/ttyUSB0, or make deploy PORT=/dev/ttyUSB0%s\n"
                     % ("" if os.path.abspath(args.out) == DEFAULT_OUT else " CONFIG=" + args.out))
        return 0
    cmd = push_command(args.port, args.out, bool(ca))
    stdout.write(("would run: " if args.dry_run else "run: ") + shlex.join(cmd) + "\n")
    stdout.flush()
    if args.dry_run:
        return 0
    r = subprocess.run(cmd)
    if r.returncode:
        print("provision: mpremote failed (exit %d); the config is in %s, run again" % (r.returncode, args.out),
              file=sys.stderr)
        return 2
    stdout.write("the board is resetting with its new config. Next: python -m host_tools.device.console --port %s\n"
                 % args.port)
    return 0


MPREMOTE = os.path.join(os.path.dirname(sys.executable), "mpremote")
# One statement, so the command line stays one readable line: /data may exist already.
_MKDIR_DATA = "import os; 'data' in os.listdir('/') or os.mkdir('/data')"


def push_command(port, config_path, with_ca):
    cmd = [MPREMOTE, "connect", port, "exec", _MKDIR_DATA,
           "+", "fs", "cp", config_path, ":/data/config.json"]
    if with_ca:
        cmd += ["+", "fs", "cp", os.path.join(os.path.dirname(os.path.abspath(config_path)), "ca.pem"), ":" + CA_REMOTE]
    return cmd + ["+", "reset"]


if __name__ == "__main__":
    sys.exit(main())
