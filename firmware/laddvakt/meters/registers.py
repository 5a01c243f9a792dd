# The register maps' vocabulary: the measurands and register types, their names and units.
#
# Entry: (measurand, function code, register, type, word order, exponent). The decoded
# register value times 10**exponent is the measurand in its fixed integer unit:
#   energy 0.1 Wh, power W, current mA, voltage 0.1 V, frequency 0.01 Hz.
# Registers are 0-based PDU addresses (the makers' "30001"/"40001" numbers minus the base).
#
# The built-in maps are one table in meters/maps.py; docs/meters.md cites each maker's register
# table. A board file can carry its own map (meters/mapdef.py, docs/schemas/meter_map.json).
# meters/plan.py and meters/modbus_meter.py keep the numbers they use as folded const().
from micropython import const

# Measurands, in this order everywhere (values lists, the simulator, docs/meters.md).
E_IMP = const(0)
E_EXP = const(1)
P = const(2)
I1 = const(3)
I2 = const(4)
I3 = const(5)
U1 = const(6)
U2 = const(7)
U3 = const(8)
P1 = const(9)
P2 = const(10)
P3 = const(11)
F = const(12)
N = const(13)
NAMES = ("e_imp", "e_exp", "p", "i1", "i2", "i3", "u1", "u2", "u3", "p1", "p2", "p3", "f")
UNITS = ("0.1Wh", "0.1Wh", "W", "mA", "mA", "mA", "0.1V", "0.1V", "0.1V", "W", "W", "W", "0.01Hz")

# Register types
F32 = const(0)
I32 = const(1)
U32 = const(2)
I16 = const(3)
U16 = const(4)
U64 = const(5)
# A 32-bit value of a signed 8-bit decimal exponent (the top byte) and a 24-bit mantissa,
# unsigned or signed: mantissa x 10**exponent (Finder 7M "T5" and "T6").
E8U24 = const(6)
E8I24 = const(7)
TYPE_NAMES = ("float32", "int32", "uint32", "int16", "uint16", "uint64", "exp8_u24", "exp8_i24")
WORDS = (2, 2, 2, 1, 1, 4, 2, 2)

# Word order of multi-register values
HI = const(0)  # most significant word first
LO = const(1)  # least significant word first

# A map: (entries, serial (fc, register, count) or None, gap). `gap` is how many
# undocumented registers the planner may read across to merge two requests: 0 unless
# the maker's map defines every register in between. The built-in maps are one table in
# meters/maps.py; a board or config map is a dict checked by meters/mapdef.py. Looking a map
# up is meters/plan.py's (a Modbus board loads that, not this vocabulary).
from laddvakt.meters.plan import get, names  # noqa: E402,F401
