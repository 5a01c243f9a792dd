# Compact binary journal payloads, rendered to the JSON records of the MQTT contract when
# read (docs/journal.md, Record encoding). Flash pays for what a record says, not for its
# field names: the frequent types have a field layout (a 2-bit code per field, then the
# values as varints), values the agent can work out again (sid, end_t, energy, totals,
# the signed OCMF text) are not stored, and anything a layout does not expect falls back
# to a tagged encoding with a static key table, so every record round-trips exactly.
# A payload that starts with "{" is JSON (older journals, host tools) and renders as is.
import json
import struct

from micropython import const

from laddvakt.billing import sign
from laddvakt.billing.tariff import PRICE_SCALE
from laddvakt.core.calendar import days_from_civil
from laddvakt.core.ids import session_id

_LAYOUT = const(1)  # payload[0]: per-type field layout
_TAGGED = const(2)  # payload[0]: the whole record as one tagged dict
_LAYOUT0 = const(3)  # payload[0]: the layout, every field in its usual form (no code byte)

# Field codes, two bits each in the layout's bitmap: 0 = the usual form (the typed value
# follows, or the field is derived / null / zero, as its kind says), 1 = absent,
# 2 = null, 3 = a tagged value follows.
_USUAL = const(0)
_ABSENT = const(1)
_NULL = const(2)
_ANY = const(3)

# Tags of the general encoding.
_T_NULL = const(0)
_T_FALSE = const(1)
_T_TRUE = const(2)
_T_UINT = const(3)
_T_NEG = const(4)
_T_STR = const(5)
_T_LIST = const(6)
_T_DICT = const(7)
_T_WORD = const(8)  # a string of WORDS

# KEYS and WORDS are part of the format on flash: their indexes are stored, so entries are
# only ever appended, never reordered or removed (a journal outlives a firmware upgrade).
# Field names of the records (keys of a tagged dict are an index here, or a string).
KEYS = (
    "type", "t", "tq", "boot", "up", "sid", "energy_wh", "power_w", "ctx", "st", "cost_minor",
    "meter_start_wh", "id_tag", "vehicle_id", "currency", "price_minor_per_kwh", "tariff", "tc",
    "start_t", "start_tq", "end_t", "meter_stop_wh", "duration_s", "stop_reason", "minor_unit",
    "energy_flags", "tariffs", "receipt", "ocmf", "sig", "code", "active", "info", "event",
    "reason", "value_dwh", "fw", "board", "first", "last", "why", "sched", "id", "start",
    "step_s", "prices", "parts", "need_wh", "by_t", "feasible", "shortfall_wh", "windows",
    "segs", "start_fee", "vat_bp", "min", "max", "adj", "net", "vat", "total", "ver", "from",
    "lines", "chg_ms", "time_fee", "idle_ms", "idle_fee", "alg", "mac", "version",
)
# String values that recur (enums of the contract, and the config tariff's id).
WORDS = (
    "synced", "unsynced", "Sample.Periodic", "Sample.Clock", "Trigger", "Interruption.Begin",
    "Interruption.End", "Transaction.Begin", "Transaction.End", "charging", "idle", "suspended",
    "EVDisconnected", "Other", "Local", "Remote", "PowerLoss", "EmergencyStop", "HardReset",
    "Reboot", "SoftReset", "UnlockCommand", "DeAuthorized", "SEK", "EUR", "NOK", "DKK", "USD",
    "GBP", "config", "meter", "session_start", "session_end", "fault", "boot", "gap", "time_sync",
    "tariff_change", "price_schedule", "meter_event", "plan", "corrupt", "thinned", "rejected",
    "resync", "replaced", "nan", "backwards", "jump", "InternalError", "PowerMeterFailure",
    "OtherError", "min", "max", "HS256", "discontinuity", "meter_replaced", "estimated",
    "unverified_end", "journal_full", "ConnectorLockFailure", "EVCommunicationError",
    "GroundFailure", "HighTemperature", "LocalListConflict", "OverCurrentFailure",
    "PowerSwitchFailure", "ReaderFailure", "ResetFailure", "UnderVoltage", "OverVoltage",
    "WeakSignal",
)

