# Command/ack authentication (uplink/mac.py): HMAC-SHA256 against RFC 4231's vectors, the
# signed wire form checked in place, and the guard that refuses unsigned, forged, replayed
# and retained messages, with the command counter surviving a reboot.
from binascii import hexlify

from fwtest import raises, run
from ramblock import mount_fresh, umount
from laddvakt.uplink.inbox import Guard
from laddvakt.uplink.mac import Mac, hmac_sha256

MNT = "/ram_mac"
KEY = bytes(range(32))
T = b"laddvakt/v1/cp-1/cmd/ping"


def test_hmac_rfc4231_vectors():
    assert hexlify(hmac_sha256(b"\x0b" * 20, b"Hi There")) == \
        b"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
    assert hexlify(hmac_sha256(b"Jefe", b"what do ya want for nothing?")) == \
        b"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert hexlify(hmac_sha256(b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First")) == \
        b"60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"


def test_sign_and_check():
    m = Mac(KEY)
    p = m.sign(T, b'{"id":"a1"}', 1795154400123)
    assert p.startswith(b'{"id":"a1","ctr":1795154400123,"mac":"') and len(p) == len(b'{"id":"a1","ctr":1795154400123}') + 73
    assert m.check(T, p) == 1795154400123
    assert "bad MAC" in str(raises(ValueError, m.check, b"laddvakt/v1/cp-2/cmd/ping", p))  # another device's topic
    assert "bad MAC" in str(raises(ValueError, m.check, T, p.replace(b"a1", b"a2")))
    assert "bad MAC" in str(raises(ValueError, m.check, T, p.replace(b"0123", b"0124")))
    assert "bad MAC" in str(raises(ValueError, Mac(bytes(32)).check, T, p))  # another key
    assert "not signed" in str(raises(ValueError, m.check, T, b'{"id":"a1"}'))
    assert "not signed" in str(raises(ValueError, m.check, T, b""))
    bad = b'{"id":"a1","ctr":x,"mac":"' + b"0" * 64 + b'"}'
    assert "ctr" in str(raises(ValueError, m.check, T, bad))


def _guard(key=KEY):
    h = {"status": lambda a: {"up": 1}}
    return Guard(key, MNT + "/j.ctr", h), h


def test_guard_refuses_forged_replayed_and_retained():
    mount_fresh(64, MNT)
    try:
        g, h = _guard()
        m = Mac(KEY)
        p1 = m.sign(T, b'{"id":"a"}', 10)
        assert g.admit(T, p1, 0, False) is None
        assert "replayed" in g.admit(T, p1, 0, False)
        assert "replayed" in g.admit(T, m.sign(T, b'{"id":"b"}', 10), 0, False)
        assert g.admit(T, m.sign(T, b'{"id":"b"}', 11), 1, False) == "retained message ignored"
        assert "not signed" in g.admit(T, b'{"id":"c"}', 0, False)
        assert "bad MAC" in g.admit(T, Mac(b"other").sign(T, b'{"id":"d"}', 12), 0, False)
        # Acks count apart from commands: the backend keeps a counter per kind.
        a = b"laddvakt/v1/cp-1/ack"
        assert g.admit(a, m.sign(a, b'{"v":1,"seq":3}', 5), 0, True) is None
        assert "replayed" in g.admit(a, m.sign(a, b'{"v":1,"seq":9}', 5), 0, True)
        assert g.refused == 6
        assert h["status"]({}) == {"up": 1, "auth": {"signed": True, "refused": 6, "last": g.last_refusal}}
        # A reboot: the command counter comes back from flash, so p1 stays refused.
        g2, _ = _guard()
        assert "replayed" in g2.admit(T, p1, 0, False)
        assert g2.admit(T, m.sign(T, b'{"id":"e"}', 13), 0, False) is None
    finally:
        umount(MNT)


def test_without_a_key_only_retained_is_refused():
    mount_fresh(64, MNT)
    try:
        g, _ = _guard(None)
        assert g.admit(T, b'{"id":"a"}', 0, False) is None
        assert g.admit(T, b'{"id":"a"}', 1, False) == "retained message ignored"
    finally:
        umount(MNT)


run(globals())
