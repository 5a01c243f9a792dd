"""Delivery through a network partition, a lost batch and lost acks: nothing lost, every
record stored once (broker kills: test_broker_kill.py). The agent runs under micropython
against real mosquitto."""
import time

import pytest

from host_tools.sim import agent as sim, backlog
from host_tools.backend.service import Backend
from host_tools.testing.broker import Broker
from host_tools.testing.tcpproxy import TcpProxy


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("backlog-cache"))


# The agent's own records at boot: `boot` and `tariff_change` (the pricing in force).
BOOT_RECS = 2

def _finish(agent, timeout=120):
    out, err = agent.communicate(timeout=timeout)
    assert "Traceback" not in err, out + err
    s = sim.parse_summary(out)
    assert s is not None, out + err
    return s, out + err


def _assert_all_once(backend, inst, last):
    seqs = [r["seq"] for r in backend.store.records(inst)]
    assert seqs == list(range(1, last + 1)), "missing %s" % sorted(set(range(1, last + 1)) - set(seqs))[:20]


def test_partition_loses_nothing_and_link_recovers(tmp_path, cache):
    n = 3000
    with Broker("mosquitto") as b, TcpProxy(b.port, latency_ms=20) as proxy:
        data = str(tmp_path / "dev")
        # Ack mode broker, deliberately: this checks the MQTT 3.1.1 §4.4 resend of unacked
        # batches with their ids (in ack mode backend the agent resends from the backend's
        # floor instead: test_broker_kill.py).
        backlog.prepare(data, proxy.port, n, cache_dir=cache, mqtt_window=2, batch_max_bytes=2560,
                        uplink_ack="broker")
        inst = backlog.install_id(data)
        backend = Backend(str(tmp_path / "db.sqlite"), "127.0.0.1", b.port).start()
        agent = backlog.start_agent(data)
        try:
            assert backend.wait_for(lambda: backend.store.count_records() >= 300, 20)
            before = proxy.accepted
            proxy.set_mode("blackhole")  # half-open: TCP stays up, nothing gets through
            # The PINGRESP watchdog (a probe after 1 s without acks, 2 s to answer) must
            # find the link dead by itself and connect again.
            deadline = time.monotonic() + 8
            while proxy.accepted == before and time.monotonic() < deadline:
                time.sleep(0.05)
            assert proxy.accepted > before, "half-open link not detected"
            assert agent.poll() is None
            proxy.set_mode("drop")  # then resets
            time.sleep(0.5)
            proxy.set_mode("pass")
            s, log = _finish(agent, 90)
            assert backend.wait_for(lambda: backend.store.count_records() >= s["journal_seq"], 10)
            _assert_all_once(backend, inst, n + BOOT_RECS)
        finally:
            if agent.poll() is None:
                agent.kill()
            backend.stop()
    assert s["delivered_seq"] == s["journal_seq"] == n + BOOT_RECS, log
    assert s["uplink"]["failures"] >= 1 and s["uplink"]["resent"] >= 1, log


def test_lost_batch_is_mended_by_a_replay(tmp_path, cache):
    n = 1000
    with Broker("mosquitto") as b:
        data = str(tmp_path / "dev")
        # The device would resend on its own only after a minute: the replay must do it.
        backlog.prepare(data, b.port, n, cache_dir=cache, uplink_ack="backend", ack_timeout_ms=60000,
                        scenario=dict(backlog.DRAIN, drain_timeout_ms=20000))
        inst = backlog.install_id(data)
        backend = Backend(str(tmp_path / "db.sqlite"), "127.0.0.1", b.port)
        backend.lose_batches = {3}
        backend.start()
        agent = backlog.start_agent(data)
        try:
            s, log = _finish(agent, 60)
            _assert_all_once(backend, inst, n + BOOT_RECS)
        finally:
            if agent.poll() is None:
                agent.kill()
            backend.stop()
    assert backend.replays >= 1
    assert s["delivered_seq"] == s["journal_seq"] == n + BOOT_RECS, log


def test_lost_acks_are_mended_by_resending_from_the_cursor(tmp_path, cache):
    n = 1000
    with Broker("mosquitto") as b:
        data = str(tmp_path / "dev")
        backlog.prepare(data, b.port, n, cache_dir=cache, uplink_ack="backend", ack_timeout_ms=1000,
                        scenario=dict(backlog.DRAIN, drain_timeout_ms=20000))
        inst = backlog.install_id(data)
        backend = Backend(str(tmp_path / "db.sqlite"), "127.0.0.1", b.port)
        backend.lose_acks = 10 ** 6  # every ack is lost until we say
        backend.start()
        agent = backlog.start_agent(data)
        try:
            assert backend.wait_for(lambda: backend.store.count_records() > 0, 20)
            time.sleep(2.5)  # two ack timeouts: the device resends from its floor, a batch at a time
            assert agent.poll() is None  # nothing acked: the device keeps it all
            held = backend.store.count_records()
            assert 0 < held < n // 2, held  # bounded: it does not run ahead of the acks
            assert backend.received > held  # it did send again
            backend.lose_acks = 0
            s, log = _finish(agent, 60)
            # ... and the two fault records of ack_timeout, raised and cleared.
            _assert_all_once(backend, inst, n + BOOT_RECS + 2)
            faults = [r for r in backend.store.records(inst) if r["type"] == "fault"]
        finally:
            if agent.poll() is None:
                agent.kill()
            backend.stop()
    assert [(f["code"], f["active"], f["info"]) for f in faults] == [
        ("OtherError", True, "ack_timeout"), ("OtherError", False, "ack_timeout")], faults
    # The cursor moved only on the backend's acks, which came after the device sent again;
    # the silence raised ack_timeout, the first ack that moved the floor cleared it.
    assert s["delivered_seq"] == s["journal_seq"] == n + BOOT_RECS + s["uplink"]["ack_timeouts"] * 2, log
    assert s["uplink"]["ack_timeouts"] == 1 and s["uplink"]["cond"] is None, log


def test_failed_dns_is_retried(tmp_path):
    data = str(tmp_path / "dev")
    scen = dict(backlog.DRAIN, end_s=600, tick_real_ms=20, drain_timeout_ms=500)
    backlog.prepare(data, 1883, 5, scenario=scen, mqtt_host="no-such-broker.invalid")
    rc, out, err = sim.run_agent(data, timeout=60)
    assert "Traceback" not in err, out + err
    s = sim.parse_summary(out)
    assert rc == 1 and s["uplink"]["failures"] >= 1, out + err
    assert s["uplink"]["error"].startswith("dns:"), s
