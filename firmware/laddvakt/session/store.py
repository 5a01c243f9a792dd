# The open session on flash: one small file, replaced in place, with the session, its last
# persisted meter value and its billing state; at a session's start or end it also holds the
# record announced, with the seq that record will get. What is done with it after a reset is
# continuity.py's (docs/journal.md, Session continuity).
import hashlib
import json
import os
from binascii import hexlify, unhexlify
from micropython import const

from laddvakt.billing.sign import Sink
from laddvakt.core.clock import session_id

# The head line, rewritten at every meter value: the session, its last persisted meter value,
# and the billing state that moves sample by sample (SessionCost: charge state, charged, idle
# stretch, charging and idle ms, open line's Wh, price and until). `g` names the file that
# holds the rest of the billing state (segments, lines, tariffs, signed readings), which
# changes only at a tariff change or a price edge and is then written under a new name.
# continuity.py maps the billing fields (cs...un) to and from Pricing's state.
_FIELDS = const(("seq0", "st", "stq", "m0", "m", "d", "b", "u", "t", "g",
                 "cs", "ch", "sr", "cm", "im", "lw", "pr", "un"))


def _enc(v):
    # Integers in base 36 (a Unix time takes 6 characters, not 10): the head stays inline.
    if v is None:
        return "~"
    if v is True or v is False:
        return "1" if v else "0"
    if type(v) is str:
        return v[0]  # the start time quality: s(ynced) or u(nsynced)
    if v < 0:
        return "-" + _enc(-v)
    out = ""
    while True:
        v, r = divmod(v, 36)
        out = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + out
        if not v:
            return out


class SessionStore:
    """One small file: a line of space-separated fields (short enough for littlefs to keep
    inline in its metadata, so a save programs about 100 bytes, not a block), then, at a
    session's start or end, the journal payload of the record announced (in hex). Beside it `<path>.<g>`: the
    billing state that changes rarely (JSON), written before the head that names it, so a
    cut leaves the head naming a complete one."""

    def __init__(self, path, install):
        self.path = path
        self.install = install
        self.g = 0  # the generation of the rare part's file, <path>.<g> (the head's field g)
        self.digest = None  # SHA-256 of the text of file g: the text itself stays on flash

    def load(self):
        try:
            with open(self.path) as f:
                text = f.read()
            head, _, rec = text.partition("\n")
            v = head.split(" ", len(_FIELDS) + 1)
            if v[0] == "E":
                d = {"sid": "", "end": int(v[1])}
            elif v[0] == "O" and len(v) == len(_FIELDS) + 2:
                # "~" is None; stq's s(ynced) or u(nsynced); the rest are integers in base 36.
                d = {k: None if x == "~" else ("synced" if x == "s" else "unsynced") if k == "stq"
                     else int(x, 36) for k, x in zip(_FIELDS, v[1:])}
                d["tag"] = None if v[-1] == "-" else v[-1][1:]
                d["sid"] = session_id(self.install, d["seq0"])
                with open("%s.%d" % (self.path, d["g"])) as f:
                    rare = f.read()
                self.g = d["g"]
                self.digest = hashlib.sha256(rare).digest()
                d["bill"] = json.loads(rare)
            else:
                return None
            if rec:
                # Hex of the compact payload; JSON text from firmware before the codec.
                d["rec"] = rec.encode() if rec[0] == "{" else unhexlify(rec)
            return d
        except (OSError, ValueError, IndexError, KeyError):
            return None

    def save(self, d, bill=None):
        """d: the head fields; bill: the rarely changing billing state (JSON-able), written
        to a new file only when it differs from the last one."""
        if "end" in d:
            kind, parts = "E", [str(d["end"])]
        else:
            # Hashed as it is written, and written only when it changed: its text, made at
            # every meter value, was a kilobyte's block at a time (docs/bench.md, heap).
            w = Sink(hashlib.sha256())
            json.dump(bill, w)
            h = w.h.digest()
            if h != self.digest:
                g = self.g + 1
                with open("%s.%d" % (self.path, g), "w") as f:
                    json.dump(bill, f)
                self._drop(g - 2)
                self.g = g
                self.digest = h
            d["g"] = self.g
            tag = d["tag"]
            # The fields' texts and the tag's in a list of their number (joined from a
            # generator, the list grew to 32 slots, 256 bytes), all made before the file is
            # opened, then written one by one: no line of them is made whole (two 200-byte
            # blocks, the line and its format, were what a tight heap had no room for at a
            # meter value).
            kind, parts = "O", [None] * (len(_FIELDS) + 1)
            for i in range(len(_FIELDS)):
                parts[i] = _enc(d[_FIELDS[i]])
            parts[-1] = "-" if tag is None else "=" + tag
        # Written in place: littlefs commits a file's new content at close, in one atomic
        # metadata commit (the old content stays until then), which costs under half of
        # a temporary file and a rename. The power-cut sweep checks it. The record is its
        # journal payload (compact, journal/codec.py) in hex, so the file stays text.
        with open(self.path, "w") as f:
            f.write(kind)
            for p in parts:
                f.write(" ")
                f.write(p)
            if "rec" in d:
                f.write("\n")
                # In pieces: a session's end record is up to a kilobyte, and its hex text in one
                # block (twice: bytes, then str) was the block a tight heap had no room for.
                rec = memoryview(d["rec"])
                for i in range(0, len(rec), 128):
                    f.write(hexlify(rec[i:i + 128]).decode())
        if "end" not in d:
            self._drop(self.g - 1)  # the head names g now

    def _drop(self, g):
        if g > 0:
            try:
                os.remove("%s.%d" % (self.path, g))
            except OSError:
                pass

    def clear(self):
        try:
            os.remove(self.path)
        except OSError:
            pass
        for g in (self.g - 1, self.g, self.g + 1):
            self._drop(g)
        self.g = 0  # the generation of the rare part's file, <path>.<g> (the head's field g)
        self.digest = None
