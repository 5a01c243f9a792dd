# Where the journal's files are and what they cost on flash: their names (part of the
# on-flash format, docs/journal.md) and the littlefs blocks a closed file takes. Then the
# state file: the delivery cursor and the checkpoint (newest segment, offset and seq of its
# data known good, flash used) and the seq mark, one line of integers; and the two mark files
# that hold the mark again. Last, the journal's capacity policy (JournalGuard), run once per
# sample: report corrupt ranges, thin periodic meter values when over the size limit, raise or
# clear the journal_full fault, and tell the control layer whether to suspend charging.
from micropython import const

from laddvakt.core.config import ConfigError
from laddvakt.journal import frame as jf
from laddvakt.journal.records import gap

SUFFIX = ".jl"
THIN = ".jt"  # a segment already thinned: never thinned twice, even across boots
SLOT = ".jc"  # a commit file: records committed since the last merge

_BLOCK = const(4096)  # littlefs block on the ESP32 vfs partition
_META = const(256)  # littlefs metadata per file in a big directory: measured ~1 block per 16 files


def blocks(n):
    """Flash a closed file of n bytes takes: whole blocks (after the first, each block of a
    littlefs file starts with ctz(i) + 1 pointers of 4 bytes) plus its metadata."""
    b = 0
    room = 0
    while room < n:
        z = 0
        while b and not (b >> z) & 1:
            z += 1
        room += _BLOCK - (4 * (z + 1) if b else 0)
        b += 1
    return b * _BLOCK + _META


def seg_name(first):
    return "%010d%s" % (first, SUFFIX)


def slot_name(first):
    return "%010d%s" % (first, SLOT)


def _put(path, text):
    # Rewritten in place: littlefs commits the new content at close, atomically (old or
    # new, never torn).
    with open(path, "w") as f:
        f.write(text)


def save(path, delivered, seg, off, seq, used, mark):
    # The mark is written twice: a copy whose two numbers differ was damaged and is ignored.
    _put(path + "/cursor", "%d %d %d %d %d %d %d" % (delivered, seg, off, seq, used, mark, mark))


def _ints(path):
    try:
        with open(path) as f:
            return [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        return []


def load(path):
    """(delivered, segment, offset, seq, used, mark) of the state file in path; (delivered, 0,
    0, 0, -1, mark) without a checkpoint, delivered 0 without a file. mark: the highest sound
    copy (two equal numbers) of the state file's and the two mark files', 0 without one."""
    v = _ints(path + "/cursor")
    delivered = v[0] if v else 0
    mark = v[5] if len(v) == 7 and v[5] == v[6] else 0
    for n in "ab":  # mark.a, mark.b (a loop over a text: a tuple of names is an object in RAM)
        m = _ints(path + "/mark." + n)
        if len(m) == 2 and m[0] == m[1] and m[0] > mark:
            mark = m[0]
    if len(v) == 5 or len(v) == 7:
        return delivered, v[1], v[2], v[3], v[4], mark
    return delivered, 0, 0, 0, -1, mark


def save_marks(path, mark):
    """Write the seq mark into both mark files, its own copies (the state file holds a third):
    docs/journal.md, Seq marks."""
    for n in "ab":
        _put(path + "/mark." + n, "%d %d" % (mark, mark))


class JournalGuard:
    """journal: the Journal it keeps in bounds; log(rtype, record) journals its gap records;
    set_fault(code, on, info) raises and clears journal_full; clock and ident date the
    records; policy: config on_journal_full."""

    def __init__(self, journal, log, set_fault, clock, ident, policy):
        self.journal = journal
        self.log = log
        self.set_fault = set_fault
        self.clock = clock
        self.ident = ident
        self.policy = policy
        if policy != "keep_charging" and policy != "suspend":
            raise ConfigError("key 'on_journal_full' must be keep_charging or suspend")
        self.skipped_meter = 0  # periodic meter values not journaled while full
        # Latched: raised when nothing is left to delete or thin, cleared only once the
        # journal is back under its limit (delivery freed space), so it does not flap
        # at every segment rotation.
        self.full = False
        self._reported = []

    @property
    def suspend(self):
        """True while the journal is full and the site chose to stop charging then.
        The control layer reads this; it owns the contactor."""
        return self.policy == "suspend" and self.full

    def suspended(self):
        """Controller.suspend_check, asked while InternalError is active: for the journal's
        own (full) the policy decides; someone else's InternalError pauses as control says."""
        return self.policy == "suspend" or not self.full

    def keep_periodic(self):
        """Whether a periodic meter value may be journaled now (not while full)."""
        if self.full:
            self.skipped_meter += 1
            return False
        return True

    def step(self, up_ms):
        j = self.journal
        while j.gaps:
            r = j.gaps.pop(0)
            if r not in self._reported:
                self._reported.append(r)
                why = r[2] if len(r) > 2 else "corrupt"  # "reserved": the seq mark's skip
                self.log(jf.TYPE_GAP, gap(self.clock, up_ms, self.ident, r[0], r[1], why))
        j.make_room()
        c = j.thin_candidate()
        if c is not None:
            # Report first, then drop: a cut in between over-reports, never hides a gap.
            self.log(jf.TYPE_GAP, gap(self.clock, up_ms, self.ident, c[0], c[1], "thinned"))
            j.thin(c[0], c[1])
        was = self.full
        if j.full:
            self.full = True
        elif j.bytes_used() <= j.max_bytes:
            self.full = False
        if self.full != was:
            # Only our own edges: another part may raise InternalError for its own reasons.
            self.set_fault("InternalError", self.full, "journal_full")
