# Decoding a journaled payload back to its record, and rendering it to the JSON of the MQTT
# contract (docs/journal.md, Record encoding). A mixin of Codec (codec.py).
import json
import struct

from laddvakt.billing import sign
from laddvakt.journal.codec_values import (ABSENT, ANY, DERIVED, LAYOUT, LAYOUT0, LAYOUTS, NAMES, NULL,
                                           RECEIPT, SEG, TAGGED, USUAL, WORDS, CodecError, Reader, get_any,
                                           get_uv, get_zz, same)


class Decoder:
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
        read is checked against want's and, unless a dict or list, want's own value kept (no
        second copy of the record's texts); CodecError where they differ."""
        if payload[0] == 0x7B:
            return json.loads(bytes(payload))
        r = Reader(payload, 1)
        if payload[0] == TAGGED:
            return get_any(r)
        if payload[0] not in (LAYOUT, LAYOUT0) or rtype not in LAYOUTS:
            raise CodecError("unknown payload form %d" % payload[0])
        d = {"type": NAMES[rtype]}
        self._read(r, LAYOUTS[rtype], d, seq, d, None, 0 if payload[0] == LAYOUT0 else None, want)
        return d

    def _read(self, r, lay, d, seq, rec, ctx, codes=None, want=None):
        if codes is None:
            codes = get_uv(r)
        keys, kinds = lay
        i = 0
        for k in keys:
            kind = kinds[i]
            c = (codes >> (2 * i)) & 3
            i += 1
            if c == ABSENT or c == USUAL and kind == "-":
                continue
            if c == NULL:
                d[k] = None
            elif c == ANY:
                d[k] = get_any(r)
            elif kind in DERIVED or kind in "no":
                d[k] = self._usual(kind, k, d, seq, rec, ctx)
            elif kind == "O" and want is not None and type(want.get(k)) is str:
                # encode's check: the stored signed text compared with the one the record
                # makes, without making it beside the record's (Codec.ocmf_is)
                if not self.ocmf_is(want[k], d, seq, self._readings(r, d, seq, rec, ctx)):
                    raise CodecError("field '%s' reads back otherwise" % k)
                d[k] = want[k]
            else:
                d[k] = self._get(r, kind, d, seq, rec, ctx)
            if want is not None:
                _keep(d, k, want)
        if (codes >> (2 * i)) & 3:
            more = get_any(r)
            d.update(more)
            if want is not None:
                for k in more:
                    _keep(d, k, want)

    def _readings(self, r, d, seq, rec, ctx):
        # A session_end's stored signed readings, or None for the usual begin and end.
        rd = None
        n = get_uv(r)
        if n:
            rd = []
            for _ in range(n):
                tx = chr(r.b[r.i])
                r.i += 1
                wh = get_uv(r)
                r.i += 1
                t = None
                if r.b[r.i - 1]:
                    t = self._get(r, "t", d, seq, rec, ctx)
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
            return WORDS[get_uv(r)]
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
            o = {}
            self._read(r, RECEIPT, o, seq, rec, {})
            return o
        if kind == "S":
            out = []
            rem = self._rem(rec)
            n = get_uv(r)
            for i in range(n):
                o = {}
                self._read(r, SEG, o, seq, rec, self._segctx(i, rec, rem, i == n - 1))
                out.append(o)
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


def _keep(d, k, want):
    # decode's read-back: the field as read must be want's; then want's own value is kept in
    # place of a copy, but for a dict or list: its order as read back (a dict's keys) is what a
    # render signs, so the signed text is checked against that.
    v = d[k]
    if k not in want or not same(v, want[k]):
        raise CodecError("field '%s' reads back otherwise" % k)
    if type(v) is not dict and type(v) is not list:
        d[k] = want[k]
