# Signed session records: an OCMF-like payload (meter serial, readings with time
# status) and an HMAC-SHA256 over its exact bytes with the device's provisioned key.
# OCMF signs with ECDSA; an HMAC is the stand-in MicroPython can afford (FACTS.md).
# HMAC per RFC 2104, built on hashlib.sha256, which the ESP32 and unix ports have.
# The text is written in pieces into a stream (write()): into a hash to sign or compare it,
# into the uplink's batch, and made whole only where a record must hold it (seal).
import io
import json
from binascii import hexlify

import hashlib

from laddvakt.core.clock import civil_from_days
from micropython import const

_BLOCK = const(64)  # SHA-256 block size, bytes
_SEP = (",", ":")  # compact JSON: the text travels inside the record, which must fit one frame


class Sink(io.IOBase):
    # A stream for json.dump and write(): into a hash (h), to sign or compare a text without
    # making it (session/store.py hashes its billing state so), else a count of its bytes (n),
    # then those bytes (mv, n bytes long); with e set, the count is of those bytes escaped
    # inside a JSON string, as json.dumps writes them (" and \ escaped; the text, itself compact
    # JSON, holds no control characters: Pricing.fit).
    def __init__(self, h=None):
        self.h = h
        self.mv = None
        self.n = 0
        self.e = False

    def write(self, b):
        m = len(b)
        if self.h:
            self.h.update(b)
        elif self.mv:
            self.mv[self.n:self.n + m] = b
        elif self.e:
            self.n += b.count(b'"') + b.count(b"\\")
        self.n += m
        return m


def hmac_sha256(key, msg):
    """msg: bytes, a str (its UTF-8 bytes), or payload()'s arguments (the text it makes)."""
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    k = bytearray(_BLOCK)
    k[:len(key)] = key
    # the pads made in k in place: a generator expression is a code object in RAM for good
    for i in range(_BLOCK):
        k[i] ^= 0x36
    inner = hashlib.sha256(k)
    # a str is hashed as its UTF-8 bytes, which MicroPython's hash reads in place (encoded
    # whole, the signed text was ~600 bytes at once: what a tight heap lacks first)
    if type(msg) is tuple:
        write(Sink(inner), *msg)
    else:
        inner.update(msg)
    for i in range(_BLOCK):
        k[i] ^= 0x36 ^ 0x5C
    outer = hashlib.sha256(k)
    outer.update(inner.digest())
    return outer.digest()


