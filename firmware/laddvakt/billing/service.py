# Pricing on the agent: the active tariff and price schedule, their updates over
# MQTT (validated at once, applied at the next sample), persistence on flash, the
# open session's cost, and the billing records (docs/tariffs.md, docs/mqtt.md).
import json

from micropython import const

from laddvakt.billing import sign
from laddvakt.journal.frame import TYPE_PRICE_SCHEDULE, TYPE_TARIFF_CHANGE
from laddvakt.journal.records import base
from laddvakt.core.ident import device_key
from laddvakt.billing.session_cost import CHARGING, IDLE, PRICE, STATES, SessionCost, round_div_half_up
from laddvakt.billing.tariff import PRICE_SCALE, Tariff, TariffError
from laddvakt.core.ident import write_atomic

_MAX_SEGS = const(4)  # tariffs (or schedules) per session: later changes wait for its end
_MAX_SIGNED_READINGS = const(5)  # begin, up to 3 tariff changes, end


def charge_state(pilot, power_w, paused=False):
    """The billing state of a connected EV: charging when it draws (pilot C/D, power
    over 0), suspended when the EVSE holds it back, idle otherwise."""
    if pilot in "CD" and power_w > 0:
        return CHARGING
    return 0 if paused else IDLE


def _schedule(d):
    # Spot prices are optional: their module loads with the first schedule, not at boot.
    from laddvakt.billing.spot import PriceSchedule

    return PriceSchedule.from_dict(d)


