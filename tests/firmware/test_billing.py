# Session cost: energy lines per price period, time, idle and start fees, VAT, the
# min/max bounds, one rounding at the end, a tariff change that bills in two parts,
# and the state a power cut would have to keep.
import json

from fwtest import run
from laddvakt.billing.session_cost import CHARGING, EDGE, IDLE, PRICE, SUSPENDED, SessionCost
from laddvakt.billing.session_cost import flat_energy_cost, totals
from laddvakt.billing.spot import PriceSchedule
from laddvakt.billing import sign
from laddvakt.billing.sign import hmac_sha256
from laddvakt.billing.tariff import Tariff, days_from_civil

T0 = days_from_civil(2026, 11, 20) * 86400  # Friday 00:00 UTC
H = 3600


def tariff(**over):
    d = {"id": "t", "version": 1, "currency": "SEK", "minor_unit": 2, "energy": 2500000}
    d.update(over)
    return Tariff.from_dict(d)


def drive(c, samples, t=T0, up=0, wh=0):
    """samples: (seconds, Wh drawn, state) per step of the EV."""
    whys = []
    for dt, dwh, st in samples:
        t += dt
        up += dt * 1000
        wh += dwh
        whys.append(c.on_sample(t, up, wh, st))
    return t, up, wh, whys


def test_flat_tariff_matches_flat_cost():
    for wh in (0, 1, 7361, 12345, 12346, 10 ** 7 + 1):
        c = SessionCost(tariff(), None, T0, 0, 0, CHARGING)
        t, up, e, _ = drive(c, [(60, wh, CHARGING)])
        r = c.finish(t, up, e)
        assert r["total"] == flat_energy_cost(wh, 250), wh
        assert r["segs"][0]["lines"] == ([[T0, wh, 2500000]] if wh else [])


def test_rounding_is_once_at_the_end_half_up():
    # 3 lines of 1 Wh at 0.5 öre/kWh... each 0.0005 öre: rounding per line would give 0.
    c = SessionCost(tariff(energy=5000000), None, T0, 0, 0, CHARGING)
    t, up, e, _ = drive(c, [(10, 1, CHARGING)] * 100)  # 100 Wh x 5 öre/10 ... = 50 öre
    assert c.finish(t, up, e)["total"] == 50
    # 0.5 minor exactly rounds up; 0.4999 down.
    assert totals(300000000, 0, 0, 0)[0] == 1
    assert totals(299999999, 0, 0, 0)[0] == 0


def test_time_idle_and_start_fees():
    # 1 öre/min charging, 10 öre/min idle after 15 min grace, 5 SEK start fee.
    tr = tariff(energy=0, time_fee=10000, idle_fee=100000, idle_grace_s=900, start_fee=5000000)
    c = SessionCost(tr, None, T0, 0, 0, IDLE)
    # Idle before any charging is free; 60 min charging; then 40 min idle.
    # A state holds from its sample to the next one.
    t, up, e, whys = drive(c, [(600, 0, IDLE), (1800, 0, CHARGING), (1800, 0, CHARGING),
                               (1800, 0, IDLE), (1200, 0, IDLE), (1200, 0, IDLE)])
    assert whys[1] == EDGE and whys[3] == EDGE and whys[4] == 0
    r = c.finish(t, up, e)
    seg = r["segs"][0]
    assert seg["chg_ms"] == 3600000 and seg["idle_ms"] == (2400 - 900) * 1000
    assert r["total"] == 60 + 250 + 500  # 60 min x 1 + 25 min x 10 + 500
    # Charging again resets the grace.
    c = SessionCost(tr, None, T0, 0, 0, CHARGING)
    t, up, e, _ = drive(c, [(60, 0, IDLE), (600, 0, CHARGING), (60, 0, IDLE), (1000, 0, SUSPENDED),
                            (1000, 0, IDLE), (100, 0, IDLE)])
    seg = c.finish(t, up, e)["segs"][0]
    # The 600 s stretch ends within grace; the next is 1000 + 100 s (suspended time neither
    # counts nor resets it), 200 s past grace.
    assert seg["idle_ms"] == 200000


def test_vat_and_bounds():
    tr = tariff(vat_bp=2500)
    c = SessionCost(tr, None, T0, 0, 0, CHARGING)
    t, up, e, _ = drive(c, [(3600, 10000, CHARGING)])  # 25.00 SEK net
    r = c.finish(t, up, e)
    assert (r["total"], r["vat"], r["net"], r["adj"]) == (3125, 625, 2500, None)
    assert totals(0, 2500, 1000, 0) == (1000, 200, 800, "min")
    assert totals(10 ** 15, 2500, 0, 5000) == (5000, 1000, 4000, "max")
    assert totals(-10 ** 12, 2500, 0, 0)[0] == 0  # negative prices never pay out


