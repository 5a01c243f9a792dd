# S0 pulse meter (IEC 62053-31 pulse output): a Pin IRQ counts pulses, with a debounce;
# the count is persisted (write a temporary file, then rename: atomic on littlefs and
# POSIX) so a reboot loses no energy. Writing happens in poll(), never in the IRQ, and at
# most once per persist_ms, which bounds flash wear to one small commit a second while
# charging. A power cut can lose the pulses of that last interval; a clean reboot none.
import time

from micropython import const

from laddvakt.core.config import ConfigError
from laddvakt.core.ident import write_atomic

# registers.py's measurand numbers (the values list's layout), as folded constants: an S0 board
# does not load the register vocabulary (tests/host/test_measurands.py).
_E_IMP = const(0)
_P = const(2)
_P1 = const(9)
_N = const(13)


class S0Meter:
    def __init__(self, pin, trigger, pulses_per_kwh, path, debounce_ms=20, persist_ms=1000,
                 ticks_ms=time.ticks_ms):
        self.ppk = pulses_per_kwh
        self.path = path
        self.debounce_ms = debounce_ms
        self.persist_ms = persist_ms
        self._ticks = ticks_ms
        self.count = self._load()
        self.saved = self.count
        self.bounces = 0
        self._last = None  # ticks of the last counted pulse
        self._prev = None  # and of the one before it, for the power estimate
        self._saved_at = ticks_ms()
        self.values = [None] * _N
        self.has_energy = True
        self.res_dwh = max(1, 10000 // pulses_per_kwh)
        self.serial_spec = None
        pin.irq(handler=self._irq, trigger=trigger)

    def _load(self):
        try:
            with open(self.path) as f:
                return int(f.read())
        except (OSError, ValueError):
            # No file yet (first boot); a torn write cannot happen thanks to the rename.
            return 0

    def _irq(self, pin):
        # Runs in interrupt context: integers only, nothing allocated.
        now = self._ticks()
        last = self._last
        if last is not None and time.ticks_diff(now, last) < self.debounce_ms:
            self.bounces += 1
            return
        self._prev = last
        self._last = now
        self.count += 1

    def save(self):
        n = self.count
        write_atomic(self.path, str(n))
        self.saved = n
        self._saved_at = self._ticks()

    def poll(self):
        now = self._ticks()
        n = self.count
        if n != self.saved and time.ticks_diff(now, self._saved_at) >= self.persist_ms:
            self.save()
        v = self.values
        # 1 kWh = 10000 x 0.1 Wh; whole 0.1 Wh only, the rest stays in the count.
        v[_E_IMP] = n * 10000 // self.ppk
        w = 0
        last, prev = self._last, self._prev
        if last is not None and prev is not None:
            # 3.6e9 W x ms per kWh; the power cannot be more than the time since the last
            # pulse allows, so it falls off when the pulses stop.
            dt = max(time.ticks_diff(last, prev), time.ticks_diff(now, last), 1)
            w = 3600000000 // (self.ppk * dt)
        v[_P] = w
        v[_P1] = None
        return v

    def serial(self):
        return None

    def counters(self):
        return {"pulses": self.count, "bounces": self.bounces}


def build(hal, mb, pins, cfg):
    """The S0 meter of a board's `meter` definition mb (app/hardware.py's build_meter: loaded only
    on an S0 board); ConfigError if its input cannot be made."""
    num = mb.get("pin", pins.get("s0"))
    try:
        pin, trigger = hal.s0_input(num)
    except (ValueError, OSError, AttributeError) as e:
        raise ConfigError("meter: S0 input: %s" % e)
    return S0Meter(pin, trigger, cfg["s0_pulses_per_kwh"], hal.data_dir + "/s0_count", cfg["s0_debounce_ms"])
