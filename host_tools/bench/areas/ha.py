"""Bench area `ha`: what Home Assistant sees of one charger. The firmware's own discovery
(uplink/ha.py with uplink/ha_controls.py, a three-phase station with ha_controls on) runs on the
unix port and publishes its configs into a recording link; the figures count the configs it
published with a body, by platform (`ha_entities.<platform>`), and the largest one's bytes
(`ha_config_bytes_max`, which the uplink's send buffer must hold). `check` fails a run where a
platform the issue asks for (sensor, binary_sensor, number, button or switch, select) is
missing. See docs/bench.md."""
import json
import subprocess

from host_tools.repo import FIRMWARE
from host_tools.toolchain.unix_port import MICROPYTHON, micropython_env

PLATFORMS = ("sensor", "binary_sensor", "number", "select")

_SCRIPT = """
import json
from laddvakt.core.config import defaults
from laddvakt.uplink.ha import Discovery
from laddvakt.uplink.ha_controls import HaControls


class Link:
    def __init__(self):
        self.out = []

    def publish(self, topic, msg, retain=False, qos=0):
        self.out.append((topic, len(msg)))


class Up:
    t_status = "laddvakt/v1/cp-0042/status"
    online = '{"v": 1, "state": "online", "fw": "0"}'
    link = Link()


cfg = defaults()
cfg.update({"device_id": "cp-0042", "ha_discovery": True, "ha_controls": True})
ctl = HaControls({}, "laddvakt/v1/cp-0042/ha/set/", cfg["max_current_a"], cfg["ha_id_tag"])
d = Discovery(cfg, lambda: {}, "laddvakt bench", ctl)
up = Up()
d.on_connect(up)
while d.step(up, 0):
    pass
by = {}
big = 0
for topic, n in up.link.out:
    if n:
        p = topic.split("/")[1]
        by[p] = by.get(p, 0) + 1
        big = max(big, n)
print(json.dumps({"by": by, "big": big}))
"""


def measure():
    p = subprocess.run([MICROPYTHON, "-c", _SCRIPT], capture_output=True, text=True, timeout=120,
                       env=micropython_env(FIRMWARE))
    if p.returncode:
        raise RuntimeError("ha bench failed:\n" + p.stdout + p.stderr)
    got = json.loads(p.stdout.strip().splitlines()[-1])
    out = {"ha_entities.%s" % k: v for k, v in sorted(got["by"].items())}
    out["ha_config_bytes_max"] = got["big"]
    return out


def check(got):
    missing = [p for p in PLATFORMS if not got.get("ha_entities." + p)]
    if not (got.get("ha_entities.button") or got.get("ha_entities.switch")):
        missing.append("button or switch")
    return ["no Home Assistant %s entity" % p for p in missing]
