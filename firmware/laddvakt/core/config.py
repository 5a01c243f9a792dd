# Device configuration: defaults in code, a site's JSON file on flash over them.
# Every key is declared here with its type and range, so a typo or a wrong value
# in the file is a clear error at boot instead of a surprise in the field.
import json


def _row(**kw):
    return kw.popitem()


# (key, (type, default, min, max)) rows; for str the range bounds the length. The table is a
# generator, not a dict built at import: on a board its rows stay in flash with the bytecode
# and cost RAM only while a caller walks them (boot, `config set`), one row at a time. Each key
# is a keyword, so mpy-cross stores it as an interned name (qstr), which costs less RAM in place
# than a string constant (docs/bench.md, heap: a name counts only past a pool threshold; other
# modules' cfg["key"] strings share it when they are 10 characters or fewer). Add a key as one more
# `yield _row(key=(type, default, min, max))` line, in a block at the end naming its issue.
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


def spec(key):
    """(type, default, min, max) of key, or None for a key the schema does not have."""
    for k, s in rows():
        if k == key:
            return s
    return None


def schema():
    """The whole table as a dict, for host tools and tests (the firmware walks rows())."""
    return dict(rows())


def _walk(values, cfg):
    """Check values against the schema, one walk of the table; with cfg (a dict), also fill it
    with the defaults overlaid by values. Unknown keys are reported first, then values."""
    if not isinstance(values, dict):
        raise ConfigError("config must be a JSON object")
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
        if bad is None:
            bad = _bad(key, val, kind, lo, hi)
    if known < len(values):
        for key in values:
            if spec(key) is None:
                raise ConfigError("unknown key '%s'" % key)
    if bad is not None:
        raise ConfigError(bad)


def _bad(key, val, kind, lo, hi):
    # What is wrong with val for key, or None.
    # bool is an int subclass in Python; a true/false for a number is a mistake.
    if type(val) is not kind:
        return "key '%s' must be %s, got %s" % (key, kind.__name__, type(val).__name__)
    n = len(val) if kind is str or kind is dict else val
    if n < lo or n > hi:
        what = "length" if kind is str else "value"
        return "key '%s' %s %d out of range %d..%d" % (key, what, n, lo, hi)
    if kind is str:
        # robust (issue 17): keys whose value is one of a few words, and identifiers that become
        # MQTT topic levels. Checked here, by the one walk boot and the console's `config set` use.
        words = {"auth_mode": ("free", "list"), "uplink_ack": ("broker", "backend"),
                 "on_journal_full": ("keep_charging", "suspend")}.get(key)
        if words is not None and val not in words:
            return "key '%s' must be %s, got '%s'" % (key, " or ".join(words), val)
        if key == "currency" and [c for c in val if not "A" <= c <= "Z"]:
            return "key 'currency' must be an ISO 4217 code like 'SEK', got '%s'" % val
        # A wildcard or an empty level in a topic: the broker drops the link (MQTT 3.1.1 §4.7).
        if key in ("device_id", "topic_prefix") and (
                "+" in val or "#" in val or "\x00" in val or "" in val.split("/")):
            return "key '%s' must not hold '+', '#', NUL or an empty level, got '%s'" % (key, val)
    elif kind is dict and val:
        # issue 18: the board file's map rules, so a bad map is refused where it is written.
        from laddvakt.meters.mapdef import MapError, parse as parse_map

        try:
            parse_map(val)
        except MapError as e:
            return "key '%s': %s" % (key, str(e).replace("meter map: ", "", 1))
    return None


def validate(values):
    """Check a dict of overrides against the schema; raise ConfigError naming the key."""
    _walk(values, None)


def parse(key, text):
    """The value of key from console text: a whole number, true/false, or the text itself;
    ConfigError naming the key when it is none of these."""
    s = spec(key)
    if s is None:
        raise ConfigError("unknown key '%s'" % key)
    kind = s[0]
    if kind is bool:
        t = text.strip().lower()
        if t in ("true", "1", "on", "yes"):
            return True
        if t in ("false", "0", "off", "no"):
            return False
        raise ConfigError("key '%s' must be true or false, got '%s'" % (key, text))
    if kind is int:
        try:
            return int(text.strip())
        except ValueError:
            raise ConfigError("key '%s' must be a whole number, got '%s'" % (key, text))
    if kind is dict:
        try:
            return json.loads(text)
        except ValueError:
            raise ConfigError("key '%s' must be a JSON object, got '%s'" % (key, text))
    return text


def defaults():
    cfg = {}
    _walk({}, cfg)
    return cfg


def merged(values):
    # At boot: one walk of the table both checks and builds (each walk leaves a few KB of
    # small garbage in a heap that has 64 KiB for everything).
    cfg = {}
    _walk(values, cfg)
    # Rules over more than one key, on the merged config.
    if cfg["mqtt_tls"] and not cfg["mqtt_ca_file"]:
        raise ConfigError("key 'mqtt_ca_file' is required when mqtt_tls is 1")
    if not cfg["device_key"] and not cfg["board"].startswith("unix"):
        # Commands and acks are authenticated with it (docs/mqtt.md): without one, anyone on
        # the broker could command a real charger. Only the unix simulation boards run keyless.
        raise ConfigError("key 'device_key' is required on a board: provision one "
                          "(python -m host_tools.device.provision)")
    if cfg["temp_stop_c"] < cfg["temp_derate_c"]:
        raise ConfigError("key 'temp_stop_c' must not be under 'temp_derate_c'")
    if cfg["watchdog_s"] and cfg["watchdog_s"] * 1000 < 2 * cfg["sample_interval_ms"]:
        # One late step would reset the board: a boot loop, not a safety net.
        raise ConfigError("key 'watchdog_s' must be 0 (off) or at least twice sample_interval_ms")
    if cfg["meter_map"] and cfg["meter_profile"]:
        raise ConfigError("keys 'meter_map' and 'meter_profile' both choose the meter's registers: set one")
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
        raise ConfigError("%s is not valid UTF-8 JSON" % path)
    return merged(overrides)


def masked(cfg):
    out = dict(cfg)
    for k in SECRETS:
        if out.get(k):
            out[k] = "***"
    return out
