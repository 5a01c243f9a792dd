# Profiles as data, the request planner, and exact register decoding.
from fwtest import raises, run
from laddvakt.meters import registers as pf
from laddvakt.meters.plan import decode, plan, wire_bytes

ALL = ("sdm120", "sdm230", "sdm630", "sdm72d", "abb_b23", "em340", "dtsu666")


def test_every_profile_has_energy_power_and_frequency():
    for name in ALL:
        entries, serial, gap = pf.get(name)
        got = set(e[0] for e in entries)
        for m in (pf.E_IMP, pf.E_EXP, pf.P, pf.I1, pf.U1, pf.P1, pf.F):
            assert m in got, (name, pf.NAMES[m])
        for e in entries:
            assert e[1] in (3, 4) and 0 <= e[2] <= 0xFFFF and 0 <= e[3] <= 5 and e[4] in (0, 1)
    raises(ValueError, pf.get, "sdm999")


def test_sdm630_all_measurands_in_three_requests():
    p = plan(pf.get("sdm630")[0])
    assert [(b[0], b[1], b[2]) for b in p] == [(4, 0x00, 18), (4, 0x34, 2), (4, 0x46, 6)]
    assert sum(len(b[3]) for b in p) == 13
    assert wire_bytes(p) == 3 * 13 + 2 * (18 + 2 + 6)


def test_planner_merges_shares_and_splits():
    # Duplicates share a read (single-phase: total power is the phase-1 register).
    p = plan(pf.get("sdm120")[0])
    assert [(b[1], b[2]) for b in p] == [(0x00, 2), (0x06, 2), (0x0C, 2), (0x46, 6)]
    # A gap is read across only where allowed.
    es = ((0, 3, 10, pf.U16, 0, 0), (1, 3, 14, pf.U16, 0, 0), (2, 4, 11, pf.U16, 0, 0))
    assert [(b[0], b[1], b[2]) for b in plan(es)] == [(3, 10, 1), (3, 14, 1), (4, 11, 1)]
    assert [(b[0], b[1], b[2]) for b in plan(es, gap=3)] == [(3, 10, 5), (4, 11, 1)]
    assert plan(es, gap=3)[0][3][1][1] == 8  # byte offset of register 14 in that read
    # Never more than 125 registers in one read.
    es = tuple((i % 13, 4, 2 * i, pf.F32, 0, 0) for i in range(100))
    p = plan(es)
    assert [b[2] for b in p] == [124, 76]
    for name in ALL:
        assert all(b[2] <= 125 for b in plan(pf.get(name)[0]))


def test_holes_are_read_across_when_cheap_and_larger_ones_only_down_to_three_reads():
    # One-register entries at 0, 5 (hole 4), 30 (hole 24), 60 (hole 29), 100 (hole 39), 200.
    es = tuple((i, 3, r, pf.U16, 0, 0) for i, r in enumerate((0, 5, 30, 60, 100, 200)))
    spans = lambda p: [(b[1], b[2]) for b in p]  # noqa: E731
    assert spans(plan(es)) == [(0, 1), (5, 1), (30, 1), (60, 1), (100, 1), (200, 1)]  # gap 0
    # A hole of up to 10 registers is always worth it; 24 and 29 only to get to 3 reads.
    assert spans(plan(es, gap=4)) == [(0, 6), (30, 1), (60, 1), (100, 1), (200, 1)]
    assert spans(plan(es, gap=30)) == [(0, 61), (100, 1), (200, 1)]
    # The map's gap bounds every hole; 125 registers bound every read.
    assert spans(plan(es, gap=125)) == [(0, 61), (100, 1), (200, 1)]
    assert spans(plan(es, gap=125, max_regs=40)) == [(0, 31), (60, 1), (100, 1), (200, 1)]
    # Offsets follow the merged start; another function code is never merged in.
    p = plan(es + ((6, 4, 7, pf.U16, 0, 0),), gap=4)
    assert p[0][3][1][1] == 10 and (4, 7, 1) in [(b[0], b[1], b[2]) for b in p]


def words(*ws):
    out = bytearray()
    for w in ws:
        out += bytes((w >> 8, w & 0xFF))
    return out


def test_decode_float32_exactly_without_floats():
    assert decode(words(0x4366, 0x8000), 0, pf.F32, pf.HI, 1) == 2305  # 230.5 V in 0.1 V
    assert decode(words(0x449A, 0x5000), 0, pf.F32, pf.HI, 4) == 12345000  # 1234.5 kWh
    assert decode(words(0xBFC0, 0x0000), 0, pf.F32, pf.HI, 0) == -2  # -1.5 W, half away
    assert decode(words(0x0000, 0x0000), 0, pf.F32, pf.HI, 4) == 0
    # 0.1 kWh is not a float32; the nearest float is 0.100000001490116 kWh.
    assert decode(words(0x3DCC, 0xCCCD), 0, pf.F32, pf.HI, 4) == 1000
    for nan in ((0x7FC0, 0), (0x7F80, 0), (0xFF80, 0), (0x7FFF, 0xFFFF)):
        assert decode(words(*nan), 0, pf.F32, pf.HI, 4) is None


