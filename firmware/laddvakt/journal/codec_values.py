# The compact payload format's tables, then its primitives (below). The tables (docs/journal.md,
# Record encoding): the form byte, the field codes, the tags of the general encoding, the key
# and word tables and each record type's field layout. All of it is on flash: change nothing
# in them but by appending.
from micropython import const

LAYOUT = const(1)  # payload[0]: per-type field layout
TAGGED = const(2)  # payload[0]: the whole record as one tagged dict
LAYOUT0 = const(3)  # payload[0]: the layout, every field in its usual form (no code byte)

# Field codes, two bits each in the layout's bitmap: 0 = the usual form (the typed value
# follows, or the field is derived / null / zero, as its kind says), 1 = absent,
# 2 = null, 3 = a tagged value follows.
USUAL = const(0)
ABSENT = const(1)
NULL = const(2)
ANY = const(3)

# Tags of the general encoding.
_T_NULL = const(0)
_T_FALSE = const(1)
_T_TRUE = const(2)
_T_UINT = const(3)
_T_NEG = const(4)
_T_STR = const(5)
_T_LIST = const(6)
T_DICT = const(7)
_T_WORD = const(8)  # a word of the word table (WORDS)

# _KEYS and WORDS are part of the format on flash: their indexes are stored, so entries are
# only ever appended, never reordered or removed (a journal outlives a firmware upgrade).
# Field names of the records (keys of a tagged dict are an index here, or a string). Both tables
# are one text, each entry followed by a space (word(), word_index()): in place, a tuple would
# hold a str object in RAM for each entry of more than 10 characters.
_KEYS = (
    "type t tq boot up sid energy_wh power_w ctx st cost_minor meter_start_wh id_tag vehicle_id "
    "currency price_minor_per_kwh tariff tc start_t start_tq end_t meter_stop_wh duration_s "
    "stop_reason minor_unit energy_flags tariffs receipt ocmf sig code active info event reason "
    "value_dwh fw board first last why sched id start step_s prices parts need_wh by_t feasible "
    "shortfall_wh windows segs start_fee vat_bp min max adj net vat total ver from lines chg_ms "
    "time_fee idle_ms idle_fee alg mac version "
)
# String values that recur (enums of the contract, and the config tariff's id).
WORDS = (
    "synced unsynced Sample.Periodic Sample.Clock Trigger Interruption.Begin Interruption.End "
    "Transaction.Begin Transaction.End charging idle suspended EVDisconnected Other Local "
    "Remote PowerLoss EmergencyStop HardReset Reboot SoftReset UnlockCommand DeAuthorized SEK "
    "EUR NOK DKK USD GBP config meter session_start session_end fault boot gap time_sync "
    "tariff_change price_schedule meter_event plan corrupt thinned rejected resync replaced nan "
    "backwards jump InternalError PowerMeterFailure OtherError min max HS256 discontinuity "
    "meter_replaced estimated unverified_end journal_full ConnectorLockFailure "
    "EVCommunicationError GroundFailure HighTemperature LocalListConflict OverCurrentFailure "
    "PowerSwitchFailure ReaderFailure ResetFailure UnderVoltage OverVoltage WeakSignal "
)


# Layouts: (keys, kinds), a key and a one-letter kind per field, in stored order (two constants
# per layout, not a tuple per field: run in place, each tuple would be an object in RAM). They
# are format too: a changed layout needs a new form byte (payload[0]), the old one still read.
# Kinds:
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
LAYOUTS = {
    2: (("t", "tq", "boot", "up", "sid", "meter_start_wh", "id_tag", "vehicle_id", "currency",
        "price_minor_per_kwh", "tariff", "tc", "st"), "tquuiunneurbe"),
    3: (("t", "tq", "boot", "up", "sid", "energy_wh", "power_w", "ctx", "st", "cost_minor"), "tquuiuzeeu"),
    4: (("t", "tq", "boot", "up", "sid", "start_t", "start_tq", "end_t", "meter_start_wh",
        "energy_wh", "meter_stop_wh", "duration_s", "stop_reason", "id_tag", "vehicle_id",
        "currency", "minor_unit", "price_minor_per_kwh", "energy_flags", "tariffs", "receipt",
        "cost_minor", "ocmf", "sig"), "tquuiaqmuuwdenneuu-LRcOG"),
    5: (("t", "tq", "boot", "up", "code", "active", "info", "sid"), "tquueyni"),
}
LAYOUTS[6] = LAYOUTS[7] = LAYOUTS[3]  # 6, 7: meter values too
NAMES = {2: "session_start", 3: "meter", 4: "session_end", 5: "fault", 6: "meter", 7: "meter"}

RECEIPT = (("segs", "start_fee", "vat_bp", "min", "max", "net", "vat", "total", "adj"), "Souooxxxx")
SEG = (("tariff", "ver", "sched", "from", "lines", "chg_ms", "time_fee", "idle_ms", "idle_fee"), "kknflgooo")

DERIVED = "qmwcGxk"  # kinds whose usual form stores nothing


# The codec's primitives: varints (unsigned, zigzag), strings, and the general tagged
# encoding of any JSON value but floats, with the key and word tables above. A reader r is
# the payload being decoded, r.b, and the position of its next byte, r.i (the Codec itself).


