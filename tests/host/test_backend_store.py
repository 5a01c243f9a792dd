"""Store: idempotent ingest by (install, seq), session rows, schema rejection, money formats."""
import copy

import pytest
from hypothesis import given, settings, strategies as st

from host_tools.backend.receipt import format_kwh, format_minor, format_money, format_receipt
from host_tools.backend.store import Store

INSTALL = "5f0c2a9e81d3"
T0 = 1763704800  # 2025-11-21T06:00:00Z


def rec(seq, type_, **fields):
    base = {"seq": seq, "type": type_, "t": T0 + seq, "tq": "synced", "boot": 1, "up": 1000 * seq}
    base.update(fields)
    return base


def session_start(seq, sid):
    return rec(seq, "session_start", sid=sid, meter_start_wh=1200, id_tag=None, currency="SEK",
               price_minor_per_kwh=250)


def session_end(seq, sid, energy_wh=7400, cost_minor=1850, **over):
    fields = dict(sid=sid, start_t=T0, start_tq="synced", end_t=T0 + 3600, meter_start_wh=1200,
                  meter_stop_wh=1200 + energy_wh, energy_wh=energy_wh, duration_s=3600,
                  stop_reason="EVDisconnected", id_tag="TAG1", currency="SEK", minor_unit=2,
                  price_minor_per_kwh=250, cost_minor=cost_minor)
    fields.update(over)
    return rec(seq, "session_end", **fields)


def batch(*recs, dev="sim-1", install=INSTALL):
    return {"v": 1, "dev": dev, "install": install, "recs": list(recs)}


def journal():
    """Nine records of one install: a boot, two sessions with meter readings between."""
    a, b = INSTALL + "-00000002", INSTALL + "-00000006"
    return [
        rec(1, "boot", fw="0.1.0", board="sim"),
        session_start(2, a),
        rec(3, "meter", sid=a, energy_wh=5000, power_w=7000, ctx="Sample.Periodic"),
        session_end(4, a),
        rec(5, "meter", sid=None, energy_wh=8600, power_w=0, ctx="Sample.Periodic"),
        session_start(6, b),
        rec(7, "meter", sid=b, energy_wh=9000, power_w=3000, ctx="Sample.Periodic", t=None,
            tq="unsynced"),
        session_end(8, b, energy_wh=1001, cost_minor=250, start_t=None, start_tq="unsynced",
                    end_t=None, stop_reason="Local"),
        rec(9, "meter", sid=None, energy_wh=9600, power_w=0, ctx="Sample.Periodic"),
    ]


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "backend.db")
    yield s
    s.close()


def test_same_batch_twice_is_stored_once(store):
    b = batch(*journal())
    assert [r["seq"] for r in store.ingest_batch(b)] == list(range(1, 10))
    assert store.ingest_batch(copy.deepcopy(b)) == []
    assert store.count_records() == 9
    assert store.last_seq(INSTALL) == 9
    assert len(store.sessions()) == 2


def test_overlapping_batches_return_only_new_records(store):
    recs = journal()
    store.ingest_batch(batch(*recs[:5]))
    new = store.ingest_batch(batch(*recs[3:]))
    assert [r["seq"] for r in new] == [6, 7, 8, 9]


def test_same_seq_in_another_install_is_a_different_record(store):
    store.ingest_batch(batch(rec(1, "boot", fw="1", board="x")))
    assert store.ingest_batch(batch(rec(1, "boot", fw="1", board="x"), install="aaaaaaaaaaaa"))
    assert store.count_records() == 2
    assert store.last_seq("aaaaaaaaaaaa") == 1
    assert store.last_seq("000000000000") == 0


def test_session_row_from_session_end(store):
    recs = journal()
    store.ingest_batch(batch(*recs[:3]))
    assert store.sessions() == []  # an open session has no row
    store.ingest_batch(batch(*recs[3:]))
    s = store.session(INSTALL + "-00000002")
    assert s == {"sid": INSTALL + "-00000002", "dev": "sim-1", "install": INSTALL,
                 "start_t": T0, "start_tq": "synced", "end_t": T0 + 3600, "meter_start_wh": 1200,
                 "meter_stop_wh": 8600, "energy_wh": 7400, "duration_s": 3600,
                 "stop_reason": "EVDisconnected", "id_tag": "TAG1", "currency": "SEK",
                 "minor_unit": 2, "price_minor_per_kwh": 250, "cost_minor": 1850, "end_seq": 4}
    assert store.session("nope") is None
    # Synced sessions come first by start time; an unsynced start sorts last.
    assert [x["sid"] for x in store.sessions()] == [INSTALL + "-00000002", INSTALL + "-00000006"]


