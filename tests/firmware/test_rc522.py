# The RC522 driver against a register-level simulated MFRC522 (mfrc522_sim.py): the SPI
# framing, the init sequence, REQA, anticollision and SELECT byte-exact on the air (4- and
# 7-byte UIDs), CRC_A, the BCC check, and one read per tap. On a board it still runs against the simulated chip, which touches no
# real pin.
from fwtest import run
from laddvakt.drivers import rfid
from laddvakt.drivers.rc522 import Rc522, crc_a
from mfrc522_sim import Card, Chip
from mfrc522_sim import crc_a as sim_crc


def _reader(*cards):
    chip = Chip()
    chip.cards.extend(cards)
    return Rc522(chip, chip), chip


def test_init_finds_the_chip_and_turns_the_antenna_on():
    r, chip = _reader()
    assert r.ok and r.version == 0x92
    assert chip.regs[0x14] & 0x03 == 0x03  # TX1, TX2 on
    assert chip.regs[0x2A] == 0x8D and chip.regs[0x2B] == 0x3E and chip.regs[0x2D] == 10
    assert chip.regs[0x11] == 0x3D and chip.regs[0x15] == 0x40
    assert not chip.cs_low  # chip select released between transfers


def test_no_chip_on_the_bus_reads_nothing():
    chip = Chip(version=0x00)
    r = Rc522(chip, chip)
    assert not r.ok
    chip.cards.append(Card(b"\x12\x34\x56\x78"))
    assert r.read_tag() is None and chip.frames == []


def test_a_card_reads_its_uid_once_per_tap():
    card = Card(b"\xDE\xAD\xBE\xEF")
    r, chip = _reader(card)
    assert r.read_tag() == "DEADBEEF"
    # On the air: REQA as a 7-bit short frame, then SEL CL1 with NVB 0x20.
    assert chip.frames == [(b"\x26", 7), (b"\x93\x20", 0)]
    # Lying on the reader: never reported again (the card alternates READY/IDLE).
    for _ in range(10):
        assert r.read_tag() is None
    assert r.reads == 1
    chip.take(card)
    for _ in range(3):
        assert r.read_tag() is None
    chip.place(card)  # a new tap of the same card reads again
    assert r.read_tag() == "DEADBEEF"
    assert r.reads == 2


def test_a_short_absence_is_not_a_new_tap():
    card = Card(b"\x01\x02\x03\x04")
    r, chip = _reader(card)
    assert r.read_tag() == "01020304"
    chip.take(card)
    r.read_tag()
    r.read_tag()  # two empty polls: still the same tap
    chip.place(card)
    for _ in range(4):
        assert r.read_tag() is None


def test_bad_bcc_is_counted_and_dropped():
    r, chip = _reader(Card(b"\x11\x22\x33\x44", bcc=0x00))
    for _ in range(4):
        assert r.read_tag() is None
    assert r.bcc_errors == 2 and r.reads == 0  # every other poll the card answers


def test_colliding_cards_are_counted_and_dropped():
    r, chip = _reader(Card(b"\x11\x22\x33\x44"), Card(b"\x55\x66\x77\x88"))
    assert r.read_tag() is None
    assert r.errors == 1 and r.reads == 0


def test_crc_a_vectors():
    # ISO 14443-3 Annex B: 00 00 -> A0 1E, 12 34 -> 26 CF (low byte first on the air).
    assert crc_a(b"\x00\x00", 2) == 0x1EA0
    assert crc_a(b"\x12\x34", 2) == 0xCF26


def test_seven_byte_uid_through_cascade_level_2():
    card = Card(b"\x04\x51\x72\x1A\x2B\x3C\x80")
    r, chip = _reader(card)
    assert r.read_tag() == "0451721A2B3C80"
    bcc1 = 0x88 ^ 0x04 ^ 0x51 ^ 0x72
    sel = bytes([0x93, 0x70, 0x88, 0x04, 0x51, 0x72, bcc1])
    assert chip.frames == [(b"\x26", 7), (b"\x93\x20", 0), (sel + sim_crc(sel), 0), (b"\x95\x20", 0)]
    assert card.selects == 1
    for _ in range(6):
        assert r.read_tag() is None  # once per tap here too
    assert r.reads == 1


def test_four_byte_uid_of_a_card_that_was_seven_bytes_is_a_new_card():
    r, chip = _reader(Card(b"\x04\x51\x72\x1A\x2B\x3C\x80"))
    assert r.read_tag() == "0451721A2B3C80"
    chip.take(chip.cards[0])
    for _ in range(3):
        r.read_tag()
    chip.place(Card(b"\x04\x51\x72\x1A"))
    assert r.read_tag() == "0451721A"


def test_ten_byte_uid_is_counted_not_misread():
    # CL2 starting with the cascade tag again: a third level this driver does not read.
    r, chip = _reader(Card(b"\x04\x51\x72\x88\x2B\x3C\x80"))
    assert r.read_tag() is None
    assert r.long_uids == 1 and r.reads == 0


def test_antenna_off_means_no_card_answers():
    r, chip = _reader(Card(b"\x12\x34\x56\x78"))
    chip.regs[0x14] = 0x80
    assert r.read_tag() is None


def test_a_chip_gone_quiet_costs_a_bounded_wait():
    import time

    r, chip = _reader(Card(b"\x12\x34\x56\x78"))
    chip.quiet = True  # no TimerIRq, no RxIRq: the driver's own bound ends the wait
    t0 = time.ticks_ms()
    assert r.read_tag() is None
    assert time.ticks_diff(time.ticks_ms(), t0) < 200
    chip.quiet = False
    assert r.read_tag() == "12345678"


class _Hal:
    def __init__(self, chip):
        self.chip = chip
        self.asked = None

    def spi(self, sck, mosi, miso, baudrate):
        self.asked = (sck, mosi, miso, baudrate)
        return self.chip

    def pin_out(self, n):
        return self.chip


def test_built_from_the_board_spec():
    chip = Chip()
    chip.cards.append(Card(b"\xCA\xFE\xF0\x0D"))
    hal = _Hal(chip)
    r = rfid.build(hal, {"type": "rc522-spi", "sck": 18, "mosi": 23, "miso": 19, "cs": 5})
    assert hal.asked == (18, 23, 19, 1000000)
    assert r.read_tag() == "CAFEF00D"


run(globals())
