"""The agent on the unix port with its clock from SNTP over UDP, as on a board: a local peer whose
clock runs an hour ahead gives the records their wall time and one time_sync record; with the
peer a black hole the agent runs to the end, its records unsynced (t null), nothing lost."""
import time

from host_tools.sim import agent as sim
from host_tools.testing.sntp_peer import SntpPeer
from tests.integration.mqtt_capture import Capture, validate

# Real time (100 ms ticks of 100 ms): SNTP maps its answers onto uptime, so uptime must pass
# as fast as the peer's clock for resyncs to agree.
SCENARIO = dict(sim.SCENARIO, tick_ms=100, tick_real_ms=100, end_s=6, drain_timeout_ms=5000,
                visits=[{"arrive_s": 3, "leave_s": 5, "need_wh": 1000, "max_w": 7360}])
AHEAD_S = 3600


def _run(tmp_path, port, answer):
    cap = Capture(port)
    with SntpPeer(answer=answer, offset_s=AHEAD_S) as peer:
        data = str(tmp_path / "dev")
        sim.prepare_device(data, port, SCENARIO, config={"ntp_host": "127.0.0.1:%d" % peer.port,
                                                         "ntp_retry_s": 1})
        t0 = time.time()
        rc, out, err = sim.run_agent(data, timeout=60)
        assert "Traceback" not in err, out + err
        assert cap.wait(lambda: cap.on("/recs"), 10), out + err
        time.sleep(0.5)
        recs = [r for t, p in cap.on("/recs") for r in validate(t, p)["recs"]]
    cap.stop()
    return rc, recs, peer.requests, t0


def test_records_take_wall_time_from_the_sntp_peer(mosquitto, tmp_path):
    rc, recs, requests, t0 = _run(tmp_path, mosquitto.port, True)
    assert rc == 0 and requests >= 1
    syncs = [r for r in recs if r["type"] == "time_sync"]
    # A resync (the uplink's connect may ask again) agrees within 2 s: one record.
    assert len(syncs) == 1, (syncs, requests)
    assert abs(syncs[0]["t"] - (t0 + AHEAD_S)) < 30, (syncs[0], t0)
    later = [r for r in recs if r["seq"] > syncs[0]["seq"]]
    assert any(r["type"] == "session_start" for r in later), later
    assert all(r["tq"] == "synced" and r["t"] >= syncs[0]["t"] for r in later), later


def test_black_hole_leaves_records_unsynced_and_the_run_completes(mosquitto, tmp_path):
    rc, recs, requests, _ = _run(tmp_path, mosquitto.port, False)
    assert rc == 0 and requests >= 1
    assert recs and not [r for r in recs if r["type"] == "time_sync"]
    assert all(r["t"] is None and r["tq"] == "unsynced" for r in recs)
