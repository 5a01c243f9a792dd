# A Modbus RTU meter driven by a profile: one planned set of reads per poll, decoded
# into a preallocated list of integer measurands (registers.NAMES order, None if absent).
from micropython import const

from laddvakt.meters.plan import decode, get, plan

# registers.py's numbers, folded (tests/host/test_measurands.py checks the copies)
_E_IMP = const(0)
_N = const(13)
_F32 = const(0)


def forget_table():
    """Let the built-in map table (meters/maps.py, ~14 KB of heap) go once the meter holds its
    own map's tuples (about 2.2 KB stay). `meter scan` imports it again when run."""
    import sys

    sys.modules.pop("laddvakt.meters.maps", None)
    pkg = sys.modules.get("laddvakt.meters")
    if pkg is not None and "maps" in pkg.__dict__:
        delattr(pkg, "maps")


class ModbusMeter:
    def __init__(self, master, addr, profile):
        # profile: a built-in map's name, or a map dict from the board file (meters/mapdef.py)
        entries, self.serial_spec, gap = get(profile)
        self.master = master
        self.addr = addr
        self.profile = profile.get("name", "board map") if isinstance(profile, dict) else profile
        self.plan = plan(entries, gap)
        self.values = [None] * _N
        self.has_energy = any(e[0] == _E_IMP for e in entries)
        res = 1
        for e in entries:
            if e[0] == _E_IMP and e[3] != _F32 and e[5] > 0:
                res = 10 ** e[5]
        self.res_dwh = res  # the energy register's step, in 0.1 Wh

    def poll(self):
        """Read every measurand; raises ModbusError (an OSError). No allocation in the
        steady state: the plan is tuples and the values land in a list made once."""
        m = self.master
        rx = m.rx
        vals = self.values
        addr = self.addr
        for fc, start, count, items in self.plan:
            off = m.read(addr, fc, start, count)
            for meas, o, typ, wo, exp in items:
                vals[meas] = decode(rx, off + o, typ, wo, exp)
        return vals

    async def apoll(self):
        """poll(), yielding to the event loop while the line is busy (sampling's path)."""
        m = self.master
        rx = m.rx
        vals = self.values
        addr = self.addr
        for fc, start, count, items in self.plan:
            off = await m.aread(addr, fc, start, count)
            for meas, o, typ, wo, exp in items:
                vals[meas] = decode(rx, off + o, typ, wo, exp)
        return vals

    async def aserial(self):
        s = self.serial_spec
        if s is None:
            return None
        fc, reg, n = s
        off = await self.master.aread(self.addr, fc, reg, n)
        return int.from_bytes(self.master.rx[off:off + 2 * n], "big")

    def serial(self):
        """The meter's serial number as an integer, or None when the profile has none."""
        s = self.serial_spec
        if s is None:
            return None
        fc, reg, n = s
        off = self.master.read(self.addr, fc, reg, n)
        return int.from_bytes(self.master.rx[off:off + 2 * n], "big")

    def counters(self):
        return self.master.counters()

    async def scan(self):
        """Console `meter scan` on this meter's line (meters/scan.py, loaded when asked)."""
        from laddvakt.meters.scan import console

        return await console(self.master)
