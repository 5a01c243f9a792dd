"""Property (issue 17 item 3): whatever damage a journal's files take (bytes flipped or
overwritten, files truncated, zeroed or deleted, commit files and old segments included), the
firmware's recovery (run under micropython, littlefs on a RAM block device) does not crash,
never reuses or renumbers a seq, and every seq after the delivery cursor is either read back
intact or inside a reported gap. `make bench` (area robust) counts the unreported seqs."""
import json
import os

from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from host_tools.repo import ROOT
from tests.host.mp_driver import Driver

FW_TESTS = os.path.join(ROOT, "tests", "firmware")
EXAMPLES = int(os.environ.get("LADDVAKT_CORRUPTION_EXAMPLES", "60"))  # the bench runs more

damage = st.tuples(st.integers(0, 1000), st.sampled_from(["flip", "byte", "truncate", "zero", "delete"]),
                   st.integers(0, 1 << 16), st.integers(0, 255))
cases = st.fixed_dictionaries({
    "n": st.integers(1, 120),
    "seg": st.sampled_from([1024, 2048, 4096]),
    "merge": st.sampled_from([0, 256, 1024]),
    "sizes": st.lists(st.integers(0, 200), min_size=1, max_size=4),
    "commit": st.lists(st.booleans(), min_size=1, max_size=3),
    "delivered": st.integers(0, 120),
    "damage": st.lists(damage, min_size=1, max_size=3),
})


def blind(r):
    """Damage that leaves no trace in the records themselves: the newest records' only copy
    removed cleanly (the newest commit file deleted or truncated), or any file damaged together
    with the state file that holds the checkpoint. Only the seq mark (docs/journal.md, Seq
    marks) keeps their seqs from being handed out again; such trials are counted, not exempt."""
    cut = [p for p, kind in r["damaged"] if kind in ("delete", "truncate")]
    if r["newest_commit"] in cut:
        return True
    return any(p == "cursor" for p, _ in r["damaged"]) and any(p != "cursor" for p, _ in r["damaged"])


def check(c, r):
    """Seqs lost with no gap naming them (the figure), after asserting the other invariants:
    no crash, no seq out of order, repeated or renumbered, and, in every trial, no new record
    on a seq the journal had before the damage."""
    assert "crash" not in r, r
    n = r["n"]
    delivered = min(c["delivered"], n)
    seqs = [s for s, _ in r["recs"]]
    assert seqs == sorted(set(seqs)), "seqs out of order or repeated: %s" % seqs
    for s, named in r["recs"]:
        if s <= n:
            assert named == s, "seq %d holds the record of seq %s: renumbered" % (s, named)
    gaps = r["gaps"]
    assert min(r["new"]) > n, "a new record reuses a seq: %s after %d" % (r["new"], n)
    assert r["read_new"] == r["new"], r
    read = set(seqs)
    return sum(1 for s in range(delivered + 1, n + 1)
               if s not in read and not any(a <= s <= b for a, b in gaps))


def _driver():
    return Driver("mp_journal_corrupt.py", paths=(FW_TESTS,))


def test_every_damaged_seq_is_delivered_intact_or_reported():
    d = _driver()
    try:
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(cases)
        def prop(c):
            r = d.ask(c)
            # The RAM filesystem full while the case writes or damages its files (before any
            # recovery runs): the harness could not build this case; nothing under test ran.
            assume("setup" not in r or "28" not in r["setup"])
            assert "setup" not in r, "the undamaged journal could not be written: %s" % r["setup"]
            event("blind" if blind(r) else "seen")
            lost = check(c, r)
            assert lost == 0, "%d seqs lost with no gap: %s" % (lost, json.dumps(r)[:2000])

        prop()
    finally:
        d.close()