def test_integral_floats_are_stored_as_integers(store):
    store.ingest_batch(batch(session_end(4, "s-1", cost_minor=1850.0)))
    assert type(store.session("s-1")["cost_minor"]) is int
    assert store.records()[0]["cost_minor"] == 1850 and "1850.0" not in str(store.records())


def _long_sid():
    return session_end(4, "x" * 37)


def _missing_field():
    r = session_end(4, "s-1")
    del r["cost_minor"]
    return r


@pytest.mark.parametrize("bad, where", [
    (lambda: batch(_missing_field()), "recs/0"),
    (lambda: batch(session_end(4, "s-1", cost_minor="18.50")), "cost_minor"),
    (lambda: batch(session_end(4, "s-1", cost_minor=18.5)), "cost_minor"),
    (lambda: batch(_long_sid()), "recs/0/sid"),
    (lambda: batch(rec(1, "boot", fw="1", board="x"), install="5F0C2A9E81D3"), "install"),
    (lambda: batch(rec(1, "boot", fw="1", board="x", t=None)), "recs/0/t"),
    (lambda: batch(), "recs"),
    (lambda: dict(batch(rec(1, "boot", fw="1", board="x")), extra=1), "(root)"),
    (lambda: [1, 2], "(root)"),
])
def test_invalid_batch_raises_and_stores_nothing(store, bad, where):
    # A valid record ahead of the bad one proves the whole batch is refused, not a prefix.
    b = bad()
    if isinstance(b, dict) and b.get("recs") and b["recs"][0]["seq"] != 1:
        b["recs"].insert(0, rec(1, "boot", fw="1", board="x"))
        where = where.replace("recs/0", "recs/1")
    with pytest.raises(ValueError) as exc:
        store.ingest_batch(b)
    assert where in str(exc.value)
    assert store.count_records() == 0 and store.sessions() == []


@pytest.mark.parametrize("minor, unit, text", [
    (250, 2, "2.50"), (5, 2, "0.05"), (0, 2, "0.00"), (1850, 2, "18.50"),
    (250, 0, "250"), (0, 0, "0"), (1234, 3, "1.234"), (7, 3, "0.007"), (-250, 2, "-2.50"),
])
def test_format_minor(minor, unit, text):
    assert format_minor(minor, unit) == text


def test_format_money_and_kwh():
    assert format_money(250, 2, "SEK") == "2.50 SEK"
    assert format_money(1500, 0, "JPY") == "1500 JPY"
    assert format_money(12345, 3, "KWD") == "12.345 KWD"
    assert format_kwh(7400) == "7.400" and format_kwh(1) == "0.001" and format_kwh(0) == "0.000"


def test_receipt(store):
    store.ingest_batch(batch(*journal()))
    text = format_receipt(store.session(INSTALL + "-00000002"))
    for part in (INSTALL + "-00000002", "sim-1", "2025-11-21T06:00:00Z", "2025-11-21T07:00:00Z",
                 "1:00:00", "1200 Wh", "8600 Wh", "7.400 kWh", "2.50 SEK/kWh", "18.50 SEK",
                 "EVDisconnected", "TAG1"):
        assert part in text
    unsynced = format_receipt(store.session(INSTALL + "-00000006"))
    assert "Start:" in unsynced and unsynced.count("unsynced") == 2
    assert "1.001 kWh" in unsynced and "2.50 SEK\n" in unsynced


def _snapshot(store):
    return store.records(), store.sessions()


_BATCHES = st.lists(st.tuples(st.integers(0, 8), st.integers(1, 4)), min_size=1, max_size=6)


@settings(max_examples=60, deadline=None)
@given(slices=_BATCHES, data=st.data())
def test_any_interleaving_and_duplication_stores_the_same(slices, data):
    recs = journal()
    batches = [batch(*recs[lo:lo + n]) for lo, n in slices]
    reference = Store(":memory:")
    for b in batches:
        reference.ingest_batch(copy.deepcopy(b))
    extra = data.draw(st.lists(st.sampled_from(range(len(batches))), max_size=6))
    order = data.draw(st.permutations(list(range(len(batches))) + extra))
    store = Store(":memory:")
    returned = []
    for i in order:
        returned += store.ingest_batch(copy.deepcopy(batches[i]))
    assert _snapshot(store) == _snapshot(reference)
    # Every stored record was reported new exactly once.
    assert sorted(r["seq"] for r in returned) == [r["seq"] for r in store.records()]
    reference.close()
    store.close()


