# The SNTP client against local UDP responders in this process: a healthy one, one that never
# answers (the black hole), and ones that answer wrongly. Sampling keeps its schedule meanwhile.
import asyncio
import time

import udpserve
from fwtest import run
from laddvakt.core import config
from laddvakt.core.clock import before, tadd
from laddvakt.uplink.sntp import SntpTime, parse, request, sntp_source

T2026 = 1793491200  # 2026-11-01T00:00:00Z


def answer(unix_s, mangle):
    """A server reply to each request, at unix_s + 0.5 s, changed by mangle(b) if given."""
    def reply(req):
        b = bytearray(48)
        b[0] = 0x24  # version 4, server
        b[1] = 2
        b[24:32] = req[40:48]
        ntp = unix_s + 2208988800
        b[40:44] = (ntp & 0xFFFFFFFF).to_bytes(4, "big")
        b[44:48] = (0x80000000).to_bytes(4, "big")  # .5 s
        if mangle:
            mangle(b)
        return b

    return reply


def bound():
    return udpserve.bound(42123)


def serve(s, unix_s, mangle):
    return udpserve.serve(s, answer(unix_s, mangle))


def exchange(mangle=None, answer=True, timeout_ms=300):
    """(offset or the error, longest gap between 10 ms ticks meanwhile, query time in ms)."""
    s, port = bound()
    st = SntpTime("127.0.0.1", port, timeout_ms=timeout_ms)
    up = [5000]
    gaps = [0]
    out = []

    async def main():
        srv = asyncio.create_task(serve(s, T2026, mangle)) if answer else None
        tk = asyncio.create_task(udpserve.ticks(gaps, out))
        t0 = time.ticks_ms()
        try:
            out.append(await st.query(lambda: up[0]))
        except OSError as e:
            out.append(e)
        out.append(time.ticks_diff(time.ticks_ms(), t0))
        await tk
        if srv:
            srv.cancel()

    asyncio.run(main())
    s.close()
    return out[0], gaps[0], out[1], st


def test_request_and_parse_round_trip():
    b = bytearray(48)
    request(b, 0x0102030405060708)
    assert b[0] == 0x23 and b[40:48] == bytes(range(1, 9))
    r = bytearray(48)
    r[0] = 0x24
    r[1] = 1
    r[24:32] = b[40:48]
    r[40:44] = (T2026 + 2208988800).to_bytes(4, "big")
    r[44:48] = (0x40000000).to_bytes(4, "big")
    assert parse(r, 48, 0x0102030405060708) == T2026 * 1000 + 250
    assert parse(r, 48, 0x0102030405060709) is None  # not our request
    assert parse(r, 47, 0x0102030405060708) is None
    r[1] = 0  # kiss-o'-death
    assert parse(r, 48, 0x0102030405060708) is None


def test_era_rollover_after_2036():
    b = bytearray(48)
    request(b, 7)
    r = bytearray(48)
    r[0] = 0x24
    r[1] = 1
    r[24:32] = b[40:48]
    r[40:44] = (5).to_bytes(4, "big")  # 5 s into NTP era 1
    assert parse(r, 48, 7) == ((1 << 32) + 5 - 2208988800) * 1000


def test_healthy_responder_gives_the_offset():
    got, gap, took, st = exchange()
    assert isinstance(got, tuple) and got[1] == 5000, got  # (wall ms, the loop time then)
    off = got[0] - got[1]
    # server time T2026.5 s at uptime 5000 ms, within the round trip
    assert abs(off - (T2026 * 1000 + 500 - 5000)) <= took + 20, (off, took)
    assert st.unix_s(5000) is None  # query() alone hands nothing to the agent


def test_black_hole_times_out_without_holding_the_loop():
    err, gap, took, st = exchange(answer=False, timeout_ms=300)
    assert isinstance(err, OSError) and "no answer" in str(err), err
    assert 300 <= took < 600, took
    assert gap < 60, gap  # the 10 ms ticker kept running


def test_wrong_answers_are_ignored_until_timeout():
    def wrong_cookie(b):
        b[31] ^= 1

    def client_mode(b):
        b[0] = 0x23

    for m in (wrong_cookie, client_mode):
        err, gap, took, st = exchange(mangle=m, timeout_ms=200)
        assert isinstance(err, OSError), (m, err)
        assert gap < 60, gap


def test_run_hands_each_answer_once_and_retries_after_failure():
    s, port = bound()
    st = SntpTime("127.0.0.1", port, resync_ms=400, timeout_ms=100, retry_ms=100)
    seen = []

    async def main():
        t = asyncio.create_task(st.run(lambda: 1000))
        await asyncio.sleep_ms(250)  # the black hole: at least one failure
        seen.append((st.failures, st.unix_s(1000)))
        srv = asyncio.create_task(serve(s, T2026, None))
        await asyncio.sleep_ms(250)
        seen.append((st.answers, st.unix_s(1000), st.unix_s(1000)))
        t.cancel()
        srv.cancel()

    asyncio.run(main())
    s.close()
    assert seen[0][0] >= 1 and seen[0][1] is None, seen
    assert seen[1][0] >= 1 and seen[1][1] == T2026 and seen[1][2] is None, seen
    assert st.last_error is None


def test_a_reconnect_asks_again_before_the_resync_interval():
    s, port = bound()
    st = SntpTime("127.0.0.1", port, resync_ms=3600000, timeout_ms=200)
    links = [1]
    seen = []

    async def main():
        srv = asyncio.create_task(serve(s, T2026, None))
        t = asyncio.create_task(st.run(lambda: 0, lambda: links[0]))
        await asyncio.sleep_ms(300)
        seen.append(st.answers)
        await asyncio.sleep_ms(700)
        seen.append(st.answers)  # an hour to the next resync: still one
        links[0] = 2  # the uplink connected again
        await asyncio.sleep_ms(700)
        seen.append(st.answers)
        t.cancel()
        srv.cancel()

    asyncio.run(main())
    s.close()
    assert seen == [1, 1, 2], seen


def test_an_answer_taken_after_the_ticks_wrap():
    # The answer comes just before the loop's time wraps; the agent takes it just after.
    near = before(0, 300)
    s, port = bound()
    st = SntpTime("127.0.0.1", port, timeout_ms=200)
    got = []

    async def main():
        srv = asyncio.create_task(serve(s, T2026, None))
        t = asyncio.create_task(st.run(lambda: near))
        while not st.answers:
            await asyncio.sleep_ms(10)
        got.append(st.unix_s(tadd(near, 2500)))  # T2026 + 0.5 s, 2.5 s later
        t.cancel()
        srv.cancel()

    asyncio.run(main())
    s.close()
    assert got == [T2026 + 3], got


def test_source_from_config():
    st = sntp_source(config.merged({"ntp_host": "127.0.0.1:4123", "ntp_retry_s": 5}), None)
    assert (st.host, st.port, st.retry_ms, st.resync_ms) == ("127.0.0.1", 4123, 5000, 3600000)
    st = sntp_source(config.merged({}), None, "pool.ntp.org")
    assert (st.host, st.port) == ("pool.ntp.org", 123)


run(globals())
