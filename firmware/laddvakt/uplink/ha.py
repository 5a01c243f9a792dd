# Home Assistant MQTT discovery (config ha_discovery): retained sensor configs under
# <ha_prefix>/sensor/laddvakt_<install>/<key>/config, and a retained state message the
# sensors read with value templates. Money stays integer minor units on the wire;
# the template scales it for display.
import json
import time

# key, name, unit, device_class, state_class, template
_SENSORS = (
    ("power", "Power", "W", "power", "measurement", "{{ value_json.power_w }}"),
    ("session_energy", "Session energy", "Wh", "energy", "total", "{{ value_json.session_wh }}"),
    ("total_energy", "Total energy", "Wh", "energy", "total_increasing", "{{ value_json.energy_wh }}"),
    ("status", "Status", None, None, None, "{{ value_json.status }}"),
    ("session_cost", "Session cost", "", "monetary", "total", None),
)


class Discovery:
    def __init__(self, install, cfg, state):
        self._state = state  # fn() -> the state values (power, energy, session, cost, status)
        self.node = "laddvakt_" + install
        self.prefix = cfg["ha_prefix"]
        self.state_topic = "%s/%s/state" % (cfg["topic_prefix"], cfg["device_id"])
        self.interval_ms = cfg["ha_interval_s"] * 1000
        self.cfg = cfg
        self._i = len(_SENSORS)
        self._next = 0

    def on_connect(self, up):
        self._i = 0  # (re)publish the configs: the broker may have lost its retained store
        self._next = time.ticks_ms()

    def config(self, i, up):
        key, name, unit, dclass, sclass, tpl = _SENSORS[i]
        d = {
            "name": name,
            "unique_id": "%s_%s" % (self.node, key),
            "object_id": "%s_%s" % (self.node, key),
            "state_topic": self.state_topic,
            "availability_topic": up.t_status,
            "availability_template": "{{ value_json.state }}",
            "payload_available": "online",
            "payload_not_available": "offline",
            "device": {"identifiers": [self.node], "name": self.cfg["device_id"],
                       "manufacturer": "laddvakt", "sw_version": json.loads(up.online)["fw"]},
        }
        if key == "session_cost":
            unit = self.cfg["currency"]
            tpl = "{{ (value_json.cost_minor / %d) | round(%d) }}" % (
                10 ** self.cfg["currency_minor_unit"], self.cfg["currency_minor_unit"])
        d["value_template"] = tpl
        if unit is not None:
            d["unit_of_measurement"] = unit
        if dclass:
            d["device_class"] = dclass
        if sclass:
            d["state_class"] = sclass
        return "%s/sensor/%s/%s/config" % (self.prefix, self.node, key), json.dumps(d)

    def state(self):
        return json.dumps(self._state())

    def step(self, up, now):
        if self._i < len(_SENSORS):
            topic, payload = self.config(self._i, up)
            up.link.publish(topic, payload, retain=True, qos=1)
            self._i += 1
            return True
        if self.interval_ms and time.ticks_diff(now, self._next) >= 0:
            self._next = time.ticks_add(now, self.interval_ms)
            up.link.publish(self.state_topic, self.state(), retain=True, qos=1)
            return True
        return False
