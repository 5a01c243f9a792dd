# The built-in meter register maps, as data in one table (docs/meters.md cites each maker's
# register table). Imported only where a built-in map is looked up (build, scan).
#
# Row: (name, entries, serial (fc, register, count) or None, gap). `gap`: how many registers the
# map does not use the planner may read across (meters/plan.py); 0 where it is not known that the
# meter answers such a read (docs/meters.md, Request planner, gives each map's basis). Entry: (measurand, function
# code, register, type, word order, exponent): the decoded register times 10**exponent is the
# measurand in its fixed unit (energy 0.1 Wh, power W, current mA, voltage 0.1 V, frequency
# 0.01 Hz). Registers are 0-based PDU addresses. Measurand and type numbers: registers.py.
# Measurands: 0 e_imp, 1 e_exp, 2 p, 3-5 i1-i3, 6-8 u1-u3, 9-11 p1-p3, 12 f.
# Types: 0 float32, 1 int32, 2 uint32, 3 int16, 4 uint16, 5 uint64, 6 exp8_u24, 7 exp8_i24.
# Word order: 0 high first, 1 low first.

# Eastron: input registers (FC 4), float32 high word first; serial number holding 0xFC00.
_E1 = ((0, 4, 0x48, 0, 0, 4), (1, 4, 0x4A, 0, 0, 4), (12, 4, 0x46, 0, 0, 2), (6, 4, 0x00, 0, 0, 1),
       (3, 4, 0x06, 0, 0, 3), (9, 4, 0x0C, 0, 0, 0), (2, 4, 0x0C, 0, 0, 0))
_E3 = ((0, 4, 0x48, 0, 0, 4), (1, 4, 0x4A, 0, 0, 4), (12, 4, 0x46, 0, 0, 2), (6, 4, 0x00, 0, 0, 1),
       (3, 4, 0x06, 0, 0, 3), (9, 4, 0x0C, 0, 0, 0), (2, 4, 0x34, 0, 0, 0),
       (7, 4, 0x02, 0, 0, 1), (8, 4, 0x04, 0, 0, 1), (4, 4, 0x08, 0, 0, 3), (5, 4, 0x0A, 0, 0, 3),
       (10, 4, 0x0E, 0, 0, 0), (11, 4, 0x10, 0, 0, 0))
_ESN = (3, 0xFC00, 2)
# ABB B2x: holding registers, uint64 energies in 0.01 kWh, instantaneous values at 0x5B00.
_ABB1 = ((0, 3, 0x5000, 5, 0, 2), (1, 3, 0x5004, 5, 0, 2), (6, 3, 0x5B00, 2, 0, 0),
         (3, 3, 0x5B0C, 2, 0, 1), (2, 3, 0x5B14, 1, 0, -2), (9, 3, 0x5B16, 1, 0, -2), (12, 3, 0x5B2C, 4, 0, 0))
_ABB3 = _ABB1 + ((7, 3, 0x5B02, 2, 0, 0), (8, 3, 0x5B04, 2, 0, 0), (4, 3, 0x5B0E, 2, 0, 1),
                 (5, 3, 0x5B10, 2, 0, 1), (10, 3, 0x5B18, 1, 0, -2), (11, 3, 0x5B1A, 1, 0, -2))
_ABBSN = (3, 0x8900, 2)
# Carlo Gavazzi: input registers (FC 4), int32 low word first.
_EM300 = ((0, 4, 0x34, 1, 1, 3), (1, 4, 0x4E, 1, 1, 3), (6, 4, 0x00, 1, 1, 0), (7, 4, 0x02, 1, 1, 0),
          (8, 4, 0x04, 1, 1, 0), (3, 4, 0x0C, 1, 1, 0), (4, 4, 0x0E, 1, 1, 0), (5, 4, 0x10, 1, 1, 0),
          (9, 4, 0x12, 1, 1, -1), (10, 4, 0x14, 1, 1, -1), (11, 4, 0x16, 1, 1, -1), (2, 4, 0x28, 1, 1, -1),
          (12, 4, 0x33, 3, 0, 1))
_EM100 = ((6, 4, 0x00, 1, 1, 0), (3, 4, 0x02, 1, 1, 0), (2, 4, 0x04, 1, 1, -1), (12, 4, 0x0F, 3, 0, 1),
          (0, 4, 0x10, 1, 1, 3), (1, 4, 0x20, 1, 1, 3))
