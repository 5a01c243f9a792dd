# A session's flow on the agent, from the tracker's events (the tracker is at the end): its
# start (metering marked, control told, priced, on flash before its record), its end (priced,
# signed, journaled), its continuity across a reset, and the split of its cost at a tariff
# change. The sampling step (app/agent.py) calls it; the parts it drives are passed in, never
# the agent.
from laddvakt import VERSION
from laddvakt.journal import frame as jf
from laddvakt.journal import records
from laddvakt.core.clock import age_ms, tadd, tdiff

class SessionFlow:
    """cfg: the device config; tracker, pricing, metering, control: those parts of the agent;
    keeper: the session's Continuity; journal: read for its seq; clock, ident: for the records;
    log, encode: journal a record, and encode one for the seq the journal gives next;
    vehicle_id: the EV's id as the control hardware reads it (or None); meter_serial: the
    serial the signed payload names."""

    def __init__(self, cfg, *, tracker, pricing, metering, control, keeper, journal, clock, ident, log,
                 encode, vehicle_id, meter_serial):
        self.cfg = cfg
        self.tracker = tracker
        self.pricing = pricing
        self.metering = metering
        self.control = control
        self.keeper = keeper
        self.journal = journal
        self.clock = clock
        self.ident = ident
        self.log = log
        self.encode = encode
        self.vehicle_id = vehicle_id
        self.meter_serial = meter_serial
        self.sessions = 0  # sessions ended (and journaled) since boot
        self.next_mv_ms = 0  # when the open session's next periodic meter value is due

    def on_event(self, ev, up_ms, st, split=False):
        """A tracker or meter event: ("start", s) or ("end", s), or None. st: the charge state
        at the event (billing). split: a meter replacement ended the session; the next one
        starts on the new meter for the same EV and authorization (docs/meters.md), so control
        does not finish."""
        if not ev:
            return
        kind, s = ev
        if kind != "start":
            self.control.session_ended(split)
            self._end(s)
            return
        clock = self.clock
        self.metering.mark()
        s.vehicle_id = self.control.auth.vehicle or self.vehicle_id()
        self.control.session_started(s, clock.wall_s(up_ms))
        pr = self.pricing
        rec = self.encode(jf.TYPE_SESSION_START, records.session_start(
            clock, self.ident, s, pr.tariff, pr.open(s, s.start_t, up_ms, s.meter_start_wh, st)))
        self.keeper.opened(s, rec)  # on flash before the record: docs/journal.md
        self.log(jf.TYPE_SESSION_START, rec)
        self.next_mv_ms = tadd(up_ms, self.cfg["meter_value_interval_s"] * 1000)

    def periodic_due(self, up_ms):
        """Whether the open session's periodic meter value is due now (OCPP
        MeterValueSampleInterval, counted from the session's start); moves the schedule on."""
        iv = self.cfg["meter_value_interval_s"]
        if iv and tdiff(up_ms, self.next_mv_ms) >= 0:
            self.next_mv_ms = tadd(self.next_mv_ms, iv * 1000)
            return True
        return False

    def cost_split(self, wh, up, n):
        """Pricing.on_change: a tariff or schedule update split the open session's cost at
        register wh: on flash, with the seq of the tariff_change record that follows n
        records from now."""
        s = self.tracker.session
        if s is not None:
            self.keeper.progress(s, wh, up, [self.journal.seq + n, self.pricing.tariff.to_dict()])

    def resume(self, up_ms, pilot, energy_wh, wall):
        """At the first good sample after boot (the pilot reading settled): the session open
        at the last reset goes on or ends with PowerLoss (docs/journal.md, Session continuity)."""
        r = self.keeper.resume(up_ms, pilot, energy_wh)
        if r is None:
            return
        s, goes_on = r
        if not goes_on:
            # Dated when the power went before it is signed: the signature covers the times.
            self._end(s, self.keeper.lost)
            self.keeper.count_lost()
            return
        self.tracker.session = s  # before the pair: a pending tariff may split its cost there
        self.keeper.bridge(s, up_ms, energy_wh)
        self.next_mv_ms = tadd(up_ms, self.cfg["meter_value_interval_s"] * 1000)
        self.metering.mark()
        self.control.session_started(s, wall)

    def _end(self, s, lost=None):
        """Journal the end of session s (already closed by the tracker): priced, signed; lost(d)
        -> d (Continuity.lost) dates the record to the boot the power went in, before signing."""
        pr = self.pricing
        bill = pr.close(s, s.end_t, s.end_up, s.meter_stop_wh)
        flags = self.metering.session_flags()
        serial = self.meter_serial()
        pg = "T%d" % (self.journal.seq + 1)

        def build(b):
            d = records.session_end(self.clock, self.ident, s, pr.tariff, b["cost_minor"], flags, b)
            return pr.seal(lost(d) if lost else d, self.cfg["device_id"], VERSION, serial, pg, False)

        rec = self.encode(jf.TYPE_SESSION_END, pr.fit(build, bill, jf.MAX_PAYLOAD))
        self.keeper.ending(rec)  # on flash with its seq before the record: docs/journal.md
        self.log(jf.TYPE_SESSION_END, rec)
        self.keeper.ended()
        self.sessions += 1


# Session tracker: pilot state and meter energy in, session start and end out.
# Pure: the caller passes uptime, wall time and readings, so the same code runs
# on a board, on the unix port and in virtual time.
#
# A session opens when an EV is connected (IEC 61851 state B, C or D) and closes
# when it leaves (A), on an error state (E, F), or on an explicit stop.
# Free vend: no authorization step yet, so the transaction starts at plug-in.


class Session:
    def __init__(self, sid, up_ms, wall, tq, energy_wh, id_tag):
        self.sid = sid
        self.start_up = up_ms
        self.start_t = wall
        self.start_tq = tq
        self.meter_start_wh = energy_wh
        self.meter_last_wh = energy_wh
        self.id_tag = id_tag
        self.end_up = None
        self.end_t = None
        self.meter_stop_wh = None
        self.stop_reason = None
        self.vehicle_id = None  # set by charging control (remote start, fleet, the EV)

    @property
    def energy_wh(self):
        # A meter that steps back is reported by the meter layer; it never makes
        # a session's energy negative.
        stop = self.meter_last_wh if self.meter_stop_wh is None else self.meter_stop_wh
        d = stop - self.meter_start_wh
        return d if d > 0 else 0

    def duration_s(self):
        return age_ms(self.end_up, self.start_up) // 1000


class SessionTracker:
    """Feed on_sample(); it returns ("start", s), ("end", s) or None."""

    def __init__(self, new_sid):
        self._new_sid = new_sid  # callable giving a fresh, unique session id
        self.session = None
        self.pilot = "A"

    def on_sample(self, up_ms, wall, tq, pilot, energy_wh, id_tag=None):
        self.pilot = pilot
        s = self.session
        if s is None:
            if pilot in "BCD":
                s = Session(self._new_sid(), up_ms, wall, tq, energy_wh, id_tag)
                self.session = s
                return ("start", s)
            return None
        s.meter_last_wh = energy_wh
        if pilot == "A":
            return self.stop(up_ms, wall, energy_wh, "EVDisconnected")
        if pilot in "EF":
            return self.stop(up_ms, wall, energy_wh, "Other")
        return None

    def stop(self, up_ms, wall, energy_wh, reason):
        """End the open session (OCPP 1.6 Reason vocabulary); None if there is none."""
        s = self.session
        if s is None:
            return None
        s.end_up = up_ms
        s.end_t = wall
        s.meter_stop_wh = energy_wh
        s.stop_reason = reason
        self.session = None
        return ("end", s)
