# Record payloads against the contract (docs/mqtt.md, docs/schemas/record.json),
# checked by hand: jsonschema does not run on MicroPython.
import json

from fwtest import Skip, run
from laddvakt.journal import records
from laddvakt.app.agent import Agent
from laddvakt.core.clock import Clock
from laddvakt.core.ident import Identity
from laddvakt.billing.session_cost import flat_energy_cost
from laddvakt.billing.tariff import Tariff
from laddvakt.session.flow import SessionTracker

T0 = 1763704800
INSTALL = "5f0c2a9e81d3"
# "seq" is required too, but the header carries it and the uplink adds it.
BASE = ("type", "t", "tq", "boot", "up")
REQUIRED = {
    "boot": ("fw", "board"),
    "session_start": ("sid", "meter_start_wh", "id_tag", "currency", "price_minor_per_kwh"),
    "meter": ("sid", "energy_wh", "power_w", "ctx"),
    "session_end": ("sid", "start_t", "start_tq", "end_t", "meter_start_wh", "meter_stop_wh",
                    "energy_wh", "duration_s", "stop_reason", "id_tag", "currency",
                    "minor_unit", "price_minor_per_kwh", "cost_minor"),
    "fault": ("code", "active", "info", "sid"),
    "meter_event": ("event", "reason", "value_dwh", "sid"),
    "plan": ("sid", "vehicle_id", "need_wh", "by_t", "feasible", "shortfall_wh", "cost_minor",
             "windows"),
    "gap": ("first", "last", "why"),
    "time_sync": (),
    # billing (pricing.py; tests/firmware/test_pricing.py checks their contents)
    "tariff_change": ("sid", "energy_wh", "st", "tariff", "sched"),
    "price_schedule": ("id", "start", "step_s", "prices", "parts"),
}
STOP_REASONS = ("EmergencyStop", "EVDisconnected", "HardReset", "Local", "Other", "PowerLoss",
                "Reboot", "Remote", "SoftReset", "UnlockCommand", "DeAuthorized")


def _schema_required():
    # Where the repository is at hand (the unix port), the lists above must match it.
    try:
        path = __file__.rsplit("/", 3)[0] + "/docs/schemas/record.json"
        with open(path) as f:
            schema = json.loads(f.read())
    except (OSError, NameError, ValueError):
        return None
    out = {}
    for branch in schema["allOf"]:
        typ = branch["if"]["properties"].get("type")
        if typ:
            out[typ["const"]] = tuple(branch["then"]["required"])
    return schema["required"], out


def test_lists_match_schema_file():
    got = _schema_required()
    if got is None:
        raise Skip("no docs/schemas/record.json here (on a board)")
    base, per_type = got
    assert sorted(base) == sorted(BASE + ("seq",))
    assert per_type == REQUIRED


def _int(v, lo=None):
    return type(v) is int and (lo is None or v >= lo)


def _sid(v):
    return type(v) is str and 1 <= len(v) <= 36


def _tag(v):
    return v is None or (type(v) is str and len(v) <= 20)


def _currency(v):
    return type(v) is str and len(v) == 3 and all("A" <= c <= "Z" for c in v)


