# Where the journal's files are and what they cost on flash: their names (part of the
# on-flash format, docs/journal.md) and the littlefs blocks a closed file takes.
from micropython import const

STATE = "cursor"
# The seq mark's own copies (the state file holds the third): docs/journal.md, Seq marks.
MARKS = ("mark.a", "mark.b")
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


def seg_name(first_seq):
    return "%010d%s" % (first_seq, SUFFIX)


def slot_name(first_seq):
    return "%010d%s" % (first_seq, SLOT)
