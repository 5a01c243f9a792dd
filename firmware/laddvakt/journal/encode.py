# Encoding a record for the journal (docs/journal.md, Record encoding): the fields a
# layout expects in their usual forms, the rest as tagged values, and a check that the
# compact form reads back to the same record. A mixin of Codec (codec.py).
import json
import struct

from laddvakt.billing import sign
from laddvakt.core.clock import days_from_civil
from laddvakt.journal.codec_values import (ABSENT, ANY, DERIVED, LAYOUT, LAYOUT0, LAYOUTS, NAMES, NULL,
                                           RECEIPT, SEG, T_DICT, TAGGED, USUAL, CodecError,
                                           put_any, put_key, put_uv, put_zz, same, word_index, WORDS)


class Encoder:
    def encode(self, rtype, d, seq):
        """The payload to journal for record d (a dict, "type" included, no "seq") that
        will get seq. Falls back to the tagged form, then to JSON, never fails on a
        JSON-able record; a MemoryError is never taken for a record of another form."""
        # Built in the codec's one buffer (Codec.buf), which keeps the capacity of the largest
        # record so far: growing a fresh bytearray 8 bytes at a time, and a body and a value
        # buffer per layout, were the kilobyte-sized transients a fragmented heap could not give.
        out = self.buf
        lay = LAYOUTS.get(rtype)
        if lay is not None and d.get("type") == NAMES[rtype]:
            for rd in range(2):
                self.rd = rd  # 1: the signed readings stored (kind "O", _put)
                try:
                    out[:] = b""
                    out.append(LAYOUT)
                    self._fields(out, lay, d, seq, d, "type", None)
                    p = memoryview(out)
                    if out[1] == 0:
                        out[1] = LAYOUT0  # the most common case saves the byte of codes
                        p = p[1:]
                    # The record is billing data: keep the compact form only if it reads back,
                    # read from the buffer and compared with d field by field as it is read
                    # (CodecError if not); its copy is made only once it is kept.
                    self.decode(rtype, p, seq, d)
                    return bytes(p)
                except MemoryError:
                    raise
                except Exception:  # any other surprise in a record: the general form below keeps it
                    pass
                if "O" not in lay[1]:
                    break
        o = d.get("ocmf")
        if type(o) is tuple:
            d["ocmf"] = sign.payload(*o)  # the general forms hold the text itself
        try:
            out[:] = b""
            out.append(TAGGED)
            put_any(out, d)
            return bytes(out)
        except CodecError:
            return json.dumps(d).encode()

    def _fields(self, out, lay, d, seq, rec, skip, ctx):
        # The values go straight into out; their codes are put in front of them at the end.
        at = len(out)
        codes = 0
        keys, kinds = lay
        i = 0
        for k in keys:
            kind = kinds[i]
            if k not in d:
                c = USUAL if kind == "-" else ABSENT
            elif kind == "-":
                v = d[k]
                c = NULL if v is None else ANY
            else:
                v = d[k]
                c = USUAL
                m = len(out)
                try:
                    if kind in DERIVED or kind in "no":
                        if not same(v, self._usual(kind, k, d, seq, rec, ctx)):
                            raise CodecError("not the usual value")
                    elif v is None:
                        c = NULL
                    else:
                        self._put(out, kind, v, d, seq, rec, ctx)
                except MemoryError:
                    raise
                except Exception:  # not of the layout's form: a tagged value keeps it
                    out[m:] = b""  # what the layout's form had put
                    c = NULL if v is None else ANY
            if c == ANY:
                put_any(out, v)
            codes |= c << (2 * i)
            i += 1
        n = 0
        for k in d:
            if k != skip and k not in keys:
                n += 1
        if n:
            codes |= 1 << (2 * i)
            out.append(T_DICT)
            put_uv(out, n)
            for k in d:
                if k != skip and k not in keys:
                    put_key(out, k)
                    put_any(out, d[k])
        # The codes' varint in front of the values: room made in place, then filled.
        n = 1
        c = codes
        while c > 0x7F:
            c >>= 7
            n += 1
        out[at:at] = bytes(n)
        while codes > 0x7F:
            out[at] = (codes & 0x7F) | 0x80
            codes >>= 7
            at += 1
        out[at] = codes

    def _put(self, out, kind, v, d, seq, rec, ctx):
        if kind == "t":
            if type(v) is not int or not 0 <= v < 1 << 32:
                raise CodecError("time out of range")
            out.extend(struct.pack("<I", v))
        elif kind == "u":
            put_uv(out, v)
        elif kind == "y":
            if v is not True and v is not False:
                raise CodecError("not a boolean")
            out.append(v)
        elif kind == "z":
            put_zz(out, v)
        elif kind == "e":
            if type(v) is not str:
                raise CodecError("not a word of WORDS")
            w = word_index(WORDS, v)
            if w < 0:
                raise CodecError("not a word of WORDS")
            put_uv(out, w)
        elif kind == "i":
            n = seq - int(v[len(self.install) + 1:], 16)
            if type(v) is not str or v != self.sid(seq - n) or n < 0:
                raise CodecError("sid of another form")
            put_uv(out, n)
        elif kind == "r":
            if type(v) is not list or len(v) != 2 or type(v[0]) is not str:
                raise CodecError("not a tariff ref")
            put_any(out, v[0])
            put_uv(out, v[1])
        elif kind == "a":
            if type(v) is not int:
                raise CodecError("not an int")
            put_zz(out, rec["t"] - v if rec["t"] is not None else v)
        elif kind in "bdf":
            if type(v) is not int:
                raise CodecError("not an int")
            put_zz(out, seq - v if kind == "b" else v - (self._dref(d) if kind == "d" else ctx["ref"]))
        elif kind == "L":
            put_uv(out, len(v))
            for x in v:
                self._put(out, "r", x, d, seq, rec, ctx)
        elif kind == "R":
            if type(v) is not dict:
                raise CodecError("not a receipt")
            self._fields(out, RECEIPT, v, seq, rec, None, {})
        elif kind == "S":
            put_uv(out, len(v))
            rem = self._rem(rec)
            for i, s in enumerate(v):
                if type(s) is not dict:
                    raise CodecError("not a segment")
                self._fields(out, SEG, s, seq, rec, None, self._segctx(i, rec, rem, i == len(v) - 1))
        elif kind == "l":
            put_uv(out, len(v))
            ref = d["from"]
            rem = ctx["rem"][0]
            for j, x in enumerate(v):
                if type(x) is not list or len(x) != 3:
                    raise CodecError("not a receipt line")
                f, wh, p = x
                put_uv(out, (f is None) | (p is None) << 1)
                if f is not None:
                    put_zz(out, f - (ref or 0))
                    ref = f
                if ctx["last"] and j == len(v) - 1:
                    put_zz(out, wh - rem)
                else:
                    put_uv(out, wh)
                rem -= wh
                if p is not None:
                    put_zz(out, p - ctx["p"])
            ctx["rem"][0] = rem  # only once the whole list is stored, as the reader counts
        elif kind == "g":
            if type(v) is not int:
                raise CodecError("not an int")
            put_zz(out, v - self._gref(rec))
        elif kind == "O":
            # Stored: the signed readings when they are not the usual begin and end. v: the
            # text, or the arguments that make it (Pricing.seal(whole=False)).
            if type(v) is not str and type(v) is not tuple:
                raise CodecError("ocmf not a text")
            # First the usual begin and end readings, which the reader makes again from the
            # record's own fields: encode's read-back proves them (making the text again here
            # too was ~600 bytes more, in pieces, at every session's end). Then, if that failed,
            # the readings themselves.
            if not self.rd:
                out.append(0)
                return
            rd = []  # (t, TX, RV) of each, as stored
            made = []  # the readings made again from them, as the reader does
            for x in v[4] if type(v) is tuple else json.loads(v)["RD"]:
                # sign.reading's TM text back to a Unix time (None for the U status).
                tm = x["TM"]
                t = None
                if not tm.endswith(" U"):
                    t = (days_from_civil(int(tm[0:4]), int(tm[5:7]), int(tm[8:10])) * 86400
                         + int(tm[11:13]) * 3600 + int(tm[14:16]) * 60 + int(tm[17:19]))
                rd.append((t, x["TX"], x["RV"]))
                made.append(sign.reading(t, x["TX"], x["RV"]))
            if not sign.is_payload(v, self._ocmf_args(d, seq, made)):
                raise CodecError("ocmf of another form")
            put_uv(out, len(rd))
            for t, tx, wh in rd:
                out.append(ord(tx))
                put_uv(out, wh)
                if t is None:
                    out.append(0)
                else:
                    out.append(1)
                    out.extend(struct.pack("<I", t))
        else:
            raise CodecError("kind %s" % kind)
