"""Issue 16's broker kill test, shared by tests/integration/test_broker_kill.py (short) and
`make bench` (area delivery, full size): an agent drains a backlog through a real mosquitto that
is killed with SIGKILL and restarted on the same port `kills` times mid-drain, with the
reference backend storing what arrives. Reports what the backend is missing, how long after the
last restart it became gap-free (no new records are made meanwhile) and the duplicates."""
import os
import time

from host_tools.backend.service import Backend
from host_tools.sim import agent as sim, backlog
from host_tools.testing.broker import Broker
from host_tools.testing.tcpproxy import TcpProxy

BOOT_RECS = 2  # the agent's own records at boot: `boot` and `tariff_change`
# mosquitto with persistence, saving every second: a kill -9 restores a state up to 1 s old
# (its default autosave_interval, 1800 s, would restore nothing at all).
PERSIST = "persistence true\npersistence_location {dir}/\nautosave_interval 1\n"


def run(work, n, kills, persistent=False, ack=None, cache=None, settle_s=60.0):
    """ack None: the device's default config (uplink_ack "backend"); "broker" for the baseline.
    Returns {"missing", "gap_repair_s" (None if never gap-free within settle_s), "duplicates",
    "duplicate_ratio", "kills_mid_drain", "summary" (the agent's), "ack_timeouts"}."""
    os.makedirs(work, exist_ok=True)
    with Broker("mosquitto", extra_conf=PERSIST if persistent else "") as b, \
            TcpProxy(b.port, latency_ms=5) as proxy:
        data = os.path.join(work, "dev")
        backlog.prepare(data, proxy.port, n, cache_dir=cache, **({"uplink_ack": ack} if ack else {}))
        inst = backlog.install_id(data)
        db = os.path.join(work, "db.sqlite")
        if os.path.exists(db):
            os.remove(db)
        backend = Backend(db, "127.0.0.1", b.port, on_receipt=lambda t: None).start()
        agent = backlog.start_agent(data)
        last = n + BOOT_RECS
        try:
            mid = 0
            for k in range(1, kills + 1):
                target = k * n // (kills + 2)
                deadline = time.monotonic() + 30
                while backend.store.count_records() < target and time.monotonic() < deadline \
                        and agent.poll() is None:
                    time.sleep(0.005)
                if agent.poll() is not None:
                    break  # done early (ack mode broker counts lost records as delivered)
                b.kill_and_restart()
                mid += target <= backend.store.count_records() < last
            t_last = time.monotonic()
            gap_free = backend.wait_for(lambda: backend.store.contiguous(inst) >= last, settle_s)
            repair_s = round(time.monotonic() - t_last, 1) if gap_free else None
            out, err = agent.communicate(timeout=settle_s + 120)
            if "Traceback" in err:
                raise RuntimeError("agent failed:\n" + out + err)
            summary = sim.parse_summary(out)
            seqs = {r["seq"] for r in backend.store.query(
                "SELECT seq FROM records WHERE install = ?", (inst,))}
        finally:
            if agent.poll() is None:
                agent.kill()
                agent.wait()
            backend.stop()
    have = len(seqs & set(range(1, last + 1)))
    dups = backend.received - len(seqs)
    return {"missing": last - have, "gap_repair_s": repair_s, "duplicates": dups,
            "duplicate_ratio": round(dups / float(last), 3), "kills_mid_drain": mid,
            "summary": summary, "ack_timeouts": (summary or {}).get("uplink", {}).get("ack_timeouts")}
