# umqtt.simple, extended (never copied): every packet leaves in one write, and
# reads time out instead of hanging.
#
# umqtt.simple writes each packet in several small pieces. On TCP those meet
# Nagle's algorithm and delayed ACK, so each QoS 1 publish waits ~40 ms. We hand
# it a socket wrapper that gathers writes and sends them when the client next
# reads (it always reads after a packet that expects an answer) or on flush().
from umqtt.simple import MQTTClient


class _GatheringSocket:
    def __init__(self, sock, buf):
        self._s = sock
        self._buf = buf
        self._mv = memoryview(buf)
        self._n = 0

    def write(self, data, n=None):
        if n is None:
            n = len(data)
        if self._n + n > len(self._buf):
            self.flush()
            if n > len(self._buf):
                self._s.write(memoryview(data)[:n])
                return n
        self._mv[self._n:self._n + n] = memoryview(data)[:n]
        self._n += n
        return n

    def flush(self):
        if self._n:
            mv = self._mv[: self._n]
            self._n = 0
            sent = 0
            while sent < len(mv):
                w = self._s.write(mv[sent:])
                if w is None:
                    # Non-blocking socket with a full send buffer: treat as a dead link.
                    raise OSError(11)
                sent += w

    def read(self, n):
        self.flush()
        return self._s.read(n)

    def setblocking(self, flag):
        self.flush()
        self._s.setblocking(flag)
        if flag:
            self._s.settimeout(self.timeout_s)

    def close(self):
        # umqtt's disconnect() writes DISCONNECT and closes at once: send it first.
        try:
            self.flush()
        finally:
            self._s.close()


class MQTTLink(MQTTClient):
    """MQTTClient with gathered writes, socket timeouts and wrapping packet ids."""

    def __init__(self, client_id, server, port, timeout_ms, buf_size, **kw):
        super().__init__(client_id, server, port, **kw)
        self._timeout_s = timeout_ms / 1000
        self._wbuf = bytearray(buf_size)

    def connect(self, clean_session=True):
        # umqtt.simple creates the socket inside connect(); it is wrapped afterwards,
        # so CONNECT itself still goes out in pieces (once per connection).
        try:
            rc = super().connect(clean_session)
        except (IndexError, AssertionError) as e:
            # A peer that closes during CONNACK gives an empty read; make it an OSError.
            raise OSError("bad CONNACK: %r" % (e,))
        raw = self.sock
        raw.settimeout(self._timeout_s)
        g = _GatheringSocket(raw, self._wbuf)
        g.timeout_s = self._timeout_s
        self.sock = g
        return rc

    def publish(self, topic, msg, retain=False, qos=0):
        # MQTT 3.1.1: a packet id is 1..65535 and never 0; umqtt.simple only counts up.
        if self.pid >= 65535:
            self.pid = 0
        super().publish(topic, msg, retain, qos)
        self.sock.flush()

    def close(self):
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None
