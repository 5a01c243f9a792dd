# `meter scan`: probe Modbus addresses 1-247 on the meter's line and name the profile of
# each meter that answers, from the reads that succeed. The same code runs on a board
# (console: `import laddvakt.meters.scan as s; s.board()`) and on the unix port against a
# tty or pty (`micropython -m laddvakt_unix.meter_scan --device PATH`, which the host tool
# `python -m host_tools.device.meter_scan` wraps).
from micropython import const

from laddvakt.meters import modbus
from laddvakt.meters import registers as profiles
from laddvakt.meters.modbus_meter import ModbusMeter, forget_table

# Modbus function codes: read holding registers, read input registers
_FC_HOLDING = const(3)
_FC_INPUT = const(4)


def present(master, addr):
    """Anything that answers, even with an exception, is a device at addr."""
    try:
        master.read(addr, _FC_HOLDING, 0, 1)
    except modbus.ModbusError as e:
        return e.kind == modbus.EXCEPTION
    return True


def _ok(v, lo, hi):
    return v is None or lo <= v <= hi


def _plausible(v, e0):
    # A wrong map can read registers that exist but mean something else: the energy must be
    # there and rising or steady, a voltage 180-260 V (0 for a phase not wired), 45-65 Hz.
    e = v[profiles.E_IMP]
    if e is None or e < 0 or (e0 is not None and e < e0):
        return False
    if not _ok(v[profiles.F], 4500, 6500):
        return False
    if not _ok(v[profiles.U1], 1800, 2600):
        return False
    return all(v[i] is None or v[i] == 0 or 1800 <= v[i] <= 2600 for i in (profiles.U2, profiles.U3))


def _fcs(master, addr):
    # Which read function codes answer: data, or an exception other than "illegal function".
    out = []
    for fc in (_FC_HOLDING, _FC_INPUT):
        try:
            master.read(addr, fc, 0, 1)
            out.append(fc)
        except modbus.ModbusError as e:
            if e.kind == modbus.EXCEPTION and e.code != 1:
                out.append(fc)
    return out


def _energy_probes(master, addr, fcs, names):
    # One read per distinct energy register of the known maps (many share one): the
    # register's value in Wh, or None when it does not answer or is not a plausible count.
    from laddvakt.meters.plan import decode

    seen = {}
    out = {}
    for name in names:
        entries = profiles.get(name)[0]
        e = [x for x in entries if x[0] == profiles.E_IMP]
        if not e:
            continue
        _, fc, reg, typ, wo, exp = e[0]
        key = (fc, reg, typ, wo, exp)
        if key not in seen:
            v = None
            if fc in fcs:
                try:
                    off = master.read(addr, fc, reg, profiles.WORDS[typ])
                    v = decode(master.rx, off, typ, wo, exp)
                except modbus.ModbusError:
                    pass
            seen[key] = None if v is None or v < 0 else v // 10
        out[name] = seen[key]
    return out


def skeleton(fcs, probes, names):
    """A register map (docs/schemas/meter_map.json) to start from for an unknown device: the
    first energy register that answered, else one to fill in from the maker's table."""
    for name in names:
        if probes.get(name) is not None:
            for meas, fc, reg, typ, wo, exp in profiles.get(name)[0]:
                if meas == profiles.E_IMP:
                    return {"name": "unknown", "registers": {"e_imp": {
                        "fc": fc, "address": reg, "type": profiles.TYPE_NAMES[typ],
                        "words": ("high_first", "low_first")[wo], "unit": "kWh", "scale": exp - 4}}}
    return {"name": "unknown", "registers": {"e_imp": {
        "fc": fcs[0] if fcs else 3, "address": 0, "type": "float32", "unit": "kWh"}}}


def identify(master, addr, names=None):
    """Diagnose the device at addr: {fcs, probes (map -> energy Wh or None), candidates (maps
    whose whole poll succeeds twice with plausible values, most specific first), values}."""
    names = names or profiles.names()
    fcs = _fcs(master, addr)
    probes = _energy_probes(master, addr, fcs, names)
    out = []
    values = None
    tried = {}
    for name in names:
        if probes.get(name) is None:
            continue
        spec = profiles.get(name)
        key = id(spec[0])
        if key not in tried:
            # Maps that share one register table are polled once; two polls: rising or steady.
            m = ModbusMeter(master, addr, name)
            ok = False
            try:
                e0 = m.poll()[profiles.E_IMP]
                v = m.poll()
                ok = _plausible(v, e0)
            except modbus.ModbusError:
                pass
            tried[key] = ok
            if ok and values is None:
                values = {profiles.NAMES[i]: v[i] for i in range(profiles.N) if v[i] is not None}
        if tried[key]:
            out.append(name)
    return {"fcs": fcs, "probes": probes, "candidates": out, "values": values}


def describe(d):
    """The console's and the host tool's text for one device found."""
    c = d["candidates"]
    fcs = ", ".join("%d" % f for f in d["fcs"]) or "none"
    if c:
        v = d["values"]
        alt = c[1:]
        out = "address %d: %s%s\n  answers FC %s; energy %d Wh" % (
            d["address"], c[0], " (also matches %s)" % ", ".join(alt) if alt else "", fcs, v["e_imp"] // 10)
        if "u1" in v:
            out += ", %d.%d V" % (v["u1"] // 10, v["u1"] % 10)
        if "f" in v:
            out += ", %d.%02d Hz" % (v["f"] // 100, v["f"] % 100)
        return out + "\n"
    import json

    hits = [n for n in d["probes"] if d["probes"][n] is not None]
    return "address %d: unknown device\n  answers FC %s; energy registers of known maps that answer: %s\n" \
        "  map skeleton (board meter.map, docs/meters.md): %s\n" % (
            d["address"], fcs, ", ".join(hits) or "none", json.dumps(d["skeleton"]))


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
            d = identify(master, addr)
            c = d["candidates"]
            d["address"] = addr
            d["profile"] = c[0] if c else None
            if not c:
                d["skeleton"] = skeleton(d["fcs"], d["probes"], profiles.names())
            found.append(d)
            if log:
                log(found[-1])
        yield addr


def scan(master, first=1, last=247, probe_timeout_ms=50, log=None):
    """[{address, profile, candidates}] for each device found, in one go (host tool, REPL)."""
    found = []
    for _ in steps(master, found, first, last, probe_timeout_ms, log):
        pass
    return found


async def console(master):
    """Console `meter scan` (ModbusMeter.scan): every device on the agent's meter line, one line
    each. It yields to the event loop after each address, so sampling keeps its schedule during
    the ~12 s a scan takes when few devices answer (each silent address costs one 50 ms probe)."""
    import asyncio

    found = []
    it = steps(master, found)
    while True:
        while master.busy:  # a sampling poll is awaiting its reply: the line is its
            await asyncio.sleep_ms(5)
        try:
            next(it)
        except StopIteration:
            break
        await asyncio.sleep_ms(0)
    forget_table()
    return "".join(describe(d) for d in found) or "no device answered on addresses 1-247\n"


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
