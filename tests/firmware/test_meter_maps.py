# Built-in register maps checked against values read off the makers' register tables by hand
# (docs/meters.md cites them), independent of the map table: each case puts raw words where
# the maker's table says a quantity lives, in the maker's encoding, and expects the firmware's
# fixed units (energy 0.1 Wh, power W, voltage 0.1 V, frequency 0.01 Hz).
from fwtest import raises, run
from laddvakt.meters import registers as pf
from laddvakt.meters.modbus_meter import ModbusMeter


class Regs:
    # A register space standing in for the master: read() copies the asked words into rx.
    def __init__(self, words):
        self.words = words  # {(fc, register): word}
        self.rx = bytearray(260)
        self.asked = []

    def read(self, addr, fc, start, count):
        self.asked.append((fc, start, count))
        for i in range(count):
            w = self.words.get((fc, start + i), 0)
            self.rx[3 + 2 * i] = w >> 8
            self.rx[4 + 2 * i] = w & 0xFF
        return 3


def values(profile, words):
    m = ModbusMeter(Regs(words), 1, profile)
    v = m.poll()
    return {pf.NAMES[i]: v[i] for i in range(pf.N)}, m


def test_em24_kwh_tot_at_62_int32_lsw_first_in_tenths_of_kwh():
    # EM24-DIN protocol: 62 "kWh(+) TOT" INT32, LSW first, kWh*10; 55 "Hz" INT16, Hz*10.
    v, _ = values("em24", {(4, 62): 12345, (4, 63): 0, (4, 55): 500, (4, 40): 0x1F80, (4, 41): 0x0001})
    assert v["e_imp"] == 12345000 and v["f"] == 5000 and v["p"] == 7360


def test_or_we_514_energy_uint32_hundredths_of_kwh_and_power_in_watts():
    # OR-WE-514: 0xA000 total active energy uint32 0.01 kWh; 0x140 power 0.001 kW; 0x131 V 0.01 V.
    v, _ = values("or_we_514", {(3, 0xA000): 1, (3, 0xA001): 0, (3, 0x140): 0, (3, 0x141): 7360,
                                (3, 0x131): 23012, (3, 0x130): 4998})
    assert v["e_imp"] == 6553600 and v["p"] == 7360 and v["u1"] == 2301 and v["f"] == 4998


def test_or_we_516_517_forward_kwh_at_0x108_not_the_total_at_0x100():
    # 1234.5 = 0x449A5000, 7.36 = 0x40EB851F (IEEE 754 single precision). 0x100 is forward plus
    # reverse: a meter that ever exported would bill the export too.
    for name in ("or_we_517", "or_we_516"):
        v, m = values(name, {(3, 0x108): 0x449A, (3, 0x109): 0x5000, (3, 0x1C): 0x40EB, (3, 0x1D): 0x851F,
                             (3, 0x100): 0x4500, (3, 0x110): 0x4120})  # total 2048.0, reverse 10.0
        assert v["e_imp"] == 12345000 and v["p"] == 7360 and v["e_exp"] == 100000, (name, v)
        assert m.master.asked == [(3, 0x0E, 22), (3, 0x108, 10)], m.master.asked


def test_or_we_504_uint16_tenths_and_uint32_wh_in_one_read():
    # 0x00 V 0.1 V, 0x01 A 0.1 A, 0x02 Hz 0.1 Hz, 0x03 W, 0x07-0x08 Wh (high word first).
    v, m = values("or_we_504", {(3, 0): 2305, (3, 1): 320, (3, 2): 500, (3, 3): 7360, (3, 7): 1, (3, 8): 0x0002})
    assert v == dict(v, u1=2305, i1=32000, f=5000, p=7360, p1=7360, e_imp=655380), v
    assert m.master.asked == [(3, 0, 9)]


def test_finder_7m_energy_in_tenths_of_wh_and_t5_t6_values():
    # E1/E2 "x1000" counters uint32 0.1 Wh; T5 = exponent byte + unsigned 24-bit mantissa:
    # 2305 x 10**-1 V = 0xFF000901; T6 signed: -7360 W = 0x00 FFE340, 50.00 Hz = 5000 x 10**-2.
    v, m = values("finder_7m", {(4, 462): 0x0001, (4, 463): 0x0000, (4, 464): 0, (4, 465): 42,
                                (4, 107): 0xFF00, (4, 108): 0x0901, (4, 140): 0x00FF, (4, 141): 0xE340,
                                (4, 105): 0xFE00, (4, 106): 0x1388})
    assert v["e_imp"] == 65536 and v["e_exp"] == 42 and v["u1"] == 2305 and v["p"] == -7360 and v["f"] == 5000, v
    assert m.master.asked == [(4, 105, 8), (4, 140, 8), (4, 462, 4)]


