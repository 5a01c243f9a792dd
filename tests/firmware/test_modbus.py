# Modbus RTU framing byte for byte, and the master over a scripted line: timeouts,
# retries, exceptions, CRC errors, echo and garbage, the slave address check.
from fwtest import raises, run
from modbus_line import Line, crc_bytes, reply, req
from laddvakt.meters import modbus as mb


def test_crc16_known_vectors():
    # Modbus over Serial Line V1.02 §6.2.2; the classic read-holding example frame.
    assert mb.crc16(b"\x01\x03\x00\x00\x00\x0a", 0, 6) == 0xCDC5
    assert mb.crc16(b"\x01\x04\x00\x00\x00\x02", 0, 6) == 0xCB71
    assert mb.crc16(b"123456789", 0, 9) == 0x4B37  # CRC-16/MODBUS check value
    assert mb.crc16(b"", 0, 0) == 0xFFFF


def test_build_read_is_byte_exact():
    out = bytearray(8)
    assert mb.build_read(out, 1, 3, 0, 10) == 8
    assert bytes(out) == b"\x01\x03\x00\x00\x00\x0a\xc5\xcd"
    mb.build_read(out, 1, 4, 0x0048, 2)
    assert bytes(out[:6]) == b"\x01\x04\x00\x48\x00\x02"
    assert bytes(out) == crc_bytes(out[:6])
    mb.build_read(out, 247, 3, 0x5B00, 125)
    assert bytes(out[:6]) == b"\xf7\x03\x5b\x00\x00\x7d"


def test_build_read_refuses_what_modbus_forbids():
    out = bytearray(8)
    for a in ((0, 3, 0, 1), (248, 3, 0, 1), (1, 6, 0, 1), (1, 3, 0, 0), (1, 3, 0, 126)):
        raises(ValueError, mb.build_read, out, *a)


def test_silence_from_baud_rate():
    # 3.5 characters of 11 bits; a fixed 1750 us above 19200 baud (§2.5.1.1).
    assert mb.silence_us(9600) == 4011
    assert mb.silence_us(19200) == 2006
    assert mb.silence_us(2400) == 16042
    assert mb.silence_us(38400) == 1750
    assert mb.silence_us(115200) == 1750


def test_find_plain_echo_garbage_and_exception():
    r = req(1, 4, 0, 2)
    good = reply(1, 4, (0x4370, 0x0000))
    assert mb.find(good, len(good), r, 1, 4, 2) == 0
    # The adapter's echo of our own request, then the reply.
    buf = r + good
    assert mb.find(buf, len(buf), r, 1, 4, 2) == 8
    # Line noise before the reply.
    buf = b"\x00\xff\x01\x55" + good
    assert mb.find(buf, len(buf), r, 1, 4, 2) == 4
    # Not complete yet.
    assert mb.find(good, len(good) - 1, r, 1, 4, 2) == mb.INCOMPLETE
    # Wrong CRC.
    bad = good[:-1] + bytes((good[-1] ^ 1,))
    assert mb.find(bad, len(bad), r, 1, 4, 2) == mb.CRC_BAD
    # Another slave's reply is not ours.
    other = reply(2, 4, (1, 2))
    assert mb.find(other, len(other), r, 1, 4, 2) == mb.INCOMPLETE
    # Exception: illegal data address.
    exc = crc_bytes(b"\x01\x84\x02")
    assert mb.find(exc, len(exc), r, 1, 4, 2) == mb.EXC_BASE - 2


def master(line, **kw):
    return mb.RtuMaster(line, 38400, timeout_ms=kw.get("timeout_ms", 30), retries=kw.get("retries", 1))


def test_read_returns_data_offset_and_counts():
    line = Line([reply(1, 4, (0x1234, 0xABCD))])
    m = master(line)
    off = m.read(1, 4, 0x48, 2)
    assert bytes(m.rx[off:off + 4]) == b"\x12\x34\xab\xcd"
    assert line.sent == [req(1, 4, 0x48, 2)]
    assert (m.requests, m.ok, m.timeouts, m.retried) == (1, 1, 0, 0)
    assert m.wire_bytes == 8 + 9


def test_timeout_is_retried_then_raised():
    line = Line([None, None, None])
    m = master(line, retries=2)
    e = raises(mb.ModbusError, m.read, 1, 3, 0, 1)
    assert e.kind == mb.TIMEOUT
    assert (m.requests, m.timeouts, m.retried) == (3, 3, 2)
    assert len(line.sent) == 3 and line.sent[0] == line.sent[2]


def test_retry_recovers_after_one_timeout():
    line = Line([None, reply(1, 3, (7,))])
    m = master(line)
    off = m.read(1, 3, 0, 1)
    assert m.rx[off + 1] == 7 and m.timeouts == 1 and m.ok == 1


def test_exception_is_decoded_and_not_retried():
    line = Line([crc_bytes(b"\x01\x83\x02"), reply(1, 3, (1,))])
    m = master(line)
    e = raises(mb.ModbusError, m.read, 1, 3, 0x1000, 1)
    assert e.kind == mb.EXCEPTION and e.code == 2
    assert "illegal data address" in str(e)
    assert (m.requests, m.exceptions, m.retried) == (1, 1, 0)


def test_crc_error_counted_and_retried():
    good = reply(1, 4, (1, 2))
    bad = good[:3] + bytes((good[3] ^ 0x40,)) + good[4:]
    line = Line([bad, bad])
    m = master(line)
    e = raises(mb.ModbusError, m.read, 1, 4, 0, 2)
    assert e.kind == mb.CRC and m.crc_errors == 2 and m.retried == 1


def test_truncated_garbage_and_foreign_replies_are_bad_frames():
    good = reply(1, 4, (1, 2))
    for junk in (good[:-3], b"\x13\x37\x00\x42\x99\x11\x22", reply(9, 4, (1, 2))):
        line = Line([junk], chunk=64)
        m = master(line, retries=0)
        e = raises(mb.ModbusError, m.read, 1, 4, 0, 2)
        assert e.kind == mb.BAD_FRAME, junk
        assert m.bad_frames == 1


def test_echo_and_garbage_are_tolerated():
    good = reply(5, 3, (0xBEEF,))
    line = Line([req(5, 3, 0x10, 1) + b"\x00\x00" + good], chunk=1)
    m = master(line)
    off = m.read(5, 3, 0x10, 1)
    assert m.rx[off] == 0xBE and m.rx[off + 1] == 0xEF and m.ok == 1 and m.bad_frames == 0


def test_stale_bytes_are_drained_before_a_request():
    line = Line([reply(1, 3, (42,))])
    line.pending = reply(1, 3, (99,))  # a late reply to an earlier request, still on the line
    m = master(line)
    off = m.read(1, 3, 0, 1)
    assert m.rx[off + 1] == 42
    assert line.drained == 7


def test_inter_frame_silence_is_kept():
    import time

    line = Line([reply(1, 3, (1,)), reply(1, 3, (2,))])
    m = mb.RtuMaster(line, 1200, timeout_ms=30, retries=0)  # silence 32 ms at 1200 baud
    m.read(1, 3, 0, 1)
    t0 = time.ticks_us()
    m.read(1, 3, 0, 1)
    assert time.ticks_diff(time.ticks_us(), t0) >= m.silence_us - 1000


run(globals())
