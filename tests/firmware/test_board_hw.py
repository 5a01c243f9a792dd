# The board itself: the console's non-blocking stdin poll (every port), and on an ESP32 the
# pins of the deployed board definition. Nothing here switches the contactor: the pilot PWM
# is held at 100 % (state A, no EV may charge) and every other pin is only read.
import sys
import time

from fwtest import on_esp32, run


def test_stdin_poll_does_not_block():
    import select

    p = select.poll()
    p.register(sys.stdin, select.POLLIN)
    t0 = time.ticks_ms()
    for _ in range(20):
        p.poll(0)
    assert time.ticks_diff(time.ticks_ms(), t0) < 100


def _deployed_board():
    import json
    import os

    with open("/data/config.json") as f:
        name = json.loads(f.read())["board"]
    from laddvakt.core import board

    assert name + ".json" in os.listdir("/boards"), "board %s is not deployed" % name
    return board.load("/boards", name)


def test_board_pins_answer():
    on_esp32("reading the board's pins")
    from machine import ADC, PWM, Pin

    b = _deployed_board()
    pins = b["pins"]
    for name in ("contactor_fb", "rcd", "s0", "button"):
        assert Pin(pins[name], Pin.IN).value() in (0, 1), name
    adc = ADC(Pin(pins["cp_adc"]))
    adc.atten(ADC.ATTN_11DB)
    assert 0 <= adc.read_u16() <= 65535
    pwm = PWM(Pin(pins["cp_pwm"]), freq=1000, duty_u16=65535)
    try:
        assert 980 <= pwm.freq() <= 1020  # IEC 61851-1 accepts 980..1020 Hz
    finally:
        pwm.duty_u16(65535)


run(globals())
