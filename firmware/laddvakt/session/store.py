# Session continuity across reboots and power loss. The open session (id, start,
# meter start, tariff, accumulated cost, last meter value) is kept in one small file,
# replaced atomically, so that after a reset the session either goes on (EV still
# connected, meter continuous) with an Interruption.Begin/End pair, or ends with
# stop reason PowerLoss at the last persisted meter value. Rules: docs/journal.md.
#
# Every store write that announces a journal record names the seq that record will
# get; recovery compares it with the journal's seq to tell whether the record made it.
import hashlib
import json
import os
from binascii import hexlify, unhexlify

from laddvakt.journal import frame as jf
from laddvakt.journal import records
from laddvakt.billing.session_cost import IDLE
from laddvakt.session.tracker import Session
from laddvakt.core.ids import session_id

_CONNECTED = "BCD"

# The head line, rewritten at every meter value: the session, its last persisted meter value,
# and the billing state that moves sample by sample (SessionCost: charge state, charged, idle
# stretch, charging and idle ms, open line's Wh, price and until). `g` names the file that
# holds the rest of the billing state (segments, lines, tariffs, signed readings), which
# changes only at a tariff change or a price edge and is then written under a new name.
_FIELDS = ("seq0", "st", "stq", "m0", "m", "d", "b", "u", "t", "g",
           "cs", "ch", "sr", "cm", "im", "lw", "pr", "un")
_DYN = (("cs", "st"), ("ch", "charged"), ("sr", "stretch"), ("cm", "chg_ms"), ("im", "idle_ms"),
        ("lw", "line_wh"), ("pr", "price"), ("un", "until"))


_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


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
        out = _B36[r] + out
        if not v:
            return out


def _dec(k, v):
    if v == "~":
        return None
    if k == "stq":
        return "synced" if v == "s" else "unsynced"
    return int(v, 36)


class SessionStore:
    """One small file: a line of space-separated fields (short enough for littlefs to keep
    inline in its metadata, so a save programs about 100 bytes, not a block), then, at a
    session's start or end, the journal payload of the record announced (in hex). Beside it `<path>.<g>`: the
    billing state that changes rarely (JSON), written before the head that names it, so a
    cut leaves the head naming a complete one."""

    def __init__(self, path, install):
        self.path = path
        self.install = install
        self.writes = 0
        self._g = 0
        self._rare = None  # SHA-256 of the text of file g: the text itself stays on flash

    def load(self):
        try:
            with open(self.path) as f:
                text = f.read()
            head, _, rec = text.partition("\n")
            v = head.split(" ", len(_FIELDS) + 1)
            if v[0] == "E":
                d = {"sid": "", "end": int(v[1])}
            elif v[0] == "O" and len(v) == len(_FIELDS) + 2:
                d = {k: _dec(k, x) for k, x in zip(_FIELDS, v[1:])}
                d["tag"] = None if v[-1] == "-" else v[-1][1:]
                d["sid"] = session_id(self.install, d["seq0"])
                with open("%s.%d" % (self.path, d["g"])) as f:
                    rare = f.read()
                self._g = d["g"]
                self._rare = hashlib.sha256(rare).digest()
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
            text = "E %d" % d["end"]
        else:
            rare = json.dumps(bill)
            h = hashlib.sha256(rare).digest()
            if h != self._rare:
                g = self._g + 1
                with open("%s.%d" % (self.path, g), "w") as f:
                    f.write(rare)
                self._drop(g - 2)
                self._g = g
                self._rare = h
            d["g"] = self._g
            tag = d["tag"]
            text = "O %s %s" % (" ".join(_enc(d[k]) for k in _FIELDS),
                                "-" if tag is None else "=" + tag)
        # Written in place: littlefs commits a file's new content at close, in one atomic
        # metadata commit (the old content stays until then), which costs under half of
        # a temporary file and a rename. The power-cut sweep checks it. The record is its
        # journal payload (compact, record_codec.py) in hex, so the file stays text.
        with open(self.path, "w") as f:
            f.write(text)
            if "rec" in d:
                f.write("\n")
                f.write(hexlify(d["rec"]).decode())
        self.writes += 1
        if "end" not in d:
            self._drop(self._g - 1)  # the head names g now

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
        for g in (self._g - 1, self._g, self._g + 1):
            self._drop(g)
        self._g = 0
        self._rare = None


