# Session continuity across reboots and power loss. The open session (id, start,
# meter start, tariff, accumulated cost, last meter value) is kept in one small file,
# replaced atomically, so that after a reset the session either goes on (EV still
# connected, meter continuous) with an Interruption.Begin/End pair, or ends with
# stop reason PowerLoss at the last persisted meter value. Rules: docs/journal.md.
#
# Every store write that announces a journal record names the seq that record will
# get; recovery compares it with the journal's seq to tell whether the record made it.
import json
import os

from . import journal_format as jf, records
from .tariff import FlatTariff
from .tracker import Session

_CONNECTED = "BCD"


_FIELDS = ("seq0", "st", "stq", "m0", "cur", "mu", "p", "tv", "m", "d", "b", "u", "t", "c")


def _enc(v):
    return "-" if v is None else str(v)


def _dec(v):
    if v == "-":
        return None
    if v[0] in "-0123456789":
        return int(v)
    return v


class SessionStore:
    """One small file: a line of space-separated fields (short enough for littlefs to keep
    inline in its metadata, so a save programs about 100 bytes, not a block), then, at a
    session's start or end, the text of the record announced."""

    def __init__(self, path, install):
        self.path = path
        self.install = install
        self.writes = 0

    def load(self):
        try:
            with open(self.path) as f:
                text = f.read()
            head, _, rec = text.partition("\n")
            v = head.split(" ", len(_FIELDS) + 1)
            if v[0] == "E":
                d = {"sid": "", "end": int(v[1])}
            elif v[0] == "O" and len(v) == len(_FIELDS) + 2:
                d = {k: _dec(x) for k, x in zip(_FIELDS, v[1:])}
                d["tag"] = None if v[-1] == "-" else v[-1][1:]
                d["sid"] = "%s-%08x" % (self.install, d["seq0"])
            else:
                return None
            if rec:
                d["rec"] = rec
            return d
        except (OSError, ValueError, IndexError):
            return None

    def save(self, d):
        if "end" in d:
            text = "E %d" % d["end"]
        else:
            tag = d["tag"]
            text = "O %s %s" % (" ".join(_enc(d[k]) for k in _FIELDS),
                                "-" if tag is None else "=" + tag)
        if "rec" in d:
            text += "\n" + d["rec"]
        # Written in place: littlefs commits a file's new content at close, in one atomic
        # metadata commit (the old content stays until then), which costs under half of
        # a temporary file and a rename. The power-cut sweep checks it.
        with open(self.path, "w") as f:
            f.write(text)
        self.writes += 1

    def clear(self):
        try:
            os.remove(self.path)
        except OSError:
            pass


def _at(payload, st):
    # A record about a moment of an earlier boot: stamp it with that boot's time.
    d = json.loads(payload)
    d["t"] = st["t"]
    d["tq"] = "synced" if st["t"] is not None else "unsynced"
    d["boot"] = st["b"]
    d["up"] = st["u"]
    return json.dumps(d)


