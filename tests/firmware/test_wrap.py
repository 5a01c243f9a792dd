# The loop's time wraps at 2**30 ms (12.4 days) on every port, as ticks_ms does on a board, and
# that is also where a 32-bit board's small integers end. The whole agent (control, sampling,
# sessions, billing, journal) runs across the wrap and must journal exactly what it journals
# from a start at 0: same records, same `up` (which never wraps), periodic values on time,
# sessions as long as they were. The same file runs on the 32-bit port (tests/host/test_wrap32.py).
from ctlrig import T0, DataHal
from fwtest import Skip, rmtree, run
from laddvakt.app.agent import Agent
from laddvakt.core import config
from laddvakt.core.clock import Clock, age_ms, before, tadd, tdiff
from laddvakt.core.ident import Identity
from laddvakt.journal.store import Journal
from laddvakt_unix.sim.ev import SimStation
from laddvakt_unix.sim.plant import SimTimeSource

VISITS = [{"arrive_s": 20, "leave_s": 200, "need_wh": 400000, "max_w": 7400, "id_tag": None},
          {"arrive_s": 230, "leave_s": 290, "need_wh": 400000, "max_w": 3600, "id_tag": None}]
TICK_MS = 250
END_MS = 300000
_n = [0]


class _Since:
    """The simulated station and time source on their own clock (ms since the agent started),
    whatever the loop's time is: the physics are the same in every run."""

    def __init__(self, inner, up0):
        self._inner = inner
        self._up0 = up0

    def step(self, up_ms):
        self._inner.step(tdiff(up_ms, self._up0))

    def unix_s(self, up_ms):
        return self._inner.unix_s(tdiff(up_ms, self._up0))

    def __getattr__(self, name):
        return getattr(self._inner, name)


