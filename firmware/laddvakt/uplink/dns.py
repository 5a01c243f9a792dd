# A small DNS client for the network task (RFC 1035): one A query over a non-blocking UDP
# socket, awaited with short sleeps, so a slow or silent resolver never holds up sampling
# (getaddrinfo on a name blocks the whole loop on a board). Answers are cached for their TTL.
import asyncio
import socket
import time

from micropython import const

_POLL_MS = const(10)
_BUF = const(512)  # RFC 1035 §4.2.1: a UDP message is at most 512 bytes
_MIN_TTL_MS = const(5000)
_MAX_TTL_MS = const(3600000)


def is_ip(host):
    """True for a dotted-quad IPv4 literal, which needs no lookup."""
    parts = host.split(".")
    if len(parts) != 4:
        return False
    for p in parts:
        if not p or len(p) > 3 or not p.isdigit() or int(p) > 255:
            return False
    return True


def query(buf, qid, name):
    """An A query for name into buf (RD set, RFC 1035 §4.1); returns its length. Raises
    ValueError for a name DNS cannot carry."""
    if not name or len(name) > 253:
        raise ValueError("dns: bad name length")
    buf[0] = qid >> 8
    buf[1] = qid & 0xFF
    buf[2] = 0x01  # RD: the resolver recurses for us
    for i in range(3, 12):
        buf[i] = 0
    buf[5] = 1  # QDCOUNT
    i = 12
    for label in name.split("."):
        b = label.encode()
        n = len(b)
        if not 0 < n < 64:
            raise ValueError("dns: bad label in %s" % name)
        buf[i] = n
        buf[i + 1:i + 1 + n] = b
        i += 1 + n
    buf[i:i + 5] = b"\x00\x00\x01\x00\x01"  # root; QTYPE A, QCLASS IN
    return i + 5


def _skip_name(buf, i, n):
    # Labels until the root, or a compression pointer (2 bytes, RFC 1035 §4.1.4).
    while i < n:
        c = buf[i]
        if c == 0:
            return i + 1
        if c & 0xC0 == 0xC0:
            return i + 2
        if c & 0xC0:
            return n + 1
        i += 1 + c
    return n + 1


def parse(buf, n, qid):
    """(dotted address, TTL in s) from a reply in buf[:n]; None if it is not an answer to query
    qid (too short, not a response, wrong id, truncated or malformed). Raises OSError when the
    resolver answered with an error or without an A record."""
    if n < 12 or buf[0] != qid >> 8 or buf[1] != qid & 0xFF or not buf[2] & 0x80 or buf[2] & 0x7A:
        return None  # not a standard-query response to us, or truncated (TC)
    rc = buf[3] & 0x0F
    if rc:
        # RCODEs (RFC 1035 §4.1.1) that end a query at once: the resolver has answered. One
        # text, not a tuple of them (an object per text in RAM, for an error path).
        raise OSError("format error,server failure,no such name,not implemented,refused".split(",")[rc - 1]
                      if rc <= 5 else "DNS rcode %d" % rc)
    i = 12
    for _ in range((buf[4] << 8) | buf[5]):
        i = _skip_name(buf, i, n) + 4
    for _ in range((buf[6] << 8) | buf[7]):
        i = _skip_name(buf, i, n)
        if i + 10 > n:
            return None
        rlen = (buf[i + 8] << 8) | buf[i + 9]
        if i + 10 + rlen > n:
            return None
        if buf[i] == 0 and buf[i + 1] == 1 and buf[i + 2] == 0 and buf[i + 3] == 1 and rlen == 4:
            ttl = (buf[i + 4] << 24) | (buf[i + 5] << 16) | (buf[i + 6] << 8) | buf[i + 7]
            j = i + 10
            return "%d.%d.%d.%d" % (buf[j], buf[j + 1], buf[j + 2], buf[j + 3]), ttl
        i += 10 + rlen  # a CNAME on the way, or another type
    if i > n:
        return None
    raise OSError("no A record")


