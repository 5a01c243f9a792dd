# A scripted RS485 line for Modbus master tests: each request written gets the next
# scripted reply (bytes, delivered in chunks), or None for silence. It speaks the HAL
# UART surface (write, read_into, drain) and checks the master's bytes on the way.
import time

from laddvakt.meters import modbus as mb


def crc_bytes(frame):
    """frame with its Modbus CRC appended (low byte first)."""
    c = mb.crc16(frame, 0, len(frame))
    return bytes(frame) + bytes((c & 0xFF, c >> 8))


def reply(addr, fc, words):
    """A read reply carrying the 16-bit words."""
    body = bytes((addr, fc, 2 * len(words)))
    for w in words:
        body += bytes((w >> 8, w & 0xFF))
    return crc_bytes(body)


def req(addr, fc, reg, n):
    """The read request the master sends, byte-exact."""
    out = bytearray(8)
    mb.build_read(out, addr, fc, reg, n)
    return bytes(out)


class Line:
    def __init__(self, replies=(), chunk=3):
        self.replies = list(replies)
        self.sent = []
        self.pending = b""
        self.stale = b""  # bytes already on the line before the next request
        self.chunk = chunk
        self.drained = 0

    def write(self, buf, n):
        self.sent.append(bytes(buf[:n]))
        r = self.replies.pop(0) if self.replies else None
        self.pending = self.stale + (r or b"")
        self.stale = b""

    def read_into(self, buf, off, timeout_ms):
        if not self.pending:
            time.sleep_ms(timeout_ms)
            return 0
        k = min(self.chunk, len(buf) - off, len(self.pending))
        for i in range(k):
            buf[off + i] = self.pending[i]
        self.pending = self.pending[k:]
        return k

    def drain(self):
        self.drained += len(self.pending)
        self.pending = b""
