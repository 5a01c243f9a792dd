# The MQTT link's wire format, byte for byte, over a socket double that records every
# write and hands out received bytes in the chunks a test chooses.
from fwtest import raises, run
from laddvakt.uplink.acks import Keepalive
from laddvakt.uplink.mqtt import MQTTLink
from laddvakt.uplink.wire import wbuf_bytes
from umqtt.simple import MQTTException


class WireSock:
    def __init__(self, max_write=None):
        self.writes = []
        self.rx = []
        self.max_write = max_write
        self.blocked = False

    def write(self, data):
        if self.blocked:
            return None
        n = len(data) if self.max_write is None else min(len(data), self.max_write)
        self.writes.append(bytes(data[:n]))
        return n

    def readinto(self, mv):
        if not self.rx:
            return None
        chunk = self.rx.pop(0)
        n = min(len(chunk), len(mv))
        if n < len(chunk):
            self.rx.insert(0, chunk[n:])
        mv[:n] = chunk[:n]
        return n

    def close(self):
        pass


def _link(sock, rbuf=256):
    link = MQTTLink("dev", "127.0.0.1", 1883, 1000, 512, rbuf)
    link._wire.reset(sock)
    link.sock = link._wire
    link.set_callback(lambda t, m: None)
    return link


def test_publish_qos1_is_one_write_and_does_not_wait():
    s = WireSock()
    link = _link(s)
    pid = link.publish("t/x", b"hello", qos=1)
    assert pid == 1
    assert s.writes == [b"\x32\x0c\x00\x03t/x\x00\x01hello"]
    assert link.publish("t/x", b"hi", qos=1) == 2  # a window: no PUBACK awaited
    assert len(s.writes) == 2 and link.idle()


def test_packet_ids_wrap_and_are_never_zero():
    s = WireSock()
    link = _link(s)
    link.pid = 65534
    assert [link.publish("t", b"", qos=1) for _ in range(3)] == [65535, 1, 2]


def test_resend_keeps_original_id_with_dup_flag():
    s = WireSock()
    link = _link(s)
    link.pid = 40
    assert link.publish("t", b"x", qos=1, pid=7) == 7
    assert s.writes[-1] == b"\x3a\x06\x00\x01t\x00\x07x"
    assert link.publish("t", b"x", qos=1) == 41  # the counter is untouched


def _built(link, topic, payload):
    room = link.room(len(topic))
    room[:len(payload)] = payload
    return len(payload)


def test_payload_built_in_place_leaves_as_publish_would_send_it():
    # A batch is built in the write buffer and framed there (no copy): the bytes on the wire
    # are those publish() sends, for a 1- and a 2-byte remaining length, and a resend's DUP.
    s = WireSock()
    link = _link(s)
    assert link.publish_built(b"t/x", _built(link, b"t/x", b"hello")) == 1
    assert s.writes == [b"\x32\x0c\x00\x03t/x\x00\x01hello"] and link.idle()
    big = bytes(range(200))
    assert link.publish_built(b"t/x", _built(link, b"t/x", big)) == 2
    ref = WireSock()
    rlink = _link(ref)
    rlink.pid = 1
    rlink.publish(b"t/x", big, qos=1)
    assert s.writes[-1] == ref.writes[-1] and s.writes[-1][:3] == b"\x32\xcf\x01"
    link.pid = 40
    assert link.publish_built(b"t", _built(link, b"t", b"x"), pid=7) == 7
    assert s.writes[-1] == b"\x3a\x06\x00\x01t\x00\x07x"
    assert link.publish_built(b"t", _built(link, b"t", b"x")) == 41  # the counter is untouched
    link.pid = 65535
    assert link.publish_built(b"t", _built(link, b"t", b"")) == 1  # never 0


def test_payload_built_in_place_needs_an_idle_wire_and_room():
    s = WireSock()
    link = _link(s)
    s.blocked = True
    link.publish("t", b"a", qos=0)  # gathered, not sent: the wire is busy
    raises(OSError, link.publish_built, b"t", 1)
    s.blocked = False
    link.poll()
    assert link.idle()
    raises(OSError, link.publish_built, b"t", 512)  # more than the write buffer holds


def test_commands_wait_in_the_receive_buffer_while_the_write_buffer_has_no_room_for_their_pubacks():
    # The write buffer is a payload's size plus its header and a small room for the control
    # packets gathered behind a packet not yet sent (wire.wbuf_bytes). Commands that keep coming
    # while a full batch waits on a blocked socket are PUBACKed into that room until it is used
    # up; then they wait, whole, in the receive buffer (no ENOBUFS, no link drop, none lost),
    # and a keepalive ping still fits.
    s = WireSock()
    link = MQTTLink("dev", "127.0.0.1", 1883, 1000, wbuf_bytes(100, 3), 512)
    link._wire.reset(s)
    link.sock = link._wire
    got = []
    link.set_callback(lambda t, m: got.append(bytes(m)))
    room = link.room(3)
    assert len(room) == 100  # the payload's bytes; the control room is not the payload's
    s.blocked = True
    link.publish_built(b"t/x", 100)
    s.rx = [b"".join(b"\x32\x07\x00\x01c\x00%c{}" % (i + 1) for i in range(30))]
    link.poll()
    assert 0 < len(got) < 30 and not link.idle()
    link.ping()  # PINGREQ: 2 bytes, kept free
    s.blocked = False
    for _ in range(5):
        link.poll()
    assert len(got) == 30 and link.idle()
    sent = b"".join(s.writes)
    assert sent.count(b"\x40\x02\x00") == 30 and b"\xc0\x00" in sent
    raises(OSError, link.publish_built, b"t/x", 101)


