"""Issue 16, end-to-end delivery in the default config: a real mosquitto killed with SIGKILL and
restarted mid-drain (short variant of the bench's 10,000 records and 20 kills), with and without
broker persistence; and a broker whose ACL silently drops the device's records."""
import pytest

from host_tools.backend.service import Backend
from host_tools.sim import agent as sim, backlog
from host_tools.testing import broker_kill
from host_tools.testing.broker import Broker

N, KILLS = 2000, 5
# The bench's goal, duplicates <= 0.5 x 10,000 records over 20 restarts, per restart.
DUPS_PER_KILL = 0.5 * 10000 / 20


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("backlog-cache"))


@pytest.mark.parametrize("persistent", [False, True], ids=["no-persistence", "persistence"])
def test_broker_kill_loses_nothing_and_repairs_quickly(tmp_path, cache, persistent):
    r = broker_kill.run(str(tmp_path), N, KILLS, persistent=persistent, cache=cache)
    s = r["summary"]
    assert r["kills_mid_drain"] == KILLS, r
    assert r["missing"] == 0, r
    assert r["gap_repair_s"] is not None and r["gap_repair_s"] <= 30, r
    assert r["duplicates"] <= DUPS_PER_KILL * KILLS, r
    # Delivered means stored at the backend: the agent's cursor reached the end.
    assert s["delivered_seq"] == s["journal_seq"] == N + broker_kill.BOOT_RECS, s
    assert s["uplink"]["connects"] >= KILLS + 1, s


# Anonymous clients may do all but publish records: mosquitto PUBACKs those and drops them.
ACL = "".join("topic readwrite laddvakt/v1/+/%s\n" % t for t in ("status", "reply", "ack", "cmd/#", "connector"))
ACL += "topic read laddvakt/v1/+/recs\n"


def test_records_refused_by_acl_raise_ack_timeout(tmp_path, cache):
    n = 20
    conf = "acl_file {dir}/acl\n"
    with Broker("mosquitto", extra_conf=conf, files={"acl": ACL}) as b:
        data = str(tmp_path / "dev")
        scen = dict(backlog.DRAIN, drain_timeout_ms=4000)
        backlog.prepare(data, b.port, n, scenario=scen, cache_dir=cache, ack_timeout_ms=1000)
        backend = Backend(str(tmp_path / "db.sqlite"), "127.0.0.1", b.port).start()
        agent = backlog.start_agent(data)
        try:
            # While it runs: the retained status names the condition.
            cond = backend.wait_for(lambda: backend.status.get("sim-1", {}).get("cond"), 20)
            out, err = agent.communicate(timeout=60)
            rc = agent.returncode
            stored = backend.store.count_records()
        finally:
            if agent.poll() is None:
                agent.kill()
                agent.wait()
            backend.stop()
    assert "Traceback" not in err, out + err
    s = sim.parse_summary(out)
    assert stored == 0
    # Nothing counts as delivered; the condition is named in the summary, the retained
    # status (validated against status.json by the backend) and on the console.
    assert rc == 1 and s["delivered_seq"] == 0, s
    assert s["uplink"]["cond"] == "ack_timeout" and s["uplink"]["ack_timeouts"] == 1, s
    assert cond == ["ack_timeout"]
    assert "uplink: ack_timeout" in out + err
    # And a fault record was journaled (OtherError, info ack_timeout) after the backlog.
    assert s["journal_seq"] == n + broker_kill.BOOT_RECS + 1, s
