"""A request/reply peer on a loopback UDP port, for tests and benches (the SNTP and DNS peers):
a thread serves each datagram of at least `min_len` bytes, counts it in `requests`, and sends
what `reply(req)` returns (None: no reply, a black hole)."""
import socket
import threading


class UdpPeer:
    min_len = 1

    def __init__(self):
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

    def reply(self, req):
        raise NotImplementedError

    def _serve(self):
        while not self._stop:
            try:
                req, addr = self._s.recvfrom(512)
            except socket.timeout:
                continue
            if len(req) < self.min_len:
                continue
            self.requests += 1
            out = self.reply(req)
            if out is not None:
                self._s.sendto(out, addr)