def test_decode_integers_word_orders_and_not_available():
    assert decode(words(0x2345, 0x0001), 0, pf.I32, pf.LO, 3) == 74565000  # EM340, LSW first
    assert decode(words(0x0001, 0x2345), 0, pf.I32, pf.HI, 3) == 74565000
    assert decode(words(0xFFFF, 0xFFFE), 0, pf.I32, pf.HI, 0) == -2
    assert decode(words(0, 0, 1, 0x86A0), 0, pf.U64, pf.HI, 2) == 10000000  # ABB 1000 kWh
    assert decode(words(0x0001, 0xE240), 0, pf.I32, pf.HI, -2) == 1235  # 1234.56 W
    assert decode(words(0xFFFE, 0x1DC0), 0, pf.I32, pf.HI, -2) == -1235
    assert decode(words(500), 0, pf.I16, pf.HI, 1) == 5000  # 50.0 Hz in 0.01 Hz
    assert decode(words(0xFF38), 0, pf.I16, pf.HI, 0) == -200
    assert decode(words(0x1388), 0, pf.U16, pf.HI, 0) == 5000
    assert decode(words(0xFFFF, 0xFFFF), 0, pf.U32, pf.HI, 0) is None
    assert decode(words(0x7FFF, 0xFFFF), 0, pf.I32, pf.HI, 0) is None
    assert decode(words(0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF), 0, pf.U64, pf.HI, 2) is None
    assert decode(words(0x7FFF), 0, pf.I16, pf.HI, 0) is None
    assert decode(b"\x00\x00" + words(0x0001, 0x0002), 2, pf.U32, pf.HI, 0) == 0x10002


def test_decode_exponent_and_24_bit_mantissa():
    # exp8_u24 / exp8_i24 (Finder T5/T6): mantissa x 10**(exponent byte), then to the unit.
    assert decode(words(0xFF00, 0x0901), 0, pf.E8U24, pf.HI, 1) == 2305  # 230.5 V in 0.1 V
    assert decode(words(0x0200, 0x0007), 0, pf.E8U24, pf.HI, 0) == 700  # 7 x 10**2
    assert decode(words(0x00FF, 0xE340), 0, pf.E8I24, pf.HI, 0) == -7360
    assert decode(words(0x00FF, 0xE340), 0, pf.E8U24, pf.HI, 0) == 0xFFE340  # unsigned: no sign
    assert decode(words(0xFD80, 0x0000), 0, pf.E8I24, pf.HI, 0) == -8389  # -8388608e-3, half away
    assert decode(words(0xFFFF, 0xFFFF), 0, pf.E8I24, pf.HI, 0) is None


def _f32_reference(bits, exp):
    # The plain exact formula, big integers and all, to check the word-wise decoder against.
    e2 = (bits >> 23) & 0xFF
    m = bits & 0x7FFFFF
    if e2:
        m |= 0x800000
        e2 -= 150
    else:
        e2 = -149
    num, den = m, 1
    if exp >= 0:
        num *= 10 ** exp
    else:
        den = 10 ** -exp
    if e2 >= 0:
        num <<= e2
    else:
        den <<= -e2
    v = (num + den // 2) // den
    return -v if bits >> 31 else v


def test_float_decoder_matches_the_exact_formula():
    import os

    seen = 0
    specials = [0x00000001, 0x007FFFFF, 0x00800000, 0x3F000000, 0x3EFFFFFF, 0x3F800000, 0x4B000000,
                0x4B7FFFFF, 0x4B800000, 0x5F000000, 0x449A5000, 0x3DCCCCCD, 0xC2F6E979]
    for i in range(3000):
        if i < len(specials):
            bits = specials[i]
        else:
            r = os.urandom(4)
            bits = (r[0] << 24) | (r[1] << 16) | (r[2] << 8) | r[3]
            if i % 3 == 0:
                # Mostly the range meters use: 1e-3 .. 1e7.
                bits = (bits & 0x807FFFFF) | ((117 + r[0] % 47) << 23)
        if (bits >> 23) & 0xFF == 0xFF:
            continue
        for exp in (-2, -1, 0, 1, 2, 3, 4):
            got = decode(words(bits >> 16, bits & 0xFFFF), 0, pf.F32, pf.HI, exp)
            want = _f32_reference(bits, exp)
            if got != want:
                # Ties round half up in magnitude in both; anything else is a bug.
                raise AssertionError("%08x exp %d: %r != %r" % (bits, exp, got, want))
            seen += 1
    assert seen > 10000


run(globals())
