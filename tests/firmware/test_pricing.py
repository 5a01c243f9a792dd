# Pricing on the agent: tariff and schedule commands (validated at once, applied at the
# next sample, kept on flash), the records they leave, and the signing key in the config.
import json
import os

from fwtest import raises, run
from laddvakt.core import config
from laddvakt.billing import sign
from laddvakt.billing.session_cost import CHARGING, IDLE
from laddvakt.core.clock import Clock
from laddvakt.uplink.commands import CommandError, CommandHandler
from laddvakt.core.ident import Identity
from laddvakt.billing.service import Pricing, charge_state
from laddvakt.session.flow import Session

T0 = 1795154400
DIR = "pricing_data"


def fresh():
    try:
        os.mkdir(DIR)
    except OSError:
        pass
    for name in ("tariff.json", "prices.json", "tariff.json.tmp"):
        try:
            os.remove(DIR + "/" + name)
        except OSError:
            pass


def make(key=""):
    recs = []

    def log(rtype, payload):
        recs.append((rtype, payload))
        return len(recs)

    c = Clock()
    c.sync(0, T0)
    cfg = config.merged({"device_key": key})
    return Pricing(cfg, DIR, log, c, Identity("5f0c2a9e81d3", 1)), recs


TARIFF = {"id": "home", "version": 3, "currency": "SEK", "minor_unit": 2, "energy": 3000000}


def test_commands_validate_before_use():
    fresh()
    pr, recs = make()
    h = CommandHandler({"tariff_set": pr.cmd_tariff_set, "prices_set": pr.cmd_prices_set})
    bad = json.loads(h.handle(json.dumps({"id": "a", "cmd": "tariff_set", "tariff": {"id": "x"}})))
    assert not bad["ok"] and "bad tariff" in bad["error"]
    ok = json.loads(h.handle(json.dumps({"id": "b", "cmd": "tariff_set", "tariff": TARIFF})))
    assert ok["ok"] and ok["result"]["version"] == 3
    old = dict(TARIFF, version=3)
    e = raises(CommandError, pr.cmd_tariff_set, {"tariff": old})
    assert "not newer" in str(e)
    e = raises(CommandError, pr.cmd_prices_set, {"schedule": {"id": "s", "start": 1, "step_s": 900, "prices": [1]}})
    assert "bad schedule" in str(e)
    assert pr.tariff.id == "config" and recs == []  # nothing applied yet


def test_update_applies_at_next_sample_and_survives_a_restart():
    fresh()
    pr, recs = make()
    pr.start(0)
    pr.cmd_tariff_set({"tariff": TARIFF})
    pr.cmd_prices_set({"schedule": {"id": "spot", "start": T0, "step_s": 900, "prices": list(range(100))}})
    pr.idle_step(1000, T0 + 1, 500)
    assert pr.tariff.version == 3 and pr.sched.id == "spot"
    kinds = [r[1]["type"] for r in recs]
    # The boot's tariff, then the schedule in 3 parts of at most 48 prices, then the change.
    assert kinds == ["tariff_change", "price_schedule", "price_schedule", "price_schedule", "tariff_change"]
    last = recs[-1][1]
    assert last["tariff"]["version"] == 3 and last["sched"] == {"id": "spot", "parts": 3}
    assert last["energy_wh"] == 500 and last["sid"] is None
    again, _ = make()  # a reboot: the tariff and schedule come back from flash
    assert again.tariff.to_dict() == pr.tariff.to_dict() and again.sched.prices == list(range(100))


def test_session_split_and_signature():
    fresh()
    pr, recs = make(key="00112233445566778899aabbccddeeff")
    pr.start(0)
    s = Session("5f0c2a9e81d3-00000002", 1000, T0 + 1, "synced", 100, "TAG-1")
    start = pr.open(s, T0 + 1, 1000, 100, CHARGING)
    assert start["tariff"] == ["config", 0] and start["tc"] == 1 and start["price_minor_per_kwh"] == 250
    assert pr.sample(61000, T0 + 61, s.sid, 200, IDLE) == {"ctx": "Trigger", "st": "idle"}
    pr.cmd_tariff_set({"tariff": TARIFF})
    assert pr.sample(121000, T0 + 121, s.sid, 200, IDLE) is None
    assert recs[-1][1]["type"] == "tariff_change" and recs[-1][1]["sid"] == s.sid
    state = json.loads(json.dumps(pr.session_state()))
    s.end_up, s.end_t, s.meter_stop_wh = 181000, T0 + 181, 300
    bill = pr.seal(dict(pr.close(s, T0 + 181, 181000, 300), sid=s.sid), "dev-1", "0.1", "LGZ-1", "T9")
    assert bill["tariffs"] == [["config", 0], ["home", 3]]
    assert bill["cost_minor"] == 25 + 30  # 100 Wh at 2.50 + 100 Wh at 3.00
    p = json.loads(bill["ocmf"])
    assert [r["TX"] for r in p["RD"]] == ["B", "T", "E"] and p["MS"] == "LGZ-1" and p["PG"] == "T9"
    assert p["RD"][0]["TM"] == "2026-11-20T06:00:01,000+0000 S" and p["LV"]["CT"] == 55
    assert bill["sig"]["alg"] == "HS256" and len(bill["sig"]["mac"]) == 64
    # The journal's seam: the same session, resumed from its saved state, ends the same.
    pr2, _ = make(key="00112233445566778899aabbccddeeff")
    pr2.resume(state)
    bill2 = pr2.seal(dict(pr2.close(s, T0 + 181, 181000, 300), sid=s.sid), "dev-1", "0.1", "LGZ-1", "T9")
    # The signed text may order its keys differently after a JSON round trip; its content
    # and every other field are the same.
    assert json.loads(bill2.pop("ocmf")) == json.loads(bill.pop("ocmf"))
    bill2.pop("sig")
    bill.pop("sig")
    assert bill2 == bill


