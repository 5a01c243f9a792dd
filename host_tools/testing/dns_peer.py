"""A local DNS peer on a loopback UDP port, for tests and benches: `answer` maps names to IPv4
addresses (an A record, TTL 60 s; any other name gets NXDOMAIN); `answer=None` is a black hole
that counts queries and never replies."""
import socket
import struct

from host_tools.testing.udp_peer import UdpPeer


class DnsPeer(UdpPeer):
    min_len = 17  # a header and the smallest question

    def __init__(self, answer=None):
        super().__init__()
        self.answer = answer

    def reply(self, req):
        return None if self.answer is None else self._reply(req)

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
