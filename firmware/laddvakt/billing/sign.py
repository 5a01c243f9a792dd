# Signed session records: an OCMF-like payload (meter serial, readings with time
# status) and an HMAC-SHA256 over its exact bytes with the device's provisioned key.
# OCMF signs with ECDSA; an HMAC is the stand-in MicroPython can afford (FACTS.md).
# HMAC per RFC 2104, built on hashlib.sha256, which the ESP32 and unix ports have.
import io
import json
from binascii import hexlify

import hashlib

from laddvakt.core.clock import civil_from_days
from micropython import const

_BLOCK = const(64)  # SHA-256 block size, bytes


def hmac_sha256(key, msg):
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    k = bytearray(_BLOCK)
    k[:len(key)] = key
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in k))
    _update(inner, msg)
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in k))
    outer.update(inner.digest())
    return outer.digest()


def ocmf_time(t):
    """OCMF time: "YYYY-MM-DDThh:mm:ss,fff+0000 S" (synchronised) or the epoch with U."""
    if t is None:
        return "1970-01-01T00:00:00,000+0000 U"
    days, s = divmod(t, 86400)
    y, m, d = civil_from_days(days)
    return "%04d-%02d-%02dT%02d:%02d:%02d,000+0000 S" % (y, m, d, s // 3600, s // 60 % 60, s % 60)


def reading(t, tx, wh):
    # TX: B begin, T tariff change, E end (OCMF); RI is the OBIS id of import energy.
    return {"TM": ocmf_time(t), "TX": tx, "RV": wh, "RI": "1-0:1.8.0", "RU": "Wh", "ST": "G"}


def reading_of(r):
    return {"TM": r["TM"], "TX": r["TX"], "RV": r["RV"], "RI": r["RI"], "RU": r["RU"], "ST": r["ST"]}


# Version of laddvakt's own block (LV.V). Version 1 (no V) signed only the session id, cost,
# currency and tariffs; a backend still reads it (docs/tariffs.md, Signed session records).
LV_VERSION = 2
# The receipt is signed by its digest: inline, its segments and lines would crowd the record
# out of its journal frame (fit() would drop them). The digest is over the receipt as arrays in
# a fixed order, made afresh from the record, as compact JSON: the same bytes on the device and
# on any backend, whatever order a dict read back from flash lists its keys in.
_RECEIPT = ("start_fee", "vat_bp", "min", "max", "adj", "net", "vat", "total")
_SEG = ("tariff", "ver", "sched", "from", "lines", "chg_ms", "time_fee", "idle_ms", "idle_fee")


def _compact(v):
    return json.dumps(v, separators=(",", ":"))


def receipt_digest(r):
    """SHA-256 (first 16 bytes, hex) of the receipt: every term and total, then each
    segment's tariff parts and energy lines; None without a receipt."""
    if r is None:
        return None
    segs = r.get("segs")
    a = [r.get(k) for k in _RECEIPT] + [None if segs is None else [[s.get(k) for k in _SEG] for s in segs]]
    return hexlify(hashlib.sha256(_compact(a).encode()).digest()[:16]).decode()


def payload(pg, dev, fw, meter_serial, readings, d):
    """The signed text of session_end record d: every field a bill is made of.
    readings: the session's OCMF readings (begin, tariff changes, end)."""
    # Compact separators: the text travels inside the record, which must fit one frame.
    return _compact(fields(pg, dev, fw, meter_serial, readings, d))


def fields(pg, dev, fw, meter_serial, readings, d):
    """payload's text as the object it is the compact JSON of."""
    # Each reading is made afresh: a dict read back from flash (the session store) may list
    # its keys in another order, and the journal re-makes this text when the record is read
    # (journal/codec.py), so the same readings must give the same bytes.
    readings = [reading_of(r) for r in readings]
    id_tag = d.get("id_tag")
    rc = d.get("receipt")
    lv = {"V": LV_VERSION, "SID": d.get("sid"), "CT": d.get("cost_minor"), "CU": d.get("currency"),
          "MU": d.get("minor_unit"), "TA": d.get("tariffs"), "EN": d.get("energy_wh"),
          "TS": d.get("start_t"), "TE": d.get("end_t"), "T": d.get("t"),
          "TQ": [d.get("start_tq"), d.get("tq")], "DU": d.get("duration_s"),
          "SR": d.get("stop_reason"), "UP": d.get("price_minor_per_kwh"),
          "VR": rc.get("vat_bp") if rc else None, "VA": rc.get("vat") if rc else None,
          # The rest of the receipt: fees, totals, each segment's tariff parts and lines.
          "RC": receipt_digest(rc), "EF": d.get("energy_flags"), "VI": d.get("vehicle_id")}
    p = {
        "FV": "1.0", "GI": "laddvakt", "GS": dev, "GV": fw, "PG": pg, "MS": meter_serial,
        "IS": id_tag is not None, "IT": "ISO14443" if id_tag is not None else "NONE",
        "ID": id_tag or "", "RD": readings,
        # laddvakt's own fields, signed with the rest: the session, its times and its bill.
        "LV": lv,
    }
    return p


def sign(key, text):
    """{"alg": "HS256", "mac": hex} over the UTF-8 bytes of text."""
    return {"alg": "HS256", "mac": hexlify(hmac_sha256(key, text)).decode()}


# A session_end's check decode (journal/codec.py) compares its stored text with the one the
# record makes: made, or encoded whole, that is ~600 bytes at once at every session's end, more
# than a tight heap may have in one piece. Both are hashed in pieces instead.
def _update(h, msg):
    # msg: bytes, or a str hashed as its UTF-8 bytes, 64 characters at a time.
    if type(msg) is str:
        for i in range(0, len(msg), 64):
            h.update(msg[i:i + 64].encode())
    else:
        h.update(msg)


class _Digest(io.IOBase):
    # A stream that only hashes what json.dump writes into it.
    def __init__(self):
        self.h = hashlib.sha256()

    def write(self, b):
        _update(self.h, b)
        return len(b)


def is_payload(text, p):
    """Whether text is _compact(p) (p from fields()), without making either whole."""
    s = _Digest()
    json.dump(p, s, separators=(",", ":"))
    h = hashlib.sha256()
    _update(h, text)
    return h.digest() == s.h.digest()