def test_price_periods_become_lines_and_readings():
    tr = tariff(energy=1000000, tz_min=0,
                tou=[{"days": [4], "from": 60, "to": 120, "price": 3000000}])
    c = SessionCost(tr, None, T0 + 1800, 0, 0, CHARGING)
    t, up, e, whys = drive(c, [(1800, 100, CHARGING), (1800, 200, CHARGING), (1800, 400, CHARGING),
                               (1800, 800, CHARGING)], t=T0 + 1800)
    assert whys == [PRICE, 0, PRICE, 0]  # 01:00 the window opens, 02:00 it closes
    r = c.finish(t, up, e)
    # Energy up to a sample belongs to the price in force since the sample before.
    assert r["segs"][0]["lines"] == [[T0 + 1800, 100, 1000000], [T0 + 3600, 600, 3000000],
                                     [T0 + 7200, 800, 1000000]]
    assert r["total"] == 10 + 180 + 80


def test_many_prices_fold_into_the_last_line():
    s = PriceSchedule.from_dict({"id": "s", "start": T0, "step_s": 900,
                                 "prices": [100000 * (i + 1) for i in range(96)]})
    c = SessionCost(tariff(dynamic=True), s, T0, 0, 0, CHARGING)
    t, up, e, _ = drive(c, [(900, 10, CHARGING)] * 96)
    r = c.finish(t, up, e)
    lines = r["segs"][0]["lines"]
    assert len(lines) == 16 and lines[-1][2] is None and sum(ln[1] for ln in lines) == 960
    # The total is still exact: sum over i of 10 Wh x (i+1) x 10 öre/kWh.
    assert r["total"] == flat_energy_cost(1, sum(10 * 10 * (i + 1) for i in range(96)))


def test_tariff_change_bills_in_two_parts():
    c = SessionCost(tariff(), None, T0, 0, 0, CHARGING)
    t, up, e, _ = drive(c, [(3600, 7000, CHARGING)])
    c.change(tariff(version=2, energy=4000000, time_fee=60000), None, t + 60, up + 60000, e + 100, CHARGING)
    t, up, e, _ = drive(c, [(3600, 7000, CHARGING)], t=t + 60, up=up + 60000, wh=e + 100)
    r = c.finish(t, up, e)
    a, b = r["segs"]
    assert (a["ver"], b["ver"]) == (1, 2) and b["from"] == T0 + 3660
    assert a["lines"] == [[T0, 7100, 2500000]] and b["lines"] == [[T0 + 3660, 7000, 4000000]]
    assert a["chg_ms"] == 3660000 and b["chg_ms"] == 3600000
    assert c.tariffs == [["t", 1], ["t", 2]]
    assert r["total"] == flat_energy_cost(7100, 250) + flat_energy_cost(7000, 400) + 360


def test_state_survives_json_round_trip():
    tr = tariff(time_fee=12345, idle_fee=54321, idle_grace_s=60,
                tou=[{"days": [4], "from": 60, "to": 120, "price": 3000000}])
    steps = [(700, 55, CHARGING), (700, 0, IDLE), (700, 33, CHARGING), (700, 0, IDLE)] * 3
    a = SessionCost(tr, None, T0, 0, 0, CHARGING)
    t, up, e, _ = drive(a, steps[:5])
    b = SessionCost.from_dict(json.loads(json.dumps(a.to_dict())), tr, None)
    assert b.running_minor() == a.running_minor()
    ra = a.finish(*drive(a, steps[5:], t, up, e)[:3])
    rb = b.finish(*drive(b, steps[5:], t, up, e)[:3])
    assert ra == rb


def test_hmac_sha256_rfc4231():
    # RFC 4231 test cases 2 and 6 (a key longer than the block).
    assert hmac_sha256(b"Jefe", b"what do ya want for nothing?") == bytes.fromhex(
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    assert hmac_sha256(b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First") == bytes.fromhex(
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    # A text is signed as its UTF-8 bytes, hashed in pieces: the same MAC as the bytes whole.
    text = "\u00e5" * 70 + "x" * 100
    assert hmac_sha256(b"k", text) == hmac_sha256(b"k", text.encode())


def test_is_payload_says_whether_a_text_is_the_signed_one():
    # The check decode's comparison (journal/codec.py, Codec._read): true only for the very text.
    d = {"sid": "95dfd14da09c-00000003", "cost_minor": 1528, "currency": "SEK", "id_tag": "T\u00c5G",
         "receipt": {"vat_bp": 2500, "vat": 306, "segs": []}, "energy_wh": 6111, "tariffs": [["config", 0]]}
    rd = [sign.reading(1763700900, "B", 1000), sign.reading(None, "E", 7111)]
    f = ("T9", "dev-1", "0.1.0", "S1", rd, d)  # the arguments that make the text
    text = sign.payload("T9", "dev-1", "0.1.0", "S1", rd, d)
    assert len(text) > 400
    assert sign.is_payload(text, f)
    for other in (text[:-1], text + " ", text.replace("7111", "7112"), text.replace("\u00c5", "A"), ""):
        assert not sign.is_payload(other, f), other


run(globals())
