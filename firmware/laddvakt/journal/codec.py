# Compact binary journal payloads, rendered to the JSON records of the MQTT contract when
# read (docs/journal.md, Record encoding). Flash pays for what a record says, not for its
# field names: the frequent types have a field layout (a 2-bit code per field, then the
# values as varints), values the agent can work out again (sid, end_t, energy, totals,
# the signed OCMF text) are not stored, and anything a layout does not expect falls back
# to a tagged encoding with a static key table, so every record round-trips exactly.
# A payload that starts with "{" is JSON (older journals, host tools) and renders as is.
# Codec is the entry; encode.py and decode.py are its two halves, codec_values.py the
# format's tables, its varints and tagged values. What both halves work
# out the same way (sids, derived fields, the signed OCMF text) is here.
from laddvakt.billing import sign
from laddvakt.billing.tariff import PRICE_SCALE
from laddvakt.core.ids import session_id
from laddvakt.journal.decode import Decoder
from laddvakt.journal.encode import Encoder
from laddvakt.journal.codec_values import CodecError, is_int


class Codec(Encoder, Decoder):
    """encode/render for one install. The signed OCMF text names the device, firmware and
    meter serial, and is signed with the device key: those come from here at render time."""

    def __init__(self, install, key=None, dev="", fw="", serial=None):
        self.install = install
        self.key = key  # bytes, or None: the record's sig is null
        self.dev = dev
        self.fw = fw
        self.serial = serial  # () -> the meter serial text, as session_end signs it
        self.buf = bytearray(256)  # encode.py builds every payload here; it keeps its largest size
        self.rd = False  # encode.py: this try stores a session_end's signed readings
        self.lazy = False  # decode leaves a session_end's ocmf unmade (ocmf())

    @staticmethod
    def _segctx(i, rec, rem, last):
        # A segment's times count from the session's start; its line prices from the
        # plug-in price; the session's last line's Wh from the energy no line before holds
        # (a flat tariff's one line then costs a few bytes).
        p = rec.get("price_minor_per_kwh")
        return {"i": i, "ref": rec["start_t"], "p": p * PRICE_SCALE if is_int(p) else 0, "rem": rem,
                "last": last}

    @staticmethod
    def _rem(rec):
        e = rec.get("energy_wh")
        return [e if is_int(e) else 0]

    @staticmethod
    def _gref(rec):
        d = rec.get("duration_s")
        return d * 1000 if is_int(d) else 0

    @staticmethod
    def _dref(d):
        t, s = d.get("t"), d.get("start_t")
        return t - s if is_int(t) and is_int(s) else 0

    def sid(self, n):
        return session_id(self.install, n)

    def _usual(self, kind, k, d, seq, rec, ctx):
        """The value a field with a derived (or null / zero) usual form has in d."""
        if kind == "n":
            return None
        if kind == "o":
            return 0
        if kind == "q":
            return "synced" if d[("t", "start_t")[k == "start_tq"]] is not None else "unsynced"
        if kind == "m":
            return d["t"]
        if kind == "w":
            return d["meter_start_wh"] + d["energy_wh"]
        if kind == "c":
            return d["receipt"]["total"]
        if kind == "k":
            return rec["tariffs"][ctx["i"]][k == "ver"]
        if kind == "x":
            return _totals(d, k)
        if kind == "G":
            o = d["ocmf"]
            return sign.sign(self.key, o) if self.key and (type(o) is str or type(o) is tuple) else None
        raise CodecError("kind %s" % kind)

    def ocmf(self, d, seq, readings=None):
        """The signed payload of session_end d (seq: its own): sign.payload's text, as
        pricing built it when the session ended; with self.lazy, the arguments that make it
        (sign.write streams them where they go: uplink/batch.py)."""
        a = self._ocmf_args(d, seq, readings)
        return a if self.lazy else sign.payload(*a)

    def ocmf_is(self, text, d, seq, readings=None):
        """Whether text is ocmf(d, seq, readings), without making that text (the check decode)."""
        return sign.is_payload(text, self._ocmf_args(d, seq, readings))

    def _ocmf_args(self, d, seq, readings):
        if readings is None:
            readings = [sign.reading(d["start_t"], "B", d["meter_start_wh"]),
                        sign.reading(d["end_t"], "E", d["meter_stop_wh"])]
        serial = self.serial() if self.serial else ""
        return "T%d" % seq, self.dev, self.fw, serial, readings, d


def _totals(rc, k):
    """A receipt's net, vat, total or adj, worked out from its segments and terms as
    SessionCost.finish does (docs/tariffs.md)."""
    from laddvakt.billing.session_cost import FEE_FACTOR, MS_FACTOR, WH_FACTOR, totals

    units = rc["start_fee"] * FEE_FACTOR
    for s in rc["segs"]:
        for _, wh, p in s["lines"]:
            units += wh * p * WH_FACTOR
        units += (s["chg_ms"] * s["time_fee"] + s["idle_ms"] * s["idle_fee"]) * MS_FACTOR
    total, vat, net, adj = totals(units, rc["vat_bp"], rc["min"], rc["max"])
    return {"total": total, "vat": vat, "net": net, "adj": adj}[k]
