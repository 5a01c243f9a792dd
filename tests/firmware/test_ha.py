# Home Assistant discovery and controls (uplink/ha.py, uplink/ha_controls.py), without a
# broker: the configs a discovery walk publishes, and what each control does to the handlers.
import json

from fwtest import run
from laddvakt.core.config import defaults
from laddvakt.uplink.commands import CommandError
from laddvakt.uplink.ha import Discovery, node_id
from laddvakt.uplink.ha_controls import HaControls


class _Link:
    def __init__(self):
        self.out = []

    def publish(self, topic, msg, retain=False, qos=0):
        self.out.append((topic, msg, retain))


class _Up:
    t_status = "laddvakt/v1/cp-0042/status"
    online = '{"v": 1, "state": "online", "fw": "9.9.9"}'

    def __init__(self):
        self.link = _Link()


def _cfg(**kw):
    c = defaults()
    c.update({"device_id": "cp-0042", "ha_discovery": True})
    c.update(kw)
    return c


def _state():
    return {"status": "Available"}


def _walk(d):
    up = _Up()
    d.on_connect(up)
    while d.step(up, 0):
        pass
    return up.link.out


def _calls():
    seen = []

    def h(name):
        def fn(args):
            seen.append((name, args))
            if name == "limit" and args.get("current_a") == 7:
                raise CommandError("refused by the handler")
            return {}

        return fn

    table = {n: h(n) for n in ("limit", "remote_start", "remote_stop", "availability", "tariff_set")}
    return seen, table


def test_node_id_is_the_device_id_where_home_assistant_allows_it():
    assert node_id("cp-0042") == "cp-0042"
    assert node_id("Site_7-A") == "Site_7-A"
    for bad in ("cp 1", "cp.1", "cp/1", "cp+1", "laddare-å"):
        assert node_id(bad) is None, bad
    d = Discovery(_cfg(device_id="cp.1"), _state, "laddvakt unix-sim")
    assert d.error and "cp.1" in d.error
    assert _walk(d) == []  # nothing published for a device HA cannot name


def test_without_controls_every_control_config_is_removed():
    out = _walk(Discovery(_cfg(), _state, "laddvakt unix-sim"))
    plats = {}
    for topic, msg, retain in out:
        assert retain
        parts = topic.split("/")
        assert parts[0] == "homeassistant" and parts[2] == "cp-0042" and parts[4] == "config"
        if msg:
            plats[parts[1]] = plats.get(parts[1], 0) + 1
        else:
            assert parts[1] in ("number", "button", "select"), topic
    assert plats == {"sensor": 8, "binary_sensor": 2}, plats


def test_with_controls_the_device_block_and_each_platform():
    ctl = HaControls({}, "laddvakt/v1/cp-0042/ha/set/", 32, "homeassistant")
    d = Discovery(_cfg(phases=1, max_current_a=16), _state, "laddvakt esp32-devkitc", ctl)
    assert d.subscriptions() == ("laddvakt/v1/cp-0042/ha/set/+",)
    out = {t.split("/")[3]: (t.split("/")[1], json.loads(m) if m else None) for t, m, _ in _walk(d)}
    assert out["current_l2"][1] is None and out["current_l3"][1] is None  # one phase only
    dev = out["power"][1]["device"]
    assert dev["model"] == "laddvakt esp32-devkitc" and dev["sw_version"] == "9.9.9"
    assert dev["identifiers"] == ["laddvakt_cp-0042"]
    num = out["limit"][1]
    assert out["limit"][0] == "number" and (num["min"], num["max"]) == (6, 16)
    assert num["command_topic"] == "laddvakt/v1/cp-0042/ha/set/limit"
    assert out["availability"][1]["options"] == ["Operative", "Inoperative"]
    assert out["start"][0] == out["stop"][0] == "button" and "state_topic" not in out["start"][1]
    st = out["status"][1]
    assert st["device_class"] == "enum" and "Charging" in st["options"]
    assert out["total_energy"][1]["state_class"] == "total_increasing"
    assert out["power"][1]["default_entity_id"] == "sensor.laddvakt_cp_0042_power"


def test_controls_map_onto_four_handlers_only():
    seen, table = _calls()
    c = HaControls(table, "p/d/ha/set/", 32, "homeassistant")
    for key, msg in ((b"limit", b"10"), (b"start", b"PRESS"), (b"availability", b"Inoperative")):
        assert c.message(b"p/d/ha/set/" + key, msg, 0)
    assert c.run() and not c.run()
    assert ("limit", {"current_a": 10, "duration_s": 604800}) in seen
    assert ("remote_start", {"id_tag": "homeassistant"}) in seen
    assert ("availability", {"available": False}) in seen
    seen.clear()
    c.message(b"p/d/ha/set/limit", b"32", 0)
    c.message(b"p/d/ha/set/stop", b"PRESS", 0)
    c.run()
    assert seen == [("limit", {"clear": True}), ("remote_stop", {})] or \
        sorted(seen, key=str) == sorted([("limit", {"clear": True}), ("remote_stop", {})], key=str)
    assert c.accepted == 5 and c.refused == 0


def test_refused_and_retained_controls_touch_nothing():
    seen, table = _calls()
    c = HaControls(table, "p/d/ha/set/", 32, "homeassistant")
    assert not c.message(b"p/d/cmd/limit", b"10", 0)  # not a control: the inbox's
    c.message(b"p/d/ha/set/tariff_set", b"99999", 0)  # never a tariff from Home Assistant
    c.message(b"p/d/ha/set/availability", b"Inoperative", 1)  # retained
    c.message(b"p/d/ha/set/limit", b"1" * 40, 0)  # too long
    assert seen == [] and c.refused == 2 and c.retained == 1
    for key, msg in ((b"limit", b"5"), (b"limit", b"33"), (b"limit", b"lots"),
                     (b"start", b"ON"), (b"availability", b"Maybe"), (b"limit", b"7"),
                     (b"stop", b"\xff\xfe")):
        c.message(b"p/d/ha/set/" + key, msg, 0)
        c.run()
    assert c.refused == 9, c.stats()
    assert seen == [("limit", {"current_a": 7, "duration_s": 604800})]  # refused by the handler
    assert "limit" in c.last_error or "stop" in c.last_error


run(globals())
