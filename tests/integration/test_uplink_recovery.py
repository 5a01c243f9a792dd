"""The uplink keeps retrying whatever the broker answers; it never gives up until a reboot."""
import json

from host_tools.sim import agent as sim
from host_tools.testing.broker import Broker

# Short scenario; the drain timeout bounds how long the agent waits for a broker.
SHORT = dict(sim.SCENARIO, end_s=1200, drain_timeout_ms=3000, tick_real_ms=1, visits=[])


def test_refused_connect_is_retried_not_fatal(tmp_path):
    # No users: every CONNECT gets CONNACK "not authorized".
    conf = "allow_anonymous false\npassword_file {dir}/passwd\n"
    with Broker("mosquitto", extra_conf=conf, files={"passwd": ""}) as b:
        data = str(tmp_path / "dev")
        sim.prepare_device(data, b.port, SHORT)
        rc, out, err = sim.run_agent(data, timeout=60)
    assert "Traceback" not in err and "Task exception" not in out + err, out + err
    summary = json.loads(out.split("laddvakt-summary ", 1)[1])
    # Undelivered records: exit 1 by design; the uplink retried with backoff.
    assert rc == 1
    assert summary["uplink_failures"] >= 2
    assert summary["uplink"]["error"] == "connect refused: code 5 (not authorized)"
    assert summary["delivered_seq"] == 0 < summary["journal_seq"]
