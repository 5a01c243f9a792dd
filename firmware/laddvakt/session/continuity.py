# Session continuity across reboots and power loss (docs/journal.md, Session continuity). The
# open session is kept in the session store (store.py), so that after a reset it either goes on
# (EV still connected, meter continuous) with an Interruption.Begin/End pair, or ends with stop
# reason PowerLoss at the last persisted meter value.
#
# Every store write that announces a journal record names the seq that record will get;
# recovery compares it with the journal's seq to tell whether the record made it.
from micropython import const

from laddvakt.journal import frame as jf
from laddvakt.journal import records
from laddvakt.billing.session_cost import IDLE, sized
from laddvakt.session.flow import Session
from laddvakt.core.clock import age_ms, before

# The store's billing fields in the head line, each followed by the SessionCost state it holds:
# one flat tuple, one object (a tuple of pairs is an object per pair in RAM, docs/bench.md).
_DYN = const(("cs", "st", "ch", "charged", "sr", "stretch", "cm", "chg_ms", "im", "idle_ms",
               "lw", "line_wh", "pr", "price", "un", "until"))


def _at(d, st):
    # A record about a moment of an earlier boot: stamp it with that boot's time.
    d["t"] = st["t"]
    d["tq"] = "synced" if st["t"] is not None else "unsynced"
    d["boot"] = st["b"]
    d["up"] = st["u"]
    return d


