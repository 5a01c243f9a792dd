"""Idempotent record store for laddvakt batches, on SQLite.

The SQL is kept portable so the same statements run on PostgreSQL: plain column types and
`INSERT ... ON CONFLICT DO NOTHING`. Only the `?` placeholder style is SQLite's own.
"""
import json
import sqlite3
import threading
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
)

SESSION_COLS = ("sid", "dev", "install", "start_t", "start_tq", "end_t", "meter_start_wh",
                "meter_stop_wh", "energy_wh", "duration_s", "stop_reason", "id_tag", "currency",
                "minor_unit", "price_minor_per_kwh", "cost_minor", "end_seq")
_END_FIELDS = SESSION_COLS[3:16]  # the columns copied verbatim from a session_end record

# NULLs sort first in SQLite and last in PostgreSQL; spell the order out so both agree.
_SESSION_ORDER = "CASE WHEN start_t IS NULL THEN 1 ELSE 0 END, start_t, install, end_seq"


def load_validator(name):
    """A Draft 2020-12 validator for docs/schemas/<name>, with its sibling schemas resolvable."""
    schemas = {}
    for path in SCHEMA_DIR.glob("*.json"):
        schemas[path.name] = json.loads(path.read_text())
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in schemas.values())
    return Draft202012Validator(schemas[name], registry=registry)


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


class Store:
    """Records keyed by (install, seq), stored once each; sessions filled from session_end."""

    def __init__(self, path):
        # The service writes from paho's network thread while others read; one lock serialises.
        self._conn = sqlite3.connect(str(path), check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.Lock()
        self._batch = load_validator("batch.json")
        with self._lock, self._conn:
            for stmt in _DDL:
                self._conn.execute(stmt)

    def close(self):
        with self._lock:
            self._conn.close()

    def ingest_batch(self, batch, now=None):
        """Store a batch in one transaction; return the records not seen before, in batch order.

        Raises ValueError, storing nothing, when the batch breaks docs/schemas/batch.json.
        """
        check(self._batch, batch)
        batch = _ints(batch)
        received = int(time.time()) if now is None else now
        new = []
        with self._lock, self._conn:
            for rec in batch["recs"]:
                cur = self._conn.execute(
                    "INSERT INTO records (install, seq, dev, type, t, tq, boot, up, body, received_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (batch["install"], rec["seq"], batch["dev"], rec["type"], rec["t"], rec["tq"],
                     rec["boot"], rec["up"], json.dumps(rec, sort_keys=True, separators=(",", ":")),
                     received))
                if cur.rowcount != 1:
                    continue  # at-least-once delivery: a repeat is expected, not an error
                new.append(rec)
                if rec["type"] == "session_end":
                    self._insert_session(batch, rec)
                self._place_in_time(batch["install"], rec)
        return new

    def _place_in_time(self, install, rec):
        # docs/mqtt.md, time_sync: unsynced records of a boot get t once that boot's clock
        # synced, whichever arrives first. The body is kept as the agent sent it.
        fix = "UPDATE records SET t = (? * 1000 + up - ?) / 1000 WHERE install = ? AND boot = ? AND t IS NULL"
        if rec["type"] == "time_sync":
            self._conn.execute(fix, (rec["t"], rec["up"], install, rec["boot"]))
        elif rec["t"] is None:
            row = self._conn.execute(
                "SELECT t, up FROM records WHERE install = ? AND boot = ? AND type = 'time_sync'",
                (install, rec["boot"])).fetchone()
            if row is not None:
                self._conn.execute(fix + " AND seq = ?", (row[0], row[1], install, rec["boot"], rec["seq"]))

    def _insert_session(self, batch, rec):
        values = [rec["sid"], batch["dev"], batch["install"]]
        values += [rec[f] for f in _END_FIELDS] + [rec["seq"]]
        self._conn.execute(
            "INSERT INTO sessions (%s) VALUES (%s) ON CONFLICT DO NOTHING"
            % (", ".join(SESSION_COLS), ", ".join("?" * len(SESSION_COLS))), values)

    def _query(self, sql, args=()):
        with self._lock:
            return [dict(r) for r in self._conn.execute(sql, args).fetchall()]

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

    def last_seq(self, install):
        """Highest stored seq for install, or 0 when none (seq starts at 1)."""
        row = self._query("SELECT MAX(seq) AS m FROM records WHERE install = ?", (install,))[0]
        return row["m"] or 0
