# Signed session records: an OCMF-like payload (meter serial, readings with time
# status) and an HMAC-SHA256 over its exact bytes with the device's provisioned key.
# OCMF signs with ECDSA; an HMAC is the stand-in MicroPython can afford (FACTS.md).
# HMAC per RFC 2104, built on hashlib.sha256, which the ESP32 and unix ports have.
import json
from binascii import hexlify

import hashlib

from laddvakt.core.calendar import civil_from_days

_BLOCK = 64  # SHA-256 block size, bytes


def hmac_sha256(key, msg):
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    k = bytearray(_BLOCK)
    k[:len(key)] = key
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in k))
    inner.update(msg)
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


def payload(pg, dev, fw, meter_serial, id_tag, readings, sid, total, currency, tariffs):
    # Each reading is made afresh: a dict read back from flash (the session store) may list
    # its keys in another order, and the journal re-makes this text when the record is read
    # (journal/codec.py), so the same readings must give the same bytes.
    readings = [reading_of(r) for r in readings]
    d = {
        "FV": "1.0", "GI": "laddvakt", "GS": dev, "GV": fw, "PG": pg, "MS": meter_serial,
        "IS": id_tag is not None, "IT": "ISO14443" if id_tag is not None else "NONE",
        "ID": id_tag or "", "RD": readings,
        # laddvakt's own fields, signed with the rest: the session and its price.
        "LV": {"SID": sid, "CT": total, "CU": currency, "TA": tariffs},
    }
    return json.dumps(d)


def sign(key, text):
    """{"alg": "HS256", "mac": hex} over the UTF-8 bytes of text."""
    return {"alg": "HS256", "mac": hexlify(hmac_sha256(key, text.encode())).decode()}
