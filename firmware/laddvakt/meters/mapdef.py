# A register map given as data (a board file's meter "map", docs/schemas/meter_map.json),
# checked field by field and turned into the planner's entries. Errors name the field.
from laddvakt.meters.registers import NAMES, TYPE_NAMES

# Unit of a register -> decimal exponent to the measurand's fixed unit (registers.UNITS).
_UNITS = ({"kWh": 4, "Wh": 1}, {"kWh": 4, "Wh": 1}, {"kW": 3, "W": 0},
          {"A": 3, "mA": 0}, {"A": 3, "mA": 0}, {"A": 3, "mA": 0},
          {"V": 1}, {"V": 1}, {"V": 1}, {"kW": 3, "W": 0}, {"kW": 3, "W": 0}, {"kW": 3, "W": 0},
          {"Hz": 2})
_WORDS = ("high_first", "low_first")
_TOP = ("name", "registers", "serial", "gap")
_REG = ("fc", "address", "type", "words", "unit", "scale")


class MapError(ValueError):
    pass


def _int(d, key, where, lo, hi, default=None):
    v = d.get(key, default)
    if v is None:
        raise MapError("meter map: %s.%s is required" % (where, key))
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise MapError("meter map: %s.%s must be an integer %d..%d, not %r" % (where, key, lo, hi, v))
    return v


def _only(d, keys, where):
    if not isinstance(d, dict):
        raise MapError("meter map: %s must be an object" % where)
    for k in d:
        if k not in keys:
            raise MapError("meter map: %s.%s is not a known field (known: %s)" % (where, k, ", ".join(keys)))


def _one(name, r):
    where = "registers." + name
    _only(r, _REG, where)
    meas = NAMES.index(name)
    fc = _int(r, "fc", where, 3, 4)
    addr = _int(r, "address", where, 0, 65535)
    typ = r.get("type")
    if typ not in TYPE_NAMES:
        raise MapError("meter map: %s.type must be one of %s, not %r" % (where, ", ".join(TYPE_NAMES), typ))
    wo = r.get("words", "high_first")
    if wo not in _WORDS:
        raise MapError("meter map: %s.words must be high_first or low_first, not %r" % (where, wo))
    units = _UNITS[meas]
    unit = r.get("unit")
    if unit not in units:
        raise MapError("meter map: %s.unit must be one of %s, not %r" % (where, ", ".join(units), unit))
    scale = _int(r, "scale", where, -6, 6, 0)
    return (meas, fc, addr, TYPE_NAMES.index(typ), _WORDS.index(wo), units[unit] + scale)


def parse(d):
    """(entries, serial, gap) from a map dict; MapError (a ValueError) naming the bad field."""
    _only(d, _TOP, "map")
    if "name" in d and not isinstance(d["name"], str):
        raise MapError("meter map: map.name must be a string")
    regs = d.get("registers")
    _only(regs, NAMES, "registers")
    if "e_imp" not in regs and "p" not in regs:
        raise MapError("meter map: registers needs e_imp or p (energy, or power to integrate)")
    entries = tuple(_one(k, regs[k]) for k in NAMES if k in regs)
    sn = d.get("serial")
    if sn is not None:
        _only(sn, ("fc", "address", "count"), "serial")
        sn = (_int(sn, "fc", "serial", 3, 4), _int(sn, "address", "serial", 0, 65535),
              _int(sn, "count", "serial", 1, 8))
    return entries, sn, _int(d, "gap", "map", 0, 125, 0)
