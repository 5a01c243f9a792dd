# Modbus RTU master: CRC-16, request framing, response parsing (pure), and a transport
# over a UART with the inter-frame silence, a response timeout, retries, exception
# decoding, and tolerance for echo and garbage bytes on the line.
# Specs: "MODBUS over Serial Line V1.02" §2.5.1 (RTU framing, 3.5-character silence,
# 1750 us above 19200 baud, CRC in §6.2.2) and "MODBUS Application Protocol V1.1b3"
# §6.3/§6.4 (FC 3 and 4, at most 125 registers) and §7 (exception responses).
import asyncio
import time
from micropython import const

_FC_HOLDING = const(3)
_FC_INPUT = const(4)
_MAX_REGS = const(125)
_REQ_LEN = const(8)
# Largest response: address, fc, byte count, 250 data bytes, CRC; plus room for echo and garbage.
_RX_LEN = const(300)
# While awaiting a reply: how often the port is asked (9600 baud brings ~10 bytes per 10 ms).
_POLL_MS = const(5)

# Error kinds (ModbusError.kind), one health counter each (docs/meters.md).
TIMEOUT = const(1)  # nothing came back
CRC = const(2)  # a frame of the right shape with a wrong CRC
EXCEPTION = const(3)  # the slave answered with an exception code
BAD_FRAME = const(4)  # bytes came back, but no frame of ours: garbage, truncated, another address

_KIND_NAMES = const(("", "timeout", "crc", "exception", "bad_frame"))
# Exception codes 0-11 (§7), one line each ("" where the spec defines none): one string constant,
# not a str object per name (docs/bench.md, heap)
_EXC_NAMES = const("\nillegal function\nillegal data address\nillegal data value\nslave device failure"
                   "\nacknowledge\nslave device busy\n\n\n\ngateway path unavailable"
                   "\ngateway target failed to respond")


class ModbusError(OSError):
    # An OSError, so that callers that only care "the meter did not answer" catch one type.
    def __init__(self, kind, code=0):
        super().__init__(kind)
        self.kind = kind
        self.code = code

    def __str__(self):
        if self.kind == EXCEPTION:
            c = self.code
            names = _EXC_NAMES.split("\n")
            return "modbus exception %d (%s)" % (c, (c < len(names) and names[c]) or "?")
        return "modbus " + _KIND_NAMES[self.kind]


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


def build_read(out, addr, fc, start, count):
    """Write the 8-byte read request into out; returns 8. CRC goes low byte first (§2.5.1.2)."""
    if not 1 <= addr <= 247 or fc not in (_FC_HOLDING, _FC_INPUT) or not 1 <= count <= _MAX_REGS:
        raise ValueError("bad modbus read")
    out[0] = addr
    out[1] = fc
    out[2] = start >> 8
    out[3] = start & 0xFF
    out[4] = count >> 8
    out[5] = count & 0xFF
    c = crc16(out, 0, 6)
    out[6] = c & 0xFF
    out[7] = c >> 8
    return _REQ_LEN


def silence_us(baud):
    """The 3.5-character inter-frame silence; a character is 11 bits (§2.5.1.1).
    Above 19200 baud the spec fixes it at 1750 us."""
    if baud > 19200:
        return 1750
    return (35 * 11 * 1000000 + 10 * baud - 1) // (10 * baud)


# find() results below zero
INCOMPLETE = const(-1)  # no complete frame of ours yet
CRC_BAD = const(-2)  # a complete frame of ours failed its CRC
EXC_BASE = const(-256)  # -256 - code: an exception response with that code


