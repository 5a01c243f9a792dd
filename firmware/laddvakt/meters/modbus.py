# Modbus RTU master: CRC-16, request framing, response parsing (pure), and a transport
# over a UART with the inter-frame silence, a response timeout, retries, exception
# decoding, and tolerance for echo and garbage bytes on the line.
# Specs: "MODBUS over Serial Line V1.02" §2.5.1 (RTU framing, 3.5-character silence,
# 1750 us above 19200 baud, CRC in §6.2.2) and "MODBUS Application Protocol V1.1b3"
# §6.3/§6.4 (FC 3 and 4, at most 125 registers) and §7 (exception responses).
import asyncio
import time
from micropython import const

FC_HOLDING = const(3)
FC_INPUT = const(4)
MAX_REGS = const(125)
REQ_LEN = const(8)
# Largest response: address, fc, byte count, 250 data bytes, CRC; plus room for echo and garbage.
RX_LEN = const(300)
# While awaiting a reply: how often the port is asked (9600 baud brings ~10 bytes per 10 ms).
_POLL_MS = const(5)

# Error kinds (ModbusError.kind), one health counter each (docs/meters.md).
TIMEOUT = const(1)  # nothing came back
CRC = const(2)  # a frame of the right shape with a wrong CRC
EXCEPTION = const(3)  # the slave answered with an exception code
BAD_FRAME = const(4)  # bytes came back, but no frame of ours: garbage, truncated, another address

KIND_NAMES = ("", "timeout", "crc", "exception", "bad_frame")
EXC_NAMES = {1: "illegal function", 2: "illegal data address", 3: "illegal data value",
             4: "slave device failure", 5: "acknowledge", 6: "slave device busy",
             10: "gateway path unavailable", 11: "gateway target failed to respond"}


class ModbusError(OSError):
    # An OSError, so that callers that only care "the meter did not answer" catch one type.
    def __init__(self, kind, code=0):
        super().__init__(kind)
        self.kind = kind
        self.code = code

    def __str__(self):
        if self.kind == EXCEPTION:
            return "modbus exception %d (%s)" % (self.code, EXC_NAMES.get(self.code, "?"))
        return "modbus " + KIND_NAMES[self.kind]


def _table():
    t = bytearray(512)
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0xA001 if c & 1 else c >> 1
        t[2 * i] = c & 0xFF
        t[2 * i + 1] = c >> 8
    return t


_T = _table()


def crc16(buf, start, end):
    """Modbus CRC-16 (poly 0xA001 reflected, init 0xFFFF) of buf[start:end], no allocation."""
    c = 0xFFFF
    t = _T
    for i in range(start, end):
        k = ((c ^ buf[i]) & 0xFF) << 1
        c = (c >> 8) ^ (t[k] | (t[k + 1] << 8))
    return c


def build_read(out, addr, fc, reg, count):
    """Write the 8-byte read request into out; returns 8. CRC goes low byte first (§2.5.1.2)."""
    if not 1 <= addr <= 247 or fc not in (FC_HOLDING, FC_INPUT) or not 1 <= count <= MAX_REGS:
        raise ValueError("bad modbus read")
    out[0] = addr
    out[1] = fc
    out[2] = reg >> 8
    out[3] = reg & 0xFF
    out[4] = count >> 8
    out[5] = count & 0xFF
    c = crc16(out, 0, 6)
    out[6] = c & 0xFF
    out[7] = c >> 8
    return REQ_LEN


def silence_us(baud):
    """The 3.5-character inter-frame silence; a character is 11 bits (§2.5.1.1).
    Above 19200 baud the spec fixes it at 1750 us."""
    if baud > 19200:
        return 1750
    return (35 * 11 * 1000000 + 10 * baud - 1) // (10 * baud)


def frame_us(baud, nbytes):
    return (nbytes * 11 * 1000000) // baud


def _crc_ok(buf, start, end):
    c = crc16(buf, start, end - 2)
    return buf[end - 2] == (c & 0xFF) and buf[end - 1] == (c >> 8)


# find() results below zero
INCOMPLETE = const(-1)  # no complete frame of ours yet
CRC_BAD = const(-2)  # a complete frame of ours failed its CRC
EXC_BASE = const(-256)  # -256 - code: an exception response with that code


def find(rx, n, req, addr, fc, count):
    """Look for the response to req in rx[:n]: the offset of a good response frame,
    or INCOMPLETE, CRC_BAD, or EXC_BASE - code. Skips an echo of the request (RS485
    adapters that hear themselves) and any garbage before the frame."""
    start = 0
    if n >= REQ_LEN:
        start = REQ_LEN
        for i in range(REQ_LEN):
            if rx[i] != req[i]:
                start = 0
                break
    want = 5 + 2 * count
    res = INCOMPLETE
    i = start
    while i + 5 <= n:
        if rx[i] == addr:
            f = rx[i + 1]
            if f == fc | 0x80:
                if _crc_ok(rx, i, i + 5):
                    return EXC_BASE - rx[i + 2]
                res = CRC_BAD
            elif f == fc and rx[i + 2] == 2 * count:
                if i + want <= n:
                    if _crc_ok(rx, i, i + want):
                        return i
                    res = CRC_BAD
        i += 1
    return res


