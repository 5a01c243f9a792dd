"""Register maps as data (issue 18): the firmware's map check (meters/mapdef.py, run here under
CPython, the same code the board runs) and docs/schemas/meter_map.json agree on valid and
invalid maps, every built-in map is expressible as such a map, and the table has >= 20 meters."""
import copy
import json
import os

import jsonschema
import pytest

from host_tools.repo import ROOT
from host_tools.testing.meter_sim import PF

MAPDEF = __import__("laddvakt.meters.mapdef", fromlist=["parse"])
MAPS = __import__("laddvakt.meters.maps", fromlist=["TABLE"])
with open(os.path.join(ROOT, "docs", "schemas", "meter_map.json")) as f:
    SCHEMA = json.load(f)
UNIT = {0: ("kWh", 4), 1: ("kWh", 4), 2: ("W", 0), 3: ("mA", 0), 4: ("mA", 0), 5: ("mA", 0),
        6: ("V", 1), 7: ("V", 1), 8: ("V", 1), 9: ("W", 0), 10: ("W", 0), 11: ("W", 0), 12: ("Hz", 2)}


def as_map(name):
    """A built-in map written as the data a board file would carry."""
    entries, serial, gap = PF.get(name)
    regs = {}
    for meas, fc, reg, typ, wo, exp in entries:
        unit, base = UNIT[meas]
        regs[PF.NAMES[meas]] = {"fc": fc, "address": reg, "type": PF.TYPE_NAMES[typ],
                                "words": ("high_first", "low_first")[wo], "unit": unit, "scale": exp - base}
    d = {"name": name, "registers": regs, "gap": gap}
    if serial:
        d["serial"] = {"fc": serial[0], "address": serial[1], "count": serial[2]}
    return d


def schema_ok(d):
    try:
        jsonschema.validate(d, SCHEMA)
        return True
    except jsonschema.ValidationError:
        return False


def test_at_least_twenty_meters_in_one_table_with_unique_names():
    names = [r[0] for r in MAPS.TABLE]
    assert len(names) >= 20 and len(set(names)) == len(names)
    assert PF.names() == tuple(names)


@pytest.mark.parametrize("name", PF.names())
def test_every_built_in_map_is_a_valid_data_map_that_parses_back_to_itself(name):
    d = as_map(name)
    assert schema_ok(d)
    entries, serial, gap = MAPDEF.parse(d)
    want = PF.get(name)
    # Same entries; a map dict carries one register per measurand (the duplicates of p are dropped).
    assert set(entries) == {e for e in want[0] if PF.NAMES[e[0]] in d["registers"]} and len(entries) == len(d["registers"])
    assert (serial, gap) == (want[1], want[2])


BASE = {"name": "x", "registers": {"e_imp": {"fc": 3, "address": 256, "type": "float32", "unit": "kWh"},
                                   "p": {"fc": 3, "address": 28, "type": "float32", "unit": "kW"}}}


def mutate(path, value):
    d = copy.deepcopy(BASE)
    cur = d
    for k in path[:-1]:
        cur = cur[k]
    if value is KeyError:
        del cur[path[-1]]
    else:
        cur[path[-1]] = value
    return d


VALID = [
    BASE,
    mutate(("registers", "e_imp", "words"), "low_first"),
    mutate(("registers", "e_imp", "scale"), -2),
    mutate(("serial",), None),
    mutate(("serial",), {"fc": 4, "address": 0x5000, "count": 7}),
    mutate(("registers", "e_imp"), KeyError),  # power only: integrated
    mutate(("gap",), 4),
    {"registers": {"e_imp": {"fc": 4, "address": 0, "type": "uint64", "unit": "Wh"}}},
]
INVALID = [  # (map, what the firmware's error must name)
    (mutate(("registers", "e_imp", "fc"), 6), "registers.e_imp.fc"),
    (mutate(("registers", "e_imp", "address"), 70000), "registers.e_imp.address"),
    (mutate(("registers", "e_imp", "address"), -1), "registers.e_imp.address"),
    (mutate(("registers", "e_imp", "address"), KeyError), "registers.e_imp.address"),
    (mutate(("registers", "e_imp", "type"), "float64"), "registers.e_imp.type"),
    (mutate(("registers", "e_imp", "words"), "middle"), "registers.e_imp.words"),
    (mutate(("registers", "e_imp", "unit"), "kW"), "registers.e_imp.unit"),
    (mutate(("registers", "p", "unit"), "kWh"), "registers.p.unit"),
    (mutate(("registers", "e_imp", "scale"), 9), "registers.e_imp.scale"),
    (mutate(("registers", "e_imp", "scale"), 1.5), "registers.e_imp.scale"),
    (mutate(("registers", "e_imp", "offset"), 1), "registers.e_imp.offset"),
    (mutate(("registers", "volts"), {"fc": 3, "address": 1, "type": "float32", "unit": "V"}), "registers.volts"),
    (mutate(("registers",), {"u1": {"fc": 3, "address": 1, "type": "float32", "unit": "V"}}), "e_imp or p"),
    (mutate(("registers",), KeyError), "registers"),
    (mutate(("serial",), {"fc": 3, "address": 1, "count": 0}), "serial.count"),
    (mutate(("serial",), {"fc": 3, "address": 1}), "serial.count"),
    (mutate(("gap",), 200), "map.gap"),
    (mutate(("colour",), "red"), "map.colour"),
    (mutate(("name",), 5), "map.name"),
]


@pytest.mark.parametrize("d", VALID)
def test_valid_maps_pass_both_checks(d):
    assert schema_ok(d)
    MAPDEF.parse(d)


@pytest.mark.parametrize("d,field", INVALID, ids=[f for _, f in INVALID])
def test_invalid_maps_fail_both_checks_and_the_error_names_the_field(d, field):
    assert not schema_ok(d)
    with pytest.raises(MAPDEF.MapError) as e:
        MAPDEF.parse(d)
    assert field in str(e.value)
