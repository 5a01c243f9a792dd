# The power-cut scenario of issue 4, run by the real agent (app.Agent with its real
# journal, session store, tracker and guard) on littlefs over a RAM block device.
# World time runs on; the agent's uptime restarts at every boot. A power cut stops
# the agent at the k-th block write; the charger stays dark for OUTAGE_MS (no energy
# flows), then boots again from what is on flash and the scenario goes on.
# Used by test_powercut_agent.py, tests/host/mp_powercut_driver.py and journal_bench.py.
import os
import vfs

from ramblock import RAMBlockDev, reborn
from laddvakt.core import config
from laddvakt.core import ident as identity
from laddvakt.app.agent import Agent
from laddvakt.journal.store import Journal
from laddvakt.uplink.commands import CommandError
from laddvakt.billing.session_cost import FEE_FACTOR, WH_FACTOR, totals
from laddvakt.billing.tariff import Tariff
from laddvakt.control.pilot import DUTY_OFF
from laddvakt_unix.sim.ev import SimStation

MNT = "/pc"
EPOCH = 1763700000
STEP_MS = 300_000
OUTAGE_MS = 600_000
SYNC_AFTER_MS = 400_000  # each boot runs unsynced for a while: records carry boot + up
END_MS = 15_000_000
# 3 sessions; the tariff changes in session 2, a fault comes and goes in session 2.
VISITS = [
    {"arrive_s": 600, "leave_s": 4500, "need_wh": 9000, "max_w": 7400, "id_tag": "TAG1"},
    {"arrive_s": 5400, "leave_s": 9300, "need_wh": 6000, "max_w": 11000, "id_tag": "TAG2"},
    {"arrive_s": 10200, "leave_s": 13800, "need_wh": 20000, "max_w": 3600, "id_tag": None},
]
TARIFF_AT_MS = 6_000_000
FAULT_ON_MS, FAULT_OFF_MS = 7_200_000, 8_100_000
DELIVER = {3_000_000: 6, 8_400_000: 10**6, 12_000_000: 3, END_MS: 10**6}  # world ms -> records to deliver
# The tariff pushed mid-session 2, as a backend would: another price, and session-wide terms
# (start fee, VAT) that session 3 gets from plug-in.
TARIFF2 = {"id": "t2", "version": 1, "currency": "SEK", "minor_unit": 2, "energy": 3_100_000,
           "start_fee": 150_000, "vat_bp": 2500}
KEY = "6c616464766b742d7377656570"
CFG = {"meter_value_interval_s": 900, "journal_segment_bytes": 1024,
       "journal_max_bytes": 65536, "board": "unix-sim", "device_key": KEY,
       "currency": "SEK", "currency_minor_unit": 2, "price_minor_per_kwh": 250}
BLOCKS = 32


class _Hal:
    bench = False

    def __init__(self, data_dir):
        self.data_dir = data_dir

    def urandom(self, n):
        return os.urandom(n)


class _Time:
    def __init__(self, world):
        self.w = world

    def unix_s(self, up_ms):
        if up_ms < SYNC_AFTER_MS:
            return None
        return EPOCH + self.w.now // 1000


class World:
    """The physical side: the station (EV, pilot, contactor, meter) and wall time. It
    survives power cuts; the station runs on world time, not the agent's uptime."""

    def __init__(self):
        self.station = SimStation({"visits": VISITS, "meter_start_wh": 1000})
        self.now = 0

    def advance(self, ms, dark=False):
        self.now = ms
        if dark:
            # The charger is off: the contactor drops and the PWM stops, nothing flows.
            self.station.set_contactor(False)
            self.station.set_duty(DUTY_OFF)
        self.station.step(ms)

    @property
    def register_wh(self):
        return self.station.register_mwh // 1000


