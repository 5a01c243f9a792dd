"""A local SNTP peer on a loopback UDP port, for tests and benches: `answer=True` replies with the
host's clock (RFC 4330 server reply), `answer=False` is a black hole that counts requests and
never replies."""
import socket
import struct
import threading
import time

_NTP_TO_UNIX_S = 2208988800


class SntpPeer:
    def __init__(self, answer=True, offset_s=0.0):
        self.answer = answer
        self.offset_s = offset_s
        self.requests = 0
        self._s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._s.bind(("127.0.0.1", 0))
        self._s.settimeout(0.2)
        self.port = self._s.getsockname()[1]
        self._stop = False
        self._t = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop = True
        self._t.join()
        self._s.close()

    def _serve(self):
        while not self._stop:
            try:
                req, addr = self._s.recvfrom(512)
            except socket.timeout:
                continue
            if len(req) < 48:
                continue
            self.requests += 1
            if not self.answer:
                continue
            t = time.time() + self.offset_s + _NTP_TO_UNIX_S
            sec = int(t)
            frac = int((t - sec) * (1 << 32)) & 0xFFFFFFFF
            reply = (bytes([0x24, 2, 0, 0]) + bytes(20) + req[40:48]
                     + struct.pack(">IIII", sec, frac, sec & 0xFFFFFFFF, frac))
            self._s.sendto(reply, addr)
