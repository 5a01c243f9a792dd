"""A Modbus RTU energy-meter simulator on pymodbus, served over a pty pair made by socat.

It answers FC 3/4 reads for any firmware profile (the register maps of firmware/laddvakt/meters/maps.py),
with pymodbus doing the RTU framing, the PDU encoding and the register encoding, so the
firmware's own framing and decoding are checked against an independent implementation.
Its load is scriptable (a constant power, or the EVs of a sim scenario), and faults can
be injected per reply (no reply, CRC error, exception code, garbage, truncated frame, late
reply, echo, noise before the frame) or in the meter's state (energy backwards, NaN, a new
serial: the meter replaced).

    python -m host_tools.testing.meter_sim --profile sdm630 [--address 1] [--power 7360]
                                   [--scenario scenario.json --speed 60]

prints the pty the agent should open (config key meter_device) and serves until killed.
"""
import argparse
import contextlib
import fractions
import math
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time
import tty
import types

from pymodbus.client.mixin import ModbusClientMixin
from pymodbus.framer import FramerRTU
from pymodbus.pdu import DecodePDU, ExceptionResponse
from pymodbus.pdu.register_message import ReadHoldingRegistersResponse, ReadInputRegistersResponse

from host_tools.toolchain import firmware

DT = ModbusClientMixin.DATATYPE


def load_profiles():
    """The firmware's profile module, imported under CPython (its only MicroPython-ism is const)."""
    if "micropython" not in sys.modules:
        sys.modules["micropython"] = types.SimpleNamespace(const=lambda x: x)
    return firmware.module("meters.registers")


PF = load_profiles()
_DTYPES = {PF.F32: DT.FLOAT32, PF.I32: DT.INT32, PF.U32: DT.UINT32, PF.I16: DT.INT16,
           PF.U16: DT.UINT16, PF.U64: DT.UINT64}
_NAN_WORDS = {PF.F32: [0x7FC0, 0], PF.I32: [0x7FFF, 0xFFFF], PF.U32: [0xFFFF, 0xFFFF],
              PF.I16: [0x7FFF], PF.U16: [0xFFFF], PF.U64: [0xFFFF] * 4,
              PF.E8U24: [0xFFFF, 0xFFFF], PF.E8I24: [0xFFFF, 0xFFFF]}
_E8 = (PF.E8U24, PF.E8I24)


def encode(value, typ, wo, exp):
    """Registers holding `value` (the measurand in its firmware unit) as the meter would."""
    if typ in _E8:
        # The meter's own choice of exponent: one decimal more than the firmware unit while the
        # mantissa fits its 24 bits, so the decoder's exponent arithmetic is exercised.
        e = -exp - 1 if abs(value) * 10 < 1 << 23 else -exp
        m = value * 10 ** (-exp - e)
        m = m & 0xFFFFFF if typ == PF.E8I24 else m
        return [((e & 0xFF) << 8) | (m >> 16), m & 0xFFFF]
    scaled = fractions.Fraction(value) / fractions.Fraction(10) ** exp
    # An integer register shows the whole units reached so far, as a meter's counter does.
    v = float(scaled) if typ == PF.F32 else math.floor(scaled)
    return ModbusClientMixin.convert_to_registers(v, _DTYPES[typ], word_order="little" if wo == PF.LO else "big")


def decode_expected(words, typ, wo, exp):
    """What an exact reader makes of the registers: struct and fractions, independent of the
    firmware's integer decoder. None for the meter's "not available"/NaN codes."""
    if wo == PF.LO:
        words = list(reversed(words))
    raw = b"".join(struct.pack(">H", w) for w in words)
    if list(words) == _NAN_WORDS[typ] or (typ == PF.F32 and (words[0] >> 7) & 0xFF == 0xFF):
        return None
    if typ in _E8:
        e = struct.unpack(">b", raw[:1])[0]
        m = int.from_bytes(raw[1:], "big", signed=typ == PF.E8I24)
        v = fractions.Fraction(m) * fractions.Fraction(10) ** (e + exp)
        return -int(-v + fractions.Fraction(1, 2)) if v < 0 else int(v + fractions.Fraction(1, 2))
    fmt = {PF.F32: ">f", PF.I32: ">i", PF.U32: ">I", PF.I16: ">h", PF.U16: ">H", PF.U64: ">Q"}[typ]
    v = fractions.Fraction(struct.unpack(fmt, raw)[0]) * fractions.Fraction(10) ** exp
    mag = abs(v)
    r = int(mag + fractions.Fraction(1, 2))
    return -r if v < 0 else r


