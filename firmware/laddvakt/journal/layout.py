# Where the journal's files are and what they cost on flash: their names (part of the
# on-flash format, docs/journal.md) and the littlefs blocks a closed file takes. Then the
# state file: the delivery cursor and the checkpoint (newest segment, offset and seq of its
# data known good, flash used) and the seq mark, one line of integers; and the two mark files
# that hold the mark again.
from micropython import const

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
    for n in ("mark.a", "mark.b"):
        m = _ints(path + "/" + n)
        if len(m) == 2 and m[0] == m[1] and m[0] > mark:
            mark = m[0]
    if len(v) in (5, 7):
        return delivered, v[1], v[2], v[3], v[4], mark
    return delivered, 0, 0, 0, -1, mark


def save_marks(path, mark):
    """Write the seq mark into both mark files, its own copies (the state file holds a third):
    docs/journal.md, Seq marks."""
    for n in ("mark.a", "mark.b"):
        _put(path + "/" + n, "%d %d" % (mark, mark))