def test_a_new_currency_waits_for_the_session_to_end():
    fresh()
    pr, recs = make()
    pr.start(0)
    s = Session("5f0c2a9e81d3-00000002", 1000, T0 + 1, "synced", 100, None)
    pr.open(s, T0 + 1, 1000, 100, CHARGING)
    pr.cmd_tariff_set({"tariff": dict(TARIFF, currency="EUR")})
    pr.sample(61000, T0 + 61, s.sid, 200, CHARGING)
    assert pr.tariff.id == "config" and len(recs) == 1
    s.end_up, s.end_t, s.meter_stop_wh = 121000, T0 + 121, 300
    assert pr.close(s, T0 + 121, 121000, 300)["currency"] == "SEK"
    pr.idle_step(181000, T0 + 181, 300)
    assert pr.tariff.currency == "EUR" and recs[-1][1]["tariff"]["currency"] == "EUR"


def test_at_most_four_tariffs_per_session():
    fresh()
    pr, recs = make()
    pr.start(0)
    s = Session("5f0c2a9e81d3-00000002", 1000, T0 + 1, "synced", 100, None)
    pr.open(s, T0 + 1, 1000, 100, CHARGING)
    for v in range(4, 9):
        pr.cmd_tariff_set({"tariff": dict(TARIFF, version=v)})
        pr.sample(1000 + v * 60000, T0 + 1 + v * 60, s.sid, 100 + v, CHARGING)
    s.end_up, s.end_t, s.meter_stop_wh = 600000, T0 + 600, 200
    bill = pr.seal(pr.close(s, T0 + 600, 600000, 200), "d", "0", "", "T3")
    assert bill["tariffs"] == [["config", 0], ["home", 4], ["home", 5], ["home", 6]]
    assert len(json.loads(bill["ocmf"])["RD"]) == 5  # B, 3 x T, E
    pr.idle_step(660000, T0 + 660, 200)
    assert pr.tariff.version == 8  # the last one pushed, once the session is over


def test_receipt_shrinks_to_fit_a_frame():
    bill = {"receipt": {"segs": [{"lines": [[1, 2, 3]] * 10}, {"lines": [[1, 2, 3]]}]}}

    def build(b):
        return json.loads(json.dumps(b))

    full = len(json.dumps(bill))
    assert Pricing.fit(build, bill, full) == build(bill) and bill["receipt"]["segs"][0]["lines"]
    d = Pricing.fit(build, bill, full - 1)
    assert d["receipt"]["segs"] == [{"lines": None}, {"lines": None}]
    d = Pricing.fit(build, bill, 30)
    assert d["receipt"]["segs"] is None


def test_seal_with_the_texts_arguments_fits_and_signs_as_the_text():
    # seal(whole=False) (the session flow's) leaves ocmf as the arguments of its text: the
    # signature is the text's, and fit() counts the record's JSON as if the text were in it.
    fresh()
    pr, _ = make(key="00112233445566778899aabbccddeeff")
    pr.start(0)
    s = Session("5f0c2a9e81d3-00000002", 1000, T0 + 1, "synced", 100, 'TAG"\\1')
    pr.open(s, T0 + 1, 1000, 100, CHARGING)
    pr.sample(61000, T0 + 61, s.sid, 200, IDLE)
    s.end_up, s.end_t, s.meter_stop_wh = 121000, T0 + 121, 300
    bill = dict(pr.close(s, T0 + 121, 121000, 300), sid=s.sid, id_tag=s.id_tag)
    whole = pr.seal(dict(bill), "dev-1", "0.1", "LGZ-1", "T9")
    a = pr.seal(dict(bill), "dev-1", "0.1", "LGZ-1", "T9", False)
    assert type(a["ocmf"]) is tuple and sign.payload(*a["ocmf"]) == whole["ocmf"]
    assert a["sig"] == whole["sig"]
    n = len(json.dumps(whole))
    for limit, kept in ((n, True), (n - 1, False)):
        d = Pricing.fit(lambda b: pr.seal(dict(b), "dev-1", "0.1", "LGZ-1", "T9", False), bill, limit)
        assert (d["receipt"]["segs"] is not None and d["receipt"]["segs"][0]["lines"] is not None) == kept


def test_signing_key_is_a_secret():
    cfg = config.merged({"device_key": "abcd" * 8})
    assert config.masked(cfg)["device_key"] == "***"
    fresh()
    raises(config.ConfigError, make, "xyz")


def test_device_key_is_parsed_in_one_place():
    # core/ident.py device_key: billing signs with the key it gives, the record codec renders with it.
    from laddvakt.core.ident import device_key

    assert device_key("") is None and device_key("6c61") == b"la"
    for bad in ("abc", "zz"):
        e = raises(config.ConfigError, device_key, bad)
        assert "device_key" in str(e) and bad not in str(e), str(e)
    fresh()
    assert make("6c61")[0].key == b"la" and make()[0].key is None


def test_charge_state():
    assert charge_state("C", 7000) == CHARGING
    assert charge_state("C", 0) == IDLE and charge_state("B", 0) == IDLE
    assert charge_state("B", 0, paused=True) == 0


run(globals())
