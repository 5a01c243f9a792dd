# The board's control hardware adapter, with stand-in pins (the unix port has no ADC or PWM;
# on a board this file reads the real ones only if asked to, so it prints SKIP there).
import sys

from fwtest import Skip, run
from laddvakt.drivers.cp_board import BoardControl
from laddvakt.control.pilot import DUTY_F, DUTY_OFF, PilotDecoder

BOARD = {"pins": {"contactor": 26, "contactor_fb": 27, "rcd": 34},
         "pilot": {"adc_pin": 36, "pwm_pin": 25, "zero_uv": 1650000, "mv_num": 80, "mv_den": 11000}}


class _Adc:
    def __init__(self, mvs):
        self.mvs = mvs  # CP levels in mV, cycled through
        self.i = 0

    def read_uv(self):
        mv = self.mvs[self.i % len(self.mvs)]
        self.i += 1
        return 1650000 + mv * 11000 // 80


class _Pwm:
    def __init__(self, freq, d):
        self.freq = freq
        self.d = d

    def duty_u16(self, d):
        self.d = d


class _Pin:
    def __init__(self, v=0):
        self.v = v

    def value(self, v=None):
        if v is None:
            return self.v
        self.v = v


class _Hal:
    def __init__(self, mvs):
        self.pins = {}
        self.a = _Adc(mvs)

    def adc(self, n):
        return self.a

    def pwm(self, n, freq, d):
        self.p = _Pwm(freq, d)
        return self.p

    def pin_out(self, n):
        self.pins[n] = _Pin()
        return self.pins[n]

    pin_in = pin_out


def _board():
    if sys.platform == "esp32":
        raise Skip("stand-in pins only; a board runs the real ones")


def test_cp_read_sees_both_halves_of_the_pwm():
    _board()
    hal = _Hal([6000, 6000, -12000, -12000])
    b = BoardControl(hal, BOARD)
    hi, lo = b.cp_read()
    assert abs(hi - 6000) <= 1 and abs(lo + 12000) <= 1, (hi, lo)
    dec = PilotDecoder(1)
    assert dec.feed(hi, lo, True) == "C" and dec.diode_ok


def test_pwm_starts_at_1khz_steady_and_maps_duty():
    _board()
    hal = _Hal([12000])
    b = BoardControl(hal, BOARD)
    assert hal.p.freq == 1000 and hal.p.d == 65535
    b.set_duty(266)
    assert hal.p.d == 266 * 65535 // 1000
    b.set_duty(DUTY_F)
    assert hal.p.d == 0
    b.set_duty(DUTY_OFF)
    assert hal.p.d == 65535


def test_contactor_feedback_and_rcd():
    _board()
    hal = _Hal([12000])
    b = BoardControl(hal, BOARD)
    assert hal.pins[26].v == 0
    b.set_contactor(True)
    assert hal.pins[26].v == 1
    assert b.contactor_feedback() is False
    hal.pins[27].v = 1
    assert b.contactor_feedback() is True
    assert b.rcd_tripped() is False
    hal.pins[34].v = 1
    assert b.rcd_tripped() is True
    assert b.temp_c() is None and b.read_tag() is None


def test_board_without_feedback_or_rcd():
    _board()
    b = BoardControl(_Hal([12000]), {"pins": {"contactor": 26}, "pilot": BOARD["pilot"]})
    assert b.contactor_feedback() is None and b.rcd_tripped() is None


run(globals())
