# S0 pulse meter: IRQ counting with debounce, pulses per kWh, a count that survives a reboot.
import os

from fwtest import run
from laddvakt.meters import registers as pf
from laddvakt.meters.s0 import S0Meter

PATH = "s0_test_count"


class Pin:
    def irq(self, handler=None, trigger=None):
        self.handler = handler
        self.trigger = trigger


class Clock:
    def __init__(self):
        self.t = 0

    def __call__(self):
        return self.t


def fresh():
    for p in (PATH, PATH + ".tmp"):
        try:
            os.remove(p)
        except OSError:
            pass


def make(clk, ppk=1000, debounce=20):
    pin = Pin()
    m = S0Meter(pin, 2, ppk, PATH, debounce, 1000, clk)
    return pin, m


def pulse(pin, clk, at):
    clk.t = at
    pin.handler(pin)


def test_pulses_make_energy_and_power():
    fresh()
    clk = Clock()
    pin, m = make(clk)
    assert pin.trigger == 2
    for i in range(10):
        pulse(pin, clk, i * 500)  # 1 Wh every 0.5 s: 7200 W
    v = m.poll()
    assert v[pf.E_IMP] == 100 and v[pf.P] == 7200
    clk.t = 4500 + 5000  # no pulse for 5 s: at most 720 W
    assert m.poll()[pf.P] == 720


def test_bounces_are_not_counted():
    fresh()
    clk = Clock()
    pin, m = make(clk)
    for t in (0, 3, 7, 19, 40, 45):
        pulse(pin, clk, t)
    assert m.count == 2 and m.bounces == 4


def test_count_survives_a_reboot():
    fresh()
    clk = Clock()
    pin, m = make(clk, ppk=800)
    for i in range(8):
        pulse(pin, clk, 100 * i)
    clk.t = 2000
    assert m.poll()[pf.E_IMP] == 100  # 8 of 800 per kWh = 10 Wh
    assert m.saved == 8
    pin2, m2 = make(Clock(), ppk=800)
    assert m2.count == 8 and m2.poll()[pf.E_IMP] == 100
    fresh()


def test_clean_shutdown_saves_the_count():
    from laddvakt.core import config
    from laddvakt.meters.service import MeterService

    fresh()
    clk = Clock()
    pin, m = make(clk)
    svc = MeterService(m, config.defaults(), lambda *a: None, lambda *a: None)
    pulse(pin, clk, 1500)
    svc.sample(1500)  # saved: a change, a second after the last write
    pulse(pin, clk, 1600)
    pulse(pin, clk, 1700)
    svc.sample(1700)  # within the second: not yet
    assert m.saved == 1
    svc.close()
    assert make(Clock())[1].count == 3
    fresh()


def test_writes_are_rate_limited():
    fresh()
    clk = Clock()
    pin, m = make(clk)
    pulse(pin, clk, 1500)
    m.poll()
    pulse(pin, clk, 1600)
    m.poll()  # 100 ms after the last write: not yet
    assert m.saved == 1
    clk.t = 2600
    m.poll()
    assert m.saved == 2
    fresh()


run(globals())
