# The RC522 driver against a register-level simulated MFRC522 (mfrc522_sim.py): the SPI
# framing, the init sequence, REQA and CL1 anticollision byte-exact on the air, the BCC check,
# and one read per tap. On a board it still runs against the simulated chip, which touches no
# real pin.
from fwtest import run
from laddvakt import rfid
from laddvakt.rc522 import Rc522
from mfrc522_sim import Card, Chip


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


def test_seven_byte_uid_is_counted_not_misread():
    # The cascade tag 0x88 says the UID continues at level 2, which this driver does not read.
    r, chip = _reader(Card(b"\x88\x04\x51\x72"))
    assert r.read_tag() is None
    assert r.long_uids == 1


def test_antenna_off_means_no_card_answers():
    r, chip = _reader(Card(b"\x12\x34\x56\x78"))
    chip.regs[0x14] = 0x80
    assert r.read_tag() is None


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
