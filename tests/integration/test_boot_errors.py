"""A wrong device config stops the agent at boot with a message naming the key."""
import json
import os

import pytest

from host_tools.sim import agent as sim


@pytest.mark.parametrize("override, message", [
    ({"mqtt_hots": "x"}, "unknown key 'mqtt_hots'"),
    ({"mqtt_port": "1883"}, "key 'mqtt_port' must be int, got str"),
    ({"mqtt_port": 70000}, "key 'mqtt_port' value 70000 out of range 1..65535"),
    ({"board": "no-such-board", "device_key": "ab" * 16}, "no board definition"),
    # Refused before the tariff is built, with the key named (issue 17).
    ({"currency": "sek"}, "key 'currency' must be an ISO 4217 code like 'SEK', got 'sek'"),
    ({"topic_prefix": "laddvakt/#"}, "key 'topic_prefix' must not hold '+', '#'"),
])
def test_bad_config_is_refused_with_a_clear_error(tmp_path, override, message):
    data = str(tmp_path / "dev")
    sim.prepare_device(data, 1883)
    path = os.path.join(data, "config.json")
    with open(path) as f:
        cfg = json.load(f)
    cfg.update(override)
    with open(path, "w") as f:
        json.dump(cfg, f)
    rc, out, err = sim.run_agent(data, timeout=30)
    assert rc == 2, out + err
    assert "laddvakt: cannot start: " in out
    assert message in out
    assert "Traceback" not in err
