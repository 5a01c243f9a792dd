"""The firmware's command schemas and validator agree with docs/schemas and jsonschema."""
import json
import os
import random
import subprocess


from host_tools.backend.store import SCHEMA_DIR, load_validator
from host_tools.repo import ROOT
from host_tools.toolchain.unix_port import MICROPYTHON, micropython_env

# Every command the firmware registers has a schema file; each is checked here.
NAMES = tuple(sorted(p.name[4:-5] for p in SCHEMA_DIR.glob("cmd-*.json")))
_META = ("$schema", "$id", "title", "description")

def _props(schema):
    out = set()
    for k, v in schema.get("properties", {}).items():
        out.add(k)
        out |= _props(v)
    if isinstance(schema.get("items"), dict):
        out |= _props(schema["items"])
    return out


_RUN = """
import sys, json
from laddvakt.uplink.commands import schema as get, schema_names
from laddvakt.uplink.schema import check
if sys.argv[-1] == "dump":
    print(json.dumps({n: get(n) for n in schema_names()}))
else:
    for line in sys.stdin:
        name, doc = json.loads(line)
        print("1" if check(get(name), doc) is None else "0")
"""


def _mp(arg, stdin=""):
    path = os.path.join(ROOT, "build", "schema_check.py")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(_RUN)
    p = subprocess.run([MICROPYTHON, path, arg], input=stdin, capture_output=True, text=True,
                       env=micropython_env(os.path.join(ROOT, "firmware")), timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_firmware_schemas_equal_the_documented_ones():
    fw = json.loads(_mp("dump"))
    assert sorted(fw) == list(NAMES)
    for name in NAMES:
        doc = json.loads((SCHEMA_DIR / ("cmd-%s.json" % name)).read_text())
        for k in _META:
            doc.pop(k, None)
        assert fw[name] == doc, name


# Every property name some command schema knows, and a stranger.
_KEYS = sorted({k for n in NAMES for k in _props(json.loads((SCHEMA_DIR / ("cmd-%s.json" % n)).read_text()))}
               | {"x", "cmd"})
_ATOMS = [None, True, False, 0, 1, -1, 1.0, 2.5, 20, 21, 60, 4294967296, -2 ** 40, "", "A", "W", "x" * 37,
          "x" * 65, "TxProfile", "PowerSwitchFailure", "2026-11-21T06:00:00Z", "now"]


def _value(rnd, depth=0):
    r = rnd.random()
    if depth < 2 and r < 0.15:
        return [_value(rnd, depth + 1) for _ in range(rnd.randrange(4))]
    if depth < 2 and r < 0.3:
        return _doc(rnd, depth + 1)
    return rnd.choice(_ATOMS)


def _doc(rnd, depth=0):
    return {rnd.choice(_KEYS): _value(rnd, depth) for _ in range(rnd.randrange(5))}


def _cases(n, seed=5):
    # Seeded, so a failure reproduces; mostly objects with the schemas' own keys, which is
    # where the validators could disagree. (Hypothesis took minutes to draw this many.)
    rnd = random.Random(seed)
    names = list(NAMES)
    out = []
    for _ in range(n):
        name = rnd.choice(names)
        d = _doc(rnd) if rnd.random() < 0.9 else _value(rnd)
        if isinstance(d, dict) and rnd.random() < 0.7:
            d["id"] = "c1"
        out.append((name, d))
    return out


def test_firmware_validator_agrees_with_jsonschema():
    # One micropython run checks the whole list.
    cases = _cases(4000)
    validators = {n: load_validator("cmd-%s.json" % n) for n in NAMES}
    cases += [("ping", {"id": "a"}), ("replay", {"id": "r", "from_seq": 3.0}),
                     ("replay", {"id": "r", "sid": "s", "to_seq": 1}), ("replay", {"id": "r"}),
                     ("status", {"id": "s", "x": 1}), ("replay", {"id": "r", "from_seq": True}),
                     ("authorize", {"id": "a", "id_tag": "TAG1"}), ("authorize", {"id": "a", "id_tag": "T" * 21}),
                     ("limit", {"id": "l", "current_a": 10, "duration_s": 60}), ("limit", {"id": "l", "current_a": 10}),
                     ("limit", {"id": "l", "clear": True}), ("session_limit", {"id": "s"}),
                     ("prices", {"id": "p", "start": 0, "step_s": 900, "prices": [10, 20]}),
                     ("prices", {"id": "p", "start": 0, "step_s": 900, "prices": [10, -1]}),
                     ("prices", {"id": "p", "start": 0, "step_s": 900, "prices": []}),
                     ("fleet_schedule", {"id": "f", "vehicles": [{"vehicle_id": "v", "need_wh": 5000,
                                                                  "by": "2026-11-21T06:00:00Z"}]}),
                     ("fleet_schedule", {"id": "f", "vehicles": [{"vehicle_id": "v", "need_wh": 5000}]}),
                     ("get_composite_schedule", {"id": "g", "duration": 3600, "start": 1795154400}),
                     ("get_composite_schedule", {"id": "g", "duration": 3600, "start": "now"}),
                     ("clear_profile", {"id": "c", "profile_id": 7}), ("clear_profile", {"id": "c", "purpose": "x"}),
                     ("availability", {"id": "a", "available": 1}), ("clear_fault", {"id": "c", "code": "PowerSwitchFailure"}),
                     ("tariff_set", {"id": "t", "tariff": {}}), ("tariff_set", {"id": "t", "tariff": []}),
                     ("prices_set", {"id": "p"}), ("tariff_get", {"id": "t"})]
    want = ["1" if validators[n].is_valid(d) else "0" for n, d in cases]
    got = _mp("check", "".join(json.dumps([n, d]) + "\n" for n, d in cases)).split()
    diff = [(cases[i], want[i]) for i in range(len(cases)) if want[i] != got[i]]
    assert not diff, diff[:5]
    assert "1" in want and "0" in want
