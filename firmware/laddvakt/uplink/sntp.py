# A small SNTP client (RFC 4330) for the network task: one UDP socket, non-blocking, awaited
# with short sleeps, so a silent or black-holed server never holds up sampling. The agent takes
# each new answer as a clock sync (periodic resync, and again soon after a failure).
import asyncio
import socket
import time

from micropython import const

from laddvakt.core.clock import tdiff
from laddvakt.uplink.dns import Resolver

_NTP_TO_UNIX_S = const(2208988800)  # 1900-01-01 to 1970-01-01
_POLL_MS = const(10)
_LEN = const(48)
_NAP_MS = const(500)


def request(buf, cookie):
    """Client request into buf (48 bytes): LI 0, version 4, mode 3; the transmit timestamp
    field carries a cookie the server must echo as originate (RFC 4330 §5)."""
    for i in range(_LEN):
        buf[i] = 0
    buf[0] = 0x23
    for i in range(8):
        buf[40 + i] = (cookie >> (8 * (7 - i))) & 0xFF


def _u32(b, i):
    return (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]


def parse(buf, n, cookie):
    """Server time in Unix ms from a reply, or None if it is not a usable answer to our
    request: wrong length or mode, kiss-o'-death or unsynchronised server, wrong cookie."""
    if n < _LEN or buf[0] & 7 != 4 or buf[0] >> 6 == 3 or not 1 <= buf[1] <= 15:
        return None
    for i in range(8):
        if buf[24 + i] != (cookie >> (8 * (7 - i))) & 0xFF:
            return None
    s = _u32(buf, 40)
    if s == 0:
        return None
    if s < 0x80000000:
        s += 0x100000000  # era 1: after 2036-02-07 (RFC 4330 §3)
    return (s - _NTP_TO_UNIX_S) * 1000 + ((_u32(buf, 44) >> 16) * 1000 >> 16)


def sntp_source(cfg, urandom, default_host="", dns=None):
    """The SntpTime a HAL hands the agent, from config (ntp_host as "name" or "name:port",
    ntp_resync_s, ntp_retry_s)."""
    host = cfg["ntp_host"] or default_host
    port = 123
    i = host.rfind(":")
    if i > 0:
        host, port = host[:i], int(host[i + 1:])
    return SntpTime(host, port, resync_ms=cfg["ntp_resync_s"] * 1000,
                    retry_ms=cfg["ntp_retry_s"] * 1000, urandom=urandom, dns=dns)


class SntpTime:
    """A time source fed by `run()`, the network task's SNTP loop. unix_s() hands each new
    answer to the agent once (None in between); `periodic` tells the agent to keep asking."""

    periodic = True

    def __init__(self, host, port=123, resync_ms=3600000, timeout_ms=2000, retry_ms=30000, urandom=None,
                 dns=None):
        self.host = host
        self.port = port
        self.resync_ms = resync_ms
        self.timeout_ms = timeout_ms
        self.retry_ms = retry_ms
        self._urandom = urandom
        self._buf = bytearray(_LEN)
        self._offset_ms = None  # (wall ms, loop time) of the newest answer not yet taken
        self._addr = None
        self.dns = dns or Resolver()  # names are looked up without blocking (dns.py)
        self.answers = 0
        self.failures = 0
        self.last_error = None

    def unix_s(self, up_ms):
        got = self._offset_ms
        if got is None:
            return None
        self._offset_ms = None
        wall_ms, at = got  # across the ticks wrap: a difference of loop times, not a sum
        return (wall_ms + tdiff(up_ms, at)) // 1000

    def _cookie(self):
        r = self._urandom(8) if self._urandom else None
        v = time.ticks_us()
        if r:
            for c in r:
                v = (v << 8) ^ c
        return v & 0xFFFFFFFFFFFFFFFF

    async def query(self, now_ms):
        """One exchange. Returns (wall ms, the loop time now_ms() then), or raises OSError."""
        if self._addr is None:
            self._addr = socket.getaddrinfo(await self.dns.resolve(self.host), self.port)[0][-1]
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.setblocking(False)
            cookie = self._cookie()
            buf = self._buf
            request(buf, cookie)
            t0 = time.ticks_ms()
            s.sendto(buf, self._addr)
            while True:
                try:
                    n = s.readinto(buf)
                except OSError:
                    n = None  # EAGAIN: nothing yet
                if n:
                    rtt = time.ticks_diff(time.ticks_ms(), t0)
                    t = parse(buf, n, cookie)
                    if t is not None:
                        # The server stamped its clock about half a round trip ago.
                        return t + rtt // 2, now_ms()
                if time.ticks_diff(time.ticks_ms(), t0) >= self.timeout_ms:
                    raise OSError("sntp: no answer from %s within %d ms" % (self.host, self.timeout_ms))
                await asyncio.sleep_ms(_POLL_MS)
        finally:
            s.close()

    async def run(self, now_ms, connects=None):
        """For ever: sync, then resync every resync_ms (retry_ms after a failure), and soon
        after the uplink reconnects (connects() counts its connections): a link that was down
        may have hidden a long outage of the network."""
        seen = connects() if connects else 0
        while True:
            try:
                self._offset_ms = await self.query(now_ms)
                self.answers += 1
                self.last_error = None
                wait = self.resync_ms
            except OSError as e:
                self.failures += 1
                self.last_error = str(e)
                self._addr = None  # resolve again: the name may point elsewhere now
                wait = self.retry_ms
            while wait > 0:
                await asyncio.sleep_ms(min(wait, _NAP_MS))
                wait -= _NAP_MS
                if connects and connects() != seen:
                    seen = connects()
                    break
