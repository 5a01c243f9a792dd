# The journal's state file: the delivery cursor and the checkpoint (newest segment, offset
# and seq of its data known good, flash used), one line of 5 integers. docs/journal.md.
from laddvakt.journal.layout import STATE


def save(path, delivered, seg, off, seq, used):
    # Rewritten in place: littlefs commits the new content at close, atomically (old or
    # new, never torn).
    with open(path + "/" + STATE, "w") as f:
        f.write("%d %d %d %d %d" % (delivered, seg, off, seq, used))


def load(path):
    """(delivered, segment, offset, seq, used) of the state file in path; (delivered, 0, 0,
    0, -1) without a checkpoint, and delivered 0 without a file."""
    try:
        with open(path + "/" + STATE) as f:
            v = [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        v = []
    delivered = v[0] if v else 0
    if len(v) == 5:
        return delivered, v[1], v[2], v[3], v[4]
    return delivered, 0, 0, 0, -1
