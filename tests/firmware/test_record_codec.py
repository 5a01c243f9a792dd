# The compact journal payloads (laddvakt/journal/codec.py): every record the agent makes,
# from its real builders, renders back to exactly the record; the bench's common case
# stays within its byte budget; JSON payloads and unexpected fields still round-trip.
import json
from binascii import hexlify

from endrec import session_end
from fwtest import run
from laddvakt.journal import frame as jf
from laddvakt.billing import sign
from laddvakt.app.agent import Agent
from laddvakt.journal.codec import Codec

INSTALL = "5f0c2a9e81d3"
COMPACT = (jf.TYPE_SESSION_START, jf.TYPE_METER, jf.TYPE_SESSION_END, jf.TYPE_FAULT, jf.TYPE_METER_PERIODIC,
           jf.TYPE_METER_EDGE)


def _norm(d):
    o = d.get("ocmf")
    if type(o) is tuple:  # the session's end holds its signed text's arguments (Pricing.seal)
        d = dict(d, ocmf=sign.payload(*o))
    return json.loads(json.dumps(d))  # what the record is on the wire (tuples are lists)


class _Spy:
    """Wraps Agent.encode: every record the agent journals, checked as it is encoded."""

    def __init__(self):
        self.seen = {}  # rtype -> largest payload
        self.compact = {}  # rtype -> payloads in the layout form
        self.n = 0
        self.ctxs = set()
        self.stops = set()
        self._orig = Agent.encode
        spy = self

        def encode(agent, rtype, d):
            p = spy._orig(agent, rtype, d)
            spy.check(agent.codec, rtype, d, p, agent.journal.seq + 1)
            return p

        Agent.encode = encode

    def check(self, codec, rtype, d, p, seq):
        want = _norm(d)
        got = json.loads(codec.render(rtype, p, seq))
        assert got == want, (rtype, want, got)
        assert p[0] != 0x7B, ("fell back to JSON", want)
        if rtype in COMPACT:
            assert p[0] in (1, 3), ("not in its layout", want)
            self.compact[rtype] = self.compact.get(rtype, 0) + 1
        self.seen[rtype] = max(self.seen.get(rtype, 0), len(p))
        if d["type"] == "meter":
            self.ctxs.add(d["ctx"])
        if d["type"] == "session_end":
            self.stops.add(d["stop_reason"])
        self.n += 1

    def close(self):
        Agent.encode = self._orig


def test_every_record_of_the_power_cut_scenario_round_trips():
    # The scenario makes boot, tariff_change, price-less sessions with meter values, a
    # tariff change inside a session (a T reading in the signed payload), a fault and
    # time sync; cut runs add Interruption.Begin/End pairs and a PowerLoss end.
    import agent_scenario as sc

    spy = _Spy()
    try:
        total = sc.Run().play().bdev.writes
        k = 1
        while ("Interruption.Begin" not in spy.ctxs or "PowerLoss" not in spy.stops) and k < total:
            sc.Run(cut=k).play()
            k += 7
    finally:
        spy.close()
    types = set(spy.seen)
    for t in (jf.TYPE_BOOT, jf.TYPE_SESSION_START, jf.TYPE_METER, jf.TYPE_METER_PERIODIC, jf.TYPE_METER_EDGE,
              jf.TYPE_SESSION_END, jf.TYPE_FAULT, jf.TYPE_TARIFF_CHANGE, jf.TYPE_TIME_SYNC):
        assert t in types, (t, types)
    assert "Interruption.End" in spy.ctxs and "PowerLoss" in spy.stops, (spy.ctxs, spy.stops)
    print("records checked", spy.n, "largest payload by type", spy.seen)


def test_bench_session_fits_its_budget():
    # The bench's 2 h session (flat tariff, one receipt line, no id tag), 15-minute values.
    from journal_bench import STEP_MS, Site

    spy = _Spy()
    try:
        visits = [(3600, 3600 + 7200), (14400, 14400 + 7200)]
        s = Site(64, {"meter_value_interval_s": 900}, visits, True)
        s.run_until(visits[1][1] * 1000 + 2 * STEP_MS)
        s.close()
    finally:
        spy.close()
    got = spy.seen
    assert got[jf.TYPE_METER_PERIODIC] <= 24, got
    assert got[jf.TYPE_METER_EDGE] <= 24, got  # Trigger readings
    assert got[jf.TYPE_SESSION_START] <= 24, got
    assert got[jf.TYPE_SESSION_END] <= 48, got
    print("payload bytes", got)


def test_signature_is_made_at_render_and_verifies():
    key = b"device-key-1"
    c = Codec(INSTALL, key, "laddvakt-1", "0.1.0", lambda: "1a2b")
    d = session_end(c, 17)
    p = c.encode(jf.TYPE_SESSION_END, d, 17)
    assert p[0] in (1, 3) and len(p) < 60, len(p)
    r = json.loads(c.render(jf.TYPE_SESSION_END, p, 17))
    assert r == d
    mac = hexlify(sign.hmac_sha256(key, r["ocmf"].encode())).decode()
    assert r["sig"] == {"alg": "HS256", "mac": mac}
    assert json.loads(r["ocmf"])["PG"] == "T17"
    # The same bytes every time.
    assert c.render(jf.TYPE_SESSION_END, p, 17) == c.render(jf.TYPE_SESSION_END, p, 17)


