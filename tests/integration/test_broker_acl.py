"""The generated mosquitto ACL against a real mosquitto: device A can neither write, read nor
command on device B's topics, overwrite B's discovery config or send acks; anonymous and wrong
passwords are refused. The same probe with a lax ACL finds the holes, so it can fail."""
import os

import pytest

from host_tools.device import broker_auth as ba
from host_tools.testing import acl_probe
from host_tools.testing.broker import find_mosquitto

pytestmark = pytest.mark.skipif(not find_mosquitto(), reason="needs mosquitto")


def test_device_cannot_reach_another_devices_topics():
    r = acl_probe.run()
    assert r["controls_missing"] == 0, r  # allowed traffic flowed, so a 0 below means refused
    assert r["cross_device_accepted"] == 0, r
    assert r["anonymous_accepted"] == 0 and r["wrong_password_accepted"] == 0, r


def test_a_lax_acl_is_caught():
    r = acl_probe.run(acl="pattern readwrite laddvakt/v1/#\npattern readwrite homeassistant/#\n"
                          "topic readwrite #\n")
    assert r["controls_missing"] == 0, r
    assert r["writes_accepted"] == 6 and r["commands_accepted"] == 4, r
    assert r["acks_accepted"] == 2 and r["subscriptions_leaking"] > 0 and r["discovery_overwritten"] == 1, r


def test_generated_files(tmp_path):
    ba.generate(str(tmp_path), [("laddvakt-backend", "pw-Secret1"), ("homeassistant", "pw-Secret2"),
                                ("cp-1", "pw-Secret3")], port=8883,
                tls=("/etc/ca.pem", "/etc/server.pem", "/etc/server.key"))
    conf = (tmp_path / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf and "acl_file %s/acl" % tmp_path in conf
    assert "certfile /etc/server.pem" in conf
    pw = (tmp_path / "passwd").read_text()
    assert [ln.split(":")[0] for ln in pw.splitlines()] == ["laddvakt-backend", "homeassistant", "cp-1"]
    assert "pw-Secret" not in pw and "$7$" in pw  # hashed by mosquitto_passwd
    assert oct(os.stat(tmp_path / "passwd").st_mode & 0o777) == "0o600"
    acl = (tmp_path / "acl").read_text()
    assert "pattern readwrite homeassistant/+/%u/#" in acl and "pattern read laddvakt/v1/%u/ack" in acl


@pytest.mark.parametrize("name", ["a+b", "a/b", "#", "", " x", "a:b"])
def test_user_names_that_widen_the_acl_are_refused(name):
    with pytest.raises(ba.BrokerAuthError):
        ba.check_user(name)


def test_an_agent_and_the_backend_work_through_the_generated_acl(tmp_path):
    # The firmware as a device user (its Will, its subscriptions to cmd, cmd/+ and ack) and the
    # backend as its user, signing acks: everything is delivered and acked end to end.
    import secrets

    from host_tools.backend.service import Backend
    from host_tools.sim import agent as sim
    from host_tools.testing.broker import Broker

    pw = {u: secrets.token_urlsafe(12) for u in (ba.BACKEND_USER, ba.HA_USER, "cp-1")}
    key = secrets.token_bytes(32)

    def conf(d, port):
        ba.generate(d, list(pw.items()), port=port, bind="127.0.0.1", persistence=False)
        for name in ("passwd", "acl"):
            os.chmod(os.path.join(d, name), 0o644)
        with open(os.path.join(d, "mosquitto.conf")) as f:
            return f.read()

    with Broker("mosquitto", conf=conf) as br:
        data = str(tmp_path / "dev")
        scen = dict(sim.SCENARIO, tick_real_ms=1, end_s=9000, visits=[
            {"arrive_s": 1800, "leave_s": 5400, "need_wh": 5000, "max_w": 7360}])
        sim.prepare_device(data, br.port, scen, "cp-1", config={
            "mqtt_user": "cp-1", "mqtt_password": pw["cp-1"], "device_key": key.hex(), "uplink_ack": "backend"})
        backend = Backend(str(tmp_path / "b.db"), "127.0.0.1", br.port, on_receipt=lambda t: None,
                          keys={"cp-1": key}, auth=(ba.BACKEND_USER, pw[ba.BACKEND_USER]))
        backend.start()
        try:
            rc, out, err = sim.run_agent(data, timeout=120)
        finally:
            backend.stop()
    summary = sim.parse_summary(out)
    assert rc == 0 and summary, out + err
    assert summary["delivered_seq"] == summary["journal_seq"] > 3, summary
    assert summary["sessions"] == 1 and summary["uplink"]["auth_refused"] == 0, summary
    assert "subscription refused" not in out + err and "Traceback" not in err
