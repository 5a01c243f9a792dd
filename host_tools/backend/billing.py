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


def verify_signature(rec, key):
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
        rd = p["RD"]
        same = (p["LV"]["SID"] == rec["sid"] and p["LV"]["CT"] == rec["cost_minor"]
                and p["LV"]["CU"] == rec["currency"] and p["LV"]["TA"] == rec.get("tariffs")
                and rd[0]["TX"] == "B" and rd[0]["RV"] == rec["meter_start_wh"]
                and rd[-1]["TX"] == "E" and rd[-1]["RV"] == rec["meter_stop_wh"]
                and (p["ID"] or None) == rec["id_tag"])
    except (ValueError, KeyError, IndexError, TypeError):
        same = False
    return "valid" if same else "tampered"


def _session_records(store, install, sid, end_seq):
    """The records recompute() needs, or Incomplete / LookupError."""
    starts = store.query("SELECT seq FROM readings WHERE install = ? AND sid = ? AND type = 'session_start'",
                         (install, sid))
    if not starts:
        raise Incomplete("session_start not stored")
    start_seq = starts[0]["seq"]
    if store.count_between(install, start_seq, end_seq) != end_seq - start_seq + 1:
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
