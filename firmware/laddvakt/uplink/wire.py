# The socket-like object umqtt.simple writes to and reads from (mqtt.py hands it over instead
# of a socket): packets are gathered and leave in one write, and reads come from a buffer filled
# without blocking, so umqtt never waits on the network.
import errno

from micropython import const

# Room before a payload built in place for its PUBLISH header (MQTT 3.1.1 §3.3): type byte,
# remaining length (up to 4 bytes), topic length and packet id; the topic's bytes come on top.
_HDR = const(9)
# Room kept at the write buffer's end, never a payload's: the control packets gathered behind a
# packet not yet sent (a PUBACK is 4 bytes, PINGREQ and DISCONNECT 2 each). poll() takes no QoS 1
# PUBLISH (it needs a PUBACK) while fewer than _KEEP bytes are free, so PINGREQ and DISCONNECT
# always fit.
_CTRL = const(64)
_KEEP = const(8)


def wbuf_bytes(payload, topic):
    """The write buffer for payloads of up to `payload` bytes built in place under topics of up
    to `topic` bytes (room()), with the control packets' room."""
    return _HDR + topic + payload + _CTRL


class Pending(Exception):
    """umqtt asked to read something that has not arrived yet."""


class Wire:
    def __init__(self, wbuf, rbuf):
        self.s = None
        self.wbuf = memoryview(wbuf)
        # Bytes gathered and not yet sent: where the next packet will start (a resend's DUP
        # flag goes into that first byte); 0 when the wire is idle.
        self.gathered = 0
        self._wo = 0  # of which already sent
        self.rbuf = memoryview(rbuf)  # its size: the largest packet that can be received whole
        self._r0 = 0  # next unread byte
        self._r1 = 0  # end of received data
        self.skip = 0  # bytes of an oversized packet still to discard
        self.eof = False
        self.hold = False  # make umqtt's next read give way (its wait for an ack)

    def reset(self, sock):
        self.s = sock
        self.gathered = self._wo = self._r0 = self._r1 = self.skip = 0
        self.hold = False
        self.eof = False

    # ---- the socket face umqtt sees -------------------------------------------
    # During MQTTLink.open the wire also stands in for umqtt's `socket` module: its connect()
    # makes "a socket" (the wire) and looks up the server, but our stream is already open.
    # umqtt's check_msg and wait_msg (blocking reads) are never called: MQTTLink.poll reads.
    def socket(self):
        return self

    def getaddrinfo(self, host, port):
        return ((None,),)  # umqtt passes [0][-1], the address, to connect() below

    def connect(self, addr):
        pass  # already connected by MQTTLink.open

    def write(self, data, n=None):
        if n is None:
            n = len(data)
        if self.gathered + n > len(self.wbuf):
            # The uplink only starts a publish on an idle wire, and poll() keeps room for a
            # PINGREQ (busy() below).
            raise OSError(errno.ENOBUFS)
        self.wbuf[self.gathered:self.gathered + n] = memoryview(data)[:n]
        self.gathered += n
        return n

    def read(self, n):
        if self.hold or self._r1 - self._r0 < n:
            raise Pending()
        b = bytes(self.rbuf[self._r0:self._r0 + n])
        self._r0 += n
        return b

    def close(self):
        s = self.s
        if s:
            try:
                self.send()
            except OSError:
                pass
            self.s = None
            s.close()

    # ---- the link's side: sending ---------------------------------------------
    def send(self):
        """Write what the socket takes now; True when nothing is left to send."""
        while self._wo < self.gathered:
            w = self.s.write(self.wbuf[self._wo:self.gathered])
            if not w:
                return False  # would block (or TLS handshake still in progress)
            self._wo += w
        self._wo = self.gathered = 0
        return True

    def room(self, n):
        """The write buffer past the header room for a topic of n bytes: a payload is
        built there in place while the wire is idle (the uplink's batch; no copy into the wire),
        then framed by publish_at."""
        return self.wbuf[_HDR + n:len(self.wbuf) - _CTRL]

    def busy(self):
        """Too little free in the write buffer for a PUBACK beside what a PINGREQ and a
        DISCONNECT need: poll() leaves the next PUBLISH in the receive buffer for now."""
        return len(self.wbuf) - self.gathered < _KEEP

    def publish_at(self, topic, n, pid, dup):
        """Frame the n bytes built at room(len(topic)) as a QoS 1 PUBLISH to topic (bytes) with
        packet id pid (DUP set if dup), its header written just before them, and send it.
        The wire must be idle: what is gathered is this one packet."""
        tl = len(topic)
        off = _HDR + tl
        rem = 4 + tl + n
        start = off - 5 - tl - (1 if rem < 0x80 else 2 if rem < 0x4000 else 3 if rem < 0x200000 else 4)
        if self.gathered or off + n > len(self.wbuf) - _CTRL:
            raise OSError(errno.ENOBUFS)
        w = self.wbuf
        w[start] = 0x3A if dup else 0x32
        i = start + 1
        while True:
            w[i] = (rem & 0x7F) | (0x80 if rem > 0x7F else 0)
            i += 1
            rem >>= 7
            if not rem:
                break
        w[i] = tl >> 8
        w[i + 1] = tl & 0xFF
        self.wbuf[i + 2:off - 2] = topic
        w[off - 2] = pid >> 8
        w[off - 1] = pid & 0xFF
        self._wo = start
        self.gathered = off + n
        return self.send()

    # ---- the link's side: receiving -------------------------------------------
    def fill(self):
        """Append what has arrived, without blocking. A closed peer is an OSError."""
        while True:
            if self._r0:
                n = self._r1 - self._r0
                if n:
                    self.rbuf[:n] = self.rbuf[self._r0:self._r1]
                self._r0 = 0
                self._r1 = n
            if self._r1 == len(self.rbuf):
                return
            n = self.s.readinto(self.rbuf[self._r1:])
            if n is None:
                return
            if n == 0:
                # Closed by the peer: what came before (a refusing CONNACK, say) is
                # still handled; the caller raises once it has used it (check_eof).
                self.eof = True
                return
            if self.skip:
                # The tail of an oversized packet: drop it as it arrives.
                d = min(n, self.skip)
                self.skip -= d
                if d < n:
                    self.rbuf[self._r1:self._r1 + n - d] = self.rbuf[self._r1 + d:self._r1 + n]
                n -= d
            self._r1 += n

    def avail(self):
        return self._r1 - self._r0

    def check_eof(self):
        if self.eof:
            raise OSError(errno.ECONNRESET)

    def head(self):
        """(first byte, header length, total length) of the next packet, or None
        while its fixed header is incomplete."""
        r = self.rbuf
        i = self._r0 + 1
        rem = 0
        sh = 0
        while i < self._r1:
            b = r[i]
            rem |= (b & 0x7F) << sh
            i += 1
            if not b & 0x80:
                hl = i - self._r0
                return r[self._r0], hl, hl + rem
            sh += 7
            if sh > 21:
                raise OSError("malformed remaining length")
        return None

    def drop(self, n):
        """Discard n bytes of the current packet, some of which may not have arrived."""
        have = min(n, self.avail())
        self._r0 += have
        self.skip += n - have

    def u16(self, off):
        i = self._r0 + off
        return self.rbuf[i] << 8 | self.rbuf[i + 1]

    def peek(self, off, n):
        """n bytes of the current packet from off, as a copy (received already)."""
        i = self._r0 + off
        return bytes(self.rbuf[i:i + n])

    def view(self, off, n):
        """n bytes of the current packet from off, in place: valid until the next fill()."""
        i = self._r0 + off
        return self.rbuf[i:i + n]
