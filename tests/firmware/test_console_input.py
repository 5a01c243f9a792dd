# The console's input side (issue 17): line editing, `help <command>`, and `config set` refusing
# exactly what the next boot would refuse, with the same message, values parsed from text.
import asyncio
import json

from fwtest import need_heap, raises, run
from ramblock import mount_fresh, umount
from laddvakt.app.console_view import make_console
from laddvakt.console.lines import LineReader
from laddvakt.core import config


class _Bytes:
    """A stream of the bytes a terminal sent, and a poller that is ready while any are left."""

    def __init__(self, data):
        self.data = data
        self.i = 0

    def read(self, n):
        c = self.data[self.i:self.i + n]
        self.i += n
        return c

    def ipoll(self, timeout):
        return ((self, 1),) if self.i < len(self.data) else ()


def _lines(data):
    s = _Bytes(data)
    r = LineReader(s)
    out = []
    while True:
        line = r.read_ready(s)
        if line is None:
            return out
        out.append(line)


def test_escape_sequences_are_dropped_whole():
    # Up arrow (CSI A), a CSI with parameters (ctrl+right: ESC [ 1 ; 5 C), SS3 F1 (ESC O P),
    # a two-byte escape (ESC c): none leaves a tail in the line.
    assert _lines(b"\x1b[Astatus\r") == ["status"]
    assert _lines(b"sta\x1b[1;5Ctus\r") == ["status"]
    assert _lines(b"\x1bOPhelp\r\n") == ["help"]
    assert _lines(b"\x1bcfaults\r") == ["faults"]
    # A lone ESC then Enter: the next line is whole.
    assert _lines(b"\x1b\rhelp\r") == ["", "help"]


def test_backspace_and_del_erase():
    assert _lines(b"statux\x08s\r") == ["status"]
    assert _lines(b"statux\x7fs\r") == ["status"]
    assert _lines(b"\x7f\x7fhelp\r") == ["help"]  # nothing to erase: ignored
    assert _lines(b"ab\x7f\x7f\x7fjournal\n") == ["journal"]


class _Hal:
    data_dir = "/ci"


def _console():
    need_heap(32 * 4096 + 20000)
    mount_fresh(32, "/ci")
    return make_console(_Hal(), None, None, lambda s: None, "test")


def _exec(c, line):
    return asyncio.run(c.execute(line))


def test_help_for_one_command():
    c = _console()
    try:
        assert _exec(c, "help config") == (
            "usage: config get [key]|set <key> <v>|unset <key>\n"
            "  show (secrets masked), change, or remove a key\n")
        assert _exec(c, "help STATUS").startswith("usage: status\n")
        assert _exec(c, "help me") == "error: help no command 'me'; 'help' lists them\n"
        assert "  replay " in _exec(c, "help")
    finally:
        umount("/ci")


# What boot would refuse: each value, typed at the console, gets boot's own message and the file
# is not written.
_REFUSED = (
    ("currency", "sek"), ("currency", "123"), ("auth_mode", "abcd"), ("uplink_ack", "abcdef"),
    ("on_journal_full", "xxxxxxx"), ("device_id", "a+b"), ("device_id", "a/#"),
    ("device_id", "a//b"), ("topic_prefix", "laddvakt/#"), ("topic_prefix", "/laddvakt"),
    ("topic_prefix", "laddvakt/"), ("ha_discovery", "maybe"), ("mqtt_port", "70000"),
    ("mqtt_port", "x"), ("temp_stop_c", "10"), ("watchdog_s", "1"), ("mqtt_tls", "1"),
    # issue 18: a register map in the config, checked field by field as a board file's
    ("meter_map", '{"registers": {"p": {"fc": 3, "address": 1, "type": "int32", "unit": "kWh"}}}'),
    ("meter_map", '{"registers": {"u1": {"fc": 3, "address": 1, "type": "int32", "unit": "V"}}}'),
    ("meter_map", "{not json"), ("meter_map", "[1, 2]"),
)


