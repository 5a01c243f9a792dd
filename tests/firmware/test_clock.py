# Wall time that may be unknown: None until a sync, then derived from uptime; ISO 8601 text of
# a wall time and back.
from fwtest import raises, run
from laddvakt.core.clock import iso_seconds, iso_utc
from laddvakt.core.clock import Clock

T2025 = 1735689600  # 2025-01-01T00:00:00Z
T2024 = 1704067200  # 2024-01-01T00:00:00Z, the earliest accepted sync


def test_unsynced():
    c = Clock()
    assert not c.synced
    assert c.quality() == "unsynced"
    assert c.wall_s(0) is None
    assert c.wall_s(123456) is None


def test_sync_maps_uptime():
    c = Clock()
    up_at_sync = 42_500
    assert c.sync(up_at_sync, T2025) is True
    assert c.synced and c.quality() == "synced"
    for up in (up_at_sync, up_at_sync + 999, up_at_sync + 1000, up_at_sync + 86_400_000 + 1):
        assert c.wall_s(up) == T2025 + (up - up_at_sync) // 1000, up
    assert c.wall_s(up_at_sync + 1500) == T2025 + 1
    # uptime before the sync maps backwards: a record taken earlier in this boot
    assert c.wall_s(2_500) == T2025 - 40
    assert c.wall_s(0) == T2025 + (0 - up_at_sync) // 1000


def test_resync_moves_offset():
    c = Clock()
    c.sync(1000, T2025)
    assert c.sync(11_000, T2025 + 20) is True  # the clock ran 10 s slow
    assert c.wall_s(11_000) == T2025 + 20
    assert c.wall_s(21_000) == T2025 + 30


def test_pre_2024_refused():
    c = Clock()
    assert c.sync(5000, 0) is False
    assert c.sync(5000, 946684800) is False  # 2000-01-01, an RTC reset
    assert c.sync(5000, T2024 - 1) is False
    assert not c.synced and c.wall_s(5000) is None and c.quality() == "unsynced"
    assert c.sync(5000, T2024) is True
    assert c.wall_s(5000) == T2024


def test_bad_sync_keeps_good_one():
    c = Clock()
    c.sync(0, T2025)
    assert c.sync(1000, 100) is False
    assert c.wall_s(1000) == T2025 + 1



def test_iso_text_both_ways():
    for t in (0, 951782400, 1709164800, T2025 + 86399, 4102444800):
        assert iso_seconds(iso_utc(t)) == t, t
    assert iso_seconds("2025-01-01t02:00:00.5+02:00") == T2025
    assert iso_seconds("2025-01-01 00:00:00-01:30") == T2025 + 5400
    assert iso_seconds("2025-01-01T00:00:00") == T2025  # no offset: UTC
    for bad in ("2025-01-01", "yesterday at noon!!", 1735689600, None):
        assert iso_seconds(bad) is None, bad
    for bad in ("2025-01-01Tab:00:00Z", "2025-01-01T00:00:00+x", "2025-01-01T00:00:00+01"):
        raises(ValueError, iso_seconds, bad)

run(globals())
