# Device configuration: defaults in code, a site's JSON file on flash over them.
# Every key is declared here with its type and range, so a typo or a wrong value
# in the file is a clear error at boot instead of a surprise in the field.
import json

from micropython import const


def _row(**kw):
    return kw.popitem()


# (key, (type, default, min, max)) rows; for str the range bounds the length. A generator, not
# a dict built at import: its rows stay in flash with the bytecode and cost RAM only while a
# caller walks them (boot, `config set`). Each key is a keyword, so mpy-cross stores it as an
# interned name (qstr), which costs less RAM in place than a string constant (docs/bench.md,
# heap). Add a key as one `yield _row(key=(type, default, min, max))` line, at the end.
def rows():
    yield _row(device_id=(str, "laddvakt-1", 1, 64))
    yield _row(board=(str, "unix-sim", 1, 32))
    yield _row(mqtt_host=(str, "127.0.0.1", 1, 253))
    yield _row(mqtt_port=(int, 1883, 1, 65535))
    yield _row(mqtt_user=(str, "", 0, 64))
    yield _row(mqtt_password=(str, "", 0, 128))
    yield _row(mqtt_keepalive_s=(int, 60, 0, 65535))
    yield _row(mqtt_timeout_ms=(int, 5000, 100, 60000))
    yield _row(topic_prefix=(str, "laddvakt/v1", 1, 64))
    yield _row(batch_max_bytes=(int, 4096, 2560, 16384))
    yield _row(sample_interval_ms=(int, 1000, 100, 60000))
    # The control tick on a board (docs/control.md, Tick rate): with pilot_debounce 2 a C -> B
    # change opens the contactor within two ticks, and the 6 s rule holds up to 1000 ms.
    yield _row(control_tick_ms=(int, 40, 10, 1000))
    yield _row(meter_value_interval_s=(int, 900, 0, 86400))
    yield _row(currency=(str, "SEK", 3, 3))
    yield _row(currency_minor_unit=(int, 2, 0, 4))
    yield _row(price_minor_per_kwh=(int, 250, 0, 10000000))
    yield _row(journal_segment_bytes=(int, 16384, 1024, 1048576))
    yield _row(journal_max_bytes=(int, 262144, 8192, 16777216))
    yield _row(wifi_ssid=(str, "", 0, 32))
    yield _row(wifi_password=(str, "", 0, 64))
    # tools: what host_tools.device.provision asks for whose users come with other areas. mqtt_tls 1
    # means TLS to the broker, checked against the PEM CA file at mqtt_ca_file on flash;
    # meter_profile ("" = the board's) names the register map; device_key (hex) signs records.
    yield _row(mqtt_tls=(int, 0, 0, 1))
    yield _row(mqtt_ca_file=(str, "", 0, 128))
    yield _row(meter_profile=(str, "", 0, 32))
    yield _row(device_key=(str, "", 0, 128))
    # meters (issue 3): docs/meters.md (meter_profile is above, with the tools keys)
    yield _row(meter_device=(str, "", 0, 128))  # unix: the tty/pty of the Modbus line ("" = board's)
    yield _row(meter_address=(int, 0, 0, 247))  # 0 = the board's address
    yield _row(meter_timeout_ms=(int, 300, 20, 5000))
    yield _row(meter_retries=(int, 1, 0, 5))
    yield _row(meter_grace_polls=(int, 3, 1, 1000))
    yield _row(meter_grace_ms=(int, 10000, 0, 3600000))
    yield _row(meter_retry_ms=(int, 5000, 0, 3600000))  # a failed meter is polled at most this often
    yield _row(meter_max_power_w=(int, 22080, 100, 1000000))
    yield _row(meter_serial_check_polls=(int, 60, 0, 1000000))
    yield _row(s0_pulses_per_kwh=(int, 1000, 1, 100000))
    yield _row(s0_debounce_ms=(int, 20, 0, 1000))
    # Charging control (issue 7; docs/control.md).
    yield _row(max_current_a=(int, 32, 6, 80))
    yield _row(phases=(int, 3, 1, 3))
    yield _row(voltage_v=(int, 230, 100, 400))
    yield _row(pilot_debounce=(int, 2, 1, 10))
    yield _row(overcurrent_margin_a=(int, 2, 0, 20))
    yield _row(temp_derate_c=(int, 70, 0, 150))
    yield _row(temp_stop_c=(int, 85, 0, 150))
    yield _row(auth_mode=(str, "free", 4, 4))
    yield _row(auth_list=(str, "", 0, 1024))
    yield _row(auth_timeout_s=(int, 60, 5, 3600))
    yield _row(failsafe_current_a=(int, 6, 0, 80))
    yield _row(failsafe_timeout_s=(int, 0, 0, 86400))
    yield _row(session_max_wh=(int, 0, 0, 1000000))
    yield _row(session_max_s=(int, 0, 0, 604800))
    # journal (issue 4): what to do when the journal is full even after thinning;
    # keep_charging or suspend (checked in journal/layout.py, JournalGuard).
    yield _row(on_journal_full=(str, "keep_charging", 7, 13))
    # billing (issue 6): device_key (above) signs session_end records (docs/tariffs.md); the
    # meter's serial for the signed payload when the meter cannot tell its own (S0, sim).
    yield _row(meter_serial=(str, "", 0, 32))
    # control (issue 7, watchdog; docs/control.md): the hardware watchdog's timeout (0 = off),
    # and the stable uptime after which a watchdog reset's InternalError clears.
    yield _row(watchdog_s=(int, 30, 0, 3600))
    yield _row(watchdog_clear_s=(int, 300, 0, 86400))
    # uplink (issue 5): in-flight window, ack mode, commands, TLS, Home Assistant. TLS is
    # mqtt_tls with the CA file mqtt_ca_file (the tools block above); a client certificate is optional.
    yield _row(mqtt_window=(int, 8, 1, 32))
    yield _row(uplink_ack=(str, "backend", 6, 7))  # "backend" (end to end, issue 16) or "broker"
    yield _row(ack_timeout_ms=(int, 30000, 1000, 3600000))
    yield _row(cmd_max_bytes=(int, 4096, 256, 16384))
    yield _row(mqtt_cert=(str, "", 0, 128))  # optional client certificate file
    yield _row(mqtt_key=(str, "", 0, 128))  # and its key file
    yield _row(mqtt_tls_host=(str, "", 0, 253))  # name to verify; default mqtt_host
    yield _row(ha_discovery=(bool, False, 0, 1))
    yield _row(ha_prefix=(str, "homeassistant", 1, 64))
    yield _row(ha_interval_s=(int, 10, 1, 3600))
    # issue 18: Home Assistant controls (number, buttons, select) on <prefix>/<dev>/ha/set/<key>,
    # off unless enabled; a start from Home Assistant authorizes with ha_id_tag.
    yield _row(ha_controls=(bool, False, 0, 1))
    yield _row(ha_id_tag=(str, "homeassistant", 1, 20))
    # issue 15: SNTP in the network task. On a board "" means pool.ntp.org; on the unix port
    # "" means the host's clock.
    yield _row(ntp_host=(str, "", 0, 253))
    yield _row(ntp_resync_s=(int, 3600, 60, 86400))
    yield _row(ntp_retry_s=(int, 30, 1, 3600))  # after no answer (2 s timeout)
    # issue 18: a register map in the device config (docs/meters.md, schemas/meter_map.json),
    # used over the board's meter map or profile; {} = none. Checked by meters/mapdef.py;
    # the range bounds its top-level fields. Not together with meter_profile.
    yield _row(meter_map=(dict, {}, 0, 16))
    # issue 15: the DNS resolver for the broker and SNTP names, "a.b.c.d" or "a.b.c.d:port"; "" means
    # the one DHCP gave on a board, the host's getaddrinfo on the unix port (uplink/dns.py).
    yield _row(dns_server=(str, "", 0, 21))

