# Session continuity and the journal's capacity policy, with the real Agent on littlefs
# in RAM: resume with an Interruption pair, end with PowerLoss, finish a start record a
# cut interrupted, thin periodic values when full, journal_full, time_sync.
import gc
import os

from fwtest import raises, run
from ramblock import mount_fresh, umount
from laddvakt.core import config
from laddvakt.core import ident as identity
from laddvakt.journal import frame as jf
from laddvakt.app.agent import Agent
from laddvakt.journal.store import Journal
from laddvakt.control.pilot import DUTY_OFF
from laddvakt.session.store import SessionStore
from laddvakt.billing.tariff import Tariff
from laddvakt_unix.sim.ev import cp_high_mv

MNT = "/ss"
D = MNT + "/data"
EPOCH = 1763700000


class Box:
    """Meter, control hardware (the pilot an EV shows) and time source, set by hand."""

    def __init__(self):
        self.energy = 1000
        self.power = 7400
        self.pilot = "A"
        self.synced_after = 0
        self.duty = DUTY_OFF
        self.closed = False

    def read(self):  # the meter
        return self.energy, self.power

    def unix_s(self, up_ms):
        return EPOCH + up_ms // 1000 if up_ms >= self.synced_after else None

    # the control hardware (sim/ev.py has the full model)
    def cp_read(self):
        high = cp_high_mv(self.pilot)
        return (high, high) if self.duty == DUTY_OFF else (high, -12000)

    def set_duty(self, duty):
        self.duty = duty

    def set_contactor(self, on):
        self.closed = on

    def contactor_feedback(self):
        return self.closed

    def rcd_tripped(self):
        return False

    def temp_c(self):
        return None

    def read_tag(self):
        return None

    def vehicle_id(self):
        return None


class _Hal:
    bench = False
    data_dir = D


def boot(box, src=None, **cfg):
    c = {"meter_value_interval_s": 900, "pilot_debounce": 1}
    c.update(cfg)
    ident = identity.load_and_count_boot(D + "/ident.json", os.urandom)
    cfgm = config.merged(c)
    j = Journal(D + "/journal", cfgm["journal_segment_bytes"], cfgm["journal_max_bytes"]).open()
    a = Agent(_Hal(), cfgm, {"name": "t"}, ident, j, meter=box, pilot=box, time_source=src or box)
    a.start()
    return a


def recs(a, types=None, last=None):
    # Decoded records (of the given frame types; only the last `last`): compact records
    # fill a journal with thousands, more than a test's heap holds as dicts.
    out = []

    def visit(s, t, p):
        if types is None or t in types:
            out.append(a.codec.decode(t, p, s))
            if last and len(out) > last:
                out.pop(0)
        return True

    a.journal.read_after(0, visit)
    return out


def fs(fn):
    def wrapped():
        mount_fresh(64, MNT)
        os.mkdir(D)
        try:
            fn()
        finally:
            umount(MNT)
    return wrapped


def charge(a, box, t0, t1, step=300_000):
    t = t0
    while t <= t1:
        a.step(t)
        box.energy += box.power * step // 3_600_000
        t += step


def charging():
    """A booted agent with a session charging for 2,000 s: (box, agent, the session's id)."""
    box = Box()
    a = boot(box)
    box.pilot = "C"
    charge(a, box, 0, 2_000_000)
    return box, a, a.tracker.session.sid


@fs
def test_resume_after_reboot_with_interruption_pair():
    box = Box()
    a = boot(box)
    box.pilot = "C"
    charge(a, box, 0, 2_000_000)  # session open, two meter values persisted
    sid = a.tracker.session.sid
    m_persisted = SessionStore(D + "/journal/session", a.ident.install).load()["m"]
    e_cut = box.energy
    # Power lost: no close, nothing else written. The EV stays; the meter is continuous.
    a = boot(box)
    box.energy += 5  # a little counted while the agent was down
    a.step(60_000)
    s = a.tracker.session
    assert s is not None and s.sid == sid and a.keeper.resumed == 1
    r = recs(a)
    # The boot skipped the seqs above the last one found, up to the seq mark, and says so.
    assert [x["why"] for x in r if x["type"] == "gap"] == ["reserved"], r[-4:]
    r = [x for x in r if x["type"] == "meter"]
    ib, ie = r[-2], r[-1]
    assert (ib["ctx"], ib["energy_wh"], ib["boot"], ib["sid"]) == ("Interruption.Begin", m_persisted, 1, sid)
    assert (ie["ctx"], ie["energy_wh"], ie["boot"], ie["sid"]) == ("Interruption.End", e_cut + 5, 2, sid)
    box.pilot = "A"
    a.step(120_000)
    end = recs(a)[-1]
    assert end["type"] == "session_end" and end["sid"] == sid
    assert end["meter_stop_wh"] == e_cut + 5 and end["energy_wh"] == e_cut + 5 - 1000
    assert end["stop_reason"] == "EVDisconnected"
    assert [x["sid"] for x in recs(a) if x["type"] == "session_start"] == [sid]
    assert "session" not in os.listdir(D + "/journal")


