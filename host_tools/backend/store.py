"""Idempotent record store for laddvakt batches, on SQLite or PostgreSQL (db.py).

The SQL is portable, so one schema and one set of statements serve both: plain column types
and `INSERT ... ON CONFLICT DO NOTHING`. Billing tables (readings, faults, tariffs, receipts,
checks) are filled from the same records; billing.py verifies the sessions.
"""
import json
import time
from pathlib import Path

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schemas"

_DDL = (
    """CREATE TABLE IF NOT EXISTS records (
        install TEXT NOT NULL, seq BIGINT NOT NULL, dev TEXT NOT NULL, type TEXT NOT NULL,
        t BIGINT NULL, tq TEXT NOT NULL, boot BIGINT NOT NULL, up BIGINT NOT NULL,
        body TEXT NOT NULL, received_at BIGINT NOT NULL,
        PRIMARY KEY (install, seq))""",
    # Only ended sessions get a row: a session_end carries everything needed to bill
    # (docs/mqtt.md, Records), so an open session lives in `records` alone.
    """CREATE TABLE IF NOT EXISTS sessions (
        sid TEXT PRIMARY KEY, dev TEXT NOT NULL, install TEXT NOT NULL,
        start_t BIGINT NULL, start_tq TEXT NOT NULL, end_t BIGINT NULL,
        meter_start_wh BIGINT NOT NULL, meter_stop_wh BIGINT NOT NULL,
        energy_wh BIGINT NOT NULL, duration_s BIGINT NOT NULL, stop_reason TEXT NOT NULL,
        id_tag TEXT NULL, currency TEXT NOT NULL, minor_unit INTEGER NOT NULL,
        price_minor_per_kwh BIGINT NOT NULL, cost_minor BIGINT NOT NULL,
        end_seq BIGINT NOT NULL)""",
    # Billing (docs/backend.md): every reading the recomputation walks, faults, the tariffs
    # in force, each session's receipt and signature, and the verdict of the checks.
    """CREATE TABLE IF NOT EXISTS readings (
        install TEXT NOT NULL, seq BIGINT NOT NULL, sid TEXT NULL, type TEXT NOT NULL,
        t BIGINT NULL, up BIGINT NOT NULL, energy_wh BIGINT NULL, power_w BIGINT NULL,
        ctx TEXT NULL, st TEXT NULL, cost_minor BIGINT NULL,
        PRIMARY KEY (install, seq))""",
    "CREATE INDEX IF NOT EXISTS readings_sid ON readings (sid)",
    """CREATE TABLE IF NOT EXISTS faults (
        install TEXT NOT NULL, seq BIGINT NOT NULL, dev TEXT NOT NULL, t BIGINT NULL,
        code TEXT NOT NULL, active INTEGER NOT NULL, info TEXT NULL, sid TEXT NULL,
        PRIMARY KEY (install, seq))""",
    """CREATE TABLE IF NOT EXISTS tariffs (
        install TEXT NOT NULL, seq BIGINT NOT NULL, tariff_id TEXT NOT NULL,
        version BIGINT NOT NULL, sched_id TEXT NULL, body TEXT NOT NULL,
        PRIMARY KEY (install, seq))""",
    """CREATE TABLE IF NOT EXISTS receipts (
        sid TEXT PRIMARY KEY, install TEXT NOT NULL, dev TEXT NOT NULL, receipt TEXT NULL,
        tariffs TEXT NULL, ocmf TEXT NULL, sig TEXT NULL)""",
    """CREATE TABLE IF NOT EXISTS checks (
        sid TEXT PRIMARY KEY, install TEXT NOT NULL, dev TEXT NOT NULL, end_seq BIGINT NOT NULL,
        status TEXT NOT NULL, device_minor BIGINT NOT NULL, backend_minor BIGINT NULL,
        signature TEXT NOT NULL, detail TEXT NULL, checked_at BIGINT NULL)""",
    # Uplink acks (docs/mqtt.md, Acknowledgements): per install, every seq up to `seq` is
    # stored (or lost on the device for good). Kept here, not in a worker's memory, because
    # with a shared subscription each worker sees only part of a device's batches. gap_seq /
    # gap_at: the first missing seq and when a worker first saw it missing; asked_at: when a
    # replay of it was last requested, so only one worker asks, once per interval.
    """CREATE TABLE IF NOT EXISTS acks (
        install TEXT PRIMARY KEY, seq BIGINT NOT NULL, gap_seq BIGINT NULL,
        gap_at DOUBLE PRECISION NULL, asked_at DOUBLE PRECISION NULL)""",
)