class Resolver:
    """Names to addresses for the network task. `server` is "a.b.c.d" or "a.b.c.d:port", or a
    function giving it (the one DHCP handed out is known only once Wi-Fi is up); with none,
    the lookup falls back to getaddrinfo, which blocks (the unix port's host resolver)."""

    def __init__(self, server=None, timeout_ms=2000, tries=2, urandom=None, min_ttl_ms=_MIN_TTL_MS):
        self.server = server
        self.min_ttl_ms = min_ttl_ms  # a TTL of 0 would mean a query per connect attempt
        self.timeout_ms = timeout_ms
        self.tries = tries
        self.urandom = urandom
        self.buf = None  # 512 bytes, at the first query: a broker given as an address needs none
        self._cache = {}  # name: (address, ticks when answered, TTL ms); the broker and SNTP
        self.queries = 0
        self.blocking = 0  # lookups that fell back to getaddrinfo
        self.last_error = None

    async def resolve(self, host):
        """host's address as dotted text. Raises OSError saying why when no answer came and
        none is cached; an expired answer is used (and last_error set) if the resolver fails."""
        if is_ip(host):
            return host
        hit = self._cache.get(host)
        if hit and time.ticks_diff(time.ticks_ms(), hit[1]) < hit[2]:
            return hit[0]
        try:
            srv = self.server() if callable(self.server) else self.server
            if not srv:
                self.blocking += 1
                sa = socket.getaddrinfo(host, 53)[0][-1]
                # getaddrinfo's sockaddr: ("a.b.c.d", port) on a board, a struct sockaddr_in
                # (family, port, address) as bytes on the unix port.
                ip = sa[0] if isinstance(sa, tuple) else "%d.%d.%d.%d" % (sa[4], sa[5], sa[6], sa[7])
                ttl = 300
            else:
                port = 53
                i = srv.rfind(":")
                if i > 0:
                    srv, port = srv[:i], int(srv[i + 1:])
                if not is_ip(srv):
                    raise OSError("dns_server must be an IPv4 address, got '%s'" % srv)
                # an IP literal: no lookup, no wait
                addr = socket.getaddrinfo(srv, port)[0][-1]
                buf = self.buf
                if buf is None:
                    buf = self.buf = bytearray(_BUF)
                a = None
                for _ in range(self.tries):
                    r = self.urandom(2) if self.urandom else None
                    qid = ((r[0] << 8) | r[1]) if r else time.ticks_us() & 0xFFFF
                    n = query(buf, qid, host)
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    try:
                        s.setblocking(False)
                        s.connect(addr)  # only the resolver's datagrams reach this socket
                        s.send(memoryview(buf)[:n])
                        self.queries += 1
                        t0 = time.ticks_ms()
                        while a is None and time.ticks_diff(time.ticks_ms(), t0) < self.timeout_ms:
                            try:
                                got = s.readinto(buf)
                            except OSError:
                                got = None  # EAGAIN: nothing yet
                            if got:
                                a = parse(buf, got, qid)
                            if a is None:
                                await asyncio.sleep_ms(_POLL_MS)
                    finally:
                        s.close()
                    if a is not None:
                        break
                else:
                    raise OSError("no answer within %d x %d ms" % (self.tries, self.timeout_ms))
                ip, ttl = a
        except (OSError, ValueError, IndexError) as e:
            self.last_error = "dns: cannot resolve %s: %s" % (host, e)
            if hit:
                return hit[0]  # stale, but a broker rarely moves: better than no link
            raise OSError(self.last_error)
        if len(self._cache) > 3:
            self._cache.clear()
        ttl = _MAX_TTL_MS if ttl >= _MAX_TTL_MS // 1000 else max(ttl * 1000, self.min_ttl_ms)
        self._cache[host] = (ip, time.ticks_ms(), ttl)
        self.last_error = None
        return ip
