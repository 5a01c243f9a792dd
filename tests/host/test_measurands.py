"""The meter layer's private copies of registers.py's measurand and register type numbers
(meters/service.py, meters/s0.py, meters/report.py, meters/modbus_meter.py and meters/plan.py keep
them as folded const() so they need not load the register vocabulary) agree with registers.py, the
one definition."""
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
METERS = os.path.join(ROOT, "firmware", "laddvakt", "meters")


def consts(name):
    """{NAME: value} of the `NAME = const(n)` lines of meters/<name>.py."""
    with open(os.path.join(METERS, name + ".py")) as f:
        return {k: int(v) for k, v in re.findall(r"^(_?[A-Z][A-Z0-9_]*) = const\((\d+)\)", f.read(), re.M)}


def test_private_measurand_copies_match_registers():
    reg = consts("registers")
    for mod, want in (("service", ("E_IMP", "P", "N")), ("s0", ("E_IMP", "P", "P1", "N")), ("report", ("I1",)),
                      ("modbus_meter", ("E_IMP", "N", "F32")),
                      ("plan", ("F32", "I32", "U32", "I16", "U16", "U64", "E8U24", "E8I24", "LO"))):
        got = consts(mod)
        for k in want:
            assert got["_" + k] == reg[k], (mod, k, got.get("_" + k), reg[k])


def test_plan_words_per_type_match_registers():
    # plan.py's _WORDS is a const bytes literal in type number order
    with open(os.path.join(METERS, "plan.py")) as f:
        m = re.search(r'^_WORDS = const\(b"([^"]*)"\)', f.read(), re.M)
    with open(os.path.join(METERS, "registers.py")) as f:
        w = re.search(r"^WORDS = \(([^)]*)\)", f.read(), re.M)
    assert m and w
    got = tuple(m.group(1).encode().decode("unicode_escape").encode("latin-1"))
    assert got == tuple(int(x) for x in w.group(1).split(",")), got