@fs
def test_resume_when_its_tariff_is_gone_from_flash():
    # tariff.json replaced behind the agent's back: the session still goes on and is billed
    # from the last persisted value at the tariff in force, instead of failing every boot.
    box, a, sid = charging()
    m = SessionStore(D + "/journal/session", a.ident.install).load()["m"]
    with open(D + "/tariff.json", "w") as f:
        f.write(Tariff.flat("SEK", 2, 100, "other", 1).to_json())
    a = boot(box)
    a.step(60_000)
    assert a.tracker.session.sid == sid and a.keeper.resumed == 1
    box.pilot = "A"
    a.step(120_000)
    end = recs(a)[-1]
    assert end["type"] == "session_end" and end["sid"] == sid
    assert end["cost_minor"] == (box.energy - m + 5) // 10, (end["cost_minor"], box.energy, m)


@fs
def test_powerloss_end_at_last_persisted_value():
    box = Box()
    box.synced_after = 10**9  # never synced: the end carries the old boot and uptime
    a = boot(box)
    box.pilot = "C"
    charge(a, box, 0, 2_000_000)
    sid = a.tracker.session.sid
    st = SessionStore(D + "/journal/session", a.ident.install).load()
    box.pilot = "A"  # the EV left during the outage
    a = boot(box)
    a.step(60_000)
    assert a.tracker.session is None and a.keeper.powerloss == 1
    end = [x for x in recs(a) if x["type"] == "session_end"]
    assert len(end) == 1
    end = end[0]
    assert end["sid"] == sid and end["stop_reason"] == "PowerLoss"
    assert end["meter_stop_wh"] == st["m"] and end["energy_wh"] == st["m"] - 1000
    assert (end["boot"], end["up"], end["t"], end["tq"]) == (1, st["u"], None, "unsynced")
    assert end["duration_s"] == st["d"] // 1000


@fs
def test_meter_stepped_back_ends_and_starts_anew():
    box = Box()
    a = boot(box)
    box.pilot = "C"
    charge(a, box, 0, 1_000_000)
    sid = a.tracker.session.sid
    box.energy = 10  # a replaced meter: not continuous
    a = boot(box)
    a.step(60_000)
    ends = [x for x in recs(a) if x["type"] == "session_end"]
    assert [(e["sid"], e["stop_reason"]) for e in ends] == [(sid, "PowerLoss")]
    s = a.tracker.session
    assert s is not None and s.sid != sid and s.meter_start_wh == 10


@fs
def test_start_record_finished_after_cut():
    # The store was written, then power went before the start record was journaled.
    box = Box()
    a = boot(box)
    box.pilot = "C"
    from laddvakt.core.clock import session_id
    from laddvakt.journal import records
    from laddvakt.session.flow import Session

    s = Session(session_id(a.ident.install, a.journal.seq + 1), 1000, None, "unsynced", 1000, None)
    want = a.journal.seq + 1
    rec = a.encode(jf.TYPE_SESSION_START, records.session_start(a.clock, a.ident, s, a.pricing.tariff,
                                                                a.pricing.open(s, None, 1000, 1000, 1)))
    a.keeper.opened(s, rec)
    a = boot(box)
    starts = [x for x in recs(a) if x["type"] == "session_start"]
    assert [x["sid"] for x in starts] == [s.sid]
    assert int(s.sid[-8:], 16) == want
    seen = []
    a.journal.read_after(0, lambda q, t, p: seen.append((q, t)) or True)
    # Boot went on above the seq mark (docs/journal.md, Seq marks): the start record takes
    # the first seq after the skip, its session id still names the seq it was announced with,
    # and no record holds that seq or any other of the skip.
    at = [q for q, t in seen if t == jf.TYPE_SESSION_START]
    assert len(at) == 1 and at[0] > want, (want, seen)
    assert [q for q, t in seen if want <= q < at[0]] == [], seen


@fs
def test_end_record_finished_after_cut():
    box = Box()
    a = boot(box)
    box.pilot = "C"
    charge(a, box, 0, 1_000_000)
    # Power lost between the store's "ending" and the end record.
    a.keeper.ending(b'{"type": "session_end", "sid": "x"}')
    want = a.journal.seq + 1
    held = a.journal.seq - a.journal.committed  # periodic values in RAM: lost with the cut
    a = boot(box)
    seen = []
    a.journal.read_after(0, lambda q, t, p: seen.append((q, t)) or True)
    # It gets the first seq above the seq mark (the seqs of the held records that never
    # reached flash and its announced one are skipped, never given to another record).
    at = [q for q, t in seen if t == jf.TYPE_SESSION_END]
    assert held and len(at) == 1 and at[0] > want, (want, held, seen)
    assert [q for q, t in seen if want - held <= q < at[0]] == [], seen
    assert a.keeper.saved is None and "session" not in os.listdir(D + "/journal")