SESSION_COLS = ("sid", "dev", "install", "start_t", "start_tq", "end_t", "meter_start_wh",
                "meter_stop_wh", "energy_wh", "duration_s", "stop_reason", "id_tag", "currency",
                "minor_unit", "price_minor_per_kwh", "cost_minor", "end_seq")
_END_FIELDS = SESSION_COLS[3:16]  # the columns copied verbatim from a session_end record

# NULLs sort first in SQLite and last in PostgreSQL; spell the order out so both agree.
_SESSION_ORDER = "CASE WHEN start_t IS NULL THEN 1 ELSE 0 END, start_t, install, end_seq"


def _schemas():
    schemas = {}
    for path in SCHEMA_DIR.glob("*.json"):
        schemas[path.name] = json.loads(path.read_text())
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values())
    return schemas, registry


def load_validator(name):
    """A Draft 2020-12 validator for docs/schemas/<name>, with its sibling schemas resolvable."""
    schemas, registry = _schemas()
    return Draft202012Validator(schemas[name], registry=registry)


class BatchChecker:
    """batch.json, checked fast: the envelope, then each record against record.json cut down
    to its own type's branch (jsonschema would otherwise try every type's branch on every
    record, most of the backend's ingest time). Only a batch that fails is checked again
    against the full schema, for the precise message."""

    def __init__(self):
        schemas, registry = _schemas()
        self.full = Draft202012Validator(schemas["batch.json"], registry=registry)
        env = json.loads(json.dumps(schemas["batch.json"]))
        env["$id"] = env["$id"].replace("batch.json", "batch-envelope.json")
        env["properties"]["recs"]["items"] = {"type": "object"}
        self.envelope = Draft202012Validator(env, registry=registry)
        rec = schemas["record.json"]
        self.by_type = {}
        for typ in rec["properties"]["type"]["enum"]:
            cut = dict(rec)
            cut["$id"] = rec["$id"].replace("record.json", "record-%s.json" % typ)
            cut["allOf"] = [b for b in rec["allOf"]
                            if b["if"]["properties"].get("type", {}).get("const", typ) == typ]
            self.by_type[typ] = Draft202012Validator(cut, registry=registry)

    def _fast_ok(self, batch):
        if not self.envelope.is_valid(batch):
            return False
        for r in batch["recs"]:
            v = self.by_type.get(r.get("type")) if isinstance(r.get("type"), str) else None
            if v is None or not v.is_valid(r):
                return False
        return True

    def check(self, batch):
        if not self._fast_ok(batch):
            check(self.full, batch)


def check(validator, doc):
    """Raise ValueError naming the most relevant schema violation in doc, if any."""
    err = best_match(validator.iter_errors(doc))
    if err is not None:
        where = "/".join(str(p) for p in err.absolute_path) or "(root)"
        name = validator.schema.get("$id", "schema").rsplit("/", 1)[-1]
        raise ValueError("breaks %s at %s: %s" % (name, where, err.message))


def _ints(value):
    # JSON Schema counts 3.0 as an integer; store it as 3 so money and energy never become floats.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_ints(v) for v in value]
    return value


_CHUNK = 200  # rows per multi-row INSERT: 2200 parameters, within SQLite's limit


def _j(value):
    return None if value is None else json.dumps(value, sort_keys=True, separators=(",", ":"))


_CONTIGUOUS_PAGE = 256  # rows per look while finding the gap-free floor