# Never printed or published; shown as "***" by anything that displays config.
SECRETS = ("mqtt_password", "wifi_password", "device_key")


class ConfigError(ValueError):
    pass


# The error texts, one per line of one constant, _bad(i, args) making line i's error (as tariff.py's):
# in place each string of more than 10 characters would be an object in RAM for good (docs/bench.md).
_E_OBJECT = const(0)
_E_UNKNOWN = const(1)
_E_TYPE = const(2)
_E_RANGE = const(3)
_E_WORD = const(4)
_E_CURRENCY = const(5)
_E_LEVEL = const(6)
_E_MAP = const(7)
_E_BOOL = const(8)
_E_INT = const(9)
_E_JSON = const(10)
_E_CA = const(11)
_E_KEY = const(12)
_E_TEMP = const(13)
_E_WATCHDOG = const(14)
_E_BOTH = const(15)
_E_UTF8 = const(16)


def _bad(i, args=()):
    return ConfigError(("config must be a JSON object\n"
            "unknown key '%s'\n"
            "key '%s' must be %s, got %s\n"
            "key '%s' %s %d out of range %d..%d\n"
            "key '%s' must be %s, got '%s'\n"
            "key 'currency' must be an ISO 4217 code like 'SEK', got '%s'\n"
            "key '%s' must not hold '+', '#', NUL or an empty level, got '%s'\n"
            "key '%s': %s\n"
            "key '%s' must be true or false, got '%s'\n"
            "key '%s' must be a whole number, got '%s'\n"
            "key '%s' must be a JSON object, got '%s'\n"
            "key 'mqtt_ca_file' is required when mqtt_tls is 1\n"
            "key 'device_key' is required on a board: provision one (python -m host_tools.device.provision)\n"
            "key 'temp_stop_c' must not be under 'temp_derate_c'\n"
            "key 'watchdog_s' must be 0 (off) or at least twice sample_interval_ms\n"
            "keys 'meter_map' and 'meter_profile' both choose the meter's registers: set one\n"
            "%s is not valid UTF-8 JSON").split("\n")[i] % args)


