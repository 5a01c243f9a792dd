"""Bench area `records`: journal payload bytes of each record type in the bench's 2 h
session (tests/firmware/journal_bench.py's flash_per_session site: flat tariff, 15-minute
values, no id tag), as the agent encodes them (laddvakt/record_codec.py). See docs/bench.md."""
import json
import os
import subprocess

from host_tools.repo import BUILD, FIRMWARE, ROOT
from host_tools.toolchain.unix_port import MICROPYTHON, micropython_env

FW_TESTS = os.path.join(ROOT, "tests", "firmware")
GOALS = {"meter": 24, "session_start": 24, "session_end": 48}

_SCRIPT = """
import json
from laddvakt.app.agent import Agent
from laddvakt.billing import sign
from journal_bench import STEP_MS, Site

sizes = {}
orig = Agent.encode


def encode(agent, rtype, d):
    p = orig(agent, rtype, d)
    k = d["type"]
    sizes[k] = max(sizes.get(k, 0), len(p))
    if k in ("session_start", "meter", "session_end") and agent.journal.seq >= 4:
        sizes["_session"] = sizes.get("_session", 0) + len(p)
        if type(d.get("ocmf")) is tuple:  # the signed text's arguments (Pricing.seal): as sent
            d = dict(d, ocmf=sign.payload(*d["ocmf"]))
        sizes["_json"] = sizes.get("_json", 0) + len(json.dumps(d))
    return p


Agent.encode = encode
# Two sessions; the second one (after the boot's records) is the one summed up.
visits = [(3600, 3600 + 7200), (14400, 14400 + 7200)]
s = Site(64, {"meter_value_interval_s": 900}, visits, True)
s.run_until(visits[0][1] * 1000 + 2 * STEP_MS)
sizes["_session"] = sizes["_json"] = 0
s.run_until(visits[1][1] * 1000 + 2 * STEP_MS)
s.close()
print("records-bench " + json.dumps(sizes))
"""


def measure():
    p = subprocess.run([MICROPYTHON, "-c", _SCRIPT], cwd=FW_TESTS, capture_output=True, text=True,
                       env=micropython_env(FIRMWARE, os.path.join(BUILD, "lib"),
                                           FW_TESTS), timeout=600)
    for line in p.stdout.splitlines():
        if line.startswith("records-bench "):
            got = json.loads(line[len("records-bench "):])
            break
    else:
        raise RuntimeError("records bench failed:\n%s%s" % (p.stdout[-3000:], p.stderr[-3000:]))
    fig = {"record_bytes." + k: v for k, v in sorted(got.items()) if not k.startswith("_")}
    fig["record_bytes.session_total"] = got["_session"]
    fig["record_bytes.session_total_as_json"] = got["_json"]
    return fig


def check(fig):
    """Byte budgets of the compact encoding (issue 4); each miss is a sentence."""
    for k, goal in sorted(GOALS.items()):
        if fig["record_bytes." + k] > goal:
            yield "a %s record takes %d bytes, goal %d" % (k, fig["record_bytes." + k], goal)
