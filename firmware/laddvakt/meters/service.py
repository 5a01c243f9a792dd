# The meter as the agent sees it: poll the driver, count its health, raise and clear
# PowerMeterFailure after the grace, check the serial, and pass each energy reading
# through the integrity guard. Only guarded energy reaches the session tracker.
import asyncio

from laddvakt.meters import integrity as en
from laddvakt.meters.health import MeterHealth
from laddvakt.meters.registers import E_IMP, N, P

_FAULT = "PowerMeterFailure"


class _ReadMeter:
    # A meter with only read() -> (Wh, W), such as the simulated one.
    serial_spec = None
    has_energy = True
    res_dwh = 10

    def __init__(self, meter):
        self._m = meter
        self.values = [None] * N

    def poll(self):
        wh, w = self._m.read()
        self.values[E_IMP] = wh * 10
        self.values[P] = w
        return self.values

    def serial(self):
        return None

    def counters(self):
        return {}


class MeterService:
    def __init__(self, meter, cfg, set_fault, report, profile=None):
        if not hasattr(meter, "poll"):
            meter = _ReadMeter(meter)
        self.meter = meter
        self.profile = profile
        self.guard = en.EnergyGuard(cfg["meter_max_power_w"], meter.res_dwh)
        self.health = MeterHealth(cfg["meter_grace_polls"], cfg["meter_grace_ms"])
        self.serial_every = cfg["meter_serial_check_polls"]
        self.retry_ms = cfg["meter_retry_ms"]
        self._failing = False
        self._tried_ms = 0
        self._set_fault = set_fault
        self._report = report  # fn(event, reason, value_dwh): journals a meter_event record
        self.serial = None
        self.replaced = 0
        self._check_serial = meter.serial_spec is not None
        self._since_serial = 0
        self._split_wh = None
        self._rejecting = en.OK
        self.energy_wh = None
        self.power_w = 0
        self.fetches = hasattr(meter, "apoll")  # its I/O is awaited in fetch(), not in sample()
        self._fetched = None  # fetch()'s outcome: (values, serial or None), or the OSError
        self._task = None  # the fetch in flight
        self.stop_reason = None

    def _skip(self, up_ms):
        # A dead meter costs one timeout per retry interval, not one per sample, so the
        # pilot and the session keep being sampled on time.
        return self._failing and up_ms - self._tried_ms < self.retry_ms

    def _want_serial(self):
        m = self.meter
        if m.serial_spec is None:
            return False
        self._since_serial += 1
        if self._check_serial or (self.serial_every and self._since_serial >= self.serial_every):
            self._since_serial = 0
            self._check_serial = False
            return True
        return False

    def ready(self, up_ms, want, reason):
        """Each tick, after control: True when sampling runs now, ending any session for
        self.stop_reason. A meter whose I/O is awaited is first fetched in a task, and the
        loop's control ticks go on while the line is busy; the sample follows at the first
        tick after the fetch, with any stop reason control found meanwhile."""
        if not self.fetches:
            self.stop_reason = reason
            return want
        t = self._task
        if t is None:
            if want:
                self.stop_reason = reason
                self._task = asyncio.create_task(self.fetch(up_ms))
            return False
        self.stop_reason = self.stop_reason or reason
        if not t.done():
            return False
        self._task = None
        return True

    async def fetch(self, up_ms):
        """The poll's line traffic, awaited (a meter with apoll(): Modbus), for the next
        sample() to take: the loop runs control ticks meanwhile (app/agent.py)."""
        if self._skip(up_ms):
            return
        m = self.meter
        try:
            vals = await m.apoll()
            self._fetched = (vals, await m.aserial() if self._want_serial() else None)
        except OSError as e:
            self._fetched = e

    def sample(self, up_ms):
        """Poll once (or take what fetch() read). True when energy_wh and power_w hold a
        reading to use; False when the meter gave nothing usable (the sample is skipped,
        nothing is guessed)."""
        m = self.meter
        got = self._fetched
        self._fetched = None
        if self._skip(up_ms) or (self.fetches and got is None):
            return False
        self._tried_ms = up_ms
        try:
            if isinstance(got, OSError):
                raise got
            if got is None:
                vals = m.poll()
                new_serial = m.serial() if self._want_serial() else None
            else:
                vals, new_serial = got
        except OSError as e:
            failing = self._failing = self.health.note(up_ms, False, e)
            if failing:
                self._set_fault(_FAULT, True, ("%d failed polls: %s" % (self.health.in_a_row, e))[:50])
            # The meter may have been swapped while it was silent.
            self._check_serial = m.serial_spec is not None
            self.guard.last_ok = False  # a session ending now ends on an unverified reading
            self.power_w = 0
            return False
        self.health.note(up_ms, True)
        self._failing = False
        self._set_fault(_FAULT, False)
        g = self.guard
        p = vals[P]
        self.power_w = p if p is not None else 0
        r = vals[E_IMP]
        if not m.has_energy:
            g.integrate(up_ms, p)
        elif new_serial is not None and self.serial is not None and new_serial != self.serial and r is not None:
            # Meter replaced: the open session ends at the old meter's last booked reading
            # and the next one starts on the new meter's register (docs/meters.md).
            self._split_wh = g.booked // 10 if g.booked is not None else None
            g.rebase(up_ms, r, en.F_REPLACED, booked=r)
            self.replaced += 1
            self._report("replaced", None, r)
        else:
            v = g.feed(up_ms, r)
            if v == en.RESYNC:
                self._report("resync", None, r)
                self._rejecting = en.OK
            elif v != en.OK:
                if v != self._rejecting:
                    # Journal the first of a run of one kind; the counters have them all.
                    self._report("rejected", en.VERDICTS[v], r)
                self._rejecting = v
                self._check_serial = m.serial_spec is not None
            else:
                self._rejecting = en.OK
        if new_serial is not None:
            self.serial = new_serial
        if g.booked is None:
            return False
        self.energy_wh = g.booked // 10
        return True

    def split(self, tracker, up_ms, wall_t):
        """After a meter replacement, end the open session ("Other"); None otherwise."""
        wh = self._split_wh
        if wh is None:
            return None
        self._split_wh = None
        return tracker.stop(up_ms, wall_t, wh, "Other")

    def mark(self):
        self.guard.mark()

    def close(self):
        """Clean shutdown: a meter that keeps state (the S0 count) saves it now."""
        save = getattr(self.meter, "save", None)
        if save:
            save()

    def session_flags(self):
        return en.flag_names(self.guard.session_flags())

    def status(self):
        g = self.guard
        h = self.health
        d = {"profile": self.profile, "polls": h.polls, "failed_polls": h.failed_polls,
             "failed_in_a_row": h.in_a_row, "rejected_nan": g.rejected[en.NAN],
             "rejected_backwards": g.rejected[en.BACKWARDS], "rejected_jump": g.rejected[en.JUMP],
             "resyncs": g.resyncs, "replaced": self.replaced, "energy_wh": self.energy_wh,
             "power_w": self.power_w, "serial": None if self.serial is None else "%x" % self.serial,
             "last_error": None if h.last_error is None else str(h.last_error)}
        d.update(self.meter.counters())
        return d
