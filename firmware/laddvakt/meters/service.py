# The meter as the agent sees it: poll the driver, count its health, raise and clear
# PowerMeterFailure after the grace, check the serial, and pass each energy reading
# through the integrity guard. Only guarded energy reaches the session tracker.
# MeterHealth: poll outcomes in, "is the meter failing" out. A fault is raised after a grace (so
# one noisy frame on the RS485 line does not trip the charger) and cleared by the first good poll.
import asyncio

from laddvakt.meters import integrity
from micropython import const
from laddvakt.core.clock import tdiff

_FAULT = const("PowerMeterFailure")
_EXCEPTION = const(3)  # meters/modbus.py EXCEPTION, without importing the Modbus code on an S0 board
# registers.py's measurand numbers (the values list's layout), as folded constants: the register
# vocabulary loads only with a meter that has a register map (tests/host/test_measurands.py).
_E_IMP = const(0)
_P = const(2)
_N = const(13)


class _ReadMeter:
    # A meter with only read() -> (Wh, W), such as the simulated one.
    serial_spec = None
    has_energy = True
    res_dwh = 10

    def __init__(self, meter):
        self.meter = meter
        self.values = [None] * _N

    def poll(self):
        wh, w = self.meter.read()
        self.values[_E_IMP] = wh * 10
        self.values[_P] = w
        return self.values

    def serial(self):
        return None

    def counters(self):
        return {}


class MeterHealth:
    def __init__(self, meter_grace_polls=3, meter_grace_ms=10000):
        self.meter_grace_polls = meter_grace_polls
        self.meter_grace_ms = meter_grace_ms
        self.polls = 0
        self.failed_polls = 0
        self.in_a_row = 0
        self.last_ok_ms = None
        self.since_ms = 0  # when the current run of failed polls began
        self.last_error = None

    def note(self, now_ms, ok, error=None):
        """Record one poll; returns True while the meter counts as failed."""
        self.polls += 1
        if ok:
            self.in_a_row = 0
            self.last_ok_ms = now_ms
            return False
        self.failed_polls += 1
        if not self.in_a_row:
            self.since_ms = now_ms
        self.in_a_row += 1
        self.last_error = error
        since = self.last_ok_ms if self.last_ok_ms is not None else self.since_ms
        return self.in_a_row >= self.meter_grace_polls or tdiff(now_ms, since) >= self.meter_grace_ms