class Continuity:
    """Keeps the store in step with the tracker and the open session's pricing; the session
    flow (flow.py) calls it at each session event. It gets the journal (for its seq), the
    session's pricing, the clock and identity, and the callables that journal and encode
    records; it never sees the agent."""

    def __init__(self, store, journal, pricing, clock, ident, log, encode, decode):
        self.store = store
        self.journal = journal
        self.pricing = pricing
        self.clock = clock
        self.ident = ident
        self.log = log  # (rtype, record dict or payload) -> seq
        self.encode = encode  # (rtype, record dict) -> payload for the seq the journal gives next
        self.decode = decode  # (rtype, payload, seq) -> record dict
        self.saved = store.load()  # the state found at boot, until resolved
        self.resumed = 0
        self.powerloss = 0
        self.st = None  # the state last written

    # ---- the tracker's events ---------------------------------------------------
    def opened(self, s, payload):
        """After Pricing.open, before the start record: on flash with the record's payload."""
        # Made at its size: these, rec, progress's 13 and the store's g (grown key by key, its
        # table went through 17 slots to 23 at the first meter value; docs/bench.md, heap).
        st = sized(21)
        st.update({"sid": s.sid, "seq0": self.journal.seq + 1, "st": s.start_t, "stq": s.start_tq,
                   "m0": s.meter_start_wh, "tag": s.id_tag})
        self.st = st
        st["rec"] = payload  # the start record, in case the cut comes before it is journaled
        self.progress(s, s.meter_start_wh, s.start_up)
        del st["rec"]

    def progress(self, s, energy_wh, up_ms, tc=None):
        """Persist the last meter value and the pricing state booked up to it; called with
        each periodic meter value, at a price or charge-state edge, and at a tariff change
        (tc: the tariff_change record it announces)."""
        st = self.st
        if st is None or st["sid"] != s.sid:
            return
        st["m"] = energy_wh
        st["d"] = age_ms(up_ms, s.start_up)  # elapsed, for the duration across boots
        st["b"] = self.ident.boot
        st["u"] = self.clock.up(up_ms)  # this boot's uptime, for records dated then (_at)
        st["t"] = self.clock.wall_s(up_ms)
        # The head's billing fields from the open cost itself, and Pricing.session_state() of
        # the rest, the rare part: the whole cost's dict, taken apart, was a 400-byte block at
        # every meter value. Not kept: last_wh (the head's m), last_up (uptime restarts at a boot).
        c = self.pricing.cost
        for i in range(0, 16, 2):
            st[_DYN[i]] = getattr(c, _DYN[i + 1])
        # The rare part keeps of SessionCost's state (_STATE): all but _DYN's, last_wh and last_up.
        state = self.pricing.session_state(("currency", "minor_unit", "start_fee", "vat_bp", "min", "max", "segs",
                                            "tariffs", "units", "n_lines", "seg_from", "lines", "line_from"))
        rare = {"c": state["cost"], "sg": state["signed"], "sp": state["start_price"]}
        if tc is not None:
            rare["tc"] = tc
        self.store.save(st, rare)

    def ending(self, payload):
        """Before the end record is journaled: keep it, with the seq it will get."""
        self.store.save({"sid": "", "end": self.journal.seq + 1, "rec": payload})

    def ended(self):
        self.store.clear()
        self.st = None

    # ---- after a reset ----------------------------------------------------------
    def on_boot(self):
        """Before anything else is journaled: finish a start, tariff_change or end record
        the cut interrupted (none above it on flash: `committed`, since boot may have
        skipped seqs above the last one found, docs/journal.md, Seq marks). It is re-encoded
        for the seq it gets, rendering the very record that was announced."""
        st = self.saved
        if st is None:
            return
        j = self.journal
        if "end" in st:
            if j.committed < st["end"]:
                self._finish(jf.TYPE_SESSION_END, st["rec"], st["end"])
            self.store.clear()
            self.saved = None
            return
        if j.committed < st["seq0"]:
            if "rec" not in st:
                # The state is from an older layout or damaged: nothing safe to resume.
                self.store.clear()
                self.saved = None
                return
            self._finish(jf.TYPE_SESSION_START, st["rec"], st["seq0"])
        tc = st["bill"].get("tc")
        if tc is not None and j.committed < tc[0]:
            # The session's cost was split at a tariff change, but the cut came before the
            # tariff file or its record: put both in place, as they were announced.
            self.pricing.adopt(tc[1], 0, st["sid"], st["m"], st["cs"])

    def _finish(self, rtype, payload, seq):
        # The payload was encoded for the seq it was announced with (its session id and
        # signed pagination count from it); should it land elsewhere, it is re-encoded so
        # that it still renders to the very record that was announced.
        if self.journal.seq + 1 != seq:
            payload = self.encode(rtype, self.decode(rtype, payload, seq))
        self.log(rtype, payload)

    def resume(self, up_ms, pilot, energy_wh):
        """At the first good sample after boot: the saved session, its pricing resumed, and
        whether it goes on (s, True) or ended with the power (s, False); None if there is none.
        One that goes on the caller makes the tracker's, then calls bridge(); one that ended is
        closed at its last persisted value, and the caller journals its end through lost()."""
        st = self.saved
        self.saved = None
        if st is None or "end" in st:
            return None  # an end record is on_boot's to finish
        pr = self.pricing
        s = Session(st["sid"], before(up_ms, st["d"]), st["st"], st["stq"], st["m0"], st["tag"])
        s.meter_last_wh = st["m"]
        self.st = st
        # Billing goes on from the last persisted meter value, with the tariff it was priced
        # with (on flash, put right by on_boot); the outage adds no charging or idle time.
        try:
            # The saved head and rare part -> a Pricing.session_state() that goes on at uptime
            # up_ms from the last persisted meter value.
            rare = st["bill"]
            cost = dict(rare["c"])
            for i in range(0, 16, 2):
                cost[_DYN[i + 1]] = st[_DYN[i]]
            cost["charged"] = bool(cost["charged"])
            cost["last_wh"] = st["m"]
            cost["last_up"] = up_ms
            pr.resume({"cost": cost, "signed": rare["sg"], "start_price": rare["sp"]})
        except (ValueError, KeyError, TypeError):
            # The tariff it was priced with is no longer on flash (a file lost, or written
            # by other firmware): bill on from the last persisted value at the tariff in force
            # rather than fail at every boot. The cost booked before it is lost, the energy
            # is not; the signed begin reading then names that value.
            cs = st["cs"]
            pr.open(s, st["t"], up_ms, st["m"], IDLE if cs is None else cs)
        del st["bill"]
        if pilot in "BCD" and energy_wh >= st["m"]:
            return s, True  # same EV, same meter, no step back: the session goes on
        # End at the last persisted meter value; what the meter counted since is
        # outside any session, never booked to this one or the next.
        s.end_up = up_ms
        s.end_t = st["t"]
        s.meter_stop_wh = st["m"]
        s.stop_reason = "PowerLoss"
        return s, False

    def bridge(self, s, up_ms, energy_wh):
        """The resumed session s goes on: journal its Interruption.Begin/End pair. The energy
        drawn while the agent was down (if any) belongs to it, counted and priced once."""
        st = self.st
        pr = self.pricing
        clock = self.clock
        self.log(jf.TYPE_METER, _at(records.meter(clock, 0, self.ident, s.sid, st["m"], 0,
                                                  "Interruption.Begin"), st))
        s.meter_last_wh = energy_wh
        pr.sample(up_ms, clock.wall_s(up_ms), s.sid, energy_wh, pr.held_state())
        self.log(jf.TYPE_METER, records.meter(clock, up_ms, self.ident, s.sid, energy_wh, 0,
                                              "Interruption.End", pr.reading_fields()))
        self.progress(s, energy_wh, up_ms)
        self.resumed += 1

    def lost(self, d):
        """The end record d of a session resume() closed, dated when the power went: its
        boot, uptime and wall time then, and its start and duration from before the cut.
        Called before the record is signed, so once per try of Pricing.fit: count with
        count_lost()."""
        st = self.st
        d = _at(d, st)
        d["start_t"] = st["st"]
        d["start_tq"] = st["stq"]
        d["end_t"] = st["t"]
        d["duration_s"] = st["d"] // 1000
        return d

    def count_lost(self):
        self.powerloss += 1
