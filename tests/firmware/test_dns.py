# The DNS client against local UDP responders in this process: one that answers, one that never
# answers (the black hole), and ones that answer NXDOMAIN or garbage. A 10 ms ticker keeps its
# schedule meanwhile: a lookup never holds up the loop.
import asyncio
import time

import udpserve
from fwtest import raises, run
from laddvakt.uplink.dns import Resolver, is_ip, parse, query
from laddvakt.uplink.mqtt import MQTTLink


def reply(req, ip=(192, 0, 2, 7), ttl=60, rcode=0, cname=False):
    """An answer to req as a recursive resolver sends it: the question echoed, then (for
    cname) a CNAME pointing at the question's name, then the A record via a pointer."""
    end = 12
    while req[end]:
        end += 1 + req[end]
    q = bytes(req[12:end + 5])
    h = bytearray(req[:12])
    h[2] = 0x81  # QR, RD
    h[3] = 0x80 | rcode  # RA
    if rcode:
        return bytes(h) + q
    h[7] = 2 if cname else 1
    a = b""
    if cname:
        a += b"\xc0\x0c\x00\x05\x00\x01" + ttl.to_bytes(4, "big") + b"\x00\x02\xc0\x0c"
    a += b"\xc0\x0c\x00\x01\x00\x01" + ttl.to_bytes(4, "big") + b"\x00\x04" + bytes(ip)
    return bytes(h) + q + a


def bound():
    return udpserve.bound(42253)


def lookups(answer, names, timeout_ms=200, tries=2, res=None):
    """Resolve each name in turn against a responder that replies answer(req) (None: silence);
    ([address or the error], longest gap between 10 ms ticks, ms taken, queries seen, resolver)."""
    s, port = bound()
    res = res or Resolver(None, timeout_ms=timeout_ms, tries=tries)
    res.server = "127.0.0.1:%d" % port
    seen = []
    out = []
    gaps = [0]
    done = []

    async def main():
        srv = asyncio.create_task(udpserve.serve(s, answer, seen))
        tk = asyncio.create_task(udpserve.ticks(gaps, done))
        for name in names:
            try:
                out.append(await res.resolve(name))
            except OSError as e:
                out.append(e)
        done.append(1)
        await tk
        srv.cancel()

    t0 = time.ticks_ms()
    asyncio.run(main())
    s.close()
    return out, gaps[0], time.ticks_diff(time.ticks_ms(), t0), seen, res


def test_query_bytes():
    b = bytearray(512)
    n = query(b, 0xBEEF, "mqtt.example.org")
    assert bytes(b[:n]) == (b"\xbe\xef\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                            b"\x04mqtt\x07example\x03org\x00\x00\x01\x00\x01")
    raises(ValueError, query, b, 1, "a..b")
    raises(ValueError, query, b, 1, "x" * 64 + ".org")
    raises(ValueError, query, b, 1, "")


def test_parse_answers_cname_chains_and_errors():
    b = bytearray(512)
    n = query(b, 0x1234, "broker.test")
    req = bytes(b[:n])
    for r in (reply(req), reply(req, cname=True)):
        buf = bytearray(512)
        buf[:len(r)] = r
        assert parse(buf, len(r), 0x1234) == ("192.0.2.7", 60)
        assert parse(buf, len(r), 0x1235) is None  # not our query
        assert parse(buf, len(r) - 2, 0x1234) is None  # cut short
    r = reply(req, rcode=3)
    buf = bytearray(r)
    e = raises(OSError, parse, buf, len(r), 0x1234)
    assert "no such name" in str(e), e
    buf = bytearray(req)  # our own query echoed: not a response
    assert parse(buf, len(req), 0x1234) is None


def test_ip_literals_need_no_lookup():
    assert is_ip("10.0.0.1") and is_ip("255.255.255.255")
    for h in ("10.0.0", "10.0.0.256", "a.b.c.d", "broker.test", "1.2.3.4.5", ""):
        assert not is_ip(h), h
    out, gap, took, seen, _ = lookups(lambda q: None, ["127.0.0.1"])
    assert out == ["127.0.0.1"] and not seen


def test_healthy_resolver_answers_and_is_cached_for_the_ttl():
    out, gap, took, seen, res = lookups(reply, ["broker.test", "broker.test"])
    assert out == ["192.0.2.7", "192.0.2.7"], out
    assert len(seen) == 1 and res.queries == 1  # the second came from the cache
    assert res.last_error is None and res.blocking == 0


def test_black_hole_times_out_after_retries_without_holding_the_loop():
    out, gap, took, seen, res = lookups(lambda q: None, ["broker.test"], timeout_ms=150, tries=2)
    assert isinstance(out[0], OSError) and "no answer" in str(out[0]), out
    assert len(seen) == 2, seen  # one retry, each with a fresh id
    assert seen[0][:2] != seen[1][:2]
    assert 300 <= took < 700, took
    assert gap < 60, gap  # the 10 ms ticker kept running
    assert "broker.test" in res.last_error


def test_nxdomain_fails_at_once():
    out, gap, took, seen, res = lookups(lambda q: reply(q, rcode=3), ["nowhere.test"], timeout_ms=1000)
    assert isinstance(out[0], OSError) and "no such name" in str(out[0]), out
    assert len(seen) == 1 and took < 500, (seen, took)


def test_garbage_is_ignored_until_the_timeout():
    def garbage(q):
        return b"\xff" * 7

    def wrong_id(q):
        r = bytearray(reply(q))
        r[1] ^= 1
        return bytes(r)

    def bad_pointer(q):
        r = bytearray(reply(q))
        r[len(q)] = 0x7F  # the answer's name: a label running off the end
        return bytes(r)

    for bad in (garbage, wrong_id, bad_pointer):
        out, gap, took, seen, res = lookups(bad, ["broker.test"], timeout_ms=100, tries=1)
        assert isinstance(out[0], OSError), (bad, out)
        assert gap < 60, gap


def test_expired_answer_is_kept_when_the_resolver_fails():
    res = Resolver(None, timeout_ms=100, tries=1, min_ttl_ms=0)
    out, _, _, seen, res = lookups(lambda q: reply(q, ttl=0), ["broker.test"], res=res)
    assert out == ["192.0.2.7"] and res.last_error is None
    # TTL 0: the next lookup asks again, and the resolver is silent now
    out, _, _, seen, res = lookups(lambda q: None, ["broker.test"], res=res)
    assert len(seen) == 1, seen
    assert out == ["192.0.2.7"], out
    assert res.last_error and "cannot resolve broker.test" in res.last_error


def test_bad_dns_server_is_a_clear_error():
    res = Resolver(lambda: "dns.example:53")
    e = raises(OSError, asyncio.run, res.resolve("broker.test"))
    assert "dns_server must be an IPv4 address" in str(e) and res.queries == 0, e


def test_mqtt_link_resolves_the_broker_through_the_resolver():
    s, port = bound()
    res = Resolver("127.0.0.1:%d" % port, timeout_ms=100, tries=1)
    link = MQTTLink("t", "broker.test", 1, 200, 64, 64, dns=res)
    seen = []
    out = []

    async def main():
        srv = asyncio.create_task(udpserve.serve(s, lambda q: reply(q, ip=(127, 0, 0, 1)), seen))
        try:
            await link.open()
        except OSError as e:  # nothing listens on port 1: the connect is refused
            out.append(e)
        srv.cancel()

    asyncio.run(main())
    s.close()
    assert len(seen) == 1 and res.queries == 1, seen
    assert out and "dns" not in str(out[0]), out


run(globals())
