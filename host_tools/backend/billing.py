"""The backend's checks of each ended session (docs/backend.md, Verification):

- recomputation: the cost again, from the stored readings and tariff (recompute.py), against
  the device's cost_minor: status ok, mismatch, pending (records still missing) or
  unverifiable (a record without tariff data, from firmware before billing), or error (the
  records broke the recomputation itself; flagged);
- signature: the HMAC-SHA256 of the signed payload with the device's key, and the payload
  against the record's fields: valid, invalid, tampered, unsigned or no_key.
"""
import hashlib
import hmac
import json
import time

from .recompute import Incomplete, recompute

FLAG_STATUS = ("mismatch", "error")
FLAG_SIGNATURE = ("invalid", "tampered", "missing")


def load_keys(path):
    """{device id: key bytes} from a JSON file {"<dev>": "<hex key>"}."""
    with open(path) as f:
        return {dev: bytes.fromhex(k) for dev, k in json.load(f).items()}


# What laddvakt's block (LV) of a version 2 payload must say, from the record's own fields.
_RECEIPT = ("start_fee", "vat_bp", "min", "max", "adj", "net", "vat", "total")
_SEG = ("tariff", "ver", "sched", "from", "lines", "chg_ms", "time_fee", "idle_ms", "idle_fee")
# Record fields no bill is made of (transport and journal bookkeeping); every other field of a
# session_end must be covered by the signature (tests/integration/test_billing_end_to_end.py
# changes each one alone, the bench counts those still `valid`: tampered_fields_verified_valid).
UNSIGNED_FIELDS = ("seq", "type", "boot", "up", "ocmf", "sig")


def _receipt_digest(r):
    # The firmware's receipt digest (RC, billing/sign.py write): the receipt as arrays in a fixed order, compact JSON.
    if not isinstance(r, dict):
        return None
    segs = r.get("segs")
    a = [r.get(k) for k in _RECEIPT] + [None if segs is None else [[s.get(k) for k in _SEG] for s in segs]]
    return hashlib.sha256(json.dumps(a, separators=(",", ":")).encode()).hexdigest()[:32]


def signed_fields(rec):
    """The LV block a version 2 payload must hold for rec (firmware: billing/sign.py)."""
    rc = rec.get("receipt")
    return {"V": 2, "SID": rec.get("sid"), "CT": rec.get("cost_minor"), "CU": rec.get("currency"),
            "MU": rec.get("minor_unit"), "TA": rec.get("tariffs"), "EN": rec.get("energy_wh"),
            "TS": rec.get("start_t"), "TE": rec.get("end_t"), "T": rec.get("t"),
            "TQ": [rec.get("start_tq"), rec.get("tq")], "DU": rec.get("duration_s"),
            "SR": rec.get("stop_reason"), "UP": rec.get("price_minor_per_kwh"),
            "VR": rc.get("vat_bp") if isinstance(rc, dict) else None,
            "VA": rc.get("vat") if isinstance(rc, dict) else None,
            "RC": _receipt_digest(rc), "EF": rec.get("energy_flags"), "VI": rec.get("vehicle_id")}


def _same(a, b):
    # JSON equality that tells 1 from 1.0 and from True (Python's == does not).
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def verify_signature(rec, key):
    """valid, invalid, tampered, missing, unsigned, no_key; `legacy` for a valid version 1
    payload (firmware before 16.8), which signed only the session id, cost, currency, tariffs,
    the start and stop registers and the ID tag: those are checked, the rest cannot be."""
    sig = rec.get("sig")
    if not sig:
        return "missing" if key else "unsigned"
    if key is None:
        return "no_key"
    text = rec.get("ocmf") or ""
    want = hmac.new(key, text.encode(), hashlib.sha256).hexdigest()
    if sig.get("alg") != "HS256" or not hmac.compare_digest(want, sig.get("mac", "")):
        return "invalid"
    # The MAC holds for the payload; now the record's own fields must say the same.
    try:
        p = json.loads(text)
        rd, lv = p["RD"], p["LV"]
        same = (rd[0]["TX"] == "B" and _same(rd[0]["RV"], rec["meter_start_wh"])
                and rd[-1]["TX"] == "E" and _same(rd[-1]["RV"], rec["meter_stop_wh"])
                and _same(p["ID"] or None, rec["id_tag"]))
        if "V" not in lv:
            same = same and (_same(lv["SID"], rec["sid"]) and _same(lv["CT"], rec["cost_minor"])
                             and _same(lv["CU"], rec["currency"]) and _same(lv["TA"], rec.get("tariffs")))
            return "legacy" if same else "tampered"
        same = same and _same(lv, signed_fields(rec))
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        same = False
    return "valid" if same else "tampered"