class Load:
    """Power over time: a constant, or the EVs of a sim scenario (arrive, leave, need_wh,
    max_w), with `speed` scenario seconds per real second."""

    def __init__(self, power_w=0, scenario=None, speed=1.0):
        self.power_w = power_w
        self.scenario = scenario
        self.speed = speed
        self._got = {}

    def power(self, t_s, energy_dwh):
        if self.scenario is None:
            return self.power_w
        for i, v in enumerate(self.scenario["visits"]):
            if v["arrive_s"] <= t_s < v["leave_s"]:
                start = self._got.setdefault(i, energy_dwh)
                return v["max_w"] if energy_dwh - start < v["need_wh"] * 10 else 0
        return 0


class MeterModel:
    """One simulated meter: measurands in firmware units, integrated in real time, and the
    registers a profile maps them to."""

    def __init__(self, profile, address=1, serial=0x00C0FFEE, energy_dwh=12345670, load=None,
                 clock=time.monotonic):
        self.profile = profile
        # gap > 0: the map says its meter answers a read across registers it does not use, so
        # this one does (0 there); with 0 it answers such a read with exception 2, as strict
        # meters do, and a poll that strays onto an unused register fails.
        self.entries, self.serial_spec, self.gap = PF.get(profile)
        self.address = address
        self.serial = serial
        self.load = load or Load(0)
        self.clock = clock
        self.t0 = clock()
        self._last = self.t0
        self._rem = fractions.Fraction(0)
        self.e_imp = energy_dwh
        self.e_exp = 4321
        self.power_w = 0
        self.freq = 5000
        self.volts = [2301, 2312, 2298]
        self.energy_offset = 0  # fault: the energy register reads this much off
        self.energy_nan = False
        self.lock = threading.Lock()

    def advance(self):
        now = self.clock()
        dt = now - self._last
        self._last = now
        # The last interval's power, W x s x speed / 360 = 0.1 Wh; the remainder is kept so
        # no energy is lost. Then the load sets the power for the next interval.
        q = fractions.Fraction(self.power_w) * fractions.Fraction(dt) * fractions.Fraction(self.load.speed) / 360 + self._rem
        whole = int(q)
        self._rem = q - whole
        self.e_imp += whole
        self.power_w = self.load.power((now - self.t0) * self.load.speed, self.e_imp)

    def measurands(self):
        """The values the meter shows now, by measurand index (firmware units)."""
        p = self.power_w
        ph = [p // 3, p // 3, p - 2 * (p // 3)]
        amps = [round(ph[i] * 10000 / self.volts[i]) for i in range(3)]  # mA
        v = {PF.E_IMP: self.e_imp + self.energy_offset, PF.E_EXP: self.e_exp, PF.P: p, PF.F: self.freq,
             PF.U1: self.volts[0], PF.U2: self.volts[1], PF.U3: self.volts[2],
             PF.I1: amps[0], PF.I2: amps[1], PF.I3: amps[2], PF.P1: ph[0], PF.P2: ph[1], PF.P3: ph[2]}
        if not any(e[0] == PF.P2 for e in self.entries):
            v[PF.P1] = p  # single phase: one phase carries it all
            v[PF.I1] = round(p * 10000 / self.volts[0])
        return v

    def registers(self):
        """{(fc, register): word} for every mapped register, as of now."""
        vals = self.measurands()
        regs = {}
        for m, fc, reg, typ, wo, exp in self.entries:
            if m == PF.E_IMP and self.energy_nan:
                words = _NAN_WORDS[typ]
            else:
                words = encode(vals[m], typ, wo, exp)
            for i, w in enumerate(words):
                regs[(fc, reg + i)] = w
        if self.serial_spec:
            fc, reg, n = self.serial_spec
            s = self.serial
            for i in range(n):
                regs[(fc, reg + i)] = (s >> (16 * (n - 1 - i))) & 0xFFFF
        return regs

    def expected(self, regs=None):
        """{measurand name: value} an exact reader gets from these registers."""
        regs = regs if regs is not None else self.registers()
        out = {}
        for m, fc, reg, typ, wo, exp in self.entries:
            words = [regs[(fc, reg + i)] for i in range(PF.WORDS[typ])]
            out[PF.NAMES[m]] = decode_expected(words, typ, wo, exp)
        return out


class PtyPair:
    """Two linked ptys from socat: the simulator serves one, the agent opens the other."""

    def __init__(self, workdir=None):
        self.dir = workdir or tempfile.mkdtemp(prefix="meter-pty-")
        self.sim_path = os.path.join(self.dir, "sim")
        self.agent_path = os.path.join(self.dir, "agent")
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(
            ["socat", "pty,raw,echo=0,link=%s" % self.sim_path, "pty,raw,echo=0,link=%s" % self.agent_path],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while not (os.path.exists(self.sim_path) and os.path.exists(self.agent_path)):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("socat did not make the pty pair")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait(5)


class MeterSim:
    """Serves meters (by address) on a pty. faults: a list of per-reply faults taken in
    order; each is a name, or (name, arg): "none", "crc", ("exception", code), "garbage",
    "noise", "truncate", ("late", ms), "echo"."""

    def __init__(self, path, meters, baud=None, line=None, peer=None, turnaround_ms=5):
        # baud: pace replies as a serial line of that speed delivers them (11 bits a character,
        # 8E1/8N2): the request's own line time, then turnaround_ms, then the reply a few
        # characters at a time, instead of the pty's all-at-once.
        self.baud = baud
        self.turnaround_ms = turnaround_ms
        self.path = path
        # With line ("8N1", "8E1", "8O1", "8N2") and peer (the agent's end of the pty pair),
        # the meter's line settings are checked against the parity and stop bits the agent set
        # on its end (termios): on a mismatch a real meter sees parity or framing errors and
        # drops the frame, so this one does not answer either.
        self.line = line
        self.peer = peer
        self.char_s = 11 / baud if baud else 0
        self.meters = {m.address: m for m in meters}
        self.faults = []
        self.requests = 0
        self.replies = 0
        self.log = []  # (request bytes, reply bytes or None)
        self.served_wh = set()  # import energy (Wh, as an exact reader sees it) ever served
        self._stop = threading.Event()
        self._thread = None
        self._framer = FramerRTU(DecodePDU(is_server=True))

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        os.close(self.fd)

    def peer_line(self):
        """The agent end's line setting as "8N1"/"8E1"/"8O1"/"8N2", from its termios."""
        import termios

        fd = os.open(self.peer, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            c = termios.tcgetattr(fd)[2]
        finally:
            os.close(fd)
        parity = "N" if not c & termios.PARENB else ("O" if c & termios.PARODD else "E")
        return "8%s%d" % (parity, 2 if c & termios.CSTOPB else 1)

    def inject(self, *faults):
        self.faults.extend(faults)

    def _paced(self, frame):
        char_s = 11 / self.baud
        t = time.monotonic() + self.turnaround_ms / 1000
        for i in range(0, len(frame), 4):
            t += char_s * len(frame[i:i + 4])
            time.sleep(max(0.0, t - time.monotonic()))
            os.write(self.fd, frame[i:i + 4])

    def _serve(self):
        import select

        buf = b""
        while not self._stop.is_set():
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if not r:
                if buf:
                    buf = b""  # an idle line ends any partial frame (RTU: 3.5 characters)
                continue
            buf += os.read(self.fd, 512)
            used, pdu = self._framer.handleFrame(buf, 0, 0)
            if pdu is None:
                if used >= len(buf):
                    buf = b""
                continue
            req, buf = buf[:used], buf[used:]
            self._answer(req, pdu)

    def _answer(self, req, pdu):
        self.requests += 1
        meter = self.meters.get(pdu.dev_id)
        if self.line and self.peer_line() != self.line:
            self.log.append((req, None))
            return  # garbled on the wire: no reply
        if meter is None or pdu.function_code not in (3, 4):
            self.log.append((req, None))
            return  # nobody at that address: silence, as on a real bus
        fault = self.faults.pop(0) if self.faults else None
        name, arg = (fault, None) if not isinstance(fault, tuple) else fault
        with meter.lock:
            meter.advance()
            regs = meter.registers()
            e = meter.expected(regs)["e_imp"]
            if e is not None:
                self.served_wh.add(e // 10)
        words = [regs.get((pdu.function_code, pdu.address + i)) for i in range(pdu.count)]
        if meter.gap and words[0] is not None and words[-1] is not None:
            words = [0 if w is None else w for w in words]
        if name == "exception":
            resp = ExceptionResponse(pdu.function_code, arg, device_id=meter.address)
        elif None in words:
            resp = ExceptionResponse(pdu.function_code, 2, device_id=meter.address)  # illegal address
        else:
            cls = ReadHoldingRegistersResponse if pdu.function_code == 3 else ReadInputRegistersResponse
            resp = cls(registers=words, dev_id=meter.address)
        frame = self._framer.buildFrame(resp)
        if name == "none":
            self.log.append((req, None))
            return
        if name == "crc":
            frame = frame[:-1] + bytes([frame[-1] ^ 0x5A])
        elif name == "garbage":
            frame = bytes((0x00, 0xFF, 0x13, 0x37, 0xA5, 0x5A, 0x42))
        elif name == "noise":
            frame = b"\x00\xff\x55" + frame
        elif name == "truncate":
            frame = frame[:-3]
        elif name == "echo":
            frame = req + frame
        elif name == "late":
            time.sleep(arg / 1000)
        if self.baud:
            time.sleep(len(req) * self.char_s)  # the request took this long on a real line
            self._paced(frame)
        else:
            os.write(self.fd, frame)
        self.replies += 1
        self.log.append((req, frame))


def agent_config(pty, profile="sdm630", timeout_ms=60):
    """The device-config keys that put the agent on a meter this simulator serves: the
    `unix-modbus` board (a real Modbus RTU meter, simulated EV and pilot) reading the pty `pty`
    with `profile`'s register map."""
    return {"board": "unix-modbus", "meter_device": pty, "meter_timeout_ms": timeout_ms,
            "meter_profile": profile}


@contextlib.contextmanager
def served(workdir, meters, **kw):
    """meters served by a MeterSim (kw: its options) on a socat pty pair made in workdir; yields
    (the pair, the simulator). The agent opens pair.agent_path (agent_config)."""
    with PtyPair(workdir) as pair, MeterSim(pair.sim_path, meters, **kw) as msim:
        yield pair, msim


def main(argv=None):
    import json

    ap = argparse.ArgumentParser(prog="python -m host_tools.testing.meter_sim", description=__doc__.split("\n\n")[0])
    ap.add_argument("--profile", default="sdm630", choices=PF.names())
    ap.add_argument("--address", type=int, default=1)
    ap.add_argument("--power", type=int, default=0, help="constant load in W")
    ap.add_argument("--scenario", help="a sim scenario.json: power follows its EVs")
    ap.add_argument("--speed", type=float, default=1.0, help="scenario seconds per real second")
    ap.add_argument("--energy-wh", type=int, default=1234567)
    args = ap.parse_args(argv)
    scenario = None
    if args.scenario:
        with open(args.scenario) as f:
            scenario = json.load(f)
    model = MeterModel(args.profile, args.address, energy_dwh=args.energy_wh * 10,
                       load=Load(args.power, scenario, args.speed))
    with PtyPair() as pair, MeterSim(pair.sim_path, [model]):
        print("meter_sim: %s at address %d on %s" % (args.profile, args.address, pair.agent_path), flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