_EM24 = ((6, 4, 0x00, 1, 1, 0), (7, 4, 0x02, 1, 1, 0), (8, 4, 0x04, 1, 1, 0), (3, 4, 0x0C, 1, 1, 0),
         (4, 4, 0x0E, 1, 1, 0), (5, 4, 0x10, 1, 1, 0), (9, 4, 0x12, 1, 1, -1), (10, 4, 0x14, 1, 1, -1),
         (11, 4, 0x16, 1, 1, -1), (2, 4, 0x28, 1, 1, -1), (12, 4, 0x37, 3, 0, 1), (0, 4, 0x3E, 1, 1, 3),
         (1, 4, 0x5C, 1, 1, 3))
# Inepro PRO series: holding registers, float32 high word first; power in kW, energy in kWh.
# PRO380: forward (import) active energy 0x600C, reverse 0x6018 (0x6000 is the total of both).
_PRO3 = ((6, 3, 0x5002, 0, 0, 1), (7, 3, 0x5004, 0, 0, 1), (8, 3, 0x5006, 0, 0, 1), (12, 3, 0x5008, 0, 0, 2),
         (3, 3, 0x500C, 0, 0, 3), (4, 3, 0x500E, 0, 0, 3), (5, 3, 0x5010, 0, 0, 3), (2, 3, 0x5012, 0, 0, 3),
         (9, 3, 0x5014, 0, 0, 3), (10, 3, 0x5016, 0, 0, 3), (11, 3, 0x5018, 0, 0, 3), (0, 3, 0x600C, 0, 0, 4),
         (1, 3, 0x6018, 0, 0, 4))
# Orno OR-WE-516/517: holding registers, float32 high word first (V, Hz, A, kW), energy in kWh
# from 0x100: total 0x100, forward (import) 0x108, reverse (export) 0x110.
_ORNO3 = ((6, 3, 0x0E, 0, 0, 1), (7, 3, 0x10, 0, 0, 1), (8, 3, 0x12, 0, 0, 1), (12, 3, 0x14, 0, 0, 2),
          (3, 3, 0x16, 0, 0, 3), (4, 3, 0x18, 0, 0, 3), (5, 3, 0x1A, 0, 0, 3), (2, 3, 0x1C, 0, 0, 3),
          (9, 3, 0x1E, 0, 0, 3), (10, 3, 0x20, 0, 0, 3), (11, 3, 0x22, 0, 0, 3),
          (0, 3, 0x108, 0, 0, 4), (1, 3, 0x110, 0, 0, 4))
# Phoenix Contact EEM-MA: holding registers from 0x8006, float32 low word first, SI units
# (V, Hz, A, W, Wh).
_EEM = ((6, 3, 0x8006, 0, 1, 1), (7, 3, 0x8008, 0, 1, 1), (8, 3, 0x800A, 0, 1, 1), (12, 3, 0x800C, 0, 1, 2),
        (3, 3, 0x800E, 0, 1, 3), (4, 3, 0x8010, 0, 1, 3), (5, 3, 0x8012, 0, 1, 3), (2, 3, 0x8016, 0, 1, 0),
        (9, 3, 0x801E, 0, 1, 0), (10, 3, 0x8020, 0, 1, 0), (11, 3, 0x8022, 0, 1, 0),
        (0, 3, 0x8100, 0, 1, 1), (1, 3, 0x8106, 0, 1, 1))