# Layouts: (key, kind) per field, in stored order. They are format too: a changed layout
# needs a new form byte (payload[0]), the old one still read. Kinds:
#   t u32 time; u unsigned varint; z signed varint; y a boolean; e a WORDS value;
#   n usually null; o usually 0; - usually absent (code 0 is absence, code 1 unused);
#   i sid = <install>-<seq back by a varint>; b a seq, back from the record's own;
#   r tariff ref [id, version]; a seconds before t; d duration_s, relative to t - start_t;
#   derived (nothing stored): q quality of the time before it; m end_t == t;
#   w meter_stop_wh = start + energy; c cost_minor == receipt total; G sig over ocmf;
#   x receipt totals; k segment tariff from `tariffs`;
#   L tariffs list; R receipt; S segments; f seconds after start_t; l receipt lines;
#   g charging ms, relative to duration_s;
#   O ocmf (re-made; the readings stored when not the usual begin and end).
_BASE = (("t", "t"), ("tq", "q"), ("boot", "u"), ("up", "u"))
_METER = _BASE + (("sid", "i"), ("energy_wh", "u"), ("power_w", "z"), ("ctx", "e"), ("st", "e"),
                  ("cost_minor", "u"))
_START = _BASE + (("sid", "i"), ("meter_start_wh", "u"), ("id_tag", "n"), ("vehicle_id", "n"),
                  ("currency", "e"), ("price_minor_per_kwh", "u"), ("tariff", "r"), ("tc", "b"),
                  ("st", "e"))
_END = _BASE + (("sid", "i"), ("start_t", "a"), ("start_tq", "q"), ("end_t", "m"),
                ("meter_start_wh", "u"), ("energy_wh", "u"), ("meter_stop_wh", "w"),
                ("duration_s", "d"), ("stop_reason", "e"), ("id_tag", "n"), ("vehicle_id", "n"),
                ("currency", "e"), ("minor_unit", "u"), ("price_minor_per_kwh", "u"),
                ("energy_flags", "-"), ("tariffs", "L"), ("receipt", "R"), ("cost_minor", "c"),
                ("ocmf", "O"), ("sig", "G"))
_FAULT = _BASE + (("code", "e"), ("active", "y"), ("info", "n"), ("sid", "i"))
_LAYOUTS = {2: _START, 3: _METER, 4: _END, 5: _FAULT, 6: _METER, 7: _METER}  # 6, 7: meter values too
_NAMES = {2: "session_start", 3: "meter", 4: "session_end", 5: "fault", 6: "meter", 7: "meter"}

_RECEIPT = (("segs", "S"), ("start_fee", "o"), ("vat_bp", "u"), ("min", "o"), ("max", "o"),
            ("net", "x"), ("vat", "x"), ("total", "x"), ("adj", "x"))
_SEG = (("tariff", "k"), ("ver", "k"), ("sched", "n"), ("from", "f"), ("lines", "l"),
        ("chg_ms", "g"), ("time_fee", "o"), ("idle_ms", "o"), ("idle_fee", "o"))

_DERIVED = "qmwcGxk"  # kinds whose usual form stores nothing


class CodecError(ValueError):
    pass


def _int(v):
    return type(v) is int


def _same(a, b):
    # JSON equality: true is not 1, a tuple is a list.
    ta = list if type(a) is tuple else type(a)
    tb = list if type(b) is tuple else type(b)
    if ta is not tb:
        return False
    if ta is list:
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if ta is dict:
        return len(a) == len(b) and all(k in b and _same(a[k], b[k]) for k in a)
    return a == b


# ---- primitives ------------------------------------------------------------------------
def _uv(out, n):
    if not _int(n) or n < 0:
        raise CodecError("not an unsigned int")
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _zz(out, n):
    if not _int(n):
        raise CodecError("not an int")
    _uv(out, n * 2 if n >= 0 else -n * 2 - 1)


