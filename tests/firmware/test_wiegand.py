# The Wiegand reader: the frame decoder bit-exact (pure), and the D0/D1 IRQ glue with a
# stand-in Pin whose fire() calls the registered handler as machine.Pin's IRQ would. The unix
# port has no pins, so the stand-in tests the glue (buffer, gap, counters), not the hardware;
# on a board this file still runs it with the stand-in, which touches no real pin.
import time

from fwtest import raises, run
from laddvakt.drivers import rfid
from laddvakt.core.board import BoardError
from laddvakt.drivers.wiegand import ERR_LENGTH, ERR_PARITY, GAP_MS, WiegandReader, decode

# HID H10301, facility 18, card 12345: data 0x123039 between an even and an odd parity bit.
F26 = "00001001000110000001110011"
# 34 bits, data 0xDEADBEEF.
F34 = "1110111101010110110111110111011110"


def _bits(s):
    return bytearray(1 if c == "1" else 0 for c in s)


def _flip(s, i):
    return s[:i] + ("0" if s[i] == "1" else "1") + s[i + 1:]


def test_26_bit_frame():
    assert decode(_bits(F26), 26) == ("123039", None)


def test_34_bit_frame():
    assert decode(_bits(F34), 34) == ("DEADBEEF", None)


def test_all_zero_card_keeps_its_leading_zeros():
    # Card number 0: even parity 0, odd parity 1; the tag is still 6 digits.
    assert decode(_bits("0" * 25 + "1"), 26) == ("000000", None)


def test_every_single_bit_error_is_a_parity_error():
    for frame in (F26, F34):
        n = len(frame)
        for i in range(n):
            assert decode(_bits(_flip(frame, i)), n) == (None, ERR_PARITY), (n, i)


def test_wrong_lengths_are_refused():
    for n in (0, 1, 4, 8, 24, 25, 27, 32, 33, 35):
        assert decode(bytearray(40), n) == (None, ERR_LENGTH), n
    # A valid 26-bit frame read as 27 (one noise bit more) is not accepted either.
    assert decode(_bits(F26 + "1"), 27) == (None, ERR_LENGTH)


def test_tag_is_an_ocpp_idtoken():
    tag, _ = decode(_bits(F34), 34)
    assert len(tag) <= 20 and tag == tag.upper()


class _Pin:
    """Stand-in for machine.Pin: keeps the handler .irq() registers; fire() is one pulse."""

    def __init__(self):
        self.handler = None
        self.trigger = None

    def irq(self, handler, trigger):
        self.handler = handler
        self.trigger = trigger

    def fire(self):
        self.handler(self)


def _send(d0, d1, frame):
    for c in frame:
        (d1 if c == "1" else d0).fire()


def _reader():
    d0, d1 = _Pin(), _Pin()
    r = WiegandReader(d0, d1, 2)
    assert d0.trigger == 2 and d1.trigger == 2
    return r, d0, d1


def _gap():
    time.sleep_ms(GAP_MS + 10)


def test_frame_is_read_only_after_the_gap():
    r, d0, d1 = _reader()
    assert r.read_tag() is None
    _send(d0, d1, F26)
    assert r.read_tag() is None  # bits may still be coming
    _gap()
    assert r.read_tag() == "123039"
    assert r.read_tag() is None  # taken once
    assert (r.frames, r.parity_errors, r.length_errors) == (1, 0, 0)


def test_frames_in_a_row():
    r, d0, d1 = _reader()
    _send(d0, d1, F34)
    _gap()
    assert r.read_tag() == "DEADBEEF"
    _send(d0, d1, F26)
    _gap()
    assert r.read_tag() == "123039"
    assert r.frames == 2


def test_bad_parity_is_counted_and_dropped():
    r, d0, d1 = _reader()
    _send(d0, d1, _flip(F26, 5))
    _gap()
    assert r.read_tag() is None
    assert (r.frames, r.parity_errors, r.length_errors) == (0, 1, 0)
    _send(d0, d1, F26)  # the next good card still reads
    _gap()
    assert r.read_tag() == "123039"


