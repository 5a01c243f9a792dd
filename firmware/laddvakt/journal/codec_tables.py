# The compact payload format's tables (docs/journal.md, Record encoding): the form byte, the
# field codes, the tags of the general encoding, the key and word tables and each record
# type's field layout. All of it is on flash: change nothing here but by appending.
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
T_NULL = const(0)
T_FALSE = const(1)
T_TRUE = const(2)
T_UINT = const(3)
T_NEG = const(4)
T_STR = const(5)
T_LIST = const(6)
T_DICT = const(7)
T_WORD = const(8)  # a string of WORDS

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
_METER = (("t", "tq", "boot", "up", "sid", "energy_wh", "power_w", "ctx", "st", "cost_minor"), "tquuiuzeeu")
_START = (("t", "tq", "boot", "up", "sid", "meter_start_wh", "id_tag", "vehicle_id", "currency",
           "price_minor_per_kwh", "tariff", "tc", "st"), "tquuiunneurbe")
_END = (("t", "tq", "boot", "up", "sid", "start_t", "start_tq", "end_t", "meter_start_wh",
         "energy_wh", "meter_stop_wh", "duration_s", "stop_reason", "id_tag", "vehicle_id",
         "currency", "minor_unit", "price_minor_per_kwh", "energy_flags", "tariffs", "receipt",
         "cost_minor", "ocmf", "sig"), "tquuiaqmuuwdenneuu-LRcOG")
_FAULT = (("t", "tq", "boot", "up", "code", "active", "info", "sid"), "tquueyni")
LAYOUTS = {2: _START, 3: _METER, 4: _END, 5: _FAULT, 6: _METER, 7: _METER}  # 6, 7: meter values too
NAMES = {2: "session_start", 3: "meter", 4: "session_end", 5: "fault", 6: "meter", 7: "meter"}

RECEIPT = (("segs", "start_fee", "vat_bp", "min", "max", "net", "vat", "total", "adj"), "Souooxxxx")
SEG = (("tariff", "ver", "sched", "from", "lines", "chg_ms", "time_fee", "idle_ms", "idle_fee"), "kknflgooo")

DERIVED = "qmwcGxk"  # kinds whose usual form stores nothing