def _rv(r):
    n = sh = 0
    b = r.b
    while True:
        x = b[r.i]
        r.i += 1
        n |= (x & 0x7F) << sh
        if x < 0x80:
            return n
        sh += 7


def _rz(r):
    n = _rv(r)
    return n >> 1 if not n & 1 else -(n >> 1) - 1


def _str(out, s):
    b = s.encode()
    _uv(out, len(b))
    out.extend(b)


def _rstr(r):
    n = _rv(r)
    s = bytes(r.b[r.i:r.i + n]).decode()
    r.i += n
    return s


def _any(out, v):
    """The general tagged encoding of any JSON value but floats."""
    if v is None:
        out.append(_T_NULL)
    elif v is False:
        out.append(_T_FALSE)
    elif v is True:
        out.append(_T_TRUE)
    elif _int(v):
        if v >= 0:
            out.append(_T_UINT)
            _uv(out, v)
        else:
            out.append(_T_NEG)
            _uv(out, -v - 1)
    elif type(v) is str:
        if v in WORDS:
            out.append(_T_WORD)
            _uv(out, WORDS.index(v))
        else:
            out.append(_T_STR)
            _str(out, v)
    elif type(v) is list or type(v) is tuple:
        out.append(_T_LIST)
        _uv(out, len(v))
        for x in v:
            _any(out, x)
    elif type(v) is dict:
        out.append(_T_DICT)
        _uv(out, len(v))
        for k, x in v.items():
            _key(out, k)
            _any(out, x)
    else:
        raise CodecError("no encoding for %s" % type(v))


def _key(out, k):
    if type(k) is not str:
        raise CodecError("key not a string")
    if k in KEYS:
        _uv(out, KEYS.index(k))
    else:
        b = k.encode()
        _uv(out, len(KEYS) + len(b))
        out.extend(b)


def _rany(r):
    tag = r.b[r.i]
    r.i += 1
    if tag <= _T_TRUE:
        return (None, False, True)[tag]
    if tag == _T_UINT:
        return _rv(r)
    if tag == _T_NEG:
        return -_rv(r) - 1
    if tag == _T_STR:
        return _rstr(r)
    if tag == _T_WORD:
        return WORDS[_rv(r)]
    if tag == _T_LIST:
        return [_rany(r) for _ in range(_rv(r))]
    if tag == _T_DICT:
        d = {}
        for _ in range(_rv(r)):
            k = _rv(r)
            if k < len(KEYS):
                k = KEYS[k]
            else:
                n = k - len(KEYS)
                k = bytes(r.b[r.i:r.i + n]).decode()
                r.i += n
            d[k] = _rany(r)
        return d
    raise CodecError("bad tag %d" % tag)


class _Reader:
    def __init__(self, b, i):
        self.b = b
        self.i = i


def _ocmf_t(tm):
    # sign.ocmf_time's text back to a Unix time (None for the U status).
    if tm.endswith(" U"):
        return None
    days = days_from_civil(int(tm[0:4]), int(tm[5:7]), int(tm[8:10]))
    return days * 86400 + int(tm[11:13]) * 3600 + int(tm[14:16]) * 60 + int(tm[17:19])