class Run:
    """One pass of the scenario, cut at block write `cut` (None: never)."""

    def __init__(self, cut=None, torn=False, cfg=None):
        self.bdev = RAMBlockDev(BLOCKS)
        vfs.VfsLfs2.mkfs(self.bdev)
        self.cfg = config.merged(cfg or CFG)
        self.world = World()
        self.backend = {}  # seq -> (type, payload bytes): what the uplink got acknowledged
        self.committed = {}  # seq -> (type, payload): appends that returned (on flash)
        self.boots = 0
        self.cuts = 0
        self.cut = cut
        self.torn = torn
        self.agent = None
        self.install = None

    # ---- boot -----------------------------------------------------------------
    def _boot(self):
        vfs.mount(vfs.VfsLfs2(self.bdev), MNT)
        d = MNT + "/data"
        try:
            os.mkdir(d)
        except OSError:
            pass
        ident = identity.load_and_count_boot(d + "/ident.json", os.urandom)
        self.install = ident.install
        j = Journal(d + "/journal", self.cfg["journal_segment_bytes"], self.cfg["journal_max_bytes"])
        j.open()
        self._wrap(j)
        w = self.world
        a = Agent(_Hal(d), self.cfg, {"name": "unix-sim"}, ident, j, meter=w.station, pilot=w.station,
                  time_source=_Time(w))
        self.agent = a
        self.boot_ms = w.now
        self.boots += 1
        a.start()
        return a

    def _wrap(self, j):
        inner = j.append
        self.held = {}

        def append(rtype, payload, commit=True):
            seq = inner(rtype, payload, commit)
            self.held[seq] = (rtype, bytes(payload))
            self._settle(j)
            return seq

        j.append = append

    def _settle(self, j):
        # Records count as committed once the journal has them on flash; one held in RAM
        # (commit=False) when power is cut never existed, and its seq goes to the next.
        for seq in list(self.held):
            if seq <= j.committed:
                self.committed[seq] = self.held.pop(seq)

    def _deliver(self, n):
        j = self.agent.journal
        got = []

        def visit(seq, rtype, p):
            got.append((seq, rtype, bytes(p)))
            return len(got) < n

        j.read_after(j.delivered, visit)
        if got:
            for seq, rtype, p in got:
                old = self.backend.get(seq)
                assert old is None or old == (rtype, p), ("seq %d delivered twice, different" % seq)
                self.backend[seq] = (rtype, p)
            j.set_delivered(got[-1][0])  # the PUBACK came: move the cursor

    # ---- the scenario ---------------------------------------------------------
    def _events(self, a, t):
        if t >= TARIFF_AT_MS and a.pricing.tariff.id != TARIFF2["id"]:
            # Pushed until it is in force (a cut may take a pending update with it), as a
            # backend does that sees no tariff_change for it.
            try:
                a.pricing.cmd_tariff_set({"tariff": TARIFF2})
            except CommandError:
                pass  # already pending
        if FAULT_ON_MS <= t < FAULT_OFF_MS:
            # A fault no rule acts on (faultrules.py), so the scenario's sessions run on.
            a.set_fault("ReaderFailure", True, "simulated")
        elif t >= FAULT_OFF_MS:
            a.set_fault("ReaderFailure", False)
        n = DELIVER.get(t)
        if n:
            self._deliver(n)

    def play(self):
        w = self.world
        if self.cut is not None:
            self.bdev.fail_after = self.cut
            self.bdev.torn = self.torn
        a = None
        t = 0
        fresh = False
        try:
            while True:
                try:
                    if a is None:
                        a = self._boot()
                        fresh = True
                    if t <= END_MS:
                        w.advance(t)
                        a.step(t - self.boot_ms)
                        self._events(a, t)
                        t += STEP_MS
                        fresh = False
                    else:
                        if fresh:
                            # Cut in the last step: one more step settles the saved
                            # session, then the rest is delivered.
                            w.advance(t)
                            a.step(t - self.boot_ms)
                            self._deliver(10**6)
                        a.journal.close()
                        self._settle(a.journal)
                        break
                except OSError:
                    # littlefs turns the cut into some OSError, or code may swallow one:
                    # the device's flag says whether power was lost.
                    if not self.bdev.tripped:
                        raise
                if self.bdev.tripped:
                    self._power_cut()
                    a = None
                    t = w.now + OUTAGE_MS
                    w.advance(t, dark=True)
            self.final = self._read_all(a.journal)
            self.energy = (1000, w.register_wh)
        finally:
            try:
                vfs.umount(MNT)
            except OSError:
                pass
        return self

    def _power_cut(self):
        # Everything in RAM is gone: move the flash to a fresh device (the old littlefs
        # object may still flush from a finaliser) and let it boot again.
        self.cuts += 1
        a = self.agent
        if a is not None:
            self._settle(a.journal)
        self.held = {}  # still in RAM only: lost with the power
        if a is not None and a.journal._f is not None:
            # Closed now, while every write fails, so no finaliser tries it later.
            try:
                a.journal._f.close()
            except OSError:
                pass
        self.bdev.fail_after = None
        try:
            vfs.umount(MNT)
        except OSError:
            pass
        self.bdev = reborn(self.bdev)

    def _read_all(self, j):
        out = {}
        j.read_after(0, lambda seq, t, p: out.__setitem__(seq, (t, bytes(p))) or True)
        return out


