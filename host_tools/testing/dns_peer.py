"""A local DNS peer on a loopback UDP port, for tests and benches: `answer` maps names to IPv4
addresses (an A record, TTL 60 s; any other name gets NXDOMAIN); `answer=None` is a black hole
that counts queries and never replies."""
import socket
import struct
import threading


class DnsPeer:
    def __init__(self, answer=None):
        self.answer = answer
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
            if len(req) < 17:
                continue
            self.requests += 1
            if self.answer is not None:
                self._s.sendto(self._reply(req), addr)

    def _reply(self, req):
        i, labels = 12, []
        while req[i]:
            labels.append(req[i + 1:i + 1 + req[i]].decode())
            i += 1 + req[i]
        question = req[12:i + 5]
        ip = self.answer.get(".".join(labels))
        flags = 0x8180 if ip else 0x8183  # QR RD RA, NOERROR or NXDOMAIN
        head = req[:2] + struct.pack(">HHHHH", flags, 1, 1 if ip else 0, 0, 0)
        if not ip:
            return head + question
        rr = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(ip)
        return head + question + rr