def test_short_and_overlong_frames_are_counted_and_dropped():
    r, d0, d1 = _reader()
    _send(d0, d1, F26[:20])
    _gap()
    assert r.read_tag() is None
    # 60 bits of noise: counted past the buffer, never written past it.
    _send(d0, d1, "10" * 30)
    _gap()
    assert r.read_tag() is None
    assert len(r._bits) == 34
    assert (r.frames, r.parity_errors, r.length_errors) == (0, 0, 2)


def test_irq_handler_does_not_allocate():
    import gc

    r, d0, d1 = _reader()
    h = d1.handler
    gc.collect()
    gc.disable()
    try:
        before = gc.mem_alloc()
        for _ in range(34):
            h(d1)
        grew = gc.mem_alloc() - before
    finally:
        gc.enable()
    assert grew == 0, grew


class _Hal:
    def __init__(self):
        self.inputs = {}

    def wiegand_input(self, num):
        self.inputs[num] = _Pin()
        return self.inputs[num], 2


def test_build_from_the_board_spec():
    hal = _Hal()
    r = rfid.build(hal, {"type": "wiegand", "d0": 19, "d1": 22})
    _send(hal.inputs[19], hal.inputs[22], F26)
    _gap()
    assert r.read_tag() == "123039"
    assert rfid.build(hal, None) is None


class _Io:
    """Stand-in ADC/PWM/GPIO for drivers/cp_board.BoardControl: the CP reads +12 V (state A)."""

    def read_uv(self):
        return 1650000 + 12000 * 11000 // 80

    def duty_u16(self, d):
        pass

    def value(self, v=None):
        return 0


class _BoardHal(_Hal):
    def adc(self, n):
        return _Io()

    def pwm(self, n, freq, d):
        return _Io()

    def pin_out(self, n):
        return _Io()

    pin_in = pin_out


def test_a_tapped_card_authorizes_like_the_authorize_command():
    from laddvakt.core import config
    from laddvakt.control.controller import Controller
    from laddvakt.drivers.cp_board import BoardControl
    from laddvakt.control.faults import Faults

    board = {"pins": {"contactor": 26, "contactor_fb": None, "rcd": None},
             "pilot": {"adc_pin": 36, "pwm_pin": 25}, "rfid": {"type": "wiegand", "d0": 19, "d1": 22}}
    hal = _BoardHal()
    cfg = config.merged({"auth_mode": "list", "auth_list": "CARD-9,123039"})
    ctl = Controller(cfg, BoardControl(hal, board), Faults(), lambda *a: False)
    d0, d1 = hal.inputs[19], hal.inputs[22]
    ctl.tick(1000, None, 0, None)
    assert not ctl.auth.granted
    _send(d0, d1, F34)  # a card not on the list
    _gap()
    ctl.tick(2000, None, 0, None)
    assert not ctl.auth.granted and ctl.auth.tag is None
    _send(d0, d1, F26)  # on the list: accepted, waiting for the EV (OCPP ConnectionTimeOut)
    ctl.tick(3000, None, 0, None)
    assert not ctl.auth.granted  # the frame has not ended yet
    _gap()
    ctl.tick(4000, None, 0, None)
    assert ctl.auth.granted and ctl.auth.tag == "123039"


def test_unsupported_or_incomplete_readers_are_refused_at_boot():
    e = raises(BoardError, rfid.build, _Hal(), {"type": "pn532-uart", "tx": 1, "rx": 2})
    assert "pn532-uart" in str(e) and "wiegand" in str(e), str(e)
    e = raises(BoardError, rfid.build, _Hal(), {"type": "wiegand", "d0": 19})
    assert "d1" in str(e), str(e)


run(globals())
