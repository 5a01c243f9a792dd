# umqtt.simple (CONNECT, PUBLISH, SUBSCRIBE, PINGREQ), extended (never copied) into a link that
# never blocks the asyncio loop, by handing it a socket-like Wire (wire.py) instead of a socket:
# - a packet is gathered and leaves in one write (no Nagle stalls); a batch is built in place;
# - reads fill a receive buffer without blocking; a PUBLISH is read in place once whole;
# - umqtt's wait for PUBACK/SUBACK is cut short (Pending): a window, acks matched by id;
# - connect is ours up to the TCP/TLS stream, then umqtt writes CONNECT, CONNACK polled;
# - packet ids wrap 1..65535, never 0, and a resend reuses its original id with DUP.
import asyncio
import errno
import select
import socket
import time

import umqtt.simple
from umqtt.simple import MQTTClient, MQTTException

from laddvakt.uplink.dns import Resolver
from laddvakt.uplink.wire import Pending, Wire

_POLL_MS = 5


class MQTTLink(MQTTClient):
    """Non-blocking MQTT over umqtt.simple; see the module comment."""

    def __init__(self, client_id, server, port, timeout_ms, wbuf, rbuf, tls=None,
                 tls_host=None, dns=None, **kw):
        # wbuf, rbuf: the write and receive buffers (bytearrays made early: app/wiring.py's
        # build), or their sizes.
        super().__init__(client_id, server, port, **kw)
        self.timeout_ms = timeout_ms
        self._wire = Wire(wbuf if type(wbuf) is bytearray else bytearray(wbuf),
                          rbuf if type(rbuf) is bytearray else bytearray(rbuf))
        self.room = self._wire.room  # where a payload is built in place for publish_built
        self.tls = tls  # an ssl.SSLContext set up to verify the server, or None
        self.tls_host = tls_host or server
        self.dns = dns or Resolver()  # broker names are resolved without blocking (dns.py)
        self.on_ack = None  # fn(pid) for each PUBACK
        self.on_oversize = None  # fn(topic, size) for a PUBLISH too big to receive
        self.last_rx_ms = 0
        self.rx_retained = 0  # RETAIN flag of the PUBLISH being handed to the callback

    # ---- connect --------------------------------------------------------------
    async def _until(self, until, what, cond):
        # Poll cond until it holds, or raise once the ticks deadline until has passed.
        while not cond():
            if time.ticks_diff(time.ticks_ms(), until) > 0:
                raise OSError("%s: timed out" % what)
            await asyncio.sleep_ms(_POLL_MS)

    async def open(self, clean_session=False):
        """Connect, yielding to the loop while the network is slow; returns the
        CONNACK session-present flag. Raises OSError/MQTTException on failure."""
        self.close()
        # The name resolved without blocking the loop (dns.py); getaddrinfo then only wraps the IP.
        addr = socket.getaddrinfo(await self.dns.resolve(self.server), self.port)[0][-1]
        deadline = time.ticks_add(time.ticks_ms(), self.timeout_ms)
        s = socket.socket()
        try:
            s.setblocking(False)
            try:
                s.connect(addr)
            except OSError as e:
                if e.errno not in (errno.EINPROGRESS, errno.EAGAIN):
                    raise
            p = select.poll()
            p.register(s, select.POLLOUT)
            ev = []
            await self._until(deadline, "tcp connect", lambda: ev.extend(p.poll(0)) or ev)
            if ev[0][1] & (select.POLLERR | select.POLLHUP):
                # The error itself surfaces on the first use of the socket.
                s.write(b"")
                raise OSError(errno.ECONNREFUSED)
            if self.tls:
                try:
                    s = self.tls.wrap_socket(s, server_hostname=self.tls_host,
                                              do_handshake_on_connect=False)
                except (OSError, ValueError) as e:
                    a = e.args  # the binding's text, or its error code
                    raise OSError("tls: %s" % (a[0].strip() if len(a) == 1 and isinstance(a[0], str) else e,))
        except BaseException:
            s.close()
            raise
        w = self._wire
        w.reset(s)
        self.sock = w
        saved = umqtt.simple.socket
        umqtt.simple.socket = w  # umqtt's connect() makes its socket from the wire (wire.py)
        try:
            super().connect(clean_session)
        except Pending:
            pass  # CONNECT is gathered; CONNACK is collected below
        finally:
            umqtt.simple.socket = saved
        try:
            # Sending CONNECT also drives the TLS handshake, which a failed verification
            # ends here or at the first read.
            await self._until(deadline, "tls handshake" if self.tls else "tcp send", w.send)
            await self._until(deadline, "connack",
                              lambda: w.fill() or w.avail() >= 4 or w.check_eof())
        except (OSError, ValueError) as e:
            # MicroPython's mbedTLS binding reports a failed verification as ValueError.
            self.close()
            if not self.tls or str(e).endswith("timed out"):
                raise
            a = e.args
            raise OSError("tls: %s" % (a[0].strip() if len(a) == 1 and isinstance(a[0], str) else e,))
        except BaseException:
            self.close()
            raise
        resp = w.read(4)
        if resp[0] != 0x20 or resp[1] != 2:
            self.close()
            raise OSError("bad CONNACK")
        rc = resp[3]
        if rc:
            self.close()
            # CONNACK return codes 1..5 (MQTT 3.1.1 §3.2.2.3), as one text: a tuple of them
            # would be an object per text in RAM, for an error path.
            raise MQTTException("connect refused: code %d (%s)" % (rc, (
                "protocol version,identifier rejected,server unavailable,"
                "bad user name or password,not authorized,unknown").split(",")[min(rc, 6) - 1]))
        self.last_rx_ms = time.ticks_ms()
        return resp[2] & 1

    # ---- sending --------------------------------------------------------------
    def idle(self):
        return not self._wire.gathered

    def publish(self, topic, msg, retain=False, qos=0, pid=0):
        """Send one PUBLISH without waiting for its PUBACK; returns its packet id.
        pid: resend under this original id, with the DUP flag (MQTT 3.1.1 §4.4)."""
        # umqtt takes len() of a str for its byte count: wrong for non-ASCII text. A view of a
        # str's UTF-8 bytes (MicroPython's str has the buffer protocol) counts and writes its
        # bytes without the copy encode() made of every reply and status.
        msg = memoryview(msg) if type(msg) is str else msg  # type: ignore[arg-type]
        topic = memoryview(topic) if type(topic) is str else topic  # type: ignore[arg-type]
        w = self._wire
        start = w.gathered
        keep = self.pid
        if pid:
            self.pid = pid - 1
        elif self.pid >= 65535:
            self.pid = 0  # ids are 1..65535, never 0
        w.hold = True
        try:
            super().publish(topic, msg, retain, qos)
        except Pending:
            pass
        finally:
            w.hold = False
        sent = self.pid if qos else 0
        if pid:
            w.wbuf[start] |= 0x08  # DUP
            self.pid = keep
        w.send()
        return sent

    def publish_built(self, topic, n, pid=0):
        """publish(topic, ..., qos=1, pid=pid) of the n bytes built at room(len(topic)): no copy."""
        self.pid = self.pid if pid else self.pid % 65535 + 1  # ids are 1..65535, never 0
        self._wire.publish_at(topic, n, pid or self.pid, pid)
        return pid or self.pid

    def subscribe(self, topic, qos=0):
        """Send SUBSCRIBE; its SUBACK is checked by poll()."""
        if self.pid >= 65535:
            self.pid = 0
        w = self._wire
        w.hold = True
        try:
            super().subscribe(topic, qos)
        except Pending:
            pass
        finally:
            w.hold = False
        w.send()

    def ping(self):
        super().ping()
        self._wire.send()

    # ---- receiving ------------------------------------------------------------
    def poll(self):
        """Handle every whole packet received so far; never blocks. Returns how many."""
        w = self._wire
        w.send()  # what does not fit now goes out on a later poll
        w.fill()
        n = 0
        while True:
            h = w.head()
            if h is None:
                break
            first, hl, total = h
            op = first & 0xF0
            # Too big for the receive buffer: a PUBLISH is reported once its topic (and id, to
            # PUBACK it) are in, and the rest discarded as it arrives. The broker sends an
            # unacked command again after every reconnect: failing on one would poison the link.
            big = total > len(w.rbuf)
            if big and op != 0x30:
                raise OSError("oversized packet type 0x%02x" % first)
            if total > w.avail() and not big:
                break  # not all here yet
            if op == 0x30:
                # A whole PUBLISH (MQTT 3.1.1 §3.3) to the callback as a memoryview valid during
                # the call (no copy: umqtt's wait_msg makes one), its RETAIN flag (§3.3.1.3) in
                # rx_retained.
                qos = (first >> 1) & 3
                if qos and w.busy():
                    break  # no room for its PUBACK until what is gathered has gone
                if w.avail() < hl + 2:
                    break  # an oversized one's topic length not here yet
                tl = w.u16(hl)
                start = hl + 2 + tl + (2 if qos else 0)
                if big and w.avail() < start:
                    if start > len(w.rbuf):
                        raise OSError("topic of %d bytes does not fit the receive buffer" % tl)
                    break
                if start > total:
                    raise OSError("malformed PUBLISH")
                n += 1
                pid = w.u16(hl + 2 + tl) if qos else 0
                if big:
                    topic = w.peek(hl + 2, tl)
                    w.drop(total)
                else:
                    self.rx_retained = first & 1
                    try:
                        self.cb(w.peek(hl + 2, tl), w.view(start, total - start))
                    finally:
                        w.drop(total)
                if qos == 1:
                    w.write(b"\x40\x02%c%c" % (pid >> 8, pid & 0xFF))
                if big and self.on_oversize:
                    self.on_oversize(topic, total - start)
                continue
            n += 1
            if op == 0x40:
                pid = w.u16(hl)
                w.drop(total)
                if self.on_ack:
                    self.on_ack(pid)
            elif op == 0x90:
                rc = w.peek(hl + 2, 1)[0]
                w.drop(total)
                if rc == 0x80:
                    raise MQTTException("subscription refused")
            else:
                w.drop(total)  # PINGRESP and anything we do not use
        if n:
            self.last_rx_ms = time.ticks_ms()
        w.check_eof()
        w.send()
        return n

    def close(self):
        w = self._wire
        if w.s:
            try:
                w.close()
            except OSError:
                pass
        self.sock = None