def _reserved(store, install, lo, hi):
    """How many seqs in lo..hi are not stored but named by a `gap` record with why `reserved`:
    seqs the device skipped at a boot (docs/journal.md, Seq marks). After a power cut the
    records among them are only the held periodic values the cut took, which recompute does
    without (the same total as before the device skipped their seqs); if damage took records
    that held the cost, recompute differs and the session is a flagged mismatch, never pending
    for ever."""
    skipped = set()
    for g in store.records_of_type(install, "gap"):
        if g.get("why") == "reserved":
            skipped.update(range(max(lo, g["first"]), min(hi, g["last"]) + 1))
    if not skipped:
        return 0
    stored = {r["seq"] for r in store.query(
        "SELECT seq FROM records WHERE install = ? AND seq BETWEEN ? AND ?", (install, lo, hi))}
    return len(skipped - stored)


def _session_records(store, install, sid, end_seq):
    """The records recompute() needs, or Incomplete / LookupError."""
    starts = store.query("SELECT seq FROM readings WHERE install = ? AND sid = ? AND type = 'session_start'",
                         (install, sid))
    if not starts:
        raise Incomplete("session_start not stored")
    start_seq = starts[0]["seq"]
    n = store.count_between(install, start_seq, end_seq)
    if n != end_seq - start_seq + 1 and n + _reserved(store, install, start_seq, end_seq) != end_seq - start_seq + 1:
        raise Incomplete("records between seq %d and %d missing" % (start_seq, end_seq))
    [start] = store.records_by_seq(install, [start_seq])
    if "tc" not in start:
        raise LookupError("session_start carries no tariff (firmware before billing)")
    seqs = [r["seq"] for r in store.query(
        "SELECT seq FROM readings WHERE install = ? AND sid = ? ORDER BY seq", (install, sid))]
    recs = store.records_by_seq(install, [start["tc"]] + seqs)
    if not recs or recs[0]["seq"] != start["tc"]:
        raise Incomplete("tariff_change %d not stored" % start["tc"])
    needed = {r["sched"]["id"]: r["sched"]["parts"] for r in recs
              if r["type"] == "tariff_change" and r.get("sched")}
    if needed:
        chunks = [c for c in store.records_of_type(install, "price_schedule") if c["id"] in needed]
        for sched_id, parts in needed.items():
            if len({c["start"] for c in chunks if c["id"] == sched_id}) < parts:
                raise Incomplete("price schedule %s incomplete" % sched_id)
        recs = chunks + recs
    return recs


def check_session(store, install, sid, keys=None):
    """Recompute and verify one ended session; store and return the verdict."""
    row = store.query("SELECT dev, end_seq, device_minor FROM checks WHERE sid = ?", (sid,))[0]
    [end] = store.records_by_seq(install, [row["end_seq"]])
    key = (keys or {}).get(row["dev"])
    signature = verify_signature(end, key)
    backend_minor = None
    try:
        got = recompute(_session_records(store, install, sid, row["end_seq"]), sid)
        backend_minor = got["total"]
        status = "ok" if got["total"] == row["device_minor"] else "mismatch"
        detail = None if status == "ok" else "device %d, backend %d" % (row["device_minor"], got["total"])
    except Incomplete as e:
        status, detail = "pending", str(e)
    except LookupError as e:
        status, detail = "unverifiable", str(e)
    store.db.execute("UPDATE checks SET status = ?, backend_minor = ?, signature = ?, detail = ?,"
                     " checked_at = ? WHERE sid = ?",
                     (status, backend_minor, signature, detail, int(time.time()), sid))
    return {"sid": sid, "status": status, "backend_minor": backend_minor, "signature": signature,
            "detail": detail, "flagged": status in FLAG_STATUS or signature in FLAG_SIGNATURE}


def check_pending(store, install=None, keys=None):
    """Check every session still pending (of one install, or all); returns the verdicts."""
    where, args = "status = 'pending'", ()
    if install:
        where, args = where + " AND install = ?", (install,)
    rows = store.query("SELECT install, sid FROM checks WHERE %s ORDER BY end_seq" % where, args)
    out = []
    for r in rows:
        try:
            out.append(check_session(store, r["install"], r["sid"], keys))
        except Exception as e:  # records that pass the schema yet break the pricing
            detail = "check failed: %r" % (e,)
            store.db.execute("UPDATE checks SET status = 'error', detail = ? WHERE sid = ?", (detail[:500], r["sid"]))
            out.append({"sid": r["sid"], "status": "error", "backend_minor": None, "signature": "pending",
                        "detail": detail, "flagged": True})
    return out


def checks(store):
    return store.query("SELECT * FROM checks ORDER BY install, end_seq")
