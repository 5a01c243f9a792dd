"""The meter layer's private copies of registers.py's measurand numbers (meters/service.py,
meters/s0.py and meters/report.py keep them as folded const() so they need not load the register
vocabulary) agree with registers.py, the one definition."""
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
    for mod, want in (("service", ("E_IMP", "P", "N")), ("s0", ("E_IMP", "P", "P1", "N")), ("report", ("I1",))):
        got = consts(mod)
        for k in want:
            assert got["_" + k] == reg[k], (mod, k, got.get("_" + k), reg[k])