class RtuMaster:
    """Reads registers over `port`, a HAL UART with write(buf, n), read_into(buf, off,
    timeout_ms) -> count and drain(). One request at a time; buffers allocated once."""

    def __init__(self, port, baud, timeout_ms=300, retries=1):
        self.port = port
        self.baud = baud
        self.timeout_ms = timeout_ms
        self.retries = retries
        self.silence_us = silence_us(baud)
        # Once a reply has started, the line going quiet for this long ends it: 20
        # characters, at least 20 ms, as UART FIFOs and a host's scheduler deliver in bursts.
        self.idle_ms = max(20, (20 * 11 * 1000) // baud)
        self.tx = bytearray(REQ_LEN)
        self.rx = bytearray(RX_LEN)
        self._last_us = time.ticks_us()
        self._limit = self._t0 = self._last = self._n = 0  # the exchange under way (_begin)
        self.busy = False
        self.requests = 0
        self.ok = 0
        self.timeouts = 0
        self.crc_errors = 0
        self.exceptions = 0
        self.bad_frames = 0
        self.retried = 0
        self.wire_bytes = 0

    def counters(self):
        return {"requests": self.requests, "ok": self.ok, "timeouts": self.timeouts,
                "crc_errors": self.crc_errors, "exceptions": self.exceptions,
                "bad_frames": self.bad_frames, "retries": self.retried}

    def _silence_left_ms(self):
        left = self.silence_us - time.ticks_diff(time.ticks_us(), self._last_us)
        return (left + 999) // 1000 if left > 0 else 0

    def _send(self, count):
        # Write the request in self.tx; returns the reply's deadline in ms from now. The
        # reply's own transmission time counts on top of the slave's turnaround.
        self.port.drain()  # a late reply to an earlier request must not pass for this one
        self.port.write(self.tx, REQ_LEN)
        self.requests += 1
        self.wire_bytes += REQ_LEN
        return self.timeout_ms + frame_us(self.baud, 5 + 2 * count) // 1000

    def _wait_ms(self, n, t0, last, limit):
        # How long the read may still wait: the response timeout until the first byte, then the
        # idle gap that ends a reply. <= 0: the exchange is over.
        if n >= RX_LEN:
            return 0
        now = time.ticks_ms()
        if n:
            return self.idle_ms - time.ticks_diff(now, last)
        return limit - time.ticks_diff(now, t0)

    def _got(self, n, addr, fc, count):
        # After bytes came in: the reply's offset, or -1 to keep reading; raises on an exception.
        self._last_us = time.ticks_us()
        r = find(self.rx, n, self.tx, addr, fc, count)
        if r >= 0:
            self.ok += 1
            self.wire_bytes += 5 + 2 * count
            return r
        if r <= EXC_BASE:
            self.exceptions += 1
            self.wire_bytes += 5
            raise ModbusError(EXCEPTION, EXC_BASE - r)
        return -1

    def _fail(self, n, addr, fc, count):
        self._last_us = time.ticks_us()
        if not n:
            self.timeouts += 1
            raise ModbusError(TIMEOUT)
        self.wire_bytes += n
        if find(self.rx, n, self.tx, addr, fc, count) == CRC_BAD:
            self.crc_errors += 1
            raise ModbusError(CRC)
        self.bad_frames += 1
        raise ModbusError(BAD_FRAME)

    def _begin(self, count):
        # Send the request in self.tx and start the exchange's clock.
        self._limit = self._send(count)
        self._t0 = self._last = time.ticks_ms()
        self._n = 0

    def _look(self, addr, fc, count, block):
        # One look at the port during an exchange, the one copy of the reply logic for both
        # paths: the reply's offset once it is complete, else -1 - the ms to wait before the
        # next look (-1: look again now). block: the port itself waits for input; else it is
        # only asked for what it holds. Raises ModbusError when the exchange is over.
        n = self._n
        wait = self._wait_ms(n, self._t0, self._last, self._limit)
        if wait <= 0:
            self._fail(n, addr, fc, count)
        got = self.port.read_into(self.rx, n, wait if block else 0)
        if not got:
            return -1 if block else -1 - (_POLL_MS if wait > _POLL_MS else wait)
        self._n = n = n + got
        self._last = time.ticks_ms()
        r = self._got(n, addr, fc, count)
        return r if r >= 0 else -1

    def _once(self, addr, fc, count):
        # Blocking: for the console's meter scan and tools. Sampling uses aread().
        while self._silence_left_ms():
            pass
        self._begin(count)
        while True:
            r = self._look(addr, fc, count, True)
            if r >= 0:
                return r

    async def _aonce(self, addr, fc, count):
        # The same exchange, yielding to the loop while the line is busy: the silence and the
        # reply are awaited in short sleeps.
        w = self._silence_left_ms()
        if w:
            await asyncio.sleep_ms(w)
        self._begin(count)
        while True:
            r = self._look(addr, fc, count, False)
            if r >= 0:
                return r
            if r < -1:
                await asyncio.sleep_ms(-1 - r)

    async def aread(self, addr, fc, reg, count):
        """read(), yielding to the event loop while the line is busy; `busy` is set meanwhile,
        so a blocking user of the line (the meter scan) waits for it."""
        build_read(self.tx, addr, fc, reg, count)
        tries = self.retries
        self.busy = True
        try:
            while True:
                try:
                    return await self._aonce(addr, fc, count) + 3
                except ModbusError as e:
                    if e.kind == EXCEPTION or tries <= 0:
                        raise
                    tries -= 1
                    self.retried += 1
        finally:
            self.busy = False

    def read(self, addr, fc, reg, count):
        """Read count registers; returns the offset in self.rx of the first data byte
        (big-endian words follow). Raises ModbusError after the retries are spent;
        an exception response is an answer, so it is not retried."""
        build_read(self.tx, addr, fc, reg, count)
        tries = self.retries
        while True:
            try:
                return self._once(addr, fc, count) + 3
            except ModbusError as e:
                if e.kind == EXCEPTION or tries <= 0:
                    raise
                tries -= 1
                self.retried += 1