def journal_of(up0, end_ms=END_MS):
    """Run the agent from loop time up0 for end_ms; (records, meter polls, loop time at the end)."""
    _n[0] += 1
    path = "wrap-j%d" % _n[0]
    rmtree(path)
    cfg = config.merged({"pilot_debounce": 1, "meter_value_interval_s": 30, "sample_interval_ms": 1000,
                         "control_tick_ms": TICK_MS})
    sc = {"visits": VISITS, "events": [], "start_epoch": T0, "meter_start_wh": 1000, "sync_after_s": 5}
    st = _Since(SimStation(sc), up0)
    a = Agent(DataHal(path + "-d"), cfg, {"name": "unix-sim"}, Identity("5f0c2a9e81d3", 1),
              Journal(path, 16384, 262144).open(), meter=st, pilot=st,
              time_source=_Since(SimTimeSource(sc), up0), plant=st, up0=up0)
    a.start()
    up = up0
    for _ in range(end_ms // TICK_MS):
        up = tadd(up, TICK_MS)
        a.step(up)
    out = []

    def visit(seq, t, mv):
        out.append(a.codec.decode(t, mv, seq))
        return True

    a.journal.read_after(0, visit)
    polls = a.metering.health.polls
    a.journal.close() if hasattr(a.journal, "close") else None
    rmtree(path)
    rmtree(path + "-d")
    return out, polls, up


def _strip(recs):
    # Session ids name the journal seq, the same in every run; nothing differs but what broke.
    return [sorted(r.items()) for r in recs]


_BASE = []


def _base():
    if not _BASE:
        _BASE.append(journal_of(0))
    return _BASE[0]


def _same_as_from_zero(up0):
    recs, polls, end = journal_of(up0)
    base, base_polls, _ = _base()
    assert tdiff(end, up0) == END_MS
    assert polls == base_polls and polls >= END_MS // 1000 - 1, (polls, base_polls)
    assert len(recs) == len(base), (len(recs), len(base))
    for r, b in zip(_strip(recs), _strip(base)):
        assert r == b, (r, b)
    return recs


def _checks(recs):
    ups = [r["up"] for r in recs]
    assert ups == sorted(ups) and ups[0] == 0 and ups[-1] < END_MS + 1000, ups
    ends = [r for r in recs if r["type"] == "session_end"]
    assert [e["duration_s"] for e in ends] == [180, 60], [e["duration_s"] for e in ends]
    starts = [(r["sid"], r["up"]) for r in recs if r["type"] == "session_start"]
    for sid, up in starts:
        # OCPP MeterValueSampleInterval counts from the session's start: the first 30 s after it
        periodic = [r["up"] - up for r in recs if r["type"] == "meter" and r.get("sid") == sid
                    and r.get("ctx") == "Sample.Periodic"]
        # (taken at the first sample once due: within one sample interval), then every 30 s
        assert periodic and 30000 <= periodic[0] < 31000, periodic
        assert [p - periodic[0] for p in periodic] == [30000 * i for i in range(len(periodic))], periodic
    assert [len([r for r in recs if r.get("ctx") == "Sample.Periodic" and r["sid"] == sid]) for sid, _ in starts] \
        == [5, 1], starts


def test_from_zero_the_schedules_hold():
    _checks(_base()[0])


def test_across_the_wrap():
    # 90 s before the wrap at 2**30: a session is open and periodic values are due as the
    # loop's time wraps.
    _checks(_same_as_from_zero(before(0, 90000)))


def test_tdiff_and_tadd_follow_ticks_rules():
    top = before(0, 1)  # 2**30 - 1
    assert tadd(top, 1) == 0 and tadd(0, -1) == top and tadd(top, 300) == 299
    assert tdiff(5, top) == 6 and tdiff(top, 5) == -6 and tdiff(7, 7) == 0
    half = 1 << 29
    assert tdiff(half - 1, 0) == half - 1 and tdiff(half, 0) == -half  # ticks_diff's range
    assert age_ms(5, top) == 6 and age_ms(half, 0) == half  # ages reach a whole period


def test_clock_across_the_wrap():
    up0 = before(0, 5000)
    c = Clock(up0)
    assert c.up(up0) == 0 and c.wall_s(up0) is None
    c.sync(tadd(up0, 2000), T0)
    for step in range(0, 20000, 250):
        t = tadd(up0, step)
        c.advance(t)
        assert c.up(t) == step, (step, c.up(t))
        assert c.wall_s(t) == T0 + (step - 2000) // 1000, (step, c.wall_s(t))
    # a stamp from before the wrap, read after it
    assert c.up(up0) == 0 and c.wall_s(up0) == T0 - 2


def test_clock_anchor_moves_on_for_weeks():
    # Loop time in steps of an hour over 40 days: 3 wraps on a board. Uptime and wall time
    # stay exact, and a stamp from 7 days back still converts.
    c = Clock(0)
    c.sync(0, T0)
    t = 0
    hour = 3600000
    for h in range(1, 40 * 24):
        t = tadd(t, hour)
        c.advance(t)
        assert c.up(t) == h * hour and c.wall_s(t) == T0 + h * 3600, h
        if h >= 7 * 24:
            back = before(t, 7 * 24 * hour)
            assert c.up(back) == (h - 7 * 24) * hour, h
    assert age_ms(t, before(t, 11 * 24 * hour)) == 11 * 24 * hour  # ticks_diff's range is 6.2 days


def test_real_ticker_wraps_the_loops_time():
    import asyncio

    from laddvakt.core.ticker import RealTicker

    if not hasattr(asyncio, "run"):
        raise Skip("this port's asyncio runs on its host's event loop (the WebAssembly port)")
    t = RealTicker(40)
    t.up_ms = before(0, 100)  # as if the board had run 12.4 days
    got = []

    async def main():
        for _ in range(6):
            got.append(await t.next())

    asyncio.run(main())
    assert all(0 <= v <= before(0, 1) for v in got), got
    assert got[0] > got[-1], got  # it wrapped
    steps = [tdiff(b, a) for a, b in zip(got, got[1:])]
    assert all(30 <= d <= 120 for d in steps), steps


def test_demand_cap_of_a_week_across_the_wrap():
    from laddvakt.control.pilot import DemandResponse

    t = before(0, 3600000)  # an hour before the wrap
    dr = DemandResponse(60, 86400000)  # fail-safe after a silent day
    dr.set(tadd(t, 500), 100, 7 * 86400)  # between two ticks: after the tick at t
    assert dr.limit(t) == 100
    hour = 3600000
    for h in range(1, 7 * 24):
        t = tadd(t, hour)
        dr.heard(t)
        assert dr.limit(t) == 100, h
    t = tadd(t, hour)
    assert dr.limit(t) == 100  # 500 ms of the week left
    t = tadd(t, 500)
    dr.heard(t)
    assert dr.limit(t) is None and dr.limit_da is None  # the week is over
    for h in range(1, 10 * 24):  # silence for 10 days: the fail-safe holds throughout
        t = tadd(t, hour)
        assert dr.limit(t) == (60 if h > 24 else None), h


run(globals())