def test_config_set_refuses_what_boot_refuses_with_the_same_message():
    c = _console()
    try:
        for key, text in _REFUSED:
            out = _exec(c, "config set %s %s" % (key, text))
            try:
                boot_msg = str(raises(config.ConfigError, config.merged, {key: config.parse(key, text)}))
            except config.ConfigError as e:  # not even parsable: the parse message is boot's type error
                boot_msg = str(e)
            assert out == "error: config %s\n" % boot_msg, (key, text, out)
            raises(OSError, open, "/ci/config.json")  # nothing written
        # And boot refuses the file as the console would have: a NUL in a topic level.
        with open("/ci/config.json", "w") as f:
            f.write(json.dumps({"device_id": "a\x00b"}))
        msg = str(raises(config.ConfigError, config.load, "/ci/config.json"))
        assert "device_id" in msg and "NUL" in msg, msg
    finally:
        umount("/ci")


def test_config_set_parses_booleans_integers_and_enums():
    c = _console()
    try:
        assert _exec(c, "config set ha_discovery true").startswith("ha_discovery = true saved")
        assert _exec(c, "config set max_current_a 16").startswith("max_current_a = 16 saved")
        assert _exec(c, "config set uplink_ack backend").startswith('uplink_ack = "backend" saved')
        assert _exec(c, "config set currency EUR").startswith('currency = "EUR" saved')
        assert _exec(c, "config set wifi_ssid My Home Net").startswith("wifi_ssid = ")
        with open("/ci/config.json") as f:
            saved = json.loads(f.read())
        assert saved == {"ha_discovery": True, "max_current_a": 16, "uplink_ack": "backend",
                         "currency": "EUR", "wifi_ssid": "My Home Net"}, saved
        assert config.load("/ci/config.json")["ha_discovery"] is True  # and boot takes it
        assert _exec(c, "config set ha_discovery off").startswith("ha_discovery = false saved")
    finally:
        umount("/ci")


_MAP = {"name": "site", "registers": {"e_imp": {"fc": 3, "address": 1792, "type": "uint32", "unit": "Wh"}}}


def test_config_set_takes_a_meter_map_as_json_and_get_shows_it():
    # issue 18: the device config carries a register map; the console sets and shows it.
    c = _console()
    try:
        out = _exec(c, "config set meter_map " + json.dumps(_MAP))
        assert out.startswith("meter_map = {") and "saved" in out, out
        assert config.load("/ci/config.json")["meter_map"] == _MAP  # and boot takes it
        got = _exec(c, "config get meter_map")
        assert got.startswith("meter_map = ") and json.loads(got.split(" = ", 1)[1]) == _MAP, got
        out = _exec(c, "config set meter_profile sdm630")
        assert out == ("error: config keys 'meter_map' and 'meter_profile' both choose the meter's "
                       "registers: set one\n"), out
    finally:
        umount("/ci")


def test_config_set_over_an_unreadable_file_keeps_it():
    c = _console()
    try:
        with open("/ci/config.json", "wb") as f:
            f.write(b'{"device_id": "\xff')
        assert _exec(c, "config set device_id cp-9").startswith('device_id = "cp-9" saved')
        with open("/ci/config.json.bad", "rb") as f:
            assert f.read() == b'{"device_id": "\xff'
        assert config.load("/ci/config.json")["device_id"] == "cp-9"
    finally:
        umount("/ci")


def test_invalid_utf8_config_is_a_config_error():
    need_heap(32 * 4096 + 20000)
    mount_fresh(32, "/ci")
    try:
        with open("/ci/config.json", "wb") as f:
            f.write(b'{"device_id": "\xff\xfe"}')
        msg = str(raises(config.ConfigError, config.load, "/ci/config.json"))
        assert "not valid UTF-8 JSON" in msg, msg
    finally:
        umount("/ci")


run(globals())
