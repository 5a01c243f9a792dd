# Compact binary journal payloads, rendered to the JSON records of the MQTT contract when
# read (docs/journal.md, Record encoding). Flash pays for what a record says, not for its
# field names: the frequent types have a field layout (a 2-bit code per field, then varints),
# values the agent can work out again (sid, end_t, energy, totals, the signed OCMF text) are
# not stored, and anything else falls back to a tagged encoding with a static key table, so
# every record round-trips exactly; a payload that starts with "{" is JSON and renders as is.
# Codec is the entry and the decoding half, with what both halves work out alike (sids, derived
# fields, the OCMF text); encode.py encodes; codec_values.py holds the tables and primitives.
import json
import struct

from laddvakt.billing import sign
from laddvakt.billing.session_cost import FEE_FACTOR, MS_FACTOR, WH_FACTOR, sized, totals
from laddvakt.billing.tariff import PRICE_SCALE
from laddvakt.core.clock import session_id
from laddvakt.journal.encode import Encoder
from laddvakt.journal.codec_values import (ABSENT, ANY, DERIVED, LAYOUT, LAYOUT0, LAYOUTS, NAMES, NULL,
                                           RECEIPT, SEG, TAGGED, USUAL, CodecError, flat, get_any,
                                           get_uv, get_zz, same, word, WORDS)


