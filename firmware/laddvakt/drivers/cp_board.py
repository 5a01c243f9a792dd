# The control hardware of a real board, behind the surface the controller uses (the same as
# sim/ev.SimStation): the CP through an ADC and a PWM pin, the contactor coil and its
# feedback contact, the RCD trip input. Pins and the CP front end's scaling come from the
# board file (boards/*.json, "pins" and "pilot"); the peripherals come from the HAL.
from micropython import const

from laddvakt.drivers import rfid

_SAMPLES = const(24)  # ADC reads per tick: more than one 1 kHz period, so both halves are seen


class BoardControl:
    def __init__(self, hal, board):
        pins = board["pins"]
        p = board["pilot"]
        self._adc = hal.adc(p["adc_pin"])
        self._pwm = hal.pwm(p["pwm_pin"], 1000, 65535)  # 1 kHz (IEC 61851-1), steady +12 V
        # CP volts from ADC microvolts: cp_mv = (uv - zero_uv) * num // den (the front end
        # maps -12..+12 V into the ADC's range around zero_uv).
        self._zero = p.get("zero_uv", 1650000)
        self._num = p.get("mv_num", 80)
        self._den = p.get("mv_den", 11000)
        self._invert = p.get("pwm_invert", False)
        self._coil = hal.pin_out(pins["contactor"])
        self._coil.value(0)
        fb = pins.get("contactor_fb")
        self._fb = hal.pin_in(fb) if fb is not None else None
        rcd = pins.get("rcd")
        self._rcd = hal.pin_in(rcd) if rcd is not None else None
        self._rcd_active = p.get("rcd_active", 1)
        self.reader = rfid.build(hal, board.get("rfid"))

    def cp_read(self):
        """(high, low) CP levels in mV: the extremes of a burst of reads spanning a period."""
        adc = self._adc
        hi = -1 << 30
        lo = 1 << 30
        for _ in range(_SAMPLES):
            v = adc.read_uv()
            if v > hi:
                hi = v
            if v < lo:
                lo = v
        return ((hi - self._zero) * self._num // self._den,
                (lo - self._zero) * self._num // self._den)

    def set_duty(self, duty_pm):
        d = duty_pm * 65535 // 1000
        self._pwm.duty_u16(65535 - d if self._invert else d)

    def set_contactor(self, on):
        self._coil.value(1 if on else 0)

    def contactor_feedback(self):
        return None if self._fb is None else bool(self._fb.value())

    def rcd_tripped(self):
        return None if self._rcd is None else self._rcd.value() == self._rcd_active

    def temp_c(self):
        return None  # no temperature sensor on the boards defined so far

    def read_tag(self):
        """A card at the board's reader (rfid.py), else None; `authorize` (MQTT or console)
        presents tags the same way."""
        r = self.reader
        return None if r is None else r.read_tag()

    def vehicle_id(self):
        return None
