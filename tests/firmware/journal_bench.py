# Journal figures for `make bench` (host_tools/bench/areas/journal.py runs this under the
# unix-port micropython and reads the JSON line it prints). Everything is counted on
# the RAM block device littlefs runs on: bytes programmed, erases per block.
import gc
import json
import os
import sys
import time
import vfs

from ramblock import RAMBlockDev
from laddvakt.core import config
from laddvakt.core import ident as identity
from laddvakt.app.agent import Agent
from laddvakt.journal.store import Journal
from laddvakt_unix.sim.ev import SimStation

MNT = "/jb"
STEP_MS = 300_000
# Free heap kept in front of a RAM flash (_ram_flash): set by main(), for the bench's own
# runs; a test importing Site keeps its heap as it is.
ROOM = 0


def _ram_flash(blocks):
    """The bytes of a RAM flash of `blocks` blocks, placed behind ROOM bytes of free heap
    (None without ROOM: the device allocates its own). Profiled (perf on the unix port):
    with a large bytearray early in the heap, the allocator scanned across it for most
    allocations (gc_alloc took 97 % of the boot recovery run); that slows the harness,
    not littlefs."""
    if not ROOM:
        return None
    gc.collect()
    room = bytearray(ROOM)
    data = bytearray(blocks * RAMBlockDev.ERASE_BLOCK_SIZE)
    room = None  # noqa: F841 (freed: the hole in front of the flash)
    gc.collect()
    # Collect before the garbage outgrows the hole, so allocations stay in front.
    gc.threshold(ROOM // 4)
    return data


class _Hal:
    bench = False

    def __init__(self, d):
        self.data_dir = d

    def urandom(self, n):
        return os.urandom(n)


class _Time:
    def __init__(self, w):
        self.w = w

    def unix_s(self, up_ms):
        return 1763700000 + self.w[0] // 1000


class Site:
    """One charger on a fresh littlefs of `blocks` 4096-byte blocks; visits is a list of
    (arrive_s, leave_s); `online` delivers every record at once (a live uplink)."""

    def __init__(self, blocks, cfg, visits, online, step_ms=STEP_MS):
        self.step_ms = step_ms
        self.bdev = RAMBlockDev(blocks, data=_ram_flash(blocks))
        vfs.VfsLfs2.mkfs(self.bdev)
        vfs.mount(vfs.VfsLfs2(self.bdev), MNT)
        os.mkdir(MNT + "/data")
        self.now = [0]
        vs = [{"arrive_s": a, "leave_s": b, "need_wh": 10**6, "max_w": 7400} for a, b in visits]
        self.plant = SimStation({"visits": vs})
        # One settled pilot sample is enough at these coarse steps (as the control tests' rig).
        c = {"pilot_debounce": 1}
        c.update(cfg)
        self.cfg = config.merged(c)
        self.online = online
        self.visits = visits
        self.agent = self._boot()

    def _boot(self):
        d = MNT + "/data"
        ident = identity.load_and_count_boot(d + "/ident.json", os.urandom)
        j = Journal(d + "/journal", self.cfg["journal_segment_bytes"], self.cfg["journal_max_bytes"]).open()
        a = Agent(_Hal(d), self.cfg, {"name": "bench"}, ident, j, meter=self.plant, pilot=self.plant,
                  time_source=_Time(self.now))
        a.start()
        return a

    def run_until(self, ms):
        a = self.agent
        j = a.journal
        t = self.now[0]
        while t < ms:
            t += self.step_ms
            self.now[0] = t
            self.plant.step(t)
            a.step(t)
            if self.online and j.pending():
                j.set_delivered(j.seq)  # a live uplink: acknowledged at once

    def close(self):
        self.agent.journal.close()
        vfs.umount(MNT)


def flash_per_session():
    # A 2 h session with 15-minute meter values, online, on a journal with history.
    cfg = {"meter_value_interval_s": 900}
    visits = [(3600 + i * 10800, 3600 + i * 10800 + 7200) for i in range(6)]
    s = Site(256, cfg, visits, True)
    s.run_until(visits[2][0] * 1000 - STEP_MS)  # two sessions first: not a blank flash
    b0 = s.bdev.prog_bytes
    n = 3
    s.run_until(visits[2 + n][0] * 1000 - STEP_MS)
    per = (s.bdev.prog_bytes - b0) // n
    s.close()
    return per


def recovery_ms(ns, history=10100):
    # Boot recovery with n pending records, for each n in ns: open the journal (checkpoint
    # + tail). Every figure comes from the same journal of `history` records, all but n
    # delivered: littlefs' metadata logs fill with use and a lookup reads them, so a
    # freshly formatted filesystem answers about twice as fast as a used one whatever
    # the backlog; the same history isolates the backlog. The journal is written once and
    # its flash copied for each n (writing 10,100 records is most of the run). Each merge
    # of about 1 KiB is a segment with a block of its own: 10,100 records of ~200 bytes
    # take ~2000 blocks.
    blocks = 3072
    bdev = RAMBlockDev(blocks, data=_ram_flash(blocks))
    vfs.VfsLfs2.mkfs(bdev)
    vfs.mount(vfs.VfsLfs2(bdev), MNT)
    j = Journal(MNT + "/j", 16384, 8 << 20).open()
    p = b'{"type": "meter", "t": 1763700000, "tq": "synced", "boot": 1, "up": 900000, "sid": "5f0c2a9e81d3-00000001", "energy_wh": 123456, "power_w": 7400, "ctx": "Sample.Periodic"}'
    for _ in range(history):
        j.append(3, p)
    j.close()
    vfs.umount(MNT)
    written = bytes(bdev.data)
    out = []
    for n in ns:
        bdev.data[:] = written
        vfs.mount(vfs.VfsLfs2(bdev), MNT)
        j = Journal(MNT + "/j", 16384, 8 << 20).open()
        j.set_delivered(history - n)
        j.close()
        vfs.umount(MNT)
        best = None
        for _ in range(9):
            vfs.mount(vfs.VfsLfs2(bdev), MNT)
            gc.collect()
            t0 = time.ticks_us()
            j = Journal(MNT + "/j", 16384, 8 << 20).open()
            dt = time.ticks_diff(time.ticks_us(), t0)
            assert j.seq == history and j.pending() == n
            j.close()
            vfs.umount(MNT)
            best = dt if best is None else min(best, dt)
        out.append(best / 1000)
    return out


def capacity_1mib(kib=930):
    # Pending (undelivered) sessions that fit a 1 MiB filesystem: the agent runs 2 h
    # sessions with 15-minute values offline until the journal is full even after
    # thinning; the limit leaves littlefs 94 KiB: its directories' metadata pairs (12 blocks
    # here) and room for thinning's temporary file (docs/journal.md, Capacity).
    # About 11 sessions fit per KiB of limit (measured); visits for 16 per KiB, no more: the
    # simulated station scans its visit list at every step (profiled: with 100,000 visits
    # that scan took most of the run).
    cfg = {"meter_value_interval_s": 900, "journal_max_bytes": kib * 1024}
    n = kib * 16 + 64
    visits = [(600 + i * 9000, 600 + i * 9000 + 7200) for i in range(n)]
    s = Site(256, cfg, visits, False, 900_000)
    a = s.agent
    t = 0
    while not a.guard.full:
        if a.sessions >= n - 1:
            raise RuntimeError("the journal took all %d sessions without filling" % n)
        t += 9000 * 1000
        s.run_until(t)
    n = a.sessions
    s.close()
    return n


def erases_per_year(days):
    # 20 sessions a day (45 min each, 15-minute values), a live uplink, a 1 MiB vfs.
    cfg = {"meter_value_interval_s": 900}
    visits = []
    for d in range(days):
        for i in range(20):
            a = d * 86400 + 1800 + i * 4200
            visits.append((a, a + 2700))  # 45 min, then 25 min free
    s = Site(256, cfg, visits, True, 900_000)
    s.run_until(days * 86400 * 1000)
    worst = max(s.bdev.erases)
    total = sum(s.bdev.erases)
    sessions = s.agent.sessions
    s.close()
    return worst, total, sessions


def sweep():
    # The power-cut sweep of test_powercut_agent.py, plain and torn: every cut point.
    import agent_scenario as sc

    points = failures = 0
    for torn in (False, True):
        total = sc.Run().play().bdev.writes
        for k in range(total):
            gc.collect()
            r = sc.Run(cut=k, torn=torn).play()
            points += 1
            if r.cuts != 1 or sc.check(r):
                failures += 1
    return points, failures


def main(what):
    global ROOM
    ROOM = 1 << 20
    out = {}
    if "sweep" in what:
        out["powercut_points_tested"], out["powercut_failures"] = sweep()
    if "flash" in what:
        out["flash_bytes_per_session"] = flash_per_session()
    if "recovery" in what:
        a, b = recovery_ms((100, 10000))
        out["boot_recovery_ms_100"] = round(a, 2)
        out["boot_recovery_ms_10k"] = round(b, 2)
        out["boot_recovery_ratio_10k_vs_100"] = round(b / a, 2)
    if "capacity" in what:
        out["journal_sessions_capacity_1mib"] = capacity_1mib(int(what.get("kib", 930)))
    if "erases" in what:
        days = int(what.get("days", 365))
        worst, total, sessions = erases_per_year(days)
        out["max_block_erases_per_year"] = worst * 365 // days
        out["block_erases_simulated_days"] = days
        out["sessions_simulated"] = sessions
    print("journal-bench " + json.dumps(out))


if __name__ == "__main__":
    args = {}
    for a in sys.argv[1:]:
        k, _, v = a.partition("=")
        args[k] = v or "1"
    main(args)
