"""A local SNTP peer on a loopback UDP port, for tests and benches: `answer=True` replies with the
host's clock (RFC 4330 server reply), `answer=False` is a black hole that counts requests and
never replies."""
import struct
import time

from host_tools.testing.udp_peer import UdpPeer

_NTP_TO_UNIX_S = 2208988800


class SntpPeer(UdpPeer):
    min_len = 48  # an SNTP message

    def __init__(self, answer=True, offset_s=0.0):
        super().__init__()
        self.answer = answer
        self.offset_s = offset_s

    def reply(self, req):
        if not self.answer:
            return None
        t = time.time() + self.offset_s + _NTP_TO_UNIX_S
        sec = int(t)
        frac = int((t - sec) * (1 << 32)) & 0xFFFFFFFF
        return (bytes([0x24, 2, 0, 0]) + bytes(20) + req[40:48]
                + struct.pack(">IIII", sec, frac, sec & 0xFFFFFFFF, frac))
