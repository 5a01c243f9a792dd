"""Home Assistant against a live agent and a real mosquitto: every discovery config is valid
for its platform (docs/schemas/ha_discovery.json), and each control works through the broker."""
import json
import os

from jsonschema import Draft202012Validator

from tests.integration.mqtt_capture import Capture, validate
from tests.integration.test_command_fuzz import LONG
from tests.integration.test_uplink_features import _with_config

_SCHEMA = json.load(open(os.path.join(os.path.dirname(__file__), "..", "..", "docs", "schemas",
                                      "ha_discovery.json")))
SET = "laddvakt/v1/sim-1/ha/set/"
# One long visit, so the EV stays plugged in while the controls act.
STAY = dict(LONG, visits=[{"arrive_s": 100, "leave_s": 10 ** 6, "need_wh": 900000, "max_w": 7360}])


def check_config(topic, payload):
    """The platform's discovery schema, from the topic <prefix>/<platform>/<node>/<key>/config."""
    plat = topic.split("/")[1]
    v = Draft202012Validator(dict(_SCHEMA, **{"$ref": "#/$defs/" + plat}))
    errs = sorted(str(e.message) for e in v.iter_errors(json.loads(payload)))
    assert not errs, (topic, errs)
    return plat


def _configs(ha):
    return {t.split("/")[3]: (t, p) for t, p in ha.on("/config")}


def _last_state(cap):
    s = cap.on("/state")
    return validate(*s[-1]) if s else {}


def _until(cap, pred, timeout=20):
    return cap.wait(lambda: pred(_last_state(cap)), timeout)


def test_discovery_configs_are_valid_and_each_control_acts(mosquitto, tmp_path):
    cap = Capture(mosquitto.port)
    ha = Capture(mosquitto.port, "homeassistant/#")
    agent = _with_config(tmp_path, mosquitto.port, STAY, ha_discovery=True, ha_controls=True,
                         ha_interval_s=1, auth_mode="list", auth_list="")
    try:
        assert ha.wait(lambda: len(_configs(ha)) >= 14, 15), _configs(ha).keys()
        plats = {}
        for t, p in _configs(ha).values():
            assert t.split("/")[2] == "sim-1", t  # the node id is the device id
            plat = check_config(t, p)
            plats[plat] = plats.get(plat, 0) + 1
        assert plats == {"sensor": 8, "binary_sensor": 2, "number": 1, "button": 2, "select": 1}
        # auth_mode list with no tags: the EV waits plugged in until Home Assistant starts it.
        assert _until(cap, lambda s: s.get("plugged") and s["session"] is None), _last_state(cap)
        cap.publish(SET + "limit", b"10")
        assert _until(cap, lambda s: s["limit_a"] == 10), _last_state(cap)
        cap.publish(SET + "limit", b"32")  # the station's maximum clears the limit
        assert _until(cap, lambda s: s["limit_a"] == 32), _last_state(cap)
        cap.publish(SET + "start", b"PRESS")
        assert _until(cap, lambda s: s["session"] and s["charging"]), json.dumps(_last_state(cap))

        # Retained, unknown or tariff-shaped messages change nothing.
        cap.publish(SET + "availability", b"Inoperative", retain=True)
        cap.publish(SET + "tariff_set", b'{"price_minor_per_kwh": 9999999}')
        cap.publish(SET + "limit", b"3")
        n = len(cap.on("/state"))
        assert cap.wait(lambda: len(cap.on("/state")) >= n + 3, 10)
        s = _last_state(cap)
        assert s["availability"] == "Operative" and s["charging"] and s["limit_a"] == 32, s

        cap.publish(SET + "stop", b"PRESS")
        assert _until(cap, lambda s: s["session"] is None and not s["charging"] and s["plugged"])
        cap.publish(SET + "availability", b"Inoperative")
        assert _until(cap, lambda s: s["availability"] == "Inoperative"), json.dumps(_last_state(cap))
        cap.publish(SET + "availability", b"Operative")
        assert _until(cap, lambda s: s["availability"] == "Operative")
        assert agent.poll() is None
    finally:
        agent.kill()
        agent.communicate()
        cap.stop()
        ha.stop()


def test_controls_stay_off_unless_configured(mosquitto, tmp_path):
    cap = Capture(mosquitto.port)
    ha = Capture(mosquitto.port, "homeassistant/#")
    agent = _with_config(tmp_path, mosquitto.port, STAY, ha_discovery=True, ha_interval_s=1)
    try:
        assert ha.wait(lambda: len(_configs(ha)) >= 14, 15)
        live = {k: check_config(t, p) for k, (t, p) in _configs(ha).items() if p}
        removed = {k for k, (t, p) in _configs(ha).items() if not p}
        assert removed == {"limit", "start", "stop", "availability"}, removed
        assert set(live.values()) == {"sensor", "binary_sensor"}
        assert _until(cap, lambda s: s.get("charging"))
        cap.publish(SET + "stop", b"PRESS")
        cap.publish(SET + "limit", b"6")
        n = len(cap.on("/state"))
        assert cap.wait(lambda: len(cap.on("/state")) >= n + 3, 10)
        s = _last_state(cap)
        assert s["charging"] and s["limit_a"] == 32, s
        late = Capture(mosquitto.port, "homeassistant/#")  # retained: a late HA sees them all
        try:
            assert late.wait(lambda: len([1 for _, p in late.on("/config") if p]) == 10, 5)
        finally:
            late.stop()
    finally:
        agent.kill()
        agent.communicate()
        cap.stop()
        ha.stop()