# Most specific first: `meter scan` names the first map whose reads all succeed with plausible
# values, so a three-phase map is tried before a single-phase subset of it.
TABLE = (
    ("sdm630", _E3, _ESN, 125),
    ("sdm72d", _E3, _ESN, 125),  # SDM72D-M-2 (V2)
    ("abb_b23", _ABB3, _ABBSN, 6),
    ("abb_b24", _ABB3, _ABBSN, 6),
    ("em340", _EM300, (4, 0x5000, 7), 9),
    ("em330", _EM300, (4, 0x5000, 7), 9),
    ("em24", _EM24, None, 0),
    ("dtsu666", ((0, 3, 0x401E, 0, 0, 4), (1, 3, 0x4028, 0, 0, 4), (6, 3, 0x2006, 0, 0, 0),
                 (7, 3, 0x2008, 0, 0, 0), (8, 3, 0x200A, 0, 0, 0), (3, 3, 0x200C, 0, 0, 0),
                 (4, 3, 0x200E, 0, 0, 0), (5, 3, 0x2010, 0, 0, 0), (2, 3, 0x2012, 0, 0, -1),
                 (9, 3, 0x2014, 0, 0, -1), (10, 3, 0x2016, 0, 0, -1), (11, 3, 0x2018, 0, 0, -1),
                 (12, 3, 0x2044, 0, 0, 0)), None, 0),
    ("pro380", _PRO3, (3, 0x4000, 2), 10),
    ("or_we_517", _ORNO3, None, 125),
    ("or_we_516", _ORNO3, None, 125),
    ("eem_ma", _EEM, None, 125),
    ("iem3000", ((3, 3, 3000, 0, 0, 3), (4, 3, 3002, 0, 0, 3), (5, 3, 3004, 0, 0, 3), (6, 3, 3028, 0, 0, 1),
                 (7, 3, 3030, 0, 0, 1), (8, 3, 3032, 0, 0, 1), (9, 3, 3054, 0, 0, 3), (10, 3, 3056, 0, 0, 3),
                 (11, 3, 3058, 0, 0, 3), (2, 3, 3060, 0, 0, 3), (12, 3, 3110, 0, 0, 2),
                 (0, 3, 45100, 0, 0, 1)), None, 0),
    ("sdm72d_v1", ((2, 4, 0x34, 0, 0, 0), (0, 4, 0x48, 0, 0, 4), (1, 4, 0x4A, 0, 0, 4)), None, 125),
    ("abb_b21", _ABB1, _ABBSN, 10),
    ("em111", _EM100, None, 0),
    ("em112", _EM100, None, 0),
    ("ddsu666", ((6, 3, 0x2000, 0, 0, 1), (3, 3, 0x2002, 0, 0, 3), (2, 3, 0x2004, 0, 0, 3), (9, 3, 0x2004, 0, 0, 3),
                 (12, 3, 0x200E, 0, 0, 2), (0, 3, 0x4000, 0, 0, 4)), None, 0),
    ("pro1", ((6, 3, 0x5000, 0, 0, 1), (12, 3, 0x5008, 0, 0, 2), (3, 3, 0x500A, 0, 0, 3), (2, 3, 0x5012, 0, 0, 3),
              (9, 3, 0x5012, 0, 0, 3), (0, 3, 0x6000, 0, 0, 4)), (3, 0x4000, 2), 0),
    ("or_we_514", ((12, 3, 0x130, 4, 0, 0), (6, 3, 0x131, 4, 0, -1), (3, 3, 0x139, 2, 0, 0),
                   (2, 3, 0x140, 2, 0, 0), (9, 3, 0x140, 2, 0, 0), (0, 3, 0xA000, 2, 0, 2)), None, 0),
    # OR-WE-504: single phase, uint16 V 0.1 V, A 0.1 A, Hz 0.1 Hz, W; uint32 Wh at 0x07.
    ("or_we_504", ((6, 3, 0x00, 4, 0, 0), (3, 3, 0x01, 4, 0, 2), (12, 3, 0x02, 4, 0, 1), (2, 3, 0x03, 4, 0, 0),
                   (9, 3, 0x03, 4, 0, 0), (0, 3, 0x07, 2, 0, 1)), None, 125),
    # Finder 7M: input registers; energy from the "x1000" counters E1 (import) and E2 (export),
    # uint32 in 0.1 Wh; Hz and V as exponent + unsigned mantissa (T5), W as exponent + signed
    # mantissa (T6).
    ("finder_7m", ((12, 4, 105, 6, 0, 2), (6, 4, 107, 6, 0, 1), (7, 4, 109, 6, 0, 1), (8, 4, 111, 6, 0, 1),
                   (2, 4, 140, 7, 0, 0), (9, 4, 142, 7, 0, 0), (10, 4, 144, 7, 0, 0), (11, 4, 146, 7, 0, 0),
                   (0, 4, 462, 2, 0, 0), (1, 4, 464, 2, 0, 0)), None, 0),
    ("sdm230", _E1, _ESN, 125),
    ("sdm220", _E1, _ESN, 125),
    ("sdm120", _E1, _ESN, 125),
)