def check(r):
    """The invariants of issue 4 on a finished Run; returns a list of failures."""
    bad = []
    recs = dict(r.backend)
    for seq, v in r.final.items():
        if seq in recs and recs[seq] != v:
            bad.append("seq %d has two different records" % seq)
        recs[seq] = v
    # Every record whose append returned is still there (nothing thinned here).
    for seq, v in r.committed.items():
        if recs.get(seq) != v:
            bad.append("committed record %d lost or changed" % seq)
    c = r.agent.codec
    dec = {seq: c.decode(t, p, seq) for seq, (t, p) in recs.items()}
    top = max(dec) if dec else 0
    covered = set()
    for d in dec.values():
        if d["type"] == "gap":
            covered.update(range(d["first"], d["last"] + 1))
    for s in range(1, top + 1):
        if s not in dec and s not in covered:
            bad.append("seq %d missing, no gap record" % s)
    starts = [d["sid"] for d in dec.values() if d["type"] == "session_start"]
    ends = [d for s, d in sorted(dec.items()) if d["type"] == "session_end"]
    sids = [d["sid"] for d in ends]
    if len(set(starts)) != len(starts) or len(set(sids)) != len(sids):
        bad.append("a session id repeats")
    if sorted(starts) != sorted(sids):
        bad.append("sessions started %s but ended %s" % (starts, sids))
    for sid in sids:
        if len(sid) > 36:
            bad.append("session id too long: " + sid)
    bad += _check_bills(r, dec, ends)
    m0, m1 = r.energy
    prev = m0
    prev_reason = None
    total = 0
    for d in sorted(ends, key=lambda d: d["meter_start_wh"]):
        a, b = d["meter_start_wh"], d["meter_stop_wh"]
        if d["energy_wh"] != b - a or b < a:
            bad.append("session %s energy %d != %d - %d" % (d["sid"], d["energy_wh"], b, a))
        if a < prev:
            bad.append("session %s overlaps the one before: counted twice" % d["sid"])
        outside = a - prev
        if outside and prev_reason != "PowerLoss":
            bad.append("%d Wh before %s outside any session" % (outside, d["sid"]))
        total += b - a
        prev = b
        prev_reason = d["stop_reason"]
    if total + (m1 - prev) + _outside_between(ends, m0) != m1 - m0:
        bad.append("session energy + outside != meter delta")
    if m1 - prev and (not ends or ends[-1]["stop_reason"] != "PowerLoss"):
        bad.append("%d Wh after the last session unaccounted" % (m1 - prev))
    return bad


def _outside_between(ends, m0):
    prev = m0
    out = 0
    for d in sorted(ends, key=lambda d: d["meter_start_wh"]):
        out += d["meter_start_wh"] - prev
        prev = d["meter_stop_wh"]
    return out


def _tariffs(r):
    return {"config": Tariff.from_config(r.cfg), TARIFF2["id"]: Tariff.from_dict(TARIFF2)}


def _check_bills(r, dec, ends):
    """Each session's cost is what the tariff engine makes of its energy, split where its
    tariff_change records say, however often it was interrupted. Its signature is checked
    by the backend's own verifier, host-side: tests/host/test_powercut_billing.py."""
    bad = []
    tariffs = _tariffs(r)
    for e in ends:
        sid = e["sid"]
        start = [d for d in dec.values() if d["type"] == "session_start" and d["sid"] == sid]
        if not start:
            continue  # reported above
        t0 = tariffs[start[0]["tariff"][0]]
        cuts = [(e["meter_start_wh"], t0)]
        for seq in sorted(dec):
            d = dec[seq]
            if d["type"] == "tariff_change" and d["sid"] == sid:
                cuts.append((d["energy_wh"], tariffs[d["tariff"]["id"]]))
        cuts.append((e["meter_stop_wh"], None))
        units = t0.start_fee * FEE_FACTOR
        for i in range(len(cuts) - 1):
            units += (cuts[i + 1][0] - cuts[i][0]) * cuts[i][1].energy_price(None, None)[0] * WH_FACTOR
        want = totals(units, t0.vat_bp, t0.min, t0.max)[0]
        if e["cost_minor"] != want:
            bad.append("session %s cost %d, the tariff engine says %d" % (sid, e["cost_minor"], want))
        if e["tariffs"] != [[t.id, t.version] for t in _unique([c[1] for c in cuts[:-1]])]:
            bad.append("session %s tariffs %s" % (sid, e["tariffs"]))
    return bad


def _unique(ts):
    out = []
    for t in ts:
        if t not in out:
            out.append(t)
    return out