class Codec:
    """encode/render for one install. The signed OCMF text names the device, firmware and
    meter serial, and is signed with the device key: those come from here at render time."""

    def __init__(self, install, key=None, dev="", fw="", serial=None):
        self.install = install
        self.key = key  # bytes, or None: the record's sig is null
        self.dev = dev
        self.fw = fw
        self.serial = serial  # () -> the meter serial text, as session_end signs it

    # ---- encode ------------------------------------------------------------------------
    def encode(self, rtype, d, seq):
        """The payload to journal for record d (a dict, "type" included, no "seq") that
        will get seq. Falls back to the tagged form, then to JSON, never fails on a
        JSON-able record."""
        lay = _LAYOUTS.get(rtype)
        if lay is not None and d.get("type") == _NAMES[rtype]:
            try:
                out = bytearray()
                out.append(_LAYOUT)
                self._fields(out, lay, d, seq, d, "type")
                if out[1] == 0:
                    out[1] = _LAYOUT0  # the most common case saves the byte of codes
                    out = memoryview(out)[1:]
                p = bytes(out)
                # The record is billing data: keep the compact form only if it reads back.
                if _same(self.decode(rtype, p, seq), d):
                    return p
            except Exception:  # any surprise in a record: the general form below keeps it
                pass
        try:
            out = bytearray()
            out.append(_TAGGED)
            _any(out, d)
            return bytes(out)
        except CodecError:
            return json.dumps(d).encode()

    def _fields(self, out, lay, d, seq, rec, skip=None, ctx=None):
        codes = 0
        body = bytearray()
        i = 0
        for k, kind in lay:
            if k not in d:
                c = _USUAL if kind == "-" else _ABSENT
            elif kind == "-":
                v = d[k]
                c = _NULL if v is None else _ANY
                if c == _ANY:
                    _any(body, v)
            else:
                v = d[k]
                c = _USUAL
                try:
                    if kind in _DERIVED or kind in "no":
                        if not _same(v, self._usual(kind, k, d, seq, rec, ctx)):
                            raise CodecError("not the usual value")
                    elif v is None:
                        c = _NULL
                    else:
                        b = bytearray()
                        self._put(b, kind, v, d, seq, rec, ctx)
                        body.extend(b)
                except Exception:  # not of the layout's form: a tagged value keeps it
                    c = _NULL if v is None else _ANY
                if c == _ANY:
                    _any(body, v)
            codes |= c << (2 * i)
            i += 1
        extra = [k for k in d if k != skip and not any(k == f[0] for f in lay)]
        if extra:
            codes |= 1 << (2 * i)
            body.append(_T_DICT)
            _uv(body, len(extra))
            for k in extra:
                _key(body, k)
                _any(body, d[k])
        _uv(out, codes)
        out.extend(body)

    def _put(self, out, kind, v, d, seq, rec, ctx):
        if kind == "t":
            if not _int(v) or not 0 <= v < 1 << 32:
                raise CodecError("time out of range")
            out.extend(struct.pack("<I", v))
        elif kind == "u":
            _uv(out, v)
        elif kind == "y":
            if v is not True and v is not False:
                raise CodecError("not a boolean")
            out.append(v)
        elif kind == "z":
            _zz(out, v)
        elif kind == "e":
            if type(v) is not str:
                raise CodecError("not a word")
            _uv(out, WORDS.index(v))
        elif kind == "i":
            n = seq - int(v[len(self.install) + 1:], 16)
            if type(v) is not str or v != self.sid(seq - n) or n < 0:
                raise CodecError("sid of another form")
            _uv(out, n)
        elif kind == "r":
            if type(v) is not list or len(v) != 2 or type(v[0]) is not str:
                raise CodecError("not a tariff ref")
            _any(out, v[0])
            _uv(out, v[1])
        elif kind == "a":
            if not _int(v):
                raise CodecError("not an int")
            _zz(out, rec["t"] - v if rec["t"] is not None else v)
        elif kind in "bdf":
            if not _int(v):
                raise CodecError("not an int")
            _zz(out, seq - v if kind == "b" else v - (self._dref(d) if kind == "d" else ctx["ref"]))
        elif kind == "L":
            _uv(out, len(v))
            for x in v:
                self._put(out, "r", x, d, seq, rec, ctx)
        elif kind == "R":
            if type(v) is not dict:
                raise CodecError("not a receipt")
            self._fields(out, _RECEIPT, v, seq, rec, None, {})
        elif kind == "S":
            _uv(out, len(v))
            rem = self._rem(rec)
            for i, s in enumerate(v):
                if type(s) is not dict:
                    raise CodecError("not a segment")
                self._fields(out, _SEG, s, seq, rec, None, self._segctx(i, rec, rem, i == len(v) - 1))
        elif kind == "l":
            _uv(out, len(v))
            ref = d["from"]
            rem = ctx["rem"][0]
            for j, x in enumerate(v):
                if type(x) is not list or len(x) != 3:
                    raise CodecError("not a line")
                f, wh, p = x
                _uv(out, (f is None) | (p is None) << 1)
                if f is not None:
                    _zz(out, f - (ref or 0))
                    ref = f
                if ctx["last"] and j == len(v) - 1:
                    _zz(out, wh - rem)
                else:
                    _uv(out, wh)
                rem -= wh
                if p is not None:
                    _zz(out, p - ctx["p"])
            ctx["rem"][0] = rem  # only once the whole list is stored, as the reader counts
        elif kind == "g":
            if not _int(v):
                raise CodecError("not an int")
            _zz(out, v - self._gref(rec))
        elif kind == "O":
            # Stored: the signed readings when they are not the usual begin and end.
            if type(v) is not str:
                raise CodecError("not a text")
            if v == self.ocmf(d, seq):
                out.append(0)
                return
            rd = [(_ocmf_t(x["TM"]), x["TX"], x["RV"]) for x in json.loads(v)["RD"]]
            if v != self.ocmf(d, seq, [sign.reading(*x) for x in rd]):
                raise CodecError("ocmf of another form")
            _uv(out, len(rd))
            for t, tx, wh in rd:
                out.append(ord(tx))
                _uv(out, wh)
                if t is None:
                    out.append(0)
                else:
                    out.append(1)
                    out.extend(struct.pack("<I", t))
        else:
            raise CodecError("kind %s" % kind)

    @staticmethod
    def _segctx(i, rec, rem, last):
        # A segment's times count from the session's start; its line prices from the
        # plug-in price; the session's last line's Wh from the energy no line before holds
        # (a flat tariff's one line then costs a few bytes).
        p = rec.get("price_minor_per_kwh")
        return {"i": i, "ref": rec["start_t"], "p": p * PRICE_SCALE if _int(p) else 0, "rem": rem,
                "last": last}

    @staticmethod
    def _rem(rec):
        e = rec.get("energy_wh")
        return [e if _int(e) else 0]

    @staticmethod
    def _gref(rec):
        d = rec.get("duration_s")
        return d * 1000 if _int(d) else 0

    @staticmethod
    def _dref(d):
        t, s = d.get("t"), d.get("start_t")
        return t - s if _int(t) and _int(s) else 0

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
            return sign.sign(self.key, o) if self.key and type(o) is str else None
        raise CodecError("kind %s" % kind)

    def ocmf(self, d, seq, readings=None):
        """The signed payload of session_end d (seq: its own): sign.payload's text, as
        pricing built it when the session ended."""
        if readings is None:
            readings = [sign.reading(d["start_t"], "B", d["meter_start_wh"]),
                        sign.reading(d["end_t"], "E", d["meter_stop_wh"])]
        serial = self.serial() if self.serial else ""
        return sign.payload("T%d" % seq, self.dev, self.fw, serial, d["id_tag"], readings, d["sid"],
                            d["cost_minor"], d["currency"], d["tariffs"])

    # ---- render ------------------------------------------------------------------------
    def render(self, rtype, payload, seq):
        """The JSON text (bytes) of a journaled payload, without "seq"."""
        if payload[0] == 0x7B:  # "{": journaled as JSON
            return bytes(payload)
        return json.dumps(self.decode(rtype, payload, seq)).encode()

    def visitor(self, visit):
        """Wrap visit(seq, type, payload) for Journal.read_after so it gets the rendered JSON."""
        return lambda seq, rtype, p: visit(seq, rtype, self.render(rtype, p, seq))

    def decode(self, rtype, payload, seq):
        if payload[0] == 0x7B:
            return json.loads(bytes(payload))
        r = _Reader(payload, 1)
        if payload[0] == _TAGGED:
            return _rany(r)
        if payload[0] not in (_LAYOUT, _LAYOUT0) or rtype not in _LAYOUTS:
            raise CodecError("unknown payload form %d" % payload[0])
        d = {"type": _NAMES[rtype]}
        self._read(r, _LAYOUTS[rtype], d, seq, d, None, 0 if payload[0] == _LAYOUT0 else None)
        return d

    def _read(self, r, lay, d, seq, rec, ctx, codes=None):
        if codes is None:
            codes = _rv(r)
        i = 0
        for k, kind in lay:
            c = (codes >> (2 * i)) & 3
            i += 1
            if c == _ABSENT or c == _USUAL and kind == "-":
                continue
            if c == _NULL:
                d[k] = None
            elif c == _ANY:
                d[k] = _rany(r)
            elif kind in _DERIVED or kind in "no":
                d[k] = self._usual(kind, k, d, seq, rec, ctx)
            else:
                d[k] = self._get(r, kind, d, seq, rec, ctx)
        if (codes >> (2 * i)) & 3:
            d.update(_rany(r))

    def _get(self, r, kind, d, seq, rec, ctx):
        if kind == "t":
            r.i += 4
            return struct.unpack_from("<I", r.b, r.i - 4)[0]
        if kind == "u":
            return _rv(r)
        if kind == "y":
            r.i += 1
            return r.b[r.i - 1] == 1
        if kind == "z":
            return _rz(r)
        if kind == "e":
            return WORDS[_rv(r)]
        if kind == "i":
            return self.sid(seq - _rv(r))
        if kind == "r":
            return [_rany(r), _rv(r)]
        if kind == "a":
            n = _rz(r)
            return rec["t"] - n if rec["t"] is not None else n
        if kind == "b":
            return seq - _rz(r)
        if kind == "d":
            return _rz(r) + self._dref(d)
        if kind == "O":
            rd = None
            n = _rv(r)
            if n:
                rd = []
                for _ in range(n):
                    tx = chr(r.b[r.i])
                    r.i += 1
                    wh = _rv(r)
                    r.i += 1
                    t = None
                    if r.b[r.i - 1]:
                        t = self._get(r, "t", d, seq, rec, ctx)
                    rd.append(sign.reading(t, tx, wh))
            return self.ocmf(d, seq, rd)
        if kind == "f":
            return _rz(r) + ctx["ref"]
        if kind == "L":
            return [self._get(r, "r", d, seq, rec, ctx) for _ in range(_rv(r))]
        if kind == "R":
            o = {}
            self._read(r, _RECEIPT, o, seq, rec, {})
            return o
        if kind == "S":
            out = []
            rem = self._rem(rec)
            n = _rv(r)
            for i in range(n):
                o = {}
                self._read(r, _SEG, o, seq, rec, self._segctx(i, rec, rem, i == n - 1))
                out.append(o)
            return out
        if kind == "l":
            out = []
            ref = d["from"]
            n = _rv(r)
            for j in range(n):
                h = _rv(r)
                f = None
                if not h & 1:
                    f = _rz(r) + (ref or 0)
                    ref = f
                wh = _rz(r) + ctx["rem"][0] if ctx["last"] and j == n - 1 else _rv(r)
                ctx["rem"][0] -= wh
                out.append([f, wh, None if h & 2 else _rz(r) + ctx["p"]])
            return out
        if kind == "g":
            return _rz(r) + self._gref(rec)
        raise CodecError("kind %s" % kind)


def _totals(rc, k):
    """A receipt's net, vat, total or adj, worked out from its segments and terms as
    SessionCost.finish does (docs/tariffs.md)."""
    from laddvakt.billing.money import FEE_FACTOR, MS_FACTOR, WH_FACTOR, totals

    units = rc["start_fee"] * FEE_FACTOR
    for s in rc["segs"]:
        for _, wh, p in s["lines"]:
            units += wh * p * WH_FACTOR
        units += (s["chg_ms"] * s["time_fee"] + s["idle_ms"] * s["idle_fee"]) * MS_FACTOR
    total, vat, net, adj = totals(units, rc["vat_bp"], rc["min"], rc["max"])
    return {"total": total, "vat": vat, "net": net, "adj": adj}[k]
