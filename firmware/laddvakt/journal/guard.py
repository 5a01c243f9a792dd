# The journal's capacity policy, run once per sample: report corrupt ranges, thin
# periodic meter values when over the size limit, raise or clear the journal_full
# fault, and tell the control layer whether to suspend charging. docs/journal.md.
from laddvakt.journal import frame as jf
from laddvakt.core.config import ConfigError
from laddvakt.journal.records import gap


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
        if self.policy not in ("keep_charging", "suspend"):
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
