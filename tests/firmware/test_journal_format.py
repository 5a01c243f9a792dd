# The journal frame, byte for byte.
from binascii import crc32

from fwtest import raises, run
from laddvakt.journal import frame as jf


def test_frame_bytes():
    f = jf.encode(jf.TYPE_METER, 0x01020304, b'{"a":1}')
    head = b"\xd7\x03\x07\x00\x04\x03\x02\x01" + b'{"a":1}'
    assert bytes(f[:-4]) == head
    assert bytes(f[-4:]) == crc32(head).to_bytes(4, "little")
    assert len(f) == jf.HEADER_SIZE + 7 + jf.TRAILER_SIZE


def test_parse_roundtrip():
    f = jf.encode(jf.TYPE_SESSION_END, 77, b"{}")
    assert jf.parse_header(f[:8]) == (jf.TYPE_SESSION_END, 2, 77)
    jf.check_crc(f[:8], f[8:10], f[10:])


def test_bad_magic_and_crc():
    f = jf.encode(jf.TYPE_BOOT, 1, b"{}")
    bad = bytearray(f)
    bad[0] = 0
    raises(jf.FrameError, jf.parse_header, bad[:8])
    bad = bytearray(f)
    bad[9] ^= 1
    raises(jf.FrameError, jf.check_crc, bad[:8], bad[8:10], bad[10:])


def test_oversize_payload_refused():
    raises(jf.FrameError, jf.encode, jf.TYPE_METER, 1, b"x" * (jf.MAX_PAYLOAD + 1))


run(globals())