def split_bill(state):
    """Pricing.session_state() -> (head fields, rare part)."""
    cost = dict(state["cost"])
    head = {}
    for k, ck in _DYN:
        head[k] = cost.pop(ck)
    for k in ("last_wh", "last_up"):
        del cost[k]  # the head's m; and uptime restarts at a boot
    rare = {"c": cost, "sg": state["signed"], "sp": state["start_price"]}
    return head, rare


def join_bill(st, up_ms):
    """The saved head and rare part -> a Pricing.session_state() that goes on at uptime up_ms
    from the last persisted meter value."""
    rare = st["bill"]
    cost = dict(rare["c"])
    for k, ck in _DYN:
        cost[ck] = st[k]
    cost["charged"] = bool(cost["charged"])
    cost["last_wh"] = st["m"]
    cost["last_up"] = up_ms
    return {"cost": cost, "signed": rare["sg"], "start_price": rare["sp"]}


def _at(d, st):
    # A record about a moment of an earlier boot: stamp it with that boot's time.
    d["t"] = st["t"]
    d["tq"] = "synced" if st["t"] is not None else "unsynced"
    d["boot"] = st["b"]
    d["up"] = st["u"]
    return d


class Continuity:
    """Keeps the store in step with the tracker and the open session's pricing; the Agent
    calls it at each session event."""

    def __init__(self, store, agent):
        self.store = store
        self.a = agent
        self.saved = store.load()  # the state found at boot, until resolved
        self.resumed = 0
        self.powerloss = 0
        self._st = None  # the state last written

    # ---- the tracker's events ---------------------------------------------------
    def opened(self, s, payload):
        """After Pricing.open, before the start record: on flash with the record's payload."""
        st = {"sid": s.sid, "seq0": self.a.journal.seq + 1, "st": s.start_t, "stq": s.start_tq,
              "m0": s.meter_start_wh, "tag": s.id_tag}
        self._st = st
        st["rec"] = payload  # the start record, in case the cut comes before it is journaled
        self._save(s, s.meter_start_wh, s.start_up)
        del st["rec"]

    def progress(self, s, energy_wh, up_ms, tc=None):
        """Persist the last meter value and the pricing state booked up to it; called with
        each periodic meter value, at a price or charge-state edge, and at a tariff change
        (tc: the tariff_change record it announces)."""
        st = self._st
        if st is None or st["sid"] != s.sid:
            return
        self._save(s, energy_wh, up_ms, tc)

    def _save(self, s, energy_wh, up_ms, tc=None):
        a = self.a
        st = self._st
        st["m"] = energy_wh
        st["d"] = up_ms - s.start_up  # elapsed, for the duration across boots
        st["b"] = a.ident.boot
        st["u"] = up_ms
        st["t"] = a.clock.wall_s(up_ms)
        head, rare = split_bill(a.pricing.session_state())
        st.update(head)
        if tc is not None:
            rare["tc"] = tc
        self.store.save(st, rare)

    def ending(self, payload):
        """Before the end record is journaled: keep it, with the seq it will get."""
        self.store.save({"sid": "", "end": self.a.journal.seq + 1, "rec": payload})

    def ended(self):
        self.store.clear()
        self._st = None

    # ---- after a reset ----------------------------------------------------------
    def on_boot(self):
        """Before anything else is journaled: finish a start, tariff_change or end record
        the cut interrupted. It then gets exactly the seq it was announced with."""
        st = self.saved
        if st is None:
            return
        a = self.a
        j = a.journal
        if "end" in st:
            if j.seq < st["end"]:
                self._finish(jf.TYPE_SESSION_END, st["rec"], st["end"])
            self.store.clear()
            self.saved = None
            return
        if j.seq < st["seq0"]:
            if "rec" not in st:
                # The state is from an older layout or damaged: nothing safe to resume.
                self.store.clear()
                self.saved = None
                return
            self._finish(jf.TYPE_SESSION_START, st["rec"], st["seq0"])
        tc = st["bill"].get("tc")
        if tc is not None and j.seq < tc[0]:
            # The session's cost was split at a tariff change, but the cut came before the
            # tariff file or its record: put both in place, as they were announced.
            a.pricing.adopt(tc[1], 0, st["sid"], st["m"], st["cs"])

    def _finish(self, rtype, payload, seq):
        # The payload was encoded for the seq it was announced with (its session id and
        # signed pagination count from it); should it land elsewhere, it is re-encoded so
        # that it still renders to the very record that was announced.
        a = self.a
        if a.journal.seq + 1 != seq:
            payload = a.encode(rtype, a.codec.decode(rtype, payload, seq))
        a.journal.append(rtype, payload)

    def resume(self, up_ms, pilot, energy_wh):
        """At the first good sample after boot: continue the saved session or end it.
        Returns the session if it goes on (the caller tells control), else None."""
        st = self.saved
        self.saved = None
        if st is None or "end" in st:
            return None  # an end record is on_boot's to finish
        a = self.a
        pr = a.pricing
        s = Session(st["sid"], up_ms - st["d"], st["st"], st["stq"], st["m0"], st["tag"])
        s.meter_last_wh = st["m"]
        self._st = st
        # Billing goes on from the last persisted meter value, with the tariff it was priced
        # with (on flash, put right by on_boot); the outage adds no charging or idle time.
        try:
            pr.resume(join_bill(st, up_ms))
        except (ValueError, KeyError, TypeError):
            # The tariff it was priced with is no longer on flash (a file lost, or written
            # by other firmware): bill on from the last persisted value at the tariff in force
            # rather than fail at every boot. The cost booked before it is lost, the energy
            # is not; the signed begin reading then names that value.
            cs = st["cs"]
            pr.open(s, st["t"], up_ms, st["m"], IDLE if cs is None else cs)
        del st["bill"]
        if pilot in _CONNECTED and energy_wh >= st["m"]:
            # Same EV, same meter, no step back: the session goes on. The energy drawn
            # while the agent was down (if any) belongs to it, counted and priced once.
            a.tracker.session = s
            a._log(jf.TYPE_METER, _at(records.meter(a.clock, 0, a.ident, s.sid, st["m"], 0,
                                                    "Interruption.Begin"), st))
            s.meter_last_wh = energy_wh
            wall = a.clock.wall_s(up_ms)
            pr.sample(up_ms, wall, s.sid, energy_wh, pr.held_state())
            a._log(jf.TYPE_METER, records.meter(a.clock, up_ms, a.ident, s.sid, energy_wh, 0,
                                                "Interruption.End", pr.reading_fields()))
            self.progress(s, energy_wh, up_ms)
            a._next_mv_ms = up_ms + a.cfg["meter_value_interval_s"] * 1000
            self.resumed += 1
            return s
        # End at the last persisted meter value; what the meter counted since is
        # outside any session, never booked to this one or the next.
        s.end_up = up_ms
        s.end_t = st["t"]
        s.meter_stop_wh = st["m"]
        s.stop_reason = "PowerLoss"
        d = _at(a.session_end_record(s), st)
        d["start_t"] = st["st"]
        d["start_tq"] = st["stq"]
        d["end_t"] = st["t"]
        d["duration_s"] = st["d"] // 1000
        payload = a.encode(jf.TYPE_SESSION_END, d)
        self.ending(payload)
        a._log(jf.TYPE_SESSION_END, payload)
        self.ended()
        a.sessions += 1
        self.powerloss += 1
        return None
