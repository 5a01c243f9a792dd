"""The backend's own billing checks on sessions the power-cut scenario interrupted: the real
agent (under micropython, tests/firmware/agent_scenario.py) loses power mid-session, goes on
after boot (a tariff change in between) or ends the session PowerLoss; the backend stores
the records, recomputes every session from them and verifies its signature
(host_tools/backend/billing.py): each must be ok and valid."""
import json
import os
import subprocess
import sys

from host_tools.backend import billing
from host_tools.backend.store import Store
from host_tools.sim import micropython_env

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FW_TESTS = os.path.join(ROOT, "tests", "firmware")


def _runs(tmp_path):
    p = subprocess.run([os.path.join(os.path.dirname(sys.executable), "micropython"),
                        os.path.join(HERE, "mp_powercut_driver.py")],
                       capture_output=True, text=True, cwd=str(tmp_path), timeout=240,
                       env=micropython_env(os.path.join(ROOT, "firmware"), os.path.join(ROOT, "build", "lib"),
                                           FW_TESTS))
    assert p.returncode == 0, p.stdout + p.stderr
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


def test_interrupted_sessions_recompute_and_verify(tmp_path):
    key = bytes.fromhex(_scenario_key())
    runs = _runs(tmp_path)
    assert sorted(r["kind"] for r in runs) == ["powerloss", "resumed_split", "resumed_split"], \
        [(r["k"], r["kind"]) for r in runs]
    for i, run in enumerate(runs):
        store = Store(tmp_path / ("b%d.db" % i))
        recs = run["recs"]
        for j in range(0, len(recs), 20):
            store.ingest_batch({"v": 1, "dev": "sim-1", "install": run["install"], "recs": recs[j:j + 20]})
        got = billing.check_pending(store, keys={"sim-1": key})
        ends = [d for d in recs if d["type"] == "session_end"]
        assert len(got) == len(ends) >= 2, (run["k"], got)
        for c in got:
            assert (c["status"], c["signature"]) == ("ok", "valid"), (run["k"], run["kind"], c)
        store.close()


def _scenario_key():
    # The device key the scenario provisions (agent_scenario.KEY), read from its source so
    # this CPython test does not import micropython-only modules.
    with open(os.path.join(FW_TESTS, "agent_scenario.py")) as f:
        for line in f:
            if line.startswith("KEY = "):
                return line.split('"')[1]
    raise AssertionError("agent_scenario.KEY not found")