def find(rx, n, req, addr, fc, count):
    """Look for the response to req in rx[:n]: the offset of a good response frame,
    or INCOMPLETE, CRC_BAD, or EXC_BASE - code. Skips an echo of the request (RS485
    adapters that hear themselves) and any garbage before the frame."""
    start = 0
    if n >= _REQ_LEN:
        start = _REQ_LEN
        for i in range(_REQ_LEN):
            if rx[i] != req[i]:
                start = 0
                break
    want = 5 + 2 * count
    res = INCOMPLETE
    i = start
    while i + 5 <= n:
        if rx[i] == addr:
            f = rx[i + 1]
            # the frame's end, once all of it is in: an exception response is 5 bytes
            end = i + 5 if f == fc | 0x80 else i + want if f == fc and rx[i + 2] == 2 * count else 0
            if 0 < end <= n:
                c = crc16(rx, i, end - 2)  # CRC low byte first
                if rx[end - 2] != (c & 0xFF) or rx[end - 1] != (c >> 8):
                    res = CRC_BAD
                elif f == fc:
                    return i
                else:
                    return EXC_BASE - rx[i + 2]
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
        self.tx = bytearray(_REQ_LEN)
        self.rx = bytearray(_RX_LEN)
        self._last_us = time.ticks_us()
        self.until = self._last = self._n = 0  # the exchange under way (_begin)
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

    def _begin(self, count):
        # Once the line has been quiet for the inter-frame silence: send the request in self.tx,
        # start the exchange's clock (the reply is due by self.until: the slave's turnaround
        # plus the reply's own transmission time) and return 0. Before that: the ms still to wait.
        left = self.silence_us - time.ticks_diff(time.ticks_us(), self._last_us)
        if left > 0:
            return (left + 999) // 1000
        self.port.drain()  # a late reply to an earlier request must not pass for this one
        self.port.write(self.tx, _REQ_LEN)
        self.requests += 1
        self.wire_bytes += _REQ_LEN
        self._last = now = time.ticks_ms()
        self.until = time.ticks_add(now, self.timeout_ms + (5 + 2 * count) * 11000 // self.baud)
        self._n = 0
        return 0

    def _look(self, addr, fc, count, blocking):
        # One look at the port during an exchange, the one copy of the reply logic for both
        # paths: the reply's offset once it is complete, else -1 - the ms to wait before the
        # next look (-1: look again now). blocking: the port itself waits for input; else it is
        # only asked for what it holds. Raises ModbusError when the exchange is over.
        n = self._n
        rx = self.rx
        # How long the read may still wait: the response timeout until the first byte, then
        # the idle gap that ends a reply. <= 0: the exchange is over.
        wait = 0
        if n < _RX_LEN:
            now = time.ticks_ms()
            wait = self.idle_ms - time.ticks_diff(now, self._last) if n else time.ticks_diff(self.until, now)
        if wait <= 0:
            self._last_us = time.ticks_us()
            if not n:
                self.timeouts += 1
                raise ModbusError(TIMEOUT)
            self.wire_bytes += n
            if find(rx, n, self.tx, addr, fc, count) == CRC_BAD:
                self.crc_errors += 1
                raise ModbusError(CRC)
            self.bad_frames += 1
            raise ModbusError(BAD_FRAME)
        got = self.port.read_into(rx, n, wait if blocking else 0)
        if not got:
            return -1 if blocking else -1 - (_POLL_MS if wait > _POLL_MS else wait)
        self._n = n = n + got
        self._last = time.ticks_ms()
        self._last_us = time.ticks_us()
        r = find(rx, n, self.tx, addr, fc, count)
        if r >= 0:
            self.ok += 1
            self.wire_bytes += 5 + 2 * count
            return r
        if r <= EXC_BASE:
            self.exceptions += 1
            self.wire_bytes += 5
            raise ModbusError(EXCEPTION, EXC_BASE - r)
        return -1

    async def aread(self, addr, fc, start, count):
        """read(), yielding to the event loop while the line is busy (the silence and the reply
        are awaited in short sleeps); `busy` is set meanwhile, so a blocking user of the line
        (the meter scan) waits for it."""
        build_read(self.tx, addr, fc, start, count)
        tries = self.retries
        self.busy = True
        try:
            while True:
                try:
                    w = self._begin(count)
                    while w:
                        await asyncio.sleep_ms(w)
                        w = self._begin(count)
                    while True:
                        r = self._look(addr, fc, count, False)
                        if r >= 0:
                            return r + 3
                        if r < -1:
                            await asyncio.sleep_ms(-1 - r)
                except ModbusError as e:
                    if e.kind == EXCEPTION or tries <= 0:
                        raise
                    tries -= 1
                    self.retried += 1
        finally:
            self.busy = False

    def read(self, addr, fc, start, count):
        """Read count registers; returns the offset in self.rx of the first data byte
        (big-endian words follow). Raises ModbusError after the retries are spent;
        an exception response is an answer, so it is not retried. Blocking: for the console's
        meter scan and tools; sampling uses aread()."""
        build_read(self.tx, addr, fc, start, count)
        tries = self.retries
        while True:
            try:
                while self._begin(count):
                    pass
                while True:
                    r = self._look(addr, fc, count, True)
                    if r >= 0:
                        return r + 3
            except ModbusError as e:
                if e.kind == EXCEPTION or tries <= 0:
                    raise
                tries -= 1
                self.retried += 1
