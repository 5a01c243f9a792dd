"""A device with a backlog: a data directory whose journal already holds N undelivered
records, as after a week offline. Used by the uplink tests and `make bench` (area uplink).

The journal is written by the firmware's own Journal under `micropython`, so the frames
are exactly what a device would have on flash.
"""
import json
import os
import shutil
import subprocess

from host_tools.sim import agent

_PREFILL = """
import os
from laddvakt.core import ident as identity
from laddvakt.journal import records
from laddvakt.journal import frame as jf
from laddvakt.core.clock import Clock
from laddvakt.journal.store import Journal
from laddvakt.journal.codec import Codec
d = %(data)r
idn = identity.load_and_count_boot(d + "/ident.json", os.urandom)
j = Journal(d + "/journal", %(seg)d, %(max)d).open()
clock = Clock()
clock.sync(0, 1795154400)
codec = Codec(idn.install)
for i in range(%(n)d):
    rec = records.meter(clock, i * 10000, idn, None, 1254300 + i, 7360)
    j.append(jf.TYPE_METER, codec.encode(jf.TYPE_METER, rec, j.seq + 1))
j.close()
print(j.seq)
"""

# Scenario: no visits and a short virtual run, so the agent only drains; it exits
# once drained (or at drain_timeout_ms).
DRAIN = dict(agent.SCENARIO, end_s=60, tick_real_ms=0, drain_timeout_ms=120000, visits=[])


def config_overrides(**kw):
    cfg = {"journal_segment_bytes": 65536, "journal_max_bytes": 8 * 1024 * 1024,
           "mqtt_timeout_ms": 2000, "mqtt_keepalive_s": 4}
    cfg.update(kw)
    return cfg


def prepare(data_dir, port, n, scenario=DRAIN, cache_dir=None, **cfg):
    """A fresh device dir for the broker at port, with n journaled records. The prefilled
    journal is cached in cache_dir (keyed by n) so repeated runs skip writing it."""
    agent.prepare_device(data_dir, port, scenario, ack=None)  # the default unless cfg names one
    over = config_overrides(**cfg)
    with open(os.path.join(data_dir, "config.json")) as f:
        conf = json.load(f)
    conf.update(over)
    with open(os.path.join(data_dir, "config.json"), "w") as f:
        json.dump(conf, f, indent=1)
    cached = os.path.join(cache_dir, "backlog-%d" % n) if cache_dir else None
    if cached and os.path.isdir(cached):
        for name in ("journal", "ident.json"):
            src = os.path.join(cached, name)
            dst = os.path.join(data_dir, name)
            (shutil.copytree if os.path.isdir(src) else shutil.copy)(src, dst)
        return
    script = _PREFILL % {"data": data_dir, "n": n, "seg": over["journal_segment_bytes"],
                         "max": over["journal_max_bytes"]}
    cmd, env = agent.agent_command(data_dir)
    p = subprocess.run([cmd[0], "-c", script], env=env, capture_output=True, text=True, timeout=120)
    if p.returncode != 0 or p.stdout.split()[-1:] != [str(n)]:
        raise RuntimeError("backlog prefill failed:\n" + p.stdout + p.stderr)
    if cached:
        os.makedirs(cached, exist_ok=True)
        shutil.copytree(os.path.join(data_dir, "journal"), os.path.join(cached, "journal"))
        shutil.copy(os.path.join(data_dir, "ident.json"), os.path.join(cached, "ident.json"))


def install_id(data_dir):
    with open(os.path.join(data_dir, "ident.json")) as f:
        return json.load(f)["install"]


def start_agent(data_dir):
    """The agent as a subprocess (stdout/stderr piped, text)."""
    cmd, env = agent.agent_command(data_dir)
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