def _meters(lo, hi):
    return batch(*[rec(s, "meter", sid=None, energy_wh=s, power_w=0, ctx="Sample.Periodic")
                   for s in range(lo, hi + 1)])


def test_ack_floor_comes_from_what_is_stored(tmp_path):
    # Two stores on one file stand for two workers of a shared subscription.
    a, b = Store(tmp_path / "s.db"), Store(tmp_path / "s.db")
    try:
        a.ingest_batch(_meters(1, 5))
        assert a.advance_ack(INSTALL) == 5
        a.ingest_batch(_meters(11, 15))  # 6..10 are with the other worker
        assert a.advance_ack(INSTALL) == 5
        b.ingest_batch(_meters(6, 10))
        assert b.advance_ack(INSTALL) == 15  # b never saw 1..5 or 11..15
        assert a.advance_ack(INSTALL) == 15 and a.acked(INSTALL) == 15
        # Records the device no longer has: the floor moves past them, and never back.
        a.ingest_batch(_meters(21, 22))
        assert b.advance_ack(INSTALL, lost_upto=20) == 22
        assert a.advance_ack(INSTALL, lost_upto=3) == 22
    finally:
        a.close()
        b.close()


def test_one_replay_request_per_gap_after_the_grace(tmp_path):
    a, b = Store(tmp_path / "s.db"), Store(tmp_path / "s.db")
    try:
        a.ingest_batch(_meters(1, 5))
        a.advance_ack(INSTALL)
        # Seen first: maybe just a batch another worker is still storing.
        assert not a.claim_replay(INSTALL, 6, 100.0, 1.0, 2.0)
        assert not b.claim_replay(INSTALL, 6, 100.5, 1.0, 2.0)
        assert b.claim_replay(INSTALL, 6, 101.0, 1.0, 2.0)  # still open after the grace
        assert not a.claim_replay(INSTALL, 6, 101.5, 1.0, 2.0)  # asked already
        assert a.claim_replay(INSTALL, 6, 103.5, 1.0, 2.0)  # asked again after the interval
        assert not a.claim_replay(INSTALL, 9, 104.0, 1.0, 2.0)  # another gap: a new grace
    finally:
        a.close()
        b.close()


def test_time_sync_places_unsynced_records_of_its_boot(tmp_path):
    store = Store(tmp_path / "b.db")
    early = rec(1, "boot", t=None, tq="unsynced", up=0, fw="0.1.0", board="x")
    meter = rec(2, "meter", t=None, tq="unsynced", up=61_500, sid=None, energy_wh=5,
                power_w=0, ctx="Sample.Periodic")
    sync = rec(3, "time_sync", t=T0, up=90_000)
    late = rec(4, "meter", t=None, tq="unsynced", up=30_000, boot=1, sid=None, energy_wh=5,
               power_w=0, ctx="Sample.Periodic")  # queued before the sync, sent after it
    other = rec(5, "meter", t=None, tq="unsynced", up=1000, boot=2, sid=None, energy_wh=5,
                power_w=0, ctx="Sample.Periodic")
    store.ingest_batch(batch(early, meter))
    store.ingest_batch(batch(sync))
    store.ingest_batch(batch(late, other))
    # A later resync that stepped the clock 5 s back does not move them.
    step = rec(6, "time_sync", t=T0 + 5, up=100_000)
    late2 = rec(7, "meter", t=None, tq="unsynced", up=40_000, boot=1, sid=None, energy_wh=5,
                power_w=0, ctx="Sample.Periodic")
    store.ingest_batch(batch(step, late2))
    got = {r["seq"]: r["t"] for r in store._query("SELECT seq, t FROM records")}
    # Floor of (t*1000 + up - sync.up) / 1000, as the agent's own clock computes it.
    assert got == {1: T0 - 90, 2: T0 - 29, 3: T0, 4: T0 - 60, 5: None, 6: T0 + 5, 7: T0 - 50}
    assert store.records()[0]["t"] is None  # the body stays as the agent sent it
