"""TLS to mosquitto with certificates made by the test: verified server, client certificate;
a wrong CA or host name is refused with a clear status and the agent keeps running."""
import os

import pytest

from host_tools.sim import agent as sim, backlog
from host_tools.testing import broker

SCEN = dict(backlog.DRAIN, drain_timeout_ms=3000)


@pytest.fixture(scope="module")
def tls_broker():
    with broker.tls_broker() as b:
        yield b


def _run(tmp_path, b, ca="ca.pem", host="localhost", client_cert=True, extra=None):
    data = str(tmp_path / "dev")
    cfg = {"mqtt_tls": 1, "mqtt_ca_file": os.path.join(data, ca), "mqtt_host": "127.0.0.1",
           "mqtt_tls_host": host}
    if client_cert:
        cfg.update(mqtt_cert=os.path.join(data, "client.pem"), mqtt_key=os.path.join(data, "client.key"))
    # No backend here: the broker's PUBACK is what counts as delivered.
    backlog.prepare(data, b.tls_port, 50, scenario=SCEN, uplink_ack="broker", **cfg)
    for name, text in dict(b.certs, **(extra or {})).items():
        with open(os.path.join(data, name), "w") as f:
            f.write(text)
    rc, out, err = sim.run_agent(data, timeout=60)
    assert "Traceback" not in err, out + err
    s = sim.parse_summary(out)
    assert s is not None, out + err
    return rc, s


def test_tls_with_verified_server_and_client_certificate(tmp_path, tls_broker):
    rc, s = _run(tmp_path, tls_broker)
    assert rc == 0 and s["delivered_seq"] == s["journal_seq"] == 52, s  # 50 + boot + tariff_change


def test_ca_bundle_whose_right_ca_comes_second(tmp_path, tls_broker):
    c = tls_broker.certs
    rc, s = _run(tmp_path, tls_broker, ca="bundle.pem",
                 extra={"bundle.pem": c["other-ca.pem"] + "\n# comment between blocks\n" + c["ca.pem"]})
    assert rc == 0 and s["delivered_seq"] == s["journal_seq"] == 52, s


def test_bundle_without_the_right_ca_is_refused(tmp_path, tls_broker):
    c = tls_broker.certs
    rc, s = _run(tmp_path, tls_broker, ca="bundle.pem",
                 extra={"bundle.pem": c["other-ca.pem"] + c["client.pem"]})
    assert rc == 1 and s["delivered_seq"] == 0, s
    assert "not correctly signed by the trusted CA" in s["uplink"]["error"], s


def test_wrong_ca_is_refused_with_a_clear_status(tmp_path, tls_broker):
    rc, s = _run(tmp_path, tls_broker, ca="other-ca.pem")
    assert rc == 1 and s["delivered_seq"] == 0, s
    assert s["uplink"]["error"].startswith("tls: "), s
    assert "not correctly signed by the trusted CA" in s["uplink"]["error"], s


def test_wrong_host_name_is_refused(tmp_path, tls_broker):
    rc, s = _run(tmp_path, tls_broker, host="broker.example")
    assert rc == 1 and s["delivered_seq"] == 0, s
    assert s["uplink"]["error"].startswith("tls: "), s


def test_missing_client_certificate_is_refused_by_the_broker(tmp_path, tls_broker):
    rc, s = _run(tmp_path, tls_broker, client_cert=False)
    assert rc == 1 and s["delivered_seq"] == 0 and s["uplink"]["failures"] >= 1, s