def spec(key):
    """(type, default, min, max) of key, or None for a key the schema does not have."""
    for k, s in rows():
        if k == key:
            return s
    return None


def schema():
    """The whole table as a dict, for host tools and tests (the firmware walks rows())."""
    return dict(rows())


def validate(values, cfg=None):
    """Check a dict of overrides against the schema, one walk of the table; raise ConfigError
    naming the key, unknown keys first. With cfg (a dict), also fill it with the defaults
    overlaid by values (merged)."""
    if not isinstance(values, dict):
        raise _bad(_E_OBJECT)
    known = 0
    bad = None
    for key, (kind, default, lo, hi) in rows():
        if key not in values:
            if cfg is not None:
                cfg[key] = default
            continue
        known += 1
        val = values[key]
        if cfg is not None:
            cfg[key] = val
        if bad is not None:
            continue
        # bool is an int subclass in Python; a true/false for a number is a mistake.
        if type(val) is not kind:
            bad = _bad(_E_TYPE, (key, kind.__name__, type(val).__name__))
            continue
        n = len(val) if kind is str or kind is dict else val
        if n < lo or n > hi:
            bad = _bad(_E_RANGE, (key, "length" if kind is str else "value", n, lo, hi))
        elif kind is str:
            # robust (issue 17): keys whose value is one of a few words, and identifiers that
            # become MQTT topic levels. Checked here, by the one walk boot and `config set` use.
            words = {"auth_mode": ("free", "list"), "uplink_ack": ("broker", "backend"),
                     "on_journal_full": ("keep_charging", "suspend")}.get(key)
            if words is not None and val not in words:
                bad = _bad(_E_WORD, (key, " or ".join(words), val))
            elif key == "currency" and [c for c in val if not "A" <= c <= "Z"]:
                bad = _bad(_E_CURRENCY, val)
            # A wildcard or an empty level in a topic: the broker drops the link (MQTT 3.1.1 §4.7).
            elif key in ("device_id", "topic_prefix") and (
                    "+" in val or "#" in val or "\x00" in val or "" in val.split("/")):
                bad = _bad(_E_LEVEL, (key, val))
        elif kind is dict and val:
            # issue 18: the board file's map rules, so a bad map is refused where it is written.
            from laddvakt.meters.mapdef import MapError, parse as parse_map

            try:
                parse_map(val)
            except MapError as e:
                bad = _bad(_E_MAP, (key, str(e).replace("meter map: ", "", 1)))
    if known < len(values):
        for key in values:
            if spec(key) is None:
                raise _bad(_E_UNKNOWN, key)
    if bad is not None:
        raise bad


def parse(key, text):
    """The value of key from console text: a whole number, true/false, or the text itself;
    ConfigError naming the key when it is none of these."""
    s = spec(key)
    if s is None:
        raise _bad(_E_UNKNOWN, key)
    kind = s[0]
    if kind is bool:
        t = text.strip().lower()
        if t in ("true", "1", "on", "yes"):
            return True
        if t in ("false", "0", "off", "no"):
            return False
        raise _bad(_E_BOOL, (key, text))
    try:
        return int(text.strip()) if kind is int else json.loads(text) if kind is dict else text
    except ValueError:
        raise _bad(_E_INT if kind is int else _E_JSON, (key, text))


def defaults():
    return merged({})


def merged(values):
    # At boot: one walk of the table both checks and builds (each walk leaves garbage).
    cfg = {}
    validate(values, cfg)
    # Rules over more than one key, on the merged config.
    if cfg["mqtt_tls"] and not cfg["mqtt_ca_file"]:
        raise _bad(_E_CA)
    if not cfg["device_key"] and not cfg["board"].startswith("unix"):
        # Commands and acks are authenticated with it (docs/mqtt.md): without one, anyone on
        # the broker could command a real charger. Only the unix simulation boards run keyless.
        raise _bad(_E_KEY)
    if cfg["temp_stop_c"] < cfg["temp_derate_c"]:
        raise _bad(_E_TEMP)
    if cfg["watchdog_s"] and cfg["watchdog_s"] * 1000 < 2 * cfg["sample_interval_ms"]:
        # One late step would reset the board: a boot loop, not a safety net.
        raise _bad(_E_WATCHDOG)
    if cfg["meter_map"] and cfg["meter_profile"]:
        raise _bad(_E_BOTH)
    return cfg


def load(path):
    """Defaults overlaid with the JSON file at path; a missing file means all defaults."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError:
        return defaults()
    try:
        overrides = json.loads(raw.decode())
    except ValueError:  # UnicodeError is a ValueError: bytes that are not UTF-8
        raise _bad(_E_UTF8, path)
    return merged(overrides)


def root(cfg):  # the device's MQTT topics' common start (docs/mqtt.md)
    return "%s/%s/" % (cfg["topic_prefix"], cfg["device_id"])


def masked(cfg):
    out = dict(cfg)
    for k in SECRETS:
        if out.get(k):
            out[k] = "***"
    return out