class Codec(Encoder):
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
        self.b = None  # decode: the payload being read and its next byte (get_*'s r.b, r.i)
        self.i = 0

    @staticmethod
    def _segctx(i, rec, rem, last):
        # A segment's times count from the session's start; its line prices from the
        # plug-in price; the session's last line's Wh from the energy no line before holds
        # (a flat tariff's one line then costs a few bytes).
        p = rec.get("price_minor_per_kwh")
        return {"i": i, "ref": rec["start_t"], "p": p * PRICE_SCALE if type(p) is int else 0, "rem": rem,
                "last": last}

    @staticmethod
    def _rem(rec):
        e = rec.get("energy_wh")
        return [e if type(e) is int else 0]

    @staticmethod
    def _gref(rec):
        d = rec.get("duration_s")
        return d * 1000 if type(d) is int else 0

    @staticmethod
    def _dref(d):
        t, s = d.get("t"), d.get("start_t")
        return t - s if type(t) is int and type(s) is int else 0

    def sid(self, n):
        return session_id(self.install, n)

    def _usual(self, kind, k, d, seq, rec, ctx):
        """The value a field with a derived (or null / zero) usual form has in d."""
        if kind == "n":
            return None
        if kind == "o":
            return 0
        if kind == "q":
            return "synced" if d["start_t" if k == "start_tq" else "t"] is not None else "unsynced"
        if kind == "m":
            return d["t"]
        if kind == "w":
            return d["meter_start_wh"] + d["energy_wh"]
        if kind == "c":
            return d["receipt"]["total"]
        if kind == "k":
            return rec["tariffs"][ctx["i"]][k == "ver"]
        if kind == "x":
            # A receipt's net, vat, total or adj, worked out from its segments and terms as
            # SessionCost.finish does (docs/tariffs.md).
            units = d["start_fee"] * FEE_FACTOR
            for s in d["segs"]:
                for _, wh, p in s["lines"]:
                    units += wh * p * WH_FACTOR
                units += (s["chg_ms"] * s["time_fee"] + s["idle_ms"] * s["idle_fee"]) * MS_FACTOR
            total, vat, net, adj = totals(units, d["vat_bp"], d["min"], d["max"])
            return {"total": total, "vat": vat, "net": net, "adj": adj}[k]
        if kind == "G":
            o = d["ocmf"]
            return sign.sign(self.key, o) if self.key and (type(o) is str or type(o) is tuple) else None
        raise CodecError("kind %s" % kind)

    def ocmf(self, d, seq, readings=None):
        """The signed payload of session_end d (seq: its own): sign.payload's text, as
        pricing built it when the session ended; with self.lazy, the arguments that make it
        (sign.write streams them where they go: uplink/acks.py, Batch)."""
        a = self._ocmf_args(d, seq, readings)
        return a if self.lazy else sign.payload(*a)

    def _ocmf_args(self, d, seq, readings):
        if readings is None:
            readings = [sign.reading(d["start_t"], "B", d["meter_start_wh"]),
                        sign.reading(d["end_t"], "E", d["meter_stop_wh"])]
        serial = self.serial() if self.serial else ""
        return "T%d" % seq, self.dev, self.fw, serial, readings, d

    # ---- decoding ------------------------------------------------------------------
    def render(self, rtype, payload, seq):
        """The JSON text (bytes) of a journaled payload, without "seq"."""
        if payload[0] == 0x7B:  # "{": journaled as JSON
            return bytes(payload)
        return json.dumps(self.decode(rtype, payload, seq)).encode()

    def visitor(self, visit):
        """Wrap visit(seq, type, payload) for Journal.read_after so it gets the rendered JSON."""
        return lambda seq, rtype, p: visit(seq, rtype, self.render(rtype, p, seq))

    def decode(self, rtype, payload, seq, want=None):
        """Record payload (seq: its own) as a dict. With want (encode's read-back), each field
        read is compared with want's in place and nothing decoded is kept: want itself is
        returned; CodecError where they differ."""
        if payload[0] == 0x7B:
            return json.loads(bytes(payload))
        r = self  # the reader (codec_values' get_*): no object of its own per record
        r.b = payload
        r.i = 1
        try:
            if payload[0] == TAGGED:
                return get_any(r)
            if payload[0] != LAYOUT and payload[0] != LAYOUT0 or rtype not in LAYOUTS:
                raise CodecError("unknown payload form %d" % payload[0])
            lay = LAYOUTS[rtype]
            codes = 0 if payload[0] == LAYOUT0 else get_uv(r)
            if want is not None:
                # encode's check: no dict made (a session_end's were the blocks a tight heap
                # lacked, docs/bench.md, heap); every field must have been read.
                _check(self._read(r, lay, want, seq, want, None, codes, want) + 1, want)
                return want
            d = _sized(lay, codes, 1)
            d["type"] = NAMES[rtype]
            self._read(r, lay, d, seq, d, None, codes)
            return d
        finally:
            r.b = None  # the payload is not held past the call

    def _read(self, r, lay, d, seq, rec, ctx, codes=None, want=None):
        # The fields of d read; with want (d is want, encode's check): compared, and the number
        # of fields read returned.
        if codes is None:
            codes = get_uv(r)
        keys, kinds = lay
        if d is None:
            d = _sized(lay, codes, 0)
        i = 0
        n = 0
        for k in keys:
            kind = kinds[i]
            c = (codes >> (2 * i)) & 3
            i += 1
            if c == ABSENT or c == USUAL and kind == "-":
                continue
            if c == NULL:
                v = None
            elif c == ANY:
                v = get_any(r)
            elif kind in DERIVED or kind in "no":
                v = self._usual(kind, k, d, seq, rec, ctx)
            elif want is None:
                v = self._get(r, kind, d, seq, rec, ctx)
            elif kind == "O" and type(want.get(k)) in (str, tuple):
                # the stored signed text compared with the one the record makes
                # (ocmf(d, seq, readings)), without making either; not if a dict is in it
                if not flat(want, k) or not sign.is_payload(want[k], self._ocmf_args(d, seq, self._readings(r, d, seq, rec, ctx))):
                    raise CodecError("field '%s' reads back otherwise" % k)
                v = want[k]
            elif kind == "R":
                v = want.get(k)
                _check(self._read(r, RECEIPT, v, seq, rec, {}, None, v), v)
            elif kind == "S":
                v = want.get(k)
                m = get_uv(r)
                if type(v) is not list or len(v) != m:
                    raise CodecError("field '%s' reads back otherwise" % k)
                rem = self._rem(rec)
                for j in range(m):
                    s = v[j]
                    _check(self._read(r, SEG, s, seq, rec, self._segctx(j, rec, rem, j == m - 1), None, s), s)
            else:
                v = self._get(r, kind, d, seq, rec, ctx)
            if want is None:
                d[k] = v
            elif k not in want or not same(v, want[k]):
                raise CodecError("field '%s' reads back otherwise" % k)
            n += 1
        if (codes >> (2 * i)) & 3:
            more = get_any(r)
            if want is None:
                d.update(more)
            else:
                for k in more:
                    if k in keys or k not in want or not same(more[k], want[k]):
                        raise CodecError("field '%s' reads back otherwise" % k)
                    n += 1
        return d if want is None else n

    def _readings(self, r, d, seq, rec, ctx):
        # A session_end's stored signed readings, or None for the usual begin and end.
        n = get_uv(r)
        if not n:
            return None
        rd = []
        for _ in range(n):
            tx = chr(r.b[r.i])
            r.i += 1
            wh = get_uv(r)
            r.i += 1
            t = self._get(r, "t", d, seq, rec, ctx) if r.b[r.i - 1] else None
            rd.append(sign.reading(t, tx, wh))
        return rd

    def _get(self, r, kind, d, seq, rec, ctx):
        if kind == "t":
            r.i += 4
            return struct.unpack_from("<I", r.b, r.i - 4)[0]
        if kind == "u":
            return get_uv(r)
        if kind == "y":
            r.i += 1
            return r.b[r.i - 1] == 1
        if kind == "z":
            return get_zz(r)
        if kind == "e":
            return word(WORDS, get_uv(r))
        if kind == "i":
            return self.sid(seq - get_uv(r))
        if kind == "r":
            return [get_any(r), get_uv(r)]
        if kind == "a":
            n = get_zz(r)
            return rec["t"] - n if rec["t"] is not None else n
        if kind == "b":
            return seq - get_zz(r)
        if kind == "d":
            return get_zz(r) + self._dref(d)
        if kind == "O":
            return self.ocmf(d, seq, self._readings(r, d, seq, rec, ctx))
        if kind == "f":
            return get_zz(r) + ctx["ref"]
        if kind == "L":
            return [self._get(r, "r", d, seq, rec, ctx) for _ in range(get_uv(r))]
        if kind == "R":
            return self._read(r, RECEIPT, None, seq, rec, {})
        if kind == "S":
            out = []
            rem = self._rem(rec)
            n = get_uv(r)
            for i in range(n):
                out.append(self._read(r, SEG, None, seq, rec, self._segctx(i, rec, rem, i == n - 1)))
            return out
        if kind == "l":
            out = []
            ref = d["from"]
            n = get_uv(r)
            for j in range(n):
                h = get_uv(r)
                f = None
                if not h & 1:
                    f = get_zz(r) + (ref or 0)
                    ref = f
                wh = get_zz(r) + ctx["rem"][0] if ctx["last"] and j == n - 1 else get_uv(r)
                ctx["rem"][0] -= wh
                out.append([f, wh, None if h & 2 else get_zz(r) + ctx["p"]])
            return out
        if kind == "g":
            return get_zz(r) + self._gref(rec)
        raise CodecError("kind %s" % kind)


def _sized(lay, codes, n):
    # An empty dict with room for the n keys plus the fields codes says are there, made at that
    # size: grown by rehashing, a session_end's table went through 23 slots to 29, two blocks
    # of ~400 bytes at once, and decoding a session's end was what a tight heap failed first
    # (docs/bench.md, heap). Fields past the layout's (rare) grow it as before.
    kinds = lay[1]
    for i in range(len(kinds)):
        c = (codes >> (2 * i)) & 3
        if c != ABSENT and (c != USUAL or kinds[i] != "-"):
            n += 1
    return sized(n)


def _check(n, want):
    # encode's check of a dict read in place: every one of its fields was read (n of them).
    if type(want) is not dict or n != len(want):
        raise CodecError("fields read back otherwise")
