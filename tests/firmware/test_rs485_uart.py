# The board's RS485 line wrapper: DE high exactly while sending (until flush() says the last
# bit is out), reads bounded by the timeout. Uses a stand-in UART with machine.UART's surface.
from fwtest import run
from laddvakt.hal.esp32_uart import Rs485Uart


class DE:
    def __init__(self):
        self.v = None
        self.log = []

    def value(self, v):
        self.v = v
        self.log.append(v)


class Uart:
    def __init__(self, de):
        self.de = de
        self.rx = b""
        self.sent = []
        self.flushed_with_de = []

    def write(self, buf):
        assert self.de.v == 1, "DE must be high while sending"
        self.sent.append(bytes(buf))

    def flush(self):
        self.flushed_with_de.append(self.de.v)

    def any(self):
        return len(self.rx)

    def readinto(self, buf, n=None):
        n = min(len(buf), len(self.rx)) if n is None else min(n, len(self.rx))
        for i in range(n):
            buf[i] = self.rx[i]
        self.rx = self.rx[n:]
        return n


def test_de_is_high_only_while_sending():
    de = DE()
    u = Uart(de)
    line = Rs485Uart(u, de)
    assert de.log == [0]
    line.write(bytearray(b"\x01\x03\x00\x00\x00\x01\x84\x0a"), 8)
    assert u.sent == [b"\x01\x03\x00\x00\x00\x01\x84\x0a"]
    assert u.flushed_with_de == [1] and de.log == [0, 1, 0]


def test_read_into_offset_and_timeout():
    import time

    de = DE()
    u = Uart(de)
    line = Rs485Uart(u, de)
    buf = bytearray(10)
    t0 = time.ticks_ms()
    assert line.read_into(buf, 0, 30) == 0
    assert time.ticks_diff(time.ticks_ms(), t0) >= 30
    u.rx = b"\xaa\xbb\xcc"
    assert line.read_into(buf, 8, 30) == 2  # only the room left
    assert buf[8:] == b"\xaa\xbb" and u.rx == b"\xcc"
    line.drain()
    assert u.rx == b""


def test_without_a_de_pin():
    u = Uart(DE())
    u.de.v = 1  # an auto-direction transceiver: nothing to switch
    Rs485Uart(u).write(bytearray(b"\x01"), 1)
    assert u.sent == [b"\x01"]


run(globals())
