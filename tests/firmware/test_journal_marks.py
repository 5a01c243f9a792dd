# The journal's seq mark (docs/journal.md, Seq marks): the newest records lost without a trace
# never give their seqs to new records; the mark's three copies, the skip a boot reports, and
# the clean close that skips nothing.
import os

from fwtest import run
from ramblock import on_fresh
from laddvakt.journal import frame as jf
from laddvakt.journal.store import Journal

D = "/jm/j"


ram = on_fresh("/jm")


def pay(seq):
    return b"p%023d" % seq


def seqs(j, after=0):
    got = []
    j.read_after(after, lambda seq, t, p: got.append(seq) or True)
    return got


def cut(j):
    # Power lost: nothing more is written (no close, no final checkpoint).
    j._f.close()


def _read(path):
    with open(path) as f:
        return f.read()


def fill(j, n):
    return [j.append(jf.TYPE_METER, pay(j.seq + 1)) for _ in range(n)]


@ram
def test_the_mark_is_on_flash_in_three_copies_before_a_seq_passes_it():
    j = Journal(D, 16384, 1 << 20).open()
    assert j.mark == 0
    fill(j, 1)
    assert j.mark == 128
    for n in ("mark.a", "mark.b"):
        assert _read(D + "/" + n) == "128 128", n
    assert _read(D + "/cursor").split()[5:] == ["128", "128"]
    fill(j, 127)
    assert j.mark == 128  # seqs 2..128 write no mark
    fill(j, 1)
    assert j.mark == 256 and _read(D + "/mark.b") == "256 256"
    cut(j)


@ram
def test_newest_commit_file_deleted_its_seqs_are_skipped_and_reported():
    j = Journal(D, 16384, 1 << 20).open()
    fill(j, 10)
    cut(j)
    newest = sorted(os.listdir(D + "/c"))[-1]
    os.remove(D + "/c/" + newest)  # the newest records' only copy, gone without a trace
    j = Journal(D, 16384, 1 << 20).open()
    last = max(seqs(j))
    assert last < 10
    assert j.seq == 128 and j.committed == last
    assert (last + 1, 128, "reserved") in j.gaps, j.gaps
    assert fill(j, 1) == [129]
    cut(j)
    # The next boot reads the first skip inside a file (no hole, no second report of it) and
    # skips the rest of the mark's new block, as after any cut.
    j = Journal(D, 16384, 1 << 20).open()
    assert seqs(j)[-2:] == [last, 129] and j.gaps == [(130, 256, "reserved")], j.gaps
    cut(j)


@ram
def test_any_two_copies_of_the_mark_lost_the_third_keeps_it():
    for lost in (("mark.a", "mark.b"), ("mark.a", "cursor"), ("mark.b", "cursor")):
        for n in os.listdir(D) if _exists(D) else ():
            _rm_tree(D + "/" + n)
        j = Journal(D, 16384, 1 << 20).open()
        fill(j, 5)
        cut(j)
        for n in lost:
            os.remove(D + "/" + n)
        newest = sorted(os.listdir(D + "/c"))[-1]
        os.remove(D + "/c/" + newest)
        j = Journal(D, 16384, 1 << 20).open()
        assert j.seq == 128, (lost, j.seq)
        assert fill(j, 1) == [129], lost
        cut(j)


@ram
def test_a_damaged_copy_is_ignored_not_trusted():
    j = Journal(D, 16384, 1 << 20).open()
    fill(j, 3)
    cut(j)
    with open(D + "/mark.a", "w") as f:
        f.write("999999 128")  # the two numbers differ: damaged
    with open(D + "/mark.b", "w") as f:
        f.write("12")  # cut short
    j = Journal(D, 16384, 1 << 20).open()
    assert j.seq == 128 and j.mark == 128  # from the state file's copy
    cut(j)


@ram
def test_a_clean_close_lowers_the_mark_and_a_reopen_skips_nothing():
    j = Journal(D, 16384, 1 << 20).open()
    fill(j, 7)
    j.close()
    assert _read(D + "/mark.a") == "7 7" and _read(D + "/cursor").split()[5:] == ["7", "7"]
    j = Journal(D, 16384, 1 << 20).open()
    assert j.seq == 7 and j.gaps == [] and fill(j, 1) == [8]
    assert j.mark == 128
    j.close()


@ram
def test_a_journal_from_older_firmware_gets_a_mark_at_its_first_commit():
    j = Journal(D, 16384, 1 << 20).open()
    fill(j, 4)
    j.close()
    for n in ("mark.a", "mark.b"):
        os.remove(D + "/" + n)
    with open(D + "/cursor", "w") as f:
        f.write(" ".join(_read(D + "/cursor").split()[:5]))  # the 5-field state line
    j = Journal(D, 16384, 1 << 20).open()
    assert j.seq == 4 and j.mark == 0 and j.gaps == []
    assert fill(j, 1) == [5] and j.mark == 128 and _read(D + "/mark.a") == "128 128"
    j.close()


def _exists(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False


def _rm_tree(p):
    if os.stat(p)[0] & 0x4000:
        for n in os.listdir(p):
            _rm_tree(p + "/" + n)
        os.rmdir(p)
    else:
        os.remove(p)


run(globals())