class Continuity:
    """Keeps the store in step with the tracker; the Agent calls it at each session event."""

    def __init__(self, store, agent):
        self.store = store
        self.a = agent
        self.saved = store.load()  # the state found at boot, until resolved
        self.tariff = None  # the open session's tariff (a tariff change does not reprice it)
        self.tariff_version = 0
        self.resumed = 0
        self.powerloss = 0
        self._st = None  # the state last written

    # ---- the tracker's events ---------------------------------------------------
    def opened(self, s, payload, tariff):
        self.tariff = tariff
        st = {
            "sid": s.sid, "seq0": self.a.journal.seq + 1, "st": s.start_t, "stq": s.start_tq,
            "m0": s.meter_start_wh, "tag": s.id_tag, "cur": tariff.currency,
            "mu": tariff.minor_unit, "p": tariff.price_minor_per_kwh, "tv": self.tariff_version,
        }
        self._progress(st, s, s.meter_start_wh, s.start_up)
        st["rec"] = payload  # the start record, in case the cut comes before it is journaled
        self.store.save(st)
        del st["rec"]
        self._st = st

    def progress(self, s, energy_wh, up_ms):
        """Persist the last meter value; called with each periodic meter value."""
        st = self._st
        if st is None or st["sid"] != s.sid:
            return
        self._progress(st, s, energy_wh, up_ms)
        self.store.save(st)

    def _progress(self, st, s, energy_wh, up_ms):
        a = self.a
        st["m"] = energy_wh
        st["d"] = up_ms - s.start_up  # elapsed, for the duration across boots
        st["b"] = a.ident.boot
        st["u"] = up_ms
        st["t"] = a.clock.wall_s(up_ms)
        t = self.tariff
        st["c"] = t.session_cost(s) if t else 0

    def ending(self, payload):
        """Before the end record is journaled: keep it, with the seq it will get."""
        self.store.save({"sid": "", "end": self.a.journal.seq + 1, "rec": payload})

    def ended(self):
        self.store.clear()
        self._st = None
        self.tariff = None

    def tariff_for(self, default):
        return self.tariff or default

    # ---- after a reset ----------------------------------------------------------
    def on_boot(self):
        """Before anything else is journaled: finish a start or end record the cut
        interrupted. It then gets exactly the seq it was announced with."""
        st = self.saved
        if st is None:
            return
        j = self.a.journal
        if "end" in st:
            if j.seq < st["end"]:
                j.append(jf.TYPE_SESSION_END, st["rec"].encode())
            self.store.clear()
            self.saved = None
        elif j.seq < st["seq0"]:
            if "rec" not in st:
                # The state is from an older layout or damaged: nothing safe to resume.
                self.store.clear()
                self.saved = None
                return
            j.append(jf.TYPE_SESSION_START, st["rec"].encode())

    def resume(self, up_ms, pilot, energy_wh):
        """At the first good sample after boot: continue the saved session or end it.
        Returns the session if it goes on (the caller tells control), else None."""
        st = self.saved
        self.saved = None
        if st is None or "end" in st:
            return None  # an end record is on_boot's to finish
        a = self.a
        self.tariff = FlatTariff(st["cur"], st["mu"], st["p"])
        self.tariff_version = st.get("tv", 0)
        s = Session(st["sid"], up_ms - st["d"], st["st"], st["stq"], st["m0"], st["tag"])
        s.meter_last_wh = st["m"]
        if pilot in _CONNECTED and energy_wh >= st["m"]:
            # Same EV, same meter, no step back: the session goes on. The energy drawn
            # while the agent was down (if any) belongs to it, counted once.
            a.tracker.session = s
            self._st = st
            a._log(jf.TYPE_METER, _at(records.meter(a.clock, 0, a.ident, s.sid, st["m"], 0,
                                                    "Interruption.Begin"), st))
            s.meter_last_wh = energy_wh
            a._log(jf.TYPE_METER, records.meter(a.clock, up_ms, a.ident, s.sid, energy_wh, 0,
                                                "Interruption.End"))
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
        d = json.loads(_at(records.session_end(a.clock, a.ident, s, self.tariff,
                                               self.tariff.session_cost(s)), st))
        d["start_t"] = st["st"]
        d["start_tq"] = st["stq"]
        d["end_t"] = st["t"]
        d["duration_s"] = st["d"] // 1000
        payload = json.dumps(d)
        self.ending(payload)
        a._log(jf.TYPE_SESSION_END, payload)
        self.ended()
        a.sessions += 1
        self.powerloss += 1
        return None


def change_tariff(agent, price_minor_per_kwh):
    """A minimal tariff change (the tariff engine will own this): journal a `tariff`
    record; new sessions use the new price, an open session keeps its own."""
    from .journal_records import tariff_record

    k = agent.keeper
    old = agent.tariff
    agent.tariff = FlatTariff(old.currency, old.minor_unit, price_minor_per_kwh)
    k.tariff_version = agent.journal.seq + 1  # the seq of its record: unique, increasing
    agent._log(jf.TYPE_TARIFF, tariff_record(agent.clock, agent.up_ms, agent.ident,
                                              k.tariff_version, agent.tariff))
