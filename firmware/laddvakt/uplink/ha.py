# Home Assistant MQTT discovery (config ha_discovery; docs/mqtt.md, Home Assistant): one
# retained config per entity under <ha_prefix>/<platform>/<device_id>/<key>/config, built one
# at a time, and a retained state message every entity reads with a value template. The node
# id is the device id, so a broker ACL `homeassistant/+/%u/#` confines each device to its own.
# Controls (number, buttons, select) exist only with ha_controls; they arrive on
# <prefix>/<device>/ha/set/<key> (uplink/ha_controls.py). Money stays integer minor units.
import json
import time

from laddvakt.core import config

_SENSOR, _BINARY, _NUMBER, _BUTTON, _SELECT = "sensor", "binary_sensor", "number", "button", "select"
STATUSES = ("Available", "Preparing", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing",
            "Reserved", "Unavailable", "Faulted")
AVAILABILITY = ("Operative", "Inoperative")
_W, _WH, _A = "W", "Wh", "A"

# (platform, key, name, unit, device_class, state_class, value template); the
# controls come last so that without ha_controls the walk stops before them.
_ENTITIES = (
    (_SENSOR, "power", "Power", _W, "power", "measurement", "{{ value_json.power_w }}"),
    (_SENSOR, "current_l1", "Current L1", _A, "current", "measurement", "{{ value_json.current_a[0] }}"),
    (_SENSOR, "current_l2", "Current L2", _A, "current", "measurement", "{{ value_json.current_a[1] }}"),
    (_SENSOR, "current_l3", "Current L3", _A, "current", "measurement", "{{ value_json.current_a[2] }}"),
    (_SENSOR, "session_energy", "Session energy", _WH, "energy", "total", "{{ value_json.session_wh }}"),
    (_SENSOR, "session_cost", "Session cost", None, "monetary", "total", None),
    (_SENSOR, "total_energy", "Total energy", _WH, "energy", "total_increasing",
     "{{ value_json.energy_wh }}"),
    (_SENSOR, "status", "Status", None, "enum", None, "{{ value_json.status }}"),
    (_BINARY, "plugged_in", "Plugged in", None, "plug", None,
     "{{ 'ON' if value_json.plugged else 'OFF' }}"),
    (_BINARY, "charging", "Charging", None, "battery_charging", None,
     "{{ 'ON' if value_json.charging else 'OFF' }}"),
    (_NUMBER, "limit", "Current limit", _A, "current", None, "{{ value_json.limit_a }}"),
    (_BUTTON, "start", "Start charging", None, None, None, None),
    (_BUTTON, "stop", "Stop charging", None, None, None, None),
    (_SELECT, "availability", "Availability", None, None, None, "{{ value_json.availability }}"),
)
_FIRST_CONTROL = 10  # index of the first control in _ENTITIES
CONTROLS = ("limit", "start", "stop", "availability")


def node_id(device_id):
    """The discovery node id: the device id itself, which Home Assistant allows only from
    [a-zA-Z0-9_-]. None if the device id has anything else (discovery then stays off)."""
    for c in device_id:
        if not (c.isalpha() and c < "\x7f" or c.isdigit() or c in "_-"):
            return None
    return device_id


class Discovery:
    def __init__(self, cfg, state, model, controls=None):
        self._state = state  # fn() -> the state values (docs/schemas/state.json)
        self._ctl = controls  # an ha_controls.HaControls, or None without ha_controls
        self.node = node_id(cfg["device_id"])
        self.error = None
        if self.node is None:
            self.error = "ha_discovery off: device_id %r is not a Home Assistant node id " \
                "(letters, digits, '_' and '-' only)" % cfg["device_id"]
        self.prefix = cfg["ha_prefix"]
        root = config.root(cfg)
        self.state_topic = root + "state"
        self.set_prefix = root + "ha/set/"
        self.interval_ms = cfg["ha_interval_s"] * 1000
        self.controls = controls is not None
        self.max_a = cfg["max_current_a"]
        self.phases = cfg["phases"]
        self.cfg = cfg
        self.model = model
        self._ent = "laddvakt_" + cfg["device_id"].lower().replace("-", "_")
        self._dev = None
        self._i = len(_ENTITIES)
        self._next = 0

    def on_connect(self, up):
        self._i = 0 if self.node else len(_ENTITIES)  # the broker may have lost its retained store
        self._next = time.ticks_ms()

    def subscriptions(self):
        return (self.set_prefix + "+",) if self._ctl and self.node else ()

    def message(self, topic, msg, retained):
        """True if the message was a control's (taken or refused by the controls)."""
        return self._ctl is not None and self._ctl.message(topic, msg, retained)

    def _device(self, up):
        if self._dev is None:
            self._dev = {"identifiers": ["laddvakt_" + self.node], "name": self.cfg["device_id"],
                         "manufacturer": "laddvakt", "model": self.model,
                         "sw_version": json.loads(up.online)["fw"]}
        return self._dev

    def config(self, i, up):
        """(topic, payload) of entity i; payload b"" removes an entity that must not exist
        (a phase the station lacks, or a control while ha_controls is off)."""
        plat, key, name, unit, dclass, sclass, tpl = _ENTITIES[i]
        topic = "%s/%s/%s/%s/config" % (self.prefix, plat, self.node, key)
        if (i >= _FIRST_CONTROL and not self.controls) or (
                key.startswith("current_l") and int(key[-1]) > self.phases):
            return topic, b""
        uid = "%s_%s" % (self._ent, key)
        d = {"name": name, "unique_id": uid, "default_entity_id": "%s.%s" % (plat, uid),
             "availability_topic": up.t_status,
             "availability_template": "{{ value_json.state }}",
             "payload_available": "online", "payload_not_available": "offline",
             "device": self._device(up), "origin": {"name": "laddvakt"}}
        if plat != _BUTTON:
            d["state_topic"] = self.state_topic
        if i >= _FIRST_CONTROL:
            d["command_topic"] = self.set_prefix + key
        if key == "session_cost":
            unit = self.cfg["currency"]
            tpl = "{{ (value_json.cost_minor / %d) | round(%d) }}" % (
                10 ** self.cfg["currency_minor_unit"], self.cfg["currency_minor_unit"])
        elif key == "status":
            d["options"] = STATUSES
        elif plat == _NUMBER:
            d.update({"min": 6, "max": self.max_a, "step": 1, "mode": "box"})
        elif plat == _BUTTON:
            d["payload_press"] = "PRESS"
        elif plat == _SELECT:
            d["options"] = AVAILABILITY
        if tpl:
            d["value_template"] = tpl
        if unit:
            d["unit_of_measurement"] = unit
        if dclass:
            d["device_class"] = dclass
        if sclass:
            d["state_class"] = sclass
        return topic, json.dumps(d)

    def state(self):
        return json.dumps(self._state())

    def step(self, up, now):
        if self._ctl and self._ctl.run():
            self._next = now  # a control changed something: the state goes out next
            return True
        if self._i < len(_ENTITIES):
            topic, payload = self.config(self._i, up)
            up.link.publish(topic, payload, retain=True, qos=1)
            self._i += 1
            return True
        if self.node and self.interval_ms and time.ticks_diff(now, self._next) >= 0:
            self._next = time.ticks_add(now, self.interval_ms)
            up.link.publish(self.state_topic, self.state(), retain=True, qos=1)
            return True
        return False