def test_eem_ma_float32_low_word_first_in_si_units():
    # 230.5 V = 0x43668000, 7360 W = 0x45E60000, 12345678 Wh = 0x4B3C614E; low word first.
    v, m = values("eem_ma", {(3, 0x8006): 0x8000, (3, 0x8007): 0x4366, (3, 0x8016): 0x0000, (3, 0x8017): 0x45E6,
                             (3, 0x8100): 0x614E, (3, 0x8101): 0x4B3C})
    assert v["u1"] == 2305 and v["p"] == 7360 and v["e_imp"] == 123456780, v
    assert m.master.asked == [(3, 0x8006, 30), (3, 0x8100, 8)]


def test_iem3000_energy_float32_wh_at_45100():
    v, _ = values("iem3000", {(3, 45100): 0x447A, (3, 45101): 0})  # 1000.0 Wh
    assert v["e_imp"] == 10000


def test_abb_b23_uint64_hundredths_of_kwh_at_0x5000():
    v, _ = values("abb_b23", {(3, 0x5002): 0x0001, (3, 0x5003): 0xE240})  # 1234.56 kWh
    assert v["e_imp"] == 12345600


def test_em111_kwh_at_0x10_int32_lsw_first():
    v, _ = values("em111", {(4, 0x10): 0x86A0, (4, 0x11): 0x0001, (4, 0x04): 200, (4, 0x0F): 501})  # 100000 = 10000.0 kWh
    assert v["e_imp"] == 100000000 and v["p"] == 20 and v["f"] == 5010


def test_sdm72d_v1_has_no_serial_and_reads_in_two_requests():
    v, m = values("sdm72d_v1", {(4, 0x48): 0x449A, (4, 0x49): 0x5000})
    assert v["e_imp"] == 12345000 and m.serial_spec is None and m.serial() is None
    assert m.master.asked == [(4, 0x34, 2), (4, 0x48, 4)]


def test_a_map_from_a_board_file_is_checked_and_used():
    board_map = {"name": "my meter", "registers": {
        "e_imp": {"fc": 3, "address": 256, "type": "uint32", "unit": "kWh", "scale": -2},
        "p": {"fc": 3, "address": 258, "type": "int16", "unit": "W"}}}
    v, m = values(board_map, {(3, 257): 12345, (3, 258): 0xFFFF})
    assert v["e_imp"] == 1234500 and v["p"] == -1 and m.profile == "my meter" and len(m.plan) == 1
    board_map["registers"]["p"]["unit"] = "kWh"
    e = raises(ValueError, ModbusMeter, Regs({}), 1, board_map)
    assert "registers.p.unit" in str(e)


def test_building_the_meter_lets_the_map_table_go():
    import gc
    import sys

    from laddvakt.meters.modbus_meter import forget_table

    registers_get = pf.get
    gc.collect()
    before = gc.mem_alloc()
    spec = registers_get("sdm630")
    assert "laddvakt.meters.maps" in sys.modules
    forget_table()
    gc.collect()
    assert "laddvakt.meters.maps" not in sys.modules
    kept = gc.mem_alloc() - before
    assert spec[0][0][0] == pf.E_IMP and kept < 6000, kept
    assert registers_get("em24")[1] is None  # imported again on demand


def test_scan_skeleton_starts_from_the_energy_register_that_answered():
    from laddvakt.meters.scan import skeleton

    sk = skeleton([4], {"sdm630": 123, "em340": None}, ("em340", "sdm630"))
    assert sk["registers"]["e_imp"] == {"fc": 4, "address": 0x48, "type": "float32", "words": "high_first",
                                        "unit": "kWh", "scale": 0}
    sk = skeleton([3], {"em340": None}, ("em340",))
    assert sk["registers"]["e_imp"]["fc"] == 3 and sk["registers"]["e_imp"]["address"] == 0
    # What it prints is a map the firmware accepts.
    pf.get(sk)


run(globals())