@fs
def test_thinning_then_full_then_suspend():
    box = Box()
    a = boot(box, journal_segment_bytes=8192, journal_max_bytes=40960,
             meter_value_interval_s=60, on_journal_full="suspend")
    t = 0
    # Sessions of 5 minutes: what thinning keeps (their start and end records) fills it.
    while not a.guard.full and t < 200 * 3_600_000:
        box.pilot = "C" if (t // 60_000) % 6 else "A"
        a.step(t)
        box.energy += 1
        t += 60_000
    assert a.guard.full and a.guard.suspend, (t, a.journal.bytes_used(), a.journal.thinned)
    r = recs(a, (jf.TYPE_GAP, jf.TYPE_SESSION_START, jf.TYPE_FAULT))
    gaps = [x for x in r if x["type"] == "gap" and x["why"] == "thinned"]
    assert gaps and a.journal.thinned > 0
    assert [x for x in r if x["type"] == "session_start"]  # never thinned
    faults = [x for x in r if x["type"] == "fault"]
    assert faults[-1]["code"] == "InternalError" and faults[-1]["active"]
    assert faults[-1]["info"] == "journal_full"
    del r, faults  # a thousand decoded records: room for the set below
    gc.collect()
    # Every seq is present or inside a reported gap.
    have = set()
    a.journal.read_after(0, lambda q, t, p: have.add(q) or True)
    covered = set()
    for g in gaps:
        covered.update(range(g["first"], g["last"] + 1))
    first = min(have)
    assert all(q in have or q in covered for q in range(first, a.journal.seq + 1))
    n = a.guard.skipped_meter
    box.pilot = "C"
    for k in range(3):
        a.step(t + k * 60_000)
    assert a.guard.skipped_meter > n  # periodic values wait while full
    box.pilot = "A"
    a.step(t + 180_000)
    assert "session_end" in [x["type"] for x in recs(a, last=3)]  # never dropped
    a.journal.set_delivered(a.journal.seq)
    a.step(t + 240_000)
    a.step(t + 300_000)
    assert not a.guard.full and not a.guard.suspend
    assert not a.faults.is_active("InternalError")


@fs
def test_store_line_is_small_and_round_trips():
    st = SessionStore(D + "/session", "5f0c2a9e81d3")
    # Wide values everywhere: the head line a session can need at most.
    d = {"seq0": 99_999_999, "st": 1763700000, "stq": "unsynced", "m0": 9_123_456, "m": 9_130_000,
         "d": 604_800_000, "b": 9999, "u": 604_800_000, "t": 1763700000,
         "cs": 1, "ch": 1, "sr": 7_200_000, "cm": 604_800_000, "im": 3_600_000, "lw": 130_000,
         "pr": -2_500_000, "un": 1763784000, "tag": "A TAG with spaces 20"}
    bill = {"c": {"segs": [], "units": 12345}, "sg": [], "sp": 250}
    st.save(d, bill)
    # Short enough for littlefs to keep inline (128 bytes with the default mount).
    assert os.stat(D + "/session")[6] <= 128, os.stat(D + "/session")[6]
    got = st.load()
    assert got.pop("sid") == "5f0c2a9e81d3-05f5e0ff"
    assert got.pop("bill") == bill
    assert got == d, got
    # The rarely changing part is written only when it changes; the head names it.
    writes = sorted(os.listdir(D))
    d["m"] += 1
    st.save(d, bill)
    assert sorted(os.listdir(D)) == writes
    bill["c"]["units"] += 1
    st.save(d, bill)
    got = st.load()
    assert got["g"] == 2 and got.pop("bill") == bill
    assert "session.1" not in os.listdir(D)
    got.pop("sid")
    d["tag"] = None
    d["rec"] = b"\x01\x00\x7b{"  # a payload, binary or not
    st.save(d, bill)
    got = st.load()
    got.pop("sid")
    got.pop("bill")
    assert got == d
    st.save({"sid": "", "end": 99, "rec": b"{}"})
    assert st.load() == {"sid": "", "end": 99, "rec": b"{}"}
    with open(D + "/session", "w") as f:
        f.write("garbage")
    assert st.load() is None


def test_ids_unique_across_reflash_and_format():
    # Reflashing keeps the filesystem: same install, seq goes on. Formatting loses both
    # ident.json and the journal: a new random install id, so (install, seq) and session
    # ids never repeat even though seq starts again at 1.
    bdev = mount_fresh(64, MNT)
    try:
        os.mkdir(D)
        box = Box()
        a = boot(box)
        box.pilot = "C"
        charge(a, box, 0, 1_000_000)
        first = (a.ident.install, a.journal.seq, a.tracker.session.sid)
        a = boot(box)  # a reboot, as after reflashing: same filesystem
        assert a.ident.install == first[0] and a.journal.seq > first[1]
        umount(MNT)
        import vfs

        vfs.VfsLfs2.mkfs(bdev)
        vfs.mount(vfs.VfsLfs2(bdev), MNT)
        os.mkdir(D)
        a = boot(box)
        charge(a, box, 0, 300_000)
        assert a.ident.install != first[0] and a.journal.seq < first[1]
        sid = a.tracker.session.sid
        assert sid != first[2] and len(sid) <= 36
    finally:
        umount(MNT)


@fs
def test_keep_charging_is_default_and_bad_policy_refused():
    box = Box()
    a = boot(box)
    assert a.guard.policy == "keep_charging" and not a.guard.suspend
    raises(config.ConfigError, boot, box, on_journal_full="stop")


@fs
def test_time_sync_record_places_unsynced_records():
    box = Box()
    box.synced_after = 600_000
    a = boot(box)
    box.pilot = "C"
    charge(a, box, 0, 1_200_000)
    r = recs(a)
    unsynced = [x for x in r if x["tq"] == "unsynced"]
    assert unsynced and all(x["t"] is None and x["boot"] == 1 for x in unsynced)
    ts = [x for x in r if x["type"] == "time_sync"]
    assert len(ts) == 1 and ts[0]["tq"] == "synced" and ts[0]["boot"] == 1
    # The rule a backend applies (docs/mqtt.md): t = (sync t * 1000 + up - sync up) div 1000.
    for x in unsynced:
        assert (ts[0]["t"] * 1000 + x["up"] - ts[0]["up"]) // 1000 == EPOCH + x["up"] // 1000


class _Sntp:
    # A source like uplink/sntp.py's: each answer handed over once; the wall clock it reads
    # runs `skew_s` away from the box's.
    periodic = True

    def __init__(self):
        self.answer = False
        self.skew_s = 0

    def unix_s(self, up_ms):
        if not self.answer:
            return None
        self.answer = False
        return EPOCH + up_ms // 1000 + self.skew_s


@fs
def test_periodic_resync_journals_only_large_steps():
    box = Box()
    src = _Sntp()
    a = boot(box, src)
    t = 0
    out = []
    for answer, skew in ((True, 0), (True, 1), (False, 0), (True, -5), (True, -5)):
        src.answer, src.skew_s = answer, skew
        t += 60_000
        a.step(t)
        out.append((a.wall_s(), len(recs(a, (jf.TYPE_TIME_SYNC,)))))
    base = EPOCH + 60
    # first sync journaled; a 1 s correction applied silently; no answer keeps the clock;
    # a 6 s step back journaled; the same time again is no step
    assert out == [(base, 1), (base + 61, 1), (base + 121, 1), (base + 175, 2), (base + 235, 2)], out


@fs
def test_end_record_out_of_memory_stops_the_step_and_the_next_boot_ends_the_session():
    # A session's end whose record finds no heap while it is encoded (the heap locked during
    # the encode): the MemoryError is not swallowed; it stops the step (on a board the loop
    # ends and the watchdog resets it). Nothing was kept or journaled for the end, so the next
    # boot ends the session as after a power cut, once, at its last persisted meter value, and
    # gives no seq twice.
    import micropython

    box, a, sid = charging()
    real = a.codec.encode

    def starved(rtype, d, seq):
        if rtype != jf.TYPE_SESSION_END:
            return real(rtype, d, seq)
        micropython.heap_lock()
        try:
            return real(rtype, d, seq)
        finally:
            micropython.heap_unlock()

    a.codec.encode = starved
    box.pilot = "A"
    raises(MemoryError, a.step, 2_300_000)
    assert [x for x in recs(a) if x["type"] == "session_end"] == []
    st = SessionStore(D + "/journal/session", a.ident.install).load()
    assert st["sid"] == sid
    seqs = []
    a.journal.read_after(0, lambda q, t, p: seqs.append(q) or True)
    a = boot(box)
    a.step(60_000)
    end = [x for x in recs(a) if x["type"] == "session_end"]
    assert len(end) == 1 and end[0]["sid"] == sid and end[0]["stop_reason"] == "PowerLoss", end
    assert end[0]["meter_stop_wh"] == st["m"]
    after = []
    a.journal.read_after(0, lambda q, t, p: after.append(q) or True)
    assert after[:len(seqs)] == seqs and len(set(after)) == len(after), (seqs, after)
    assert a.tracker.session is None and a.keeper.saved is None


run(globals())