class Pricing:
    def __init__(self, cfg, data_dir, log, clock, ident):
        self.log = log  # (rtype, record dict) -> seq
        self.clock = clock
        self.ident = ident
        self.data_dir = data_dir  # tariff.json and prices.json: what is in force
        self.tariff = self._load("/tariff.json", Tariff.from_dict) or Tariff.from_config(cfg)
        self.sched = self._load("/prices.json", _schedule)
        self.on_schedule = None  # called with each schedule put in force (the fleet planner)
        self.on_change = None  # (wh, up, records to come) at a split of the open session's cost
        self._pending_t = None
        self._pending_s = None
        self.cost = None
        self.tc = 0  # seq of the tariff_change record now in force
        self.key = device_key(cfg.get("device_key", ""))  # bytes or None; the codec signs with it too
        self.start_price = 0
        self.signed = []  # OCMF readings of the open session

    def _load(self, name, from_dict):
        try:
            with open(self.data_dir + name) as f:
                return from_dict(json.loads(f.read()))
        except (OSError, ValueError):
            # none yet, or a file from an older firmware that no longer validates
            return None

    # ---- commands: validate now, apply at the next sample --------------------------------
    def cmd_tariff_set(self, args):
        from laddvakt.uplink.commands import CommandError  # loaded with the first command

        try:
            t = Tariff.from_dict(args.get("tariff"))
        except TariffError as e:
            raise CommandError("bad tariff: %s" % e)
        cur = self._pending_t or self.tariff
        if t.id == cur.id and t.version <= cur.version:
            raise CommandError("tariff %s version %d is not newer than %d" % (t.id, t.version, cur.version))
        self._pending_t = t
        return {"id": t.id, "version": t.version, "applies": "next sample"}

    def cmd_prices_set(self, args):
        from laddvakt.uplink.commands import CommandError

        try:
            s = _schedule(args.get("schedule"))
        except ValueError as e:  # ScheduleError
            raise CommandError("bad schedule: %s" % e)
        self._pending_s = s
        return {"id": s.id, "start": s.start, "end": s.end, "applies": "next sample"}

    def cmd_tariff_get(self, args):
        s = self.sched
        return {"tariff": self.tariff.to_dict(),
                "schedule": {"id": s.id, "start": s.start, "end": s.end, "step_s": s.step_s} if s else None,
                "cost_minor": self.cost.running_minor() if self.cost else None}

    # ---- records --------------------------------------------------------------------------
    def log_tariff(self, up, sid, energy_wh, st):
        """Journal the pricing now in force: schedule parts, then the tariff_change reading."""
        s = self.sched
        parts = 0
        if s is not None:
            chunks = s.chunks()
            parts = len(chunks)
            for start, prices in chunks:
                d = base("price_schedule", self.clock, up, self.ident.boot)
                d["id"] = s.id
                d["start"] = start
                d["step_s"] = s.step_s
                d["prices"] = prices
                d["parts"] = parts
                self.log(TYPE_PRICE_SCHEDULE, d)
        d = base("tariff_change", self.clock, up, self.ident.boot)
        d["sid"] = sid
        d["energy_wh"] = energy_wh
        d["st"] = STATES[st] if st is not None else None
        d["tariff"] = self.tariff.to_dict()
        d["sched"] = {"id": s.id, "parts": parts} if s else None
        self.tc = self.log(TYPE_TARIFF_CHANGE, d)

    def start(self, up):
        """At boot: the backend learns the tariff in force."""
        self.log_tariff(up, None, None, None)

    def _apply_pending(self, up, t, sid, wh, st):
        if self._pending_t is None and self._pending_s is None:
            return
        c = self.cost
        t_new = self._pending_t
        if c is not None and t_new is not None and (t_new.currency != c.tariff.currency
                                                    or t_new.minor_unit != c.tariff.minor_unit):
            return  # a session is billed in one currency: a new currency waits for its end
        if c is not None and len(c.segs) + 1 >= _MAX_SEGS:
            return  # the session_end record must fit one journal frame
        t_new, s_new = self._pending_t, self._pending_s
        self._pending_t = self._pending_s = None
        if t_new is not None:
            self.tariff = t_new
        if s_new is not None:
            self.sched = s_new
        if self.cost is not None:
            self.cost.change(self.tariff, self.sched, t, up, wh, st)
            if len(self.signed) < _MAX_SIGNED_READINGS - 1:
                self.signed.append(sign.reading(t, "T", wh))
            if self.on_change:
                # Session continuity: the split cost is on flash, announcing the record,
                # before the tariff file and the record (docs/journal.md).
                self.on_change(wh, up, (len(self.sched.chunks()) if self.sched else 0) + 1)
        if t_new is not None:
            write_atomic(self.data_dir + "/tariff.json", self.tariff.to_json())
        if s_new is not None:
            write_atomic(self.data_dir + "/prices.json", json.dumps(self.sched.to_dict()))
            if self.on_schedule:
                self.on_schedule(self.sched)
        self.log_tariff(up, sid, wh, st)

    def adopt(self, tariff, up, sid, wh, st):
        """After a reset: put in force a tariff an open session was already split at (on_change)
        whose file or tariff_change record the cut prevented."""
        self.tariff = Tariff.from_dict(tariff)
        write_atomic(self.data_dir + "/tariff.json", self.tariff.to_json())
        self.log_tariff(up, sid, wh, st)

    # ---- the session ------------------------------------------------------------------------
    def open(self, s, t, up, wh, st):
        self.cost = SessionCost(self.tariff, self.sched, t, up, wh, st)
        self.signed = [sign.reading(t, "B", wh)]
        self.start_price = self.price_minor(self.cost.price)
        return {"tariff": [self.tariff.id, self.tariff.version], "tc": self.tc, "st": STATES[st],
                "price_minor_per_kwh": self.start_price}

    @staticmethod
    def price_minor(p):
        return round_div_half_up(p, PRICE_SCALE) if p > 0 else 0

    def sample(self, up, t, sid, wh, st):
        """Every sample of an open session. Returns the extra fields of a reading to journal
        here ({"ctx", "st"}), or None."""
        c = self.cost
        why = c.on_sample(t, up, wh, st)
        self._apply_pending(up, t, sid, wh, st)
        if not why:
            return None
        return {"ctx": "Sample.Clock" if why & PRICE else "Trigger", "st": STATES[st]}

    def held_state(self):
        """The open session's charge state (IDLE when none), for a sample without a reading."""
        return self.cost.st if self.cost is not None else IDLE

    def idle_step(self, up, t, wh):
        """Every sample without a session: updates apply at once."""
        self._apply_pending(up, t, None, wh, None)

    @staticmethod
    def fit(build, bill, limit):
        """build(bill) -> the session_end record; shrink the receipt until its JSON (what the
        uplink sends) fits limit bytes:
        first without energy lines, then without segments (totals only). The backend
        recomputes from the readings either way; build seals each try, so the signature
        covers what is sent."""
        # The JSON's size in bytes without building it: a record's JSON is a kilobyte, and a
        # block that size is what a fragmented heap lacks first at a session's end (docs/bench.md).
        c = sign.Sink()  # counts what json.dump writes
        d = build(bill)
        for step in range(2):
            c.n = 0
            o = d.get("ocmf")
            if type(o) is tuple:
                # seal(whole=False): the text's arguments; counted as json.dumps would write the
                # text, escaped, last: the same length wherever it stands.
                del d["ocmf"]
                json.dump(d, c)
                c.e = True  # the text's bytes, counted escaped inside its JSON string
                sign.write(c, *o)
                c.e = False
                c.n += 12  # , "ocmf": "" around it
                d["ocmf"] = o
            else:
                json.dump(d, c)
            if c.n <= limit:
                break
            if step:
                bill["receipt"]["segs"] = None
            else:
                for seg in bill["receipt"]["segs"]:
                    seg["lines"] = None
            d = build(bill)
        return d

    # ---- a seam for session continuity (journal): the open session's pricing state ----------
    def session_state(self, keys=None):
        """JSON-able state of the open session's pricing, or None; resume() takes it back.
        keys: of the cost's state, only these (SessionCost.to_dict)."""
        if self.cost is None:
            return None
        return {"cost": self.cost.to_dict(keys), "signed": self.signed, "start_price": self.start_price}

    def resume(self, state):
        """Continue a session priced before a restart. The tariff and schedule in force must
        be the ones the state names (they are on flash: tariff.json, prices.json)."""
        self.cost = SessionCost.from_dict(state["cost"], self.tariff, self.sched)
        self.signed = state["signed"]
        self.start_price = state["start_price"]

    def reading_fields(self):
        """Fields a periodic meter record of the open session carries: state and running cost."""
        c = self.cost
        return {"st": STATES[c.st], "cost_minor": c.running_minor()}

    def close(self, s, t, up, wh):
        """End the session; the session_end record's billing fields. seal() signs the record."""
        c = self.cost
        receipt = c.finish(t, up, wh)
        self.cost = None
        total = receipt["total"]
        # price_minor_per_kwh stays the energy price at plug-in, as in session_start.
        out = {"cost_minor": total, "currency": c.tariff.currency, "minor_unit": c.tariff.minor_unit,
               "price_minor_per_kwh": self.start_price, "tariffs": c.tariffs, "receipt": receipt}
        self.signed.append(sign.reading(t, "E", wh))
        return out

    def seal(self, d, dev, fw, meter_serial, pg, whole=True):
        """Sign the closed session's record d, once every field is in it (fit() may drop
        receipt lines and seal again): adds ocmf and sig, returns d. whole=False: ocmf holds
        the arguments that make the text (sign.write), which fit() and the encoder take as
        they are: the text, ~600 bytes, is never made whole at a session's end."""
        a = (pg, dev, fw, meter_serial, self.signed, d)
        d["ocmf"] = sign.payload(*a) if whole else a
        d["sig"] = sign.sign(self.key, a) if self.key else None
        return d
