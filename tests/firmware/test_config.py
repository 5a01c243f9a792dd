# Device config: defaults, validated overrides, errors that name the key, secrets masked.
import json

from fwtest import raises, run, write_file
from ramblock import mount_fresh, umount
from laddvakt.core import config
from laddvakt.core.config import ConfigError


def test_defaults_cover_schema():
    d = config.defaults()
    assert sorted(d) == sorted(config.schema())
    assert d["mqtt_port"] == 1883
    assert d["currency"] == "SEK"
    assert d["journal_segment_bytes"] == 16384
    for key, (typ, default, _lo, _hi) in config.rows():
        assert type(d[key]) is typ, key
        config.validate({key: default})  # every default is itself valid


def test_meter_map_is_checked_as_a_board_map_with_the_field_named():
    # issue 18: the device config's register map, by the same rules as a board file's
    # (meters/mapdef.py, docs/schemas/meter_map.json); {} is "no map".
    good = {"name": "x", "registers": {"p": {"fc": 4, "address": 12, "type": "float32", "unit": "W"}}}
    assert config.merged({"meter_map": good})["meter_map"] == good
    assert config.defaults()["meter_map"] == {}
    cases = (
        ({"registers": {"p": {"fc": 5, "address": 1, "type": "int32", "unit": "W"}}},
         "key 'meter_map': registers.p.fc must be an integer 3..4, not 5"),
        ({"registers": {"e_imp": {"fc": 3, "address": 1, "type": "int32", "unit": "W"}}},
         "key 'meter_map': registers.e_imp.unit must be one of "),
        ({"registers": {"u1": {"fc": 3, "address": 1, "type": "int32", "unit": "V"}}},
         "key 'meter_map': registers needs e_imp or p"),
        ({"registers": {"p": {"fc": 3, "address": 1, "type": "int32", "unit": "W"}}, "baud": 1},
         "key 'meter_map': map.baud is not a known field"),
        ("sdm630", "key 'meter_map' must be dict, got str"),
    )
    for m, want in cases:
        msg = _err({"meter_map": m})
        assert msg.startswith(want), (m, msg)
    msg = _err({"meter_map": good, "meter_profile": "sdm630"})
    assert msg == "keys 'meter_map' and 'meter_profile' both choose the meter's registers: set one", msg
    assert config.parse("meter_map", '{"registers": {}}') == {"registers": {}}
    assert "must be a JSON object" in str(raises(ConfigError, config.parse, "meter_map", "{x"))


def test_valid_override_merges():
    cfg = config.merged({"mqtt_port": 8883, "device_id": "garage", "price_minor_per_kwh": 0})
    assert cfg["mqtt_port"] == 8883
    assert cfg["device_id"] == "garage"
    assert cfg["price_minor_per_kwh"] == 0
    assert cfg["mqtt_host"] == "127.0.0.1"  # untouched keys keep their defaults
    assert config.merged({}) == config.defaults()


def test_range_bounds_inclusive():
    config.validate({"mqtt_port": 1, "mqtt_keepalive_s": 0, "currency": "EUR"})
    config.validate({"mqtt_port": 65535, "device_id": "x" * 64, "mqtt_user": ""})


def _err(values):
    return str(raises(ConfigError, config.merged, values))


def test_unknown_key_named():
    msg = _err({"mqtt_prot": 1883})
    assert "mqtt_prot" in msg and "unknown" in msg


def test_wrong_types_named():
    msg = _err({"mqtt_port": "1883"})
    assert "mqtt_port" in msg and "int" in msg
    # JSON true is a bool, and bool is an int subclass: still refused.
    msg = _err({"mqtt_port": True})
    assert "mqtt_port" in msg and "bool" in msg
    msg = _err({"device_id": 7})
    assert "device_id" in msg and "str" in msg
    msg = _err({"price_minor_per_kwh": 2.5})
    assert "price_minor_per_kwh" in msg
    msg = _err({"mqtt_host": None})
    assert "mqtt_host" in msg


def test_out_of_range_int_named():
    msg = _err({"mqtt_port": 0})
    assert "mqtt_port" in msg and "range" in msg
    msg = _err({"mqtt_port": 65536})
    assert "mqtt_port" in msg
    msg = _err({"sample_interval_ms": -1})
    assert "sample_interval_ms" in msg


def test_string_length_named():
    msg = _err({"device_id": "x" * 65})
    assert "device_id" in msg and "length" in msg
    msg = _err({"device_id": ""})
    assert "device_id" in msg
    msg = _err({"currency": "SEKK"})
    assert "currency" in msg


def test_not_an_object():
    raises(ConfigError, config.merged, [1, 2])
    raises(ConfigError, config.merged, "mqtt_port")
    raises(ConfigError, config.merged, None)


def test_load_from_flash():
    mount_fresh(16, "/cfg1")
    try:
        assert config.load("/cfg1/config.json") == config.defaults()  # missing file
        write_file("/cfg1/config.json", json.dumps({"device_id": "site-7", "mqtt_port": 1884}))
        cfg = config.load("/cfg1/config.json")
        assert cfg["device_id"] == "site-7" and cfg["mqtt_port"] == 1884
        assert cfg["board"] == "unix-sim"
        write_file("/cfg1/config.json", '{"mqtt_port": 1884,')
        msg = str(raises(ConfigError, config.load, "/cfg1/config.json"))
        assert "/cfg1/config.json" in msg and "JSON" in msg
        write_file("/cfg1/config.json", '{"mqtt_port": 99999}')
        assert "mqtt_port" in str(raises(ConfigError, config.load, "/cfg1/config.json"))
    finally:
        umount("/cfg1")


def test_masked_hides_secrets():
    secret_m, secret_w = "hunter2-mqtt", "hunter2-wifi"
    cfg = config.merged({"mqtt_password": secret_m, "wifi_password": secret_w, "mqtt_user": "u"})
    m = config.masked(cfg)
    assert m["mqtt_password"] == "***" and m["wifi_password"] == "***"
    assert m["mqtt_user"] == "u" and m["device_id"] == cfg["device_id"]
    text = json.dumps(m) + repr(m)
    assert secret_m not in text and secret_w not in text
    # masking is a copy: the live config keeps the real secret
    assert cfg["mqtt_password"] == secret_m


def test_errors_never_echo_secrets():
    for key in config.SECRETS:
        secret = "s3cret-" + "x" * 200
        msg = str(raises(ConfigError, config.merged, {key: secret}))
        assert key in msg and "s3cret" not in msg


def test_smallest_batch_holds_the_largest_record():
    # The uplink sends a record alone if it must; it must never be unsendable.
    from laddvakt.journal import frame as jf

    head = len('{"v":1,"dev":"","install":"","recs":[{"seq":4294967295,]}') + 64 + 12
    assert config.spec("batch_max_bytes")[2] >= jf.MAX_PAYLOAD + head


def test_a_real_board_needs_a_device_key():
    # Commands and acks are authenticated with it (issue 16): a keyless board is refused at
    # boot, while the unix simulation boards may run without one.
    e = raises(ConfigError, config.merged, {"board": "esp32-wrover"})
    assert "device_key" in str(e) and "provision" in str(e)
    assert config.merged({"board": "esp32-wrover", "device_key": "ab" * 16})["board"] == "esp32-wrover"
    assert config.merged({"board": "unix-modbus"})["device_key"] == ""


run(globals())
