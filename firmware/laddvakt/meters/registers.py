# Meter register maps as data: one function per meter, so only the configured profile's
# tuples are ever built on the heap (the bytecode holds the numbers).
#
# Entry: (measurand, function code, register, type, word order, exponent). The decoded
# register value times 10**exponent is the measurand in its fixed integer unit:
#   energy 0.1 Wh, power W, current mA, voltage 0.1 V, frequency 0.01 Hz.
# Registers are 0-based PDU addresses (the makers' "30001"/"40001" numbers minus the base).
#
# Sources (the makers' public register-map documents):
#   Eastron SDM630 Modbus V2: "SDM630 Modbus Protocol" (Eastron Europe), input registers
#     30001.. (FC 4), IEEE 754 float32, high word first; serial number holding 0xFC00.
#   Eastron SDM72D-M-2: "SDM72D-M-2 Modbus Protocol" (V2 map, same input registers as the
#     SDM630 for the measurands used here).
#   Eastron SDM120-Modbus: "SDM120 Modbus Protocol" V2.x, input registers, float32.
#   Eastron SDM230-Modbus: "SDM230 Modbus Protocol" V1.x, input registers, float32.
#   ABB B23: "B21/B23/B24 User Manual" 2CMC485003M0201, chapter "Communication with
#     Modbus": holding registers (FC 3), unsigned 64-bit energies in 0.01 kWh at 0x5000,
#     instantaneous values at 0x5B00.., serial number 0x8900.
#   Carlo Gavazzi EM340: "EM24/EM340 Modbus communication protocol" (Carlo Gavazzi),
#     INT32 with the least significant word first; weights V*10, A*1000, W*10, Hz*10,
#     kWh*10; serial number 0x5000 (7 registers of ASCII).
#   Chint DTSU666: "DTSU666 Three-phase electronic energy meter, user manual", address
#     table of the communication chapter: FC 3, float32, high word first; voltage in
#     0.1 V, current in 0.001 A, power in 0.1 W, frequency in 0.01 Hz, energy in kWh.
#     It has no serial-number register, so a replacement is caught by the energy checks.
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
TYPE_NAMES = ("float32", "int32", "uint32", "int16", "uint16", "uint64")
WORDS = (2, 2, 2, 1, 1, 4)

# Word order of multi-register values
HI = const(0)  # most significant word first
LO = const(1)  # least significant word first

# Profile: (entries, serial (fc, register, count) or None, gap). `gap` is how many
# undocumented registers the planner may read across to merge two requests: 0 unless
# the maker's map defines every register in between.


def _eastron(phases):
    e = [
        (E_IMP, 4, 0x0048, F32, HI, 4),
        (E_EXP, 4, 0x004A, F32, HI, 4),
        (F, 4, 0x0046, F32, HI, 2),
        (U1, 4, 0x0000, F32, HI, 1),
        (I1, 4, 0x0006, F32, HI, 3),
        (P1, 4, 0x000C, F32, HI, 0),
    ]
    if phases == 3:
        e += [
            (P, 4, 0x0034, F32, HI, 0),
            (U2, 4, 0x0002, F32, HI, 1), (U3, 4, 0x0004, F32, HI, 1),
            (I2, 4, 0x0008, F32, HI, 3), (I3, 4, 0x000A, F32, HI, 3),
            (P2, 4, 0x000E, F32, HI, 0), (P3, 4, 0x0010, F32, HI, 0),
        ]
    else:
        # Single phase: the total is the phase-1 active power register.
        e.append((P, 4, 0x000C, F32, HI, 0))
    return (tuple(e), (3, 0xFC00, 2), 0)


def _abb_b23():
    return ((
        (E_IMP, 3, 0x5000, U64, HI, 2),
        (E_EXP, 3, 0x5004, U64, HI, 2),
        (U1, 3, 0x5B00, U32, HI, 0), (U2, 3, 0x5B02, U32, HI, 0), (U3, 3, 0x5B04, U32, HI, 0),
        (I1, 3, 0x5B0C, U32, HI, 1), (I2, 3, 0x5B0E, U32, HI, 1), (I3, 3, 0x5B10, U32, HI, 1),
        (P, 3, 0x5B14, I32, HI, -2),
        (P1, 3, 0x5B16, I32, HI, -2), (P2, 3, 0x5B18, I32, HI, -2), (P3, 3, 0x5B1A, I32, HI, -2),
        (F, 3, 0x5B2C, U16, HI, 0),
    ), (3, 0x8900, 2), 0)


def _em340():
    return ((
        (E_IMP, 4, 0x0034, I32, LO, 3),
        (E_EXP, 4, 0x004E, I32, LO, 3),
        (U1, 4, 0x0000, I32, LO, 0), (U2, 4, 0x0002, I32, LO, 0), (U3, 4, 0x0004, I32, LO, 0),
        (I1, 4, 0x000C, I32, LO, 0), (I2, 4, 0x000E, I32, LO, 0), (I3, 4, 0x0010, I32, LO, 0),
        (P1, 4, 0x0012, I32, LO, -1), (P2, 4, 0x0014, I32, LO, -1), (P3, 4, 0x0016, I32, LO, -1),
        (P, 4, 0x0028, I32, LO, -1),
        (F, 4, 0x0033, I16, HI, 1),
    ), (4, 0x5000, 7), 0)


def _dtsu666():
    return ((
        (E_IMP, 3, 0x401E, F32, HI, 4),
        (E_EXP, 3, 0x4028, F32, HI, 4),
        (U1, 3, 0x2006, F32, HI, 0), (U2, 3, 0x2008, F32, HI, 0), (U3, 3, 0x200A, F32, HI, 0),
        (I1, 3, 0x200C, F32, HI, 0), (I2, 3, 0x200E, F32, HI, 0), (I3, 3, 0x2010, F32, HI, 0),
        (P, 3, 0x2012, F32, HI, -1),
        (P1, 3, 0x2014, F32, HI, -1), (P2, 3, 0x2016, F32, HI, -1), (P3, 3, 0x2018, F32, HI, -1),
        (F, 3, 0x2044, F32, HI, 0),
    ), None, 0)


# Most specific first: `meter scan` takes the first profile whose every read succeeds,
# so a three-phase map is tried before a single-phase subset of it.
ORDER = ("sdm630", "sdm72d", "abb_b23", "em340", "dtsu666", "sdm230", "sdm120")


def get(name):
    """(entries, serial, gap) of a profile; ValueError naming the known ones otherwise."""
    if name in ("sdm630", "sdm72d"):
        return _eastron(3)
    if name in ("sdm120", "sdm230"):
        return _eastron(1)
    if name == "abb_b23":
        return _abb_b23()
    if name == "em340":
        return _em340()
    if name == "dtsu666":
        return _dtsu666()
    raise ValueError("unknown meter profile '%s' (known: %s)" % (name, ", ".join(ORDER)))