def test_text_is_counted_in_bytes():
    s = WireSock()
    link = _link(s)
    link.publish("t", "\u00e9", qos=0)
    assert s.writes[-1] == b"\x30\x05\x00\x01t\xc3\xa9"


def test_partial_and_blocked_writes_keep_the_rest():
    s = WireSock(max_write=4)
    link = _link(s)
    link.publish("t/x", b"hello", qos=1)
    assert b"".join(s.writes) == b"\x32\x0c\x00\x03t/x\x00\x01hello" and link.idle()
    s.blocked = True
    link.publish("t", b"a", qos=0)
    assert not link.idle()
    s.blocked = False
    link.poll()
    assert link.idle() and b"".join(s.writes).endswith(b"\x30\x04\x00\x01ta")


def test_puback_split_across_reads():
    s = WireSock()
    link = _link(s)
    acks = []
    link.on_ack = acks.append
    s.rx = [b"\x40"]
    assert link.poll() == 0 and acks == []
    s.rx = [b"\x02\x01", b"\x02\x40\x02\x00\x09"]
    link.poll()
    link.poll()
    assert acks == [258, 9]


def test_incoming_publish_reaches_callback_and_is_acked():
    s = WireSock()
    link = _link(s)
    got = []
    link.set_callback(lambda t, m: got.append((t, m)))
    s.rx = [b"\x32\x0c\x00\x03c/p\x00\x05", b"{}{}"]
    link.poll()
    assert got == []  # not whole yet: umqtt is not asked to wait for it
    s.rx = [b"!"]
    link.poll()
    assert got == [(b"c/p", b"{}{}!")]
    assert s.writes[-1] == b"\x40\x02\x00\x05"


def test_incoming_payload_is_read_in_place_with_its_retain_flag():
    s = WireSock()
    link = _link(s)
    got = []
    link.set_callback(lambda t, m: got.append((t, type(m) is memoryview, bytes(m), link.rx_retained)))
    # QoS 1 and RETAIN (0x33), then QoS 0 without (0x30): no PUBACK for the second.
    s.rx = [b"\x33\x09\x00\x03c/p\x00\x06ab" + b"\x30\x07\x00\x03c/qxy"]
    assert link.poll() == 2
    assert got == [(b"c/p", True, b"ab", 1), (b"c/q", True, b"xy", 0)]
    assert s.writes == [b"\x40\x02\x00\x06"]
    s.rx = [b"\x30\x03\x00\x09c"]  # a topic longer than the packet
    assert "malformed" in str(raises(OSError, link.poll))


def test_oversized_publish_is_reported_acked_and_skipped():
    s = WireSock()
    link = _link(s, rbuf=32)
    big = []
    link.on_oversize = lambda t, n: big.append((t, n))
    acks = []
    link.on_ack = acks.append
    payload = b"x" * 100
    pkt = b"\x32\x6b\x00\x03c/p\x00\x06" + payload  # remaining 2+3+2+100 = 107
    s.rx = [pkt[:30], pkt[30:60], pkt[60:] + b"\x40\x02\x00\x03"]
    for _ in range(4):
        link.poll()
    assert big == [(b"c/p", 100)]
    assert b"\x40\x02\x00\x06" in s.writes
    assert acks == [3]


def test_oversized_publish_arriving_a_byte_at_a_time():
    # Its topic arrives after the fixed header: wait for it, never give up on the link.
    s = WireSock()
    link = _link(s, rbuf=32)
    big = []
    link.on_oversize = lambda t, n: big.append((t, n))
    pkt = b"\x32\x6b\x00\x03c/p\x00\x06" + b"y" * 100 + b"\xd0\x00"
    for i in range(len(pkt)):
        s.rx = [pkt[i:i + 1]]
        link.poll()
    assert big == [(b"c/p", 100)]
    assert link._wire.avail() == 0 and link._wire.skip == 0


def test_refused_subscription_raises():
    s = WireSock()
    link = _link(s)
    link.subscribe("c/#", qos=1)
    assert s.writes[-1] == b"\x82\x08\x00\x01\x00\x03c/#\x01"
    s.rx = [b"\x90\x03\x00\x01\x80"]
    raises(MQTTException, link.poll)


def test_peer_close_is_an_error():
    s = WireSock()
    link = _link(s)

    def closed(mv):
        return 0

    s.readinto = closed
    raises(OSError, link.poll)


def test_keepalive_probes_a_quiet_broker_and_gives_up_on_a_silent_one():
    k = Keepalive(10000, 2000)  # mqtt_keepalive_s 10, mqtt_timeout_ms 2000
    assert not k.ping_due(5000, 0, False)
    assert k.ping_due(5001, 0, False)  # quiet for half the keepalive
    assert not k.ping_due(6000, 0, False)  # its PINGRESP is awaited
    assert not k.ping_due(7001, 6500, False)  # heard since the ping: it is settled
    assert k.ping_due(12000, 6500, False)
    raises(OSError, k.ping_due, 14001, 6500, False)  # no answer within the timeout
    k.reset()
    assert k.ping_due(1001, 0, True)  # acks owed: half the timeout is enough


run(globals())