def test_unusual_signed_readings_are_kept():
    c = Codec(INSTALL, None, "laddvakt-1", "0.1.0", None)
    rd = [sign.reading(None, "B", 1200), sign.reading(1763707000, "T", 5000),
          sign.reading(1763710800, "E", 15259)]
    d = session_end(c, 40, rd)
    p = c.encode(jf.TYPE_SESSION_END, d, 40)
    assert p[0] in (1, 3) and len(p) < 80, len(p)
    assert json.loads(c.render(jf.TYPE_SESSION_END, p, 40)) == d


def test_a_different_key_or_device_keeps_the_text():
    # The OCMF text was signed by another device name: it is stored, not re-made.
    c = Codec(INSTALL, None, "laddvakt-1", "0.1.0", None)
    d = session_end(Codec(INSTALL, None, "other", "0.1.0", None), 12)
    p = c.encode(jf.TYPE_SESSION_END, d, 12)
    assert json.loads(c.render(jf.TYPE_SESSION_END, p, 12)) == d
    assert len(p) > len(d["ocmf"])


def test_json_payload_renders_as_itself():
    c = Codec(INSTALL)
    text = b'{"type": "meter", "sid": "x", "energy_wh": 1}'
    assert c.render(jf.TYPE_METER, text, 5) == text
    assert c.render(jf.TYPE_METER, memoryview(text), 5) == text


def test_unexpected_fields_values_and_types_round_trip():
    c = Codec(INSTALL)
    cases = [
        (jf.TYPE_METER, {"type": "meter", "t": None, "tq": "synced", "boot": 1, "up": -5,
                         "sid": "not-ours", "energy_wh": -(1 << 70), "power_w": True,
                         "ctx": "Sample.Odd", "st": None, "extra": {"ö": [1, None, "ünï"]}}),
        (jf.TYPE_METER, {"type": "meter"}),
        (jf.TYPE_SESSION_START, {"type": "session_start", "t": 1 << 40, "tq": "synced", "boot": 0,
                                 "up": 0, "sid": c.sid(99), "meter_start_wh": 0, "id_tag": "ABC",
                                 "vehicle_id": "car-1", "currency": "CHF",
                                 "price_minor_per_kwh": 0, "tariff": ["t", 1], "tc": 120,
                                 "st": "charging"}),
        (jf.TYPE_SESSION_END, {"type": "session_end", "sid": c.sid(3), "ocmf": "x", "sig": None,
                               "receipt": {"segs": None, "total": 5}, "cost_minor": 5}),
        (jf.TYPE_METER, {"type": "fault", "code": "X"}),  # a type its code does not say
        (jf.TYPE_FAULT, {"type": "fault", "t": 1, "tq": "synced", "boot": 1, "up": 2,
                         "code": "InternalError", "active": False, "info": None, "sid": None}),
        (99, {"type": "something_new", "nested": [[{"a": {"b": []}}]], "": ""}),
    ]
    for rtype, d in cases:
        p = c.encode(rtype, d, 100)
        assert p[0] != 0x7B, d
        assert json.loads(c.render(rtype, p, 100)) == d, (d, c.render(rtype, p, 100))


def test_a_signed_text_that_holds_a_dict_reads_back_as_it_was_signed():
    # The signed text holds the record's fields as JSON; a dict among them may list its keys in
    # another order once read back (MicroPython's dicts), so the text made again would differ:
    # such a record keeps its text whole (found by tests/host/test_codec_property.py).
    c = Codec(INSTALL, dev="laddvakt-1")
    for odd in ({"": None, "0": None}, [1, {"b": 2, "a": 1, "": 0}]):
        d = session_end(c, 20)
        d["cost_minor"] = odd
        d["ocmf"] = c.ocmf(d, 20)
        p = c.encode(jf.TYPE_SESSION_END, d, 20)
        got = json.loads(c.render(jf.TYPE_SESSION_END, p, 20))
        assert got["ocmf"] == d["ocmf"], (got["ocmf"], d["ocmf"])
        assert got == json.loads(json.dumps(d))


def test_visitor_hands_rendered_json_to_read_after_visits():
    c = Codec(INSTALL)
    d = {"type": "meter", "t": 1763708100, "tq": "synced", "boot": 1, "up": 9, "sid": c.sid(4),
         "energy_wh": 10, "power_w": -3, "ctx": "Trigger", "st": "idle", "cost_minor": 0}
    p = c.encode(jf.TYPE_METER, d, 7)
    got = []
    visit = c.visitor(lambda seq, rtype, text: got.append((seq, rtype, json.loads(text))) or True)
    assert visit(7, jf.TYPE_METER, memoryview(p)) is True
    assert got == [(7, jf.TYPE_METER, d)]


def test_floats_fall_back_to_json():
    c = Codec(INSTALL)
    d = {"type": "meter", "t": 1.5}
    p = c.encode(jf.TYPE_METER, d, 1)
    assert p[0] == 0x7B and json.loads(c.render(jf.TYPE_METER, p, 1)) == d


run(globals())