def reading(t, tx, wh):
    """An OCMF reading as the session keeps it (its saved state holds them). TM, the OCMF time:
    "YYYY-MM-DDThh:mm:ss,fff+0000 S" (synchronised), or the epoch with U for an unknown t."""
    tm = "1970-01-01T00:00:00,000+0000 U"
    if t is not None:
        days, s = divmod(t, 86400)
        y, m, d = civil_from_days(days)
        tm = "%04d-%02d-%02dT%02d:%02d:%02d,000+0000 S" % (y, m, d, s // 3600, s // 60 % 60, s % 60)
    return {"TM": tm, "TX": tx, "RV": wh, "RI": "1-0:1.8.0", "RU": "Wh", "ST": "G"}


def _dump(w, head, keys, o):
    # head, then [o[k] for k in keys] as compact JSON, without the list
    for k in keys:
        w.write(head)
        json.dump(o.get(k), w, separators=_SEP)
        head = b","


def _put(w, text, i, v):
    # text (a template) from i up to its next NUL, then v as compact JSON; returns where text goes on
    j = text.find(b"\0", i)
    w.write(text[i:j])
    json.dump(v, w, separators=_SEP)
    return j + 1


def write(w, pg, dev, fw, meter_serial, readings, d):
    """Write the signed text of session_end record d into stream w (its write(bytes)), in
    pieces: every field a bill is made of. readings: the session's OCMF readings (begin,
    tariff changes, end), as reading() makes them."""
    # The payload's fixed text, keys and tags in the order it has always had (that of MicroPython's
    # json.dumps of the dicts it was once made from); a value goes at each NUL, as compact JSON.
    # LV is laddvakt's own block, signed with the rest: the session, its times and its bill. Its
    # version (LV.V) is 2; version 1 (no V) signed only the session id, cost, currency and tariffs,
    # and a backend still reads it (docs/tariffs.md, Signed session records).
    ocmf = (b'{"FV":"1.0","MS":\0,"IS":\0,"ID":\0,"GS":\0,"IT":\0,"RD":[\0],"GV":\0,"PG":\0,'
            b'"GI":"laddvakt","LV":{"SR":\0,"VR":\0,"VA":\0,"TA":\0,"VI":\0,"EF":\0,"TQ":[\0,\0],'
            b'"TE":\0,"TS":\0,"T":\0,"V":2,"DU":\0,"SID":\0,"EN":\0,"CT":\0,"CU":\0,"RC":\0,"UP":\0,'
            b'"MU":\0}}')
    # LV's values in the template's order: the record's field of each name, but vat_bp and vat
    # (VR, VA) are the receipt's, and receipt (RC) is the receipt's digest.
    lv = ("stop_reason", "vat_bp", "vat", "tariffs", "vehicle_id", "energy_flags", "start_tq", "tq",
          "end_t", "start_t", "t", "duration_s", "sid", "energy_wh", "cost_minor", "currency", "receipt",
          "price_minor_per_kwh", "minor_unit")
    # A reading: TX (B begin, T tariff change, E end), TM, RV; RI is the OBIS id of import energy.
    rd = b'{"RI":"1-0:1.8.0","RU":"Wh","ST":"G","TX":\0,"TM":\0,"RV":\0}'

    tag = d.get("id_tag")
    rc = d.get("receipt")
    i = _put(w, ocmf, 0, meter_serial)
    i = _put(w, ocmf, i, tag is not None)
    i = _put(w, ocmf, i, tag or "")
    i = _put(w, ocmf, i, dev)
    i = _put(w, ocmf, i, "ISO14443" if tag is not None else "NONE")
    j = ocmf.find(b"\0", i)
    w.write(ocmf[i:j])
    for n, r in enumerate(readings):
        if n:
            w.write(b",")
        k = _put(w, rd, 0, r["TX"])
        k = _put(w, rd, k, r["TM"])
        w.write(rd[_put(w, rd, k, r["RV"]):])
    i = _put(w, ocmf, j + 1, fw)
    i = _put(w, ocmf, i, pg)
    for k in lv:
        if k == "receipt":
            # RC, the receipt's digest: SHA-256 (first 16 bytes, hex) of every term and total,
            # then each segment's tariff parts and energy lines; null without a receipt. Inline,
            # its segments and lines would crowd the record out of its journal frame (fit()
            # would drop them). Over the receipt as arrays in a fixed order, as compact JSON: the
            # same bytes on the device and on any backend (host_tools/backend/billing.py checks
            # them in this order), whatever order a dict read back from flash lists its keys in.
            v = None
            if rc is not None:
                h = Sink(hashlib.sha256())
                _dump(h, b"[", ("start_fee", "vat_bp", "min", "max", "adj", "net", "vat", "total"), rc)
                segs = rc.get("segs")
                if segs is None:
                    h.write(b",null")
                else:
                    h.write(b",[")
                    for n, s in enumerate(segs):
                        _dump(h, b"[" if n == 0 else b",[", ("tariff", "ver", "sched", "from", "lines", "chg_ms",
                                                            "time_fee", "idle_ms", "idle_fee"), s)
                        h.write(b"]")
                    h.write(b"]")
                h.write(b"]")
                v = hexlify(h.h.digest()[:16]).decode()
        elif k == "vat_bp" or k == "vat":
            v = rc.get(k) if rc else None
        else:
            v = d.get(k)
        i = _put(w, ocmf, i, v)
    w.write(ocmf[i:])


def payload(*a):
    """The signed text (str) of write(w, *a): counted, then written into one buffer of its size."""
    w = Sink()
    write(w, *a)
    w.mv = memoryview(bytearray(w.n))
    w.n = 0
    write(w, *a)
    return str(w.mv, "utf-8")


def sign(key, text):
    """{"alg": "HS256", "mac": hex} over the UTF-8 bytes of text, or of the text payload()'s
    arguments (a tuple) make."""
    return {"alg": "HS256", "mac": hexlify(hmac_sha256(key, text)).decode()}


def is_payload(text, a):
    """Whether text (or the text of arguments, a tuple) is payload(*a), without making either
    (the check decode's comparison): their SHA-256 digests compared."""
    # The same arguments make the same text: for a record compared with itself (encode's
    # check, a tuple holding the very record), its other arguments are compared and nothing is
    # hashed (both texts and the receipt's digest twice, a hash object each: at a session's end
    # the last blocks a tight heap lacked, docs/bench.md, heap).
    if type(text) is tuple and text[5] is a[5]:
        for i in range(5):
            if text[i] != a[i]:
                break
        else:
            return True
    h = []
    for x in (text, a):
        w = Sink(hashlib.sha256())
        if type(x) is tuple:
            write(w, *x)
        else:
            w.write(x)
        h.append(w.h.digest())
    return h[0] == h[1]