class MeterService:
    def __init__(self, meter, cfg, set_fault, report, profile=None):
        if not hasattr(meter, "poll"):
            meter = _ReadMeter(meter)
        self.meter = meter
        self.profile = profile
        self.guard = integrity.EnergyGuard(cfg["meter_max_power_w"], meter.res_dwh)
        self.health = MeterHealth(cfg["meter_grace_polls"], cfg["meter_grace_ms"])
        self.meter_serial_check_polls = cfg["meter_serial_check_polls"]
        self.meter_retry_ms = cfg["meter_retry_ms"]
        self.failing = False  # PowerMeterFailure raised by us, cleared at the next good poll
        self._tried_ms = 0
        self._set_fault = set_fault
        self._report = report  # fn(event, reason, value_dwh): journals a meter_event record
        self.serial = None
        self.serial_off = None  # why swap detection by serial is off, when the meter has none
        self.replaced = 0
        self._check_serial = meter.serial_spec is not None
        self._since_serial = 0
        self._split_wh = None
        self._rejecting = integrity.OK
        self.energy_wh = None
        self.power_w = 0
        self.fetches = hasattr(meter, "apoll")  # its I/O is awaited in fetch(), not in sample()
        self._fetched = None  # fetch()'s outcome: (values, serial read?, serial or its OSError), or the OSError
        self.task = None  # the fetch in flight
        self.stop_reason = None

    def _skip(self, up_ms):
        # A dead meter costs one timeout per retry interval, not one per sample, so the
        # pilot and the session keep being sampled on time.
        return self.failing and tdiff(up_ms, self._tried_ms) < self.meter_retry_ms

    def ready(self, up_ms, want, reason):
        """Each tick, after control: True when sampling runs now, ending any session for
        self.stop_reason. A meter whose I/O is awaited is first fetched in a task, and the
        loop's control ticks go on while the line is busy; the sample follows at the first
        tick after the fetch, with any stop reason control found meanwhile."""
        if not self.fetches:
            self.stop_reason = reason
            return want
        t = self.task
        if t is None:
            if want:
                self.stop_reason = reason
                self.task = asyncio.create_task(self.fetch(up_ms))
            return False
        self.stop_reason = self.stop_reason or reason
        if not t.done():
            return False
        self.task = None
        return True

    async def fetch(self, up_ms):
        """The poll's line traffic, awaited (a meter with apoll(): Modbus), for the next
        sample() to take: the loop runs control ticks meanwhile (app/agent.py). The serial
        read is apart: its failure never fails the poll (issue 18)."""
        if self._skip(up_ms):
            return
        m = self.meter
        try:
            vals = await m.apoll()
        except OSError as e:
            self._fetched = e
            return
        sn = None
        read = self._want_serial()
        if read:
            try:
                sn = await m.aserial()
            except OSError as e:
                sn = e
        self._fetched = (vals, read, sn)

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
            vals = m.poll() if got is None else got[0]
        except OSError as e:
            failing = self.failing = self.health.note(up_ms, False, e)
            if failing:
                self._set_fault(_FAULT, True, ("%d failed polls: %s" % (self.health.in_a_row, e))[:50])
            # The meter may have been swapped while it was silent.
            self._check_serial = m.serial_spec is not None
            self.guard.last_ok = False  # a session ending now ends on an unverified reading
            self.power_w = 0
            return False
        self.health.note(up_ms, True)
        self.failing = False
        self._set_fault(_FAULT, False)
        if got is None:  # the serial read, as fetch() makes it: its value or its OSError
            sn = None
            read = self._want_serial()
            if read:
                try:
                    sn = m.serial()
                except OSError as e:
                    sn = e
        else:
            read, sn = got[1], got[2]
        new_serial = None  # the serial to compare
        if read:
            if not isinstance(sn, OSError):
                self._since_serial = 0
                self._check_serial = False
                new_serial = sn
            elif getattr(sn, "kind", 0) == _EXCEPTION:
                self.serial_off = "serial read answered %s" % sn
        g = self.guard
        p = vals[_P]
        self.power_w = p if p is not None else 0
        r = vals[_E_IMP]
        if not m.has_energy:
            g.integrate(up_ms, p)
        elif new_serial is not None and self.serial is not None and new_serial != self.serial and r is not None:
            # Meter replaced: the open session ends at the old meter's last booked reading
            # and the next one starts on the new meter's register (docs/meters.md).
            self._split_wh = g.booked // 10 if g.booked is not None else None
            g.rebase(up_ms, r, integrity.F_REPLACED, booked=r)
            self.replaced += 1
            self._report("replaced", None, r)
        else:
            v = g.feed(up_ms, r)
            if v == integrity.RESYNC:
                self._report("resync", None, r)
                self._rejecting = integrity.OK
            elif v != integrity.OK:
                if v != self._rejecting:
                    # Journal the first of a run of one kind; the counters have them all.
                    self._report("rejected", integrity.VERDICTS[v], r)
                self._rejecting = v
                self._check_serial = m.serial_spec is not None
            else:
                self._rejecting = integrity.OK
        if new_serial is not None:
            self.serial = new_serial
        if g.booked is None:
            return False
        self.energy_wh = g.booked // 10
        return True

    def _want_serial(self):
        # Apart from the poll (issue 18): a meter without a serial register still books its
        # energy. An exception answer means there is no such register, so swap detection by
        # serial is off from then on (status says why); a timeout is asked again next poll.
        if self.meter.serial_spec is None or self.serial_off is not None:
            return False
        self._since_serial += 1
        every = self.meter_serial_check_polls
        return self._check_serial or (every and self._since_serial >= every)

    def split(self, tracker, up_ms, wall):
        """After a meter replacement, end the open session ("Other"); None otherwise."""
        wh = self._split_wh
        if wh is None:
            return None
        self._split_wh = None
        return tracker.stop(up_ms, wall, wh, "Other")

    def mark(self):
        self.guard.mark()

    def close(self):
        """Clean shutdown: a meter that keeps state (the S0 count) saves it now."""
        save = getattr(self.meter, "save", None)
        if save:
            save()

    def session_flags(self):
        return integrity.flag_names(self.guard.session_flags())

    def status(self):
        """The status command's `meter` object; its code loads only when asked (meters/report.py)."""
        from laddvakt.meters import report

        return report.status(self)
