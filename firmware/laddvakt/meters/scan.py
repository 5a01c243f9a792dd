# `meter scan`: probe Modbus addresses 1-247 on the meter's line and name the profile of
# each meter that answers, from the reads that succeed. The same code runs on a board
# (console: `import laddvakt.meters.scan as s; s.board()`) and on the unix port against a
# tty or pty (`micropython -m laddvakt_unix.meter_scan --device PATH`, which the host tool
# `python -m host_tools.device.meter_scan` wraps).
from laddvakt.meters import modbus
from laddvakt.meters import registers as profiles
from laddvakt.meters.modbus_meter import ModbusMeter


def present(master, addr):
    """Anything that answers, even with an exception, is a device at addr."""
    try:
        master.read(addr, modbus.FC_HOLDING, 0, 1)
    except modbus.ModbusError as e:
        return e.kind == modbus.EXCEPTION
    return True


def _plausible(v):
    # A wrong profile can read registers that exist but mean something else.
    if v[profiles.E_IMP] is None or v[profiles.E_IMP] < 0:
        return False
    f = v[profiles.F]
    if f is not None and f != 0 and not 4000 <= f <= 7000:
        return False
    for i in (profiles.U1, profiles.U2, profiles.U3):
        if v[i] is not None and not 0 <= v[i] <= 5000:
            return False
    return True


def identify(master, addr, names=None):
    """Every profile whose whole poll succeeds with plausible values, most specific first."""
    out = []
    for name in names or profiles.names():
        m = ModbusMeter(master, addr, name)
        try:
            if _plausible(m.poll()):
                out.append(name)
        except modbus.ModbusError:
            pass
    return out


def steps(master, found, first=1, last=247, probe_timeout_ms=50, log=None):
    """Scan one address per step: a generator that yields between addresses, so a caller on
    the event loop can let sampling run in between. Each probe uses the short timeout and no
    retries; the master's own settings are back in force whenever the scan yields, because
    the sampling step polls the configured meter through the same master."""
    keep = master.timeout_ms, master.retries
    for addr in range(first, last + 1):
        master.timeout_ms, master.retries = probe_timeout_ms, 0
        try:
            here = present(master, addr)
        finally:
            master.timeout_ms, master.retries = keep
        if here:
            c = identify(master, addr)
            found.append({"address": addr, "profile": c[0] if c else None, "candidates": c})
            if log:
                log(found[-1])
        yield addr


def scan(master, first=1, last=247, probe_timeout_ms=50, log=None):
    """[{address, profile, candidates}] for each device found, in one go (host tool, REPL)."""
    found = []
    for _ in steps(master, found, first, last, probe_timeout_ms, log):
        pass
    return found


def board():
    """Console command on a board: scan the meter line named by the board definition."""
    from laddvakt.core import board as boards
    from laddvakt.core import config
    from laddvakt.hal import load

    hal = load()
    cfg = config.load(hal.data_dir + "/config.json")
    b = boards.load(hal.boards_dir, cfg["board"])
    mb = b["meter"]
    baud = mb.get("baudrate", 9600)
    master = modbus.RtuMaster(hal.rs485(mb, b.get("pins", {}), cfg), baud, cfg["meter_timeout_ms"], 0)
    return scan(master, log=print)
