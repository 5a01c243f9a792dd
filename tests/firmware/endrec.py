# One priced, signed session_end record as the agent journals it, for the codec and batch tests:
# the signed OCMF text made by the codec (as at render), the MAC by sign.sign when it has a key.
from laddvakt.billing import sign


def session_end(c, seq, readings=None, id_tag="RFID-1", started=None):
    """c: a journal Codec; seq: the record's own seq; started: the seq of its session's start
    (default seq - 9), which names the session."""
    d = {"type": "session_end", "t": 1763710800, "tq": "synced", "boot": 3, "up": 10800000,
         "sid": c.sid(seq - 9 if started is None else started), "start_t": 1763703600,
         "start_tq": "synced", "end_t": 1763710800,
         "meter_start_wh": 1200, "meter_stop_wh": 15259, "energy_wh": 14059, "duration_s": 7200,
         "stop_reason": "EVDisconnected", "id_tag": id_tag, "vehicle_id": None, "currency": "SEK",
         "minor_unit": 2, "price_minor_per_kwh": 250, "cost_minor": 3515,
         "tariffs": [["config", 0]],
         "receipt": {"segs": [{"tariff": "config", "ver": 0, "sched": None, "from": 1763703600,
                               "lines": [[1763703600, 14059, 2500000]], "chg_ms": 6600000,
                               "time_fee": 0, "idle_ms": 0, "idle_fee": 0}],
                     "start_fee": 0, "vat_bp": 0, "min": 0, "max": 0, "adj": None, "net": 3515,
                     "vat": 0, "total": 3515}}
    d["ocmf"] = c.ocmf(d, seq, readings)
    d["sig"] = sign.sign(c.key, d["ocmf"]) if c.key else None
    return d
