"""The firmware's command schemas and validator agree with docs/schemas and jsonschema."""
import json
import os
import subprocess
import sys

from hypothesis import HealthCheck, given, settings, strategies as st

from host_tools.backend.store import SCHEMA_DIR, load_validator
from host_tools.sim import ROOT, micropython_env

MICROPYTHON = os.path.join(os.path.dirname(sys.executable), "micropython")
NAMES = ("ping", "status", "replay")
_META = ("$schema", "$id", "title", "description")

_RUN = """
import sys, json
from laddvakt.cmd_schemas import SCHEMAS
from laddvakt.schema import check
if sys.argv[-1] == "dump":
    print(json.dumps(SCHEMAS))
else:
    for line in sys.stdin:
        name, doc = json.loads(line)
        print("1" if check(SCHEMAS[name], doc) is None else "0")
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
    for name in NAMES:
        doc = json.loads((SCHEMA_DIR / ("cmd-%s.json" % name)).read_text())
        for k in _META:
            doc.pop(k, None)
        assert fw[name] == doc, name


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 40, 2 ** 40) | st.sampled_from([0, 1, 1.0, 2.5, 4294967296])
    | st.text(max_size=70),
    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(
        st.sampled_from(["id", "from_seq", "to_seq", "sid", "x"]), kids, max_size=4),
    max_leaves=8)
_docs = st.dictionaries(st.sampled_from(["id", "from_seq", "to_seq", "sid", "cmd"]),
                        _json, max_size=4) | _json


@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.sampled_from(NAMES), _docs), min_size=1500, max_size=1500))
def test_firmware_validator_agrees_with_jsonschema(cases):
    # One micropython run checks the whole list; hypothesis draws 1500 documents.
    validators = {n: load_validator("cmd-%s.json" % n) for n in NAMES}
    cases = cases + [("ping", {"id": "a"}), ("replay", {"id": "r", "from_seq": 3.0}),
                     ("replay", {"id": "r", "sid": "s", "to_seq": 1}), ("replay", {"id": "r"}),
                     ("status", {"id": "s", "x": 1}), ("replay", {"id": "r", "from_seq": True})]
    want = ["1" if validators[n].is_valid(d) else "0" for n, d in cases]
    got = _mp("check", "".join(json.dumps([n, d]) + "\n" for n, d in cases)).split()
    diff = [(cases[i], want[i]) for i in range(len(cases)) if want[i] != got[i]]
    assert not diff, diff[:5]
    assert "1" in want and "0" in want