def check(rec):
    d = json.loads(json.dumps(rec))
    rtype = d["type"]
    for k in BASE + REQUIRED[rtype]:
        assert k in d, (rtype, k)
    assert "seq" not in d
    assert d["tq"] in ("synced", "unsynced")
    assert _int(d["t"]) if d["tq"] == "synced" else d["t"] is None, d
    assert _int(d["boot"], 1) and _int(d["up"], 0)
    if rtype == "boot":
        assert type(d["fw"]) is str and type(d["board"]) is str
    elif rtype == "fault":
        assert type(d["code"]) is str and type(d["active"]) is bool
        assert d["info"] is None or (type(d["info"]) is str and len(d["info"]) <= 50)
        assert d["sid"] is None or _sid(d["sid"])
    elif rtype == "meter_event":
        assert d["event"] in ("rejected", "resync", "replaced")
        assert d["reason"] in ("nan", "backwards", "jump", None)
        assert d["value_dwh"] is None or _int(d["value_dwh"])
        assert d["sid"] is None or _sid(d["sid"])
    elif rtype == "meter":
        assert d["sid"] is None or _sid(d["sid"])
        assert _int(d["energy_wh"], 0) and _int(d["power_w"])
        assert d["ctx"] in ("Sample.Periodic", "Interruption.Begin", "Interruption.End")
    elif rtype == "gap":
        assert _int(d["first"], 1) and _int(d["last"], d["first"])
        assert d["why"] in ("corrupt", "thinned")
    elif rtype == "time_sync":
        assert d["tq"] == "synced"
    else:
        assert _sid(d["sid"]) and _tag(d["id_tag"]) and _currency(d["currency"])
        assert _int(d["meter_start_wh"], 0) and _int(d["price_minor_per_kwh"], 0)
    if rtype == "session_end":
        for k in ("meter_stop_wh", "energy_wh", "duration_s", "cost_minor"):
            assert _int(d[k], 0), k
        for k in ("start_t", "end_t"):
            assert d[k] is None or _int(d[k]), k
        assert d["start_tq"] in ("synced", "unsynced")
        assert d["stop_reason"] in STOP_REASONS
        assert _int(d["minor_unit"], 0) and d["minor_unit"] <= 4
        flags = d.get("energy_flags")
        assert flags is None or (flags and all(f in ("discontinuity", "meter_replaced", "estimated",
                                                     "unverified_end") for f in flags))
    return d


class _J:
    seq = 0


class _Sids:
    # The agent's own session id maker, on a stand-in for the agent.
    def __init__(self, seq=0):
        self.ident = Identity(INSTALL, 3)
        self.journal = _J()
        self.journal.seq = seq

    def __call__(self):
        return Agent._new_sid(self)


TARIFF = Tariff.flat("SEK", 2, 250)


def test_boot_record():
    c = Clock()
    d = check(records.boot(c, 0, Identity(INSTALL, 1), "0.1.0", "unix-sim"))
    assert d == {"type": "boot", "t": None, "tq": "unsynced", "boot": 1, "up": 0,
                 "fw": "0.1.0", "board": "unix-sim"}
    c.sync(5000, T0)
    d = check(records.boot(c, 5000, Identity(INSTALL, 2), "0.1.0", "esp32"))
    assert d["t"] == T0 and d["tq"] == "synced" and d["boot"] == 2


def test_session_records_synced():
    c = Clock()
    c.sync(0, T0)
    ident = Identity(INSTALL, 3)
    t = SessionTracker(_Sids(6))
    _, s = t.on_sample(3_600_000, c.wall_s(3_600_000), c.quality(), "B", 1200, "RFID-1")
    d = check(records.session_start(c, ident, s, TARIFF))
    assert d["sid"] == INSTALL + "-00000007" and d["t"] == T0 + 3600 and d["up"] == 3_600_000
    assert (d["meter_start_wh"], d["id_tag"], d["currency"], d["price_minor_per_kwh"]) == (
        1200, "RFID-1", "SEK", 250)
    d = check(records.meter(c, 4_500_000, ident, s.sid, 2500, 7360))
    assert (d["sid"], d["energy_wh"], d["power_w"], d["t"]) == (s.sid, 2500, 7360, T0 + 4500)
    d = check(records.meter(c, 9_000_000, ident, None, 2500, 0))
    assert d["sid"] is None
    _, e = t.on_sample(7_200_000, c.wall_s(7_200_000), c.quality(), "A", 8561)
    d = check(records.session_end(c, ident, e, TARIFF, flat_energy_cost(e.energy_wh, 250)))
    assert d["start_t"] == T0 + 3600 and d["start_tq"] == "synced" and d["end_t"] == T0 + 7200
    assert (d["meter_start_wh"], d["meter_stop_wh"], d["energy_wh"]) == (1200, 8561, 7361)
    assert d["duration_s"] == 3600 and d["stop_reason"] == "EVDisconnected"
    assert d["cost_minor"] == 1840  # 7361 Wh x 250 / 1000 = 1840.25
    assert d["minor_unit"] == 2 and d["t"] == T0 + 7200