class Store:
    """Records keyed by (install, seq), stored once each; sessions filled from session_end."""

    def __init__(self, path):
        from .db import connect

        # The service writes from paho's network thread while others read; db.py serialises.
        self.db = connect(path)
        self._batch = BatchChecker()
        with self.db.transaction():
            if self.db.kind == "postgresql":
                # Workers starting together must not race on CREATE TABLE.
                self.db.query("SELECT pg_advisory_xact_lock(6060)")
            for stmt in _DDL:
                self.db.execute(stmt)

    def close(self):
        self.db.close()

    def ingest_batch(self, batch, now=None):
        """Store a batch in one transaction; return the records not seen before, in batch order.

        Raises ValueError, storing nothing, when the batch breaks docs/schemas/batch.json.
        """
        self._batch.check(batch)
        batch = _ints(batch)
        received = int(time.time()) if now is None else now
        new = []
        recs = batch["recs"]
        with self.db.transaction() as db:
            # One multi-row statement per chunk, RETURNING the seqs really inserted: a round
            # trip per chunk instead of per record, which is what PostgreSQL pays for.
            stored = set()
            for i in range(0, len(recs), _CHUNK):
                part = recs[i:i + _CHUNK]
                rows = db.query(
                    "INSERT INTO records (install, seq, dev, type, t, tq, boot, up, body, received_at)"
                    " VALUES %s ON CONFLICT DO NOTHING RETURNING seq"
                    % ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(part)),
                    [v for rec in part for v in (
                        batch["install"], rec["seq"], batch["dev"], rec["type"], rec["t"], rec["tq"],
                        rec["boot"], rec["up"], _j(rec), received)])
                stored.update(r["seq"] for r in rows)
            for rec in recs:
                # at-least-once delivery: a repeat is expected, not an error
                if rec["seq"] in stored:
                    stored.discard(rec["seq"])  # a seq twice in one batch counts once
                    new.append(rec)
            readings = []
            for rec in new:
                self._insert_billing(db, batch, rec, readings)
                self._place_in_time(db, batch["install"], rec)
            for i in range(0, len(readings), _CHUNK):
                part = readings[i:i + _CHUNK]
                db.execute("INSERT INTO readings (install, seq, sid, type, t, up, energy_wh, power_w, ctx,"
                           " st, cost_minor) VALUES %s ON CONFLICT DO NOTHING"
                           % ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(part)),
                           [v for row in part for v in row])
        return new

    @staticmethod
    def _place_in_time(db, install, rec):
        # docs/mqtt.md, time_sync: unsynced records of a boot get t once that boot's clock
        # synced, whichever arrives first. Only the records table's column: the body is kept as
        # the agent sent it, and billing's readings keep t as the agent priced them (no wall
        # time: the tariff's base price), so the recomputation still agrees with the device.
        fix = "UPDATE records SET t = (? * 1000 + up - ?) / 1000 WHERE install = ? AND boot = ? AND t IS NULL"
        # A boot may journal several (a resync that stepped the clock): unsynced records were
        # made before the boot's first sync, so they take the one with the lowest uptime.
        first = "SELECT t, up FROM records WHERE install = ? AND boot = ? AND type = 'time_sync'"
        if rec["type"] == "time_sync":
            if not db.query(first + " AND up < ?", (install, rec["boot"], rec["up"])):
                db.execute(fix, (rec["t"], rec["up"], install, rec["boot"]))
        elif rec["t"] is None:
            rows = db.query(first + " ORDER BY up LIMIT 1", (install, rec["boot"]))
            if rows:
                db.execute(fix + " AND seq = ?", (rows[0]["t"], rows[0]["up"], install, rec["boot"], rec["seq"]))

    def _insert_billing(self, db, batch, rec, readings):
        typ, install = rec["type"], batch["install"]
        if typ == "session_end":
            values = [rec["sid"], batch["dev"], install]
            values += [rec[f] for f in _END_FIELDS] + [rec["seq"]]
            db.execute("INSERT INTO sessions (%s) VALUES (%s) ON CONFLICT DO NOTHING"
                       % (", ".join(SESSION_COLS), ", ".join("?" * len(SESSION_COLS))), values)
            db.execute("INSERT INTO receipts (sid, install, dev, receipt, tariffs, ocmf, sig)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                       (rec["sid"], install, batch["dev"], _j(rec.get("receipt")),
                        _j(rec.get("tariffs")), rec.get("ocmf"), _j(rec.get("sig"))))
            db.execute("INSERT INTO checks (sid, install, dev, end_seq, status, device_minor, signature)"
                       " VALUES (?, ?, ?, ?, 'pending', ?, 'pending') ON CONFLICT DO NOTHING",
                       (rec["sid"], install, batch["dev"], rec["seq"], rec["cost_minor"]))
        if typ in ("session_start", "meter", "tariff_change", "session_end"):
            wh = rec.get("energy_wh")
            if typ == "session_start":
                wh = rec["meter_start_wh"]
            elif typ == "session_end":
                wh = rec["meter_stop_wh"]
            readings.append((install, rec["seq"], rec.get("sid"), typ, rec["t"], rec["up"], wh,
                             rec.get("power_w"), rec.get("ctx"), rec.get("st"), rec.get("cost_minor")))
        if typ == "tariff_change":
            sched = rec.get("sched") or {}
            db.execute("INSERT INTO tariffs (install, seq, tariff_id, version, sched_id, body)"
                       " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                       (install, rec["seq"], rec["tariff"]["id"], rec["tariff"]["version"],
                        sched.get("id"), _j(rec["tariff"])))
        elif typ == "fault":
            db.execute("INSERT INTO faults (install, seq, dev, t, code, active, info, sid)"
                       " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                       (install, rec["seq"], batch["dev"], rec["t"], rec["code"],
                        1 if rec["active"] else 0, rec["info"], rec["sid"]))

    def _query(self, sql, args=()):
        return self.db.query(sql, args)

    def query(self, sql, args=()):
        """Rows of a read-only query, as dicts (for reports and checks)."""
        return self.db.query(sql, args)

    def records_by_seq(self, install, seqs):
        """Stored records of install with these seqs, as dicts, ordered by seq."""
        seqs = sorted(set(seqs))
        out = []
        for i in range(0, len(seqs), 500):
            part = seqs[i:i + 500]
            rows = self._query("SELECT body FROM records WHERE install = ? AND seq IN (%s) ORDER BY seq"
                               % ", ".join("?" * len(part)), [install] + part)
            out += [json.loads(r["body"]) for r in rows]
        return out

    def receipt(self, sid):
        """The device's receipt of session sid (the session_end's `receipt`), or None."""
        rows = self._query("SELECT receipt FROM receipts WHERE sid = ?", (sid,))
        return json.loads(rows[0]["receipt"]) if rows and rows[0]["receipt"] else None

    def records_of_type(self, install, rtype):
        rows = self._query("SELECT body FROM records WHERE install = ? AND type = ? ORDER BY seq",
                           (install, rtype))
        return [json.loads(r["body"]) for r in rows]

    def count_between(self, install, lo, hi):
        return self._query("SELECT COUNT(*) AS n FROM records WHERE install = ? AND seq BETWEEN ? AND ?",
                           (install, lo, hi))[0]["n"]

    def sessions(self):
        return self._query("SELECT * FROM sessions ORDER BY " + _SESSION_ORDER)

    def session(self, sid):
        rows = self._query("SELECT * FROM sessions WHERE sid = ?", (sid,))
        return rows[0] if rows else None

    def records(self, install=None):
        """Stored records as dicts (the JSON body), ordered by (install, seq)."""
        where, args = ("WHERE install = ?", (install,)) if install else ("", ())
        rows = self._query("SELECT body FROM records %s ORDER BY install, seq" % where, args)
        return [json.loads(r["body"]) for r in rows]

    def count_records(self):
        return self._query("SELECT COUNT(*) AS n FROM records")[0]["n"]

    def contiguous(self, install, after=0):
        """The highest N >= after such that every seq in after+1..N is stored (given that
        every seq up to after is): how far a cumulative ack may go."""
        # In pages: with workers sharing a fleet a gap near the floor is common, and the rows
        # after it need not all be fetched on every batch to see it.
        n = after
        while True:
            rows = self._query("SELECT seq FROM records WHERE install = ? AND seq > ? ORDER BY seq LIMIT %d"
                               % _CONTIGUOUS_PAGE, (install, n))
            for r in rows:
                if r["seq"] != n + 1:
                    return n
                n += 1
            if len(rows) < _CONTIGUOUS_PAGE:
                return n

    def acked(self, install):
        """The ack floor of install: every seq up to it is stored or known lost (0: none)."""
        rows = self._query("SELECT seq FROM acks WHERE install = ?", (install,))
        return rows[0]["seq"] if rows else 0

    def _raise_floor(self, db, install, n):
        # Only ever up: workers racing each other must never move an ack back.
        db.execute("INSERT INTO acks (install, seq) VALUES (?, ?) ON CONFLICT (install)"
                   " DO UPDATE SET seq = excluded.seq WHERE acks.seq < excluded.seq", (install, n))

    def advance_ack(self, install, lost_upto=0):
        """Raise install's ack floor over what is now stored without a gap (and, with
        lost_upto, past records the device no longer has); return the floor.

        Run after the batch's own commit: the worker that commits last then sees every
        batch, so the floor is right whichever worker stored which part."""
        with self.db.transaction() as db:
            floor = self.acked(install)
            if lost_upto > floor:
                floor = lost_upto
            n = self.contiguous(install, floor)
            self._raise_floor(db, install, n)
            return self.acked(install)

    def claim_replay(self, install, first, now, grace_s, every_s):
        """True if this worker should ask install to replay from seq `first` now: the gap has
        been seen for grace_s (with shared subscriptions a gap is often just a batch another
        worker is still storing) and nobody asked within every_s."""
        with self.db.transaction() as db:
            lock = " FOR UPDATE" if db.kind == "postgresql" else ""  # SQLite: BEGIN IMMEDIATE
            rows = db.query("SELECT gap_seq, gap_at, asked_at FROM acks WHERE install = ?" + lock,
                            (install,))
            if not rows:
                return False
            r = rows[0]
            if r["gap_seq"] != first:
                db.execute("UPDATE acks SET gap_seq = ?, gap_at = ?, asked_at = NULL WHERE install = ?",
                           (first, now, install))
                if grace_s > 0:
                    return False
                r = {"gap_at": now, "asked_at": None}
            if now - r["gap_at"] < grace_s:
                return False
            if r["asked_at"] is not None and now - r["asked_at"] < every_s:
                return False
            db.execute("UPDATE acks SET asked_at = ? WHERE install = ?", (now, install))
            return True

    def open_gaps(self, now=None, older_than_s=0.0):
        """Holes in each device's records (docs/backend.md, Gap repair): records are stored past
        the ack floor but not the one after it. One dict per install: install, dev, first and
        last (the missing seqs), age_s (since a worker first saw this hole; 0 when nobody has
        yet). Only holes at least older_than_s old: an alert for the status and reports."""
        now = time.time() if now is None else now
        out = []
        for a in self._query("SELECT install, seq, gap_seq, gap_at FROM acks ORDER BY install"):
            rows = self._query("SELECT MIN(seq) AS m FROM records WHERE install = ? AND seq > ?",
                               (a["install"], a["seq"]))
            nxt = rows[0]["m"]
            if nxt is None or nxt == a["seq"] + 1:
                continue  # nothing past the floor, or the floor is about to move
            first = a["seq"] + 1
            seen = a["gap_at"] if a["gap_seq"] == first and a["gap_at"] is not None else now
            if now - seen < older_than_s:
                continue
            dev = self._query("SELECT dev FROM records WHERE install = ? AND seq = ?",
                              (a["install"], nxt))[0]["dev"]
            out.append({"install": a["install"], "dev": dev, "first": first, "last": nxt - 1,
                        "age_s": round(now - seen, 1)})
        return out

    def last_seq(self, install):
        """Highest stored seq for install, or 0 when none (seq starts at 1)."""
        row = self._query("SELECT MAX(seq) AS m FROM records WHERE install = ?", (install,))[0]
        return row["m"] or 0
