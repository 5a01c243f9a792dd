"""The backend's own billing checks on sessions the power-cut scenario interrupted: the real
agent (under micropython, tests/firmware/agent_scenario.py) loses power at every block write,
plain and torn, goes on after boot (a tariff change in between) or ends the session PowerLoss.
The backend's verifier (host_tools/backend/billing.py) checks the signature of every session of
every cut; for sessions that went on across a cut or ended PowerLoss, the backend also stores
the records and recomputes the cost from them: each must be ok and valid."""
import json
import os
import subprocess

import pytest

from host_tools.backend import billing
from host_tools.backend.store import Store
from host_tools.repo import BUILD, FIRMWARE, ROOT
from host_tools.toolchain.unix_port import MICROPYTHON, micropython_env

HERE = os.path.dirname(os.path.abspath(__file__))
FW_TESTS = os.path.join(ROOT, "tests", "firmware")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    p = subprocess.run([MICROPYTHON, os.path.join(HERE, "mp_powercut_driver.py")],
                       capture_output=True, text=True, cwd=str(tmp_path_factory.mktemp("pc")), timeout=300,
                       env=micropython_env(FIRMWARE, os.path.join(BUILD, "lib"), FW_TESTS))
    assert p.returncode == 0, p.stdout + p.stderr
    return [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def key():
    # The device key the scenario provisions (agent_scenario.KEY), read from its source so
    # this CPython test does not import micropython-only modules.
    with open(os.path.join(FW_TESTS, "agent_scenario.py")) as f:
        for line in f:
            if line.startswith("KEY = "):
                return bytes.fromhex(line.split('"')[1])
    raise AssertionError("agent_scenario.KEY not found")


def test_every_cut_point_was_run(runs):
    for torn in (False, True):
        ks = [r["k"] for r in runs if r["torn"] is torn]
        # Compact records make few block writes (175 when this was written): this only guards
        # against a scenario that stopped writing.
        assert len(ks) > 100 and ks == list(range(len(ks))), (torn, len(ks))


def test_every_session_of_every_cut_is_signed_and_verifies(runs, key):
    for r in runs:
        # Three sessions, or two when the cut came before the third began.
        assert len(r["ends"]) >= 2, (r["k"], r["torn"], len(r["ends"]))
        for end in r["ends"]:
            assert billing.verify_signature(end, key) == "valid", (r["k"], r["torn"], end["sid"])


def test_interrupted_sessions_recompute_and_verify(runs, key, tmp_path):
    picked = [r for r in runs if "kind" in r]
    assert sorted(r["kind"] for r in picked) == ["powerloss", "resumed_split", "resumed_split"], \
        [(r["k"], r["kind"]) for r in picked]
    for i, run in enumerate(picked):
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