def test_unsynced_start_gets_start_t_after_sync():
    c = Clock()
    ident = Identity(INSTALL, 1)
    t = SessionTracker(_Sids(1))
    _, s = t.on_sample(20_000, c.wall_s(20_000), c.quality(), "B", 0)
    d = check(records.session_start(c, ident, s, TARIFF))
    assert d["t"] is None and d["tq"] == "unsynced" and d["up"] == 20_000
    assert c.sync(65_000, T0)  # NTP answers 65 s after boot
    _, e = t.on_sample(3_620_000, c.wall_s(3_620_000), c.quality(), "A", 7360)
    d = check(records.session_end(c, ident, e, TARIFF, flat_energy_cost(e.energy_wh, 250)))
    assert d["start_t"] == T0 - 45 and d["start_tq"] == "synced"
    assert d["end_t"] == T0 + 3555 and d["t"] == T0 + 3555
    assert d["duration_s"] == 3600


def test_unsynced_throughout():
    c = Clock()
    t = SessionTracker(_Sids(1))
    t.on_sample(1000, None, "unsynced", "C", 10)
    _, e = t.on_sample(61_000, None, "unsynced", "F", 20)
    d = check(records.session_end(c, Identity(INSTALL, 1), e, TARIFF, flat_energy_cost(e.energy_wh, 250)))
    assert d["start_t"] is None and d["start_tq"] == "unsynced" and d["end_t"] is None
    assert d["stop_reason"] == "Other" and d["energy_wh"] == 10 and d["cost_minor"] == 3


def test_fault_records_on_edges_only():
    from laddvakt.control.faults import Faults

    f = Faults()
    assert f.update("PowerMeterFailure", True, "3 polls failed")
    assert not f.update("PowerMeterFailure", True, "4 polls failed")  # still the same fault
    assert f.is_active("PowerMeterFailure") and f.codes() == ["PowerMeterFailure"]
    assert not f.update("GroundFailure", False)  # never raised: no edge
    assert f.update("PowerMeterFailure", False)
    assert f.codes() == []
    c = Clock()
    c.sync(0, T0)
    d = check(records.fault(c, 7000, Identity(INSTALL, 2), "PowerMeterFailure", True,
                            "3 polls failed", INSTALL + "-00000002"))
    assert (d["code"], d["active"], d["info"], d["t"]) == ("PowerMeterFailure", True,
                                                           "3 polls failed", T0 + 7)


def test_sid_length():
    for seq in (0, 1, 0xFFFF, 0xFFFFFFFE, 2**40):
        sid = _Sids(seq)()
        assert _sid(sid), sid
        assert sid.startswith(INSTALL + "-")
    assert _Sids(0)() != _Sids(1)()


def test_meter_event_and_energy_flags():
    c = Clock()
    c.sync(0, T0)
    d = check(records.meter_event(c, 5000, Identity(INSTALL, 2), "rejected", "backwards", 1234, None))
    assert (d["event"], d["reason"], d["value_dwh"], d["sid"]) == ("rejected", "backwards", 1234, None)
    tr = SessionTracker(_Sids())
    tr.on_sample(0, T0, "synced", "C", 100)
    _, s = tr.stop(60000, T0 + 60, 150, "Other")
    d = check(records.session_end(c, Identity(INSTALL, 2), s, TARIFF, 13, ["meter_replaced"]))
    assert d["energy_flags"] == ["meter_replaced"]
    assert "energy_flags" not in check(records.session_end(c, Identity(INSTALL, 2), s, TARIFF, 13, []))


def test_journal_area_records():
    c = Clock()
    c.sync(2000, T0)
    d = check(records.gap(c, 5000, Identity(INSTALL, 2), 17, 40, "thinned"))
    assert (d["first"], d["last"], d["why"], d["t"], d["up"]) == (17, 40, "thinned", T0 + 3, 5000)
    d = check(records.time_sync(c, 2000, Identity(INSTALL, 2)))
    assert (d["t"], d["boot"], d["up"]) == (T0, 2, 2000)
    assert records.base("time_sync", c, 2000, 2) == d  # the fields every record starts with


run(globals())
