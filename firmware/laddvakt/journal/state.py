# The journal's state file: the delivery cursor and the checkpoint (newest segment, offset
# and seq of its data known good, flash used) and the seq mark, one line of integers; and the
# two mark files that hold the mark again. docs/journal.md.
from laddvakt.journal.layout import MARKS, STATE


def _put(path, text):
    # Rewritten in place: littlefs commits the new content at close, atomically (old or
    # new, never torn).
    with open(path, "w") as f:
        f.write(text)


def save(path, delivered, seg, off, seq, used, mark):
    # The mark is written twice: a copy whose two numbers differ was damaged and is ignored.
    _put(path + "/" + STATE, "%d %d %d %d %d %d %d" % (delivered, seg, off, seq, used, mark, mark))


def _ints(path):
    try:
        with open(path) as f:
            return [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        return []


def load(path):
    """(delivered, segment, offset, seq, used, mark) of the state file in path; (delivered, 0,
    0, 0, -1, mark) without a checkpoint, delivered 0 without a file, mark 0 without a sound
    copy (two equal numbers) in it."""
    v = _ints(path + "/" + STATE)
    delivered = v[0] if v else 0
    mark = v[5] if len(v) == 7 and v[5] == v[6] else 0
    if len(v) in (5, 7):
        return delivered, v[1], v[2], v[3], v[4], mark
    return delivered, 0, 0, 0, -1, mark


def save_marks(path, mark):
    """Write the seq mark into both mark files (the state file holds a third copy)."""
    for n in MARKS:
        _put(path + "/" + n, "%d %d" % (mark, mark))


def load_marks(path):
    """The highest sound mark of the two mark files (0: none)."""
    best = 0
    for n in MARKS:
        v = _ints(path + "/" + n)
        if len(v) == 2 and v[0] == v[1] and v[0] > best:
            best = v[0]
    return best