# What the codec raises for a value of no form it knows: ValueError itself, as its callers tell
# no other apart (run in place, a class of its own is ~200 bytes of RAM).
CodecError = ValueError


def same(a, b):
    # JSON equality: true is not 1, a tuple is a list. The same object is equal to itself: a
    # session_end's ocmf may be the arguments of its text, the record among them.
    if a is b:
        return True
    ta = list if type(a) is tuple else type(a)
    tb = list if type(b) is tuple else type(b)
    if ta is not tb:
        return False
    # Loops, not all() over generators: a generator (and a zip) is a heap object per call, and
    # encode's check runs this over every record, a session's end's receipt at each level.
    if ta is list or ta is dict:
        if len(a) != len(b):
            return False
        if ta is list:
            for i in range(len(a)):
                if not same(a[i], b[i]):
                    return False
        else:
            for k in a:
                if k not in b or not same(a[k], b[k]):
                    return False
        return True
    return a == b


def flat(v, ocmf=None):
    """Whether v is or holds no dict; given ocmf, v is a session_end and its fields that its
    signed text holds (all but receipt, sig and the text itself, field ocmf) are looked at: a
    dict read back may list its keys in another order (MicroPython's dicts), and the text made
    again from it would differ."""
    if type(v) is dict:
        if ocmf is None:
            return False
        for f in v:
            if f != "receipt" and f != "sig" and f != ocmf and not flat(v[f]):
                return False
    elif type(v) is list or type(v) is tuple:
        for x in v:
            if not flat(x):
                return False
    return True


def word_index(t, v):
    """v's index in the table text t (WORDS, _KEYS), or -1. No allocation, and the scans are
    C's: it runs for every meter record."""
    if not v or " " in v:
        return -1
    p = t.find(v)
    while p >= 0:
        # A whole entry: a space (or the start) before it, a space after it.
        if (not p or t.startswith(" ", p - 1)) and t.startswith(" ", p + len(v)):
            return t.count(" ", 0, p)
        p = t.find(v, p + 1)
    return -1


def word(t, i):
    """Entry i of the table text t."""
    p = 0
    for _ in range(i):
        p = t.find(" ", p) + 1
        if not p:
            break
    e = t.find(" ", p) if p or not i else -1
    if e < 0:
        raise CodecError("word %d is not in the table" % i)
    return t[p:e]


def put_uv(out, n):
    if type(n) is not int or n < 0:
        raise CodecError("not an unsigned int")
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def put_zz(out, n):
    if type(n) is not int:
        raise CodecError("not an int")
    put_uv(out, n * 2 if n >= 0 else -n * 2 - 1)


def get_uv(r):
    n = sh = 0
    b = r.b
    while True:
        x = b[r.i]
        r.i += 1
        n |= (x & 0x7F) << sh
        if x < 0x80:
            return n
        sh += 7


def get_zz(r):
    n = get_uv(r)
    return n >> 1 if not n & 1 else -(n >> 1) - 1


def put_any(out, v):
    """The general tagged encoding of any JSON value but floats."""
    if v is None:
        out.append(_T_NULL)
    elif v is False:
        out.append(_T_FALSE)
    elif v is True:
        out.append(_T_TRUE)
    elif type(v) is int:
        if v >= 0:
            out.append(_T_UINT)
            put_uv(out, v)
        else:
            out.append(_T_NEG)
            put_uv(out, -v - 1)
    elif type(v) is str:
        w = word_index(WORDS, v)
        if w >= 0:
            out.append(_T_WORD)
            put_uv(out, w)
        else:
            out.append(_T_STR)
            b = v.encode()
            put_uv(out, len(b))
            out.extend(b)
    elif type(v) is list or type(v) is tuple:
        out.append(_T_LIST)
        put_uv(out, len(v))
        for x in v:
            put_any(out, x)
    elif type(v) is dict:
        out.append(T_DICT)
        put_uv(out, len(v))
        for k, x in v.items():
            put_key(out, k)
            put_any(out, x)
    else:
        raise CodecError("no encoding for %s" % type(v))


def put_key(out, k):
    if type(k) is not str:
        raise CodecError("key not a string")
    i = word_index(_KEYS, k)
    if i >= 0:
        put_uv(out, i)
    else:
        b = k.encode()
        put_uv(out, _KEYS.count(" ") + len(b))
        out.extend(b)


def get_any(r):
    tag = r.b[r.i]
    r.i += 1
    if tag <= _T_TRUE:
        return None if tag == _T_NULL else tag == _T_TRUE
    if tag == _T_UINT:
        return get_uv(r)
    if tag == _T_NEG:
        return -get_uv(r) - 1
    if tag == _T_WORD:
        return word(WORDS, get_uv(r))
    if tag == _T_LIST:
        return [get_any(r) for _ in range(get_uv(r))]
    if tag == T_DICT:
        d = {}
        for _ in range(get_uv(r)):
            k = get_uv(r)
            if k < _KEYS.count(" "):
                k = word(_KEYS, k)
            else:
                k -= _KEYS.count(" ")  # a key not in the table: its k bytes follow
                r.i += k
                k = bytes(r.b[r.i - k:r.i]).decode()
            d[k] = get_any(r)
        return d
    if tag != _T_STR:
        raise CodecError("bad tag %d in a payload" % tag)
    n = get_uv(r)
    r.i += n
    return bytes(r.b[r.i - n:r.i]).decode()

