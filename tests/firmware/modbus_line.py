# A scripted RS485 line for Modbus master tests: each request written gets the next
# scripted reply (bytes, delivered in chunks), or None for silence. It speaks the HAL
# UART surface (write, read_into, drain) and checks the master's bytes on the way.
import time


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
