# The awaited Modbus exchange: the same frames and counters as the blocking read, while a
# ticker on the same event loop keeps its pace, with a reply paced at 9600 baud and with a
# silent meter. The line is marked busy while an exchange is in flight.
import asyncio
import time

from fwtest import run
from modbus_line import Line, crc_bytes, reply, req
from laddvakt.meters import modbus as mb


class PacedLine(Line):
    """A reply that arrives as a 9600-baud line delivers it: after turnaround_ms, about one
    byte per 1.15 ms (11 bits per character)."""

    def __init__(self, replies, turnaround_ms=20):
        super().__init__(replies)
        self.turnaround_ms = turnaround_ms
        self.t0 = None

    def write(self, buf, n):
        super().write(buf, n)
        self.t0 = time.ticks_ms()
        self.given = 0

    def read_into(self, buf, off, timeout_ms):
        if timeout_ms:
            raise AssertionError("the awaited read must not block (timeout %d ms)" % timeout_ms)
        if not self.pending:
            return 0
        due = (time.ticks_diff(time.ticks_ms(), self.t0) - self.turnaround_ms) * 1000 // 1146
        k = min(due - self.given, len(self.pending), len(buf) - off)
        if k <= 0:
            return 0
        for i in range(k):
            buf[off + i] = self.pending[i]
        self.pending = self.pending[k:]
        self.given += k
        return k


def drive(m, *args):
    """(aread's result or error, longest gap of a 5 ms ticker meanwhile, busy seen, ms taken)."""
    out = []
    gap = [0]
    busy = [False]

    async def ticker():
        last = time.ticks_ms()
        while not out:
            await asyncio.sleep_ms(5)
            busy[0] = busy[0] or m.busy
            now = time.ticks_ms()
            gap[0] = max(gap[0], time.ticks_diff(now, last))
            last = now

    async def main():
        t = asyncio.create_task(ticker())
        t0 = time.ticks_ms()
        try:
            out.append(await m.aread(*args))
        except mb.ModbusError as e:
            out.append(e)
        out.append(time.ticks_diff(time.ticks_ms(), t0))
        await t

    asyncio.run(main())
    return out[0], gap[0], busy[0], out[1]


def test_paced_reply_is_read_while_the_loop_runs():
    words = tuple(range(0x100, 0x100 + 40))  # 85-byte reply: about 100 ms at 9600 baud
    line = PacedLine([reply(1, 4, words)])
    m = mb.RtuMaster(line, 9600, timeout_ms=300, retries=0)
    off, gap, busy, took = drive(m, 1, 4, 0, 40)
    assert isinstance(off, int), off
    assert bytes(m.rx[off:off + 4]) == b"\x01\x00\x01\x01"
    assert line.sent == [req(1, 4, 0, 40)]
    assert (m.requests, m.ok, m.timeouts) == (1, 1, 0)
    assert took >= 100, took  # it really waited for the paced bytes
    assert gap < 30, gap
    assert busy and not m.busy


def test_silent_meter_times_out_and_retries_without_holding_the_loop():
    line = PacedLine([None, None])
    m = mb.RtuMaster(line, 9600, timeout_ms=150, retries=1)
    e, gap, busy, took = drive(m, 1, 3, 0, 2)
    assert isinstance(e, mb.ModbusError) and e.kind == mb.TIMEOUT, e
    assert (m.requests, m.timeouts, m.retried) == (2, 2, 1)
    assert took >= 300, took
    assert gap < 30, gap
    assert not m.busy


def test_exception_reply_is_not_retried():
    line = PacedLine([crc_bytes(bytes((1, 0x84, 2)))], turnaround_ms=0)
    m = mb.RtuMaster(line, 9600, timeout_ms=150, retries=2)
    e, gap, busy, took = drive(m, 1, 4, 0, 1)
    assert isinstance(e, mb.ModbusError) and e.kind == mb.EXCEPTION and e.code == 2, e
    assert m.requests == 1 and m.exceptions == 1


run(globals())
